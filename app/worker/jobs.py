"""Periodic background jobs (SLA breach sweeps, reminders, escalations, outbox delivery).

A job is `async def job(session, now) -> int | None`: it gets its own session and the
current time (tests pass any time they like) and returns how many things it did. Jobs
must be idempotent: a crash half-way, or two workers, must not do anything twice.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.registry import Hooks

JobFn = Callable[[AsyncSession, datetime], Awaitable[int | None]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: JobFn


PERIODIC_JOBS: Hooks[PeriodicJob] = Hooks("periodic jobs")  # filled by app/wiring.py


def periodic(name: str, run: JobFn, *, every_seconds: float) -> PeriodicJob:
    """A job that the worker runs every `every_seconds`."""
    return PeriodicJob(name=name, every=timedelta(seconds=every_seconds), run=run)


def periodic_jobs() -> dict[str, PeriodicJob]:
    return {job.name: job for job in PERIODIC_JOBS}
