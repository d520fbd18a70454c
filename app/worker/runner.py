"""Runs the periodic jobs: in the app process on SQLite, or as `firstline worker`."""

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import text

from app.db import Database, utcnow
from app.worker.jobs import PeriodicJob, periodic_jobs

log = logging.getLogger("firstline.worker")


class Runner:
    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        jobs: dict[str, PeriodicJob] | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.jobs = jobs if jobs is not None else periodic_jobs()
        self.last_run: dict[str, datetime] = {}

    async def run_job(self, job: PeriodicJob, now: datetime) -> int | None:
        async with self.database.session() as session:
            if self.database.is_sqlite:
                return await job.run(session, now)
            # On PostgreSQL several workers may run: one runs a given job at a time.
            key = zlib.crc32(job.name.encode())
            async with self.database.engine.connect() as lock_conn:
                got = (
                    await lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                ).scalar()
                if not got:
                    return None
                try:
                    return await job.run(session, now)
                finally:
                    await lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    async def tick(self) -> dict[str, int | None]:
        """Run every job that is due now; one failing job does not stop the others."""
        now = self.clock()
        done: dict[str, int | None] = {}
        for name, job in list(self.jobs.items()):
            last = self.last_run.get(name)
            if last is not None and now - last < job.every:
                continue
            self.last_run[name] = now
            try:
                done[name] = await self.run_job(job, now)
            except Exception:
                log.exception("job %s failed; it will run again next time", name)
                done[name] = None
        return done

    async def run_forever(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        log.info(
            "worker running %d job(s): %s", len(self.jobs), ", ".join(sorted(self.jobs)) or "none"
        )
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
