"""Periodic background jobs (SLA breach sweeps, reminders, escalations, outbox delivery).

A job is `async def job(session, now) -> int | None`: it gets its own session and the
current time (tests pass any time they like) and returns how many things it did. Jobs
must be idempotent: a crash half-way, or two workers, must not do anything twice.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

JobFn = Callable[[AsyncSession, datetime], Awaitable[int | None]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: JobFn


PERIODIC_JOBS: dict[str, PeriodicJob] = {}


def periodic(name: str, *, every_seconds: float) -> Callable[[JobFn], JobFn]:
    """Register a job to run every `every_seconds` in the worker."""

    def register(fn: JobFn) -> JobFn:
        PERIODIC_JOBS[name] = PeriodicJob(name=name, every=timedelta(seconds=every_seconds), run=fn)
        return fn

    return register
