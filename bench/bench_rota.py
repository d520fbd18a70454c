"""Issue 5 targets: who-is-on-call lookups ≤ 1 ms each; a year of shifts for 50 people ≤ 100 ms.

    python -m bench.bench_rota            (BENCH_LOOKUPS=2000 by default)

Lookups go through `on_call_user_ids` (what escalation and triage call): the schedules,
members and recent overrides come from the process's snapshot (app/cache.py: reloaded when
this process writes them and at least once a second), then the rota arithmetic runs. The
reload is timed on its own row: it is paid at most once a second per process. The bare baseline in the same run is one
indexed SELECT of a member by position with the week number computed in UTC (no zones,
holidays or overrides): what a lookup that asks the database costs at the least.

A year of shifts: the final layout (holidays, DST, 100 overrides) of a weekday-daily rota
of 50 people (the most shifts a year can have: ~250 per role) and a weekly one, as the
pure function and through the service (with its queries). The baseline builds 365 daily
(start, end, person) tuples with plain UTC arithmetic.
"""

import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from bench.harness import fresh_database, table

LOOKUPS = int(os.environ.get("BENCH_LOOKUPS", "2000"))
PEOPLE = 50


def _stats(samples: list[float]) -> tuple[float, float, float]:
    samples = sorted(samples)
    return (
        statistics.mean(samples),
        samples[len(samples) // 2],
        samples[int(len(samples) * 0.99) - 1],
    )


async def _prepare(url: str):
    from app.db import transaction
    from app.rota import service
    from app.rota.models import Override, RoleIn, ScheduleIn
    from app.user.models import User

    db = await fresh_database(url)
    async with db.session() as session:
        async with transaction(session):
            people = [
                User(email=f"p{i}@bench.example", name=f"Person {i}", staff_role="agent")
                for i in range(PEOPLE)
            ]
            session.add_all(people)
        ids = [p.id for p in people]
        schedules = []
        for name, kind, zone in (
            ("Exterminator", "weekly", "Europe/Berlin"),
            ("Weekday rota", "weekdays", "America/New_York"),
            ("Follow the sun", "custom", "Asia/Kolkata"),
        ):
            schedules.append(
                await service.create_schedule(
                    session,
                    ScheduleIn(
                        name=name,
                        kind=kind,
                        zone=zone,
                        anchor_date=date(2025, 1, 6),
                        handoff_time=dtime(9),
                        shift_days=3,
                        holiday_country="US" if kind == "weekdays" else "DE",
                        roles=[
                            RoleIn(name="triager", members=ids),
                            RoleIn(name="lead-tracker", members=ids[:5]),
                        ],
                    ),
                    actor_id=None,
                )
            )
        rng = random.Random(5)
        async with transaction(session):
            for s in schedules:
                for _ in range(100):
                    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
                        hours=rng.randrange(365 * 24)
                    )
                    session.add(
                        Override(
                            schedule_id=s.id,
                            role="triager",
                            start_at=start,
                            end_at=start + timedelta(hours=rng.randrange(2, 72)),
                            user_id=rng.choice(ids),
                        )
                    )
    return db, schedules


async def _lookups(db, schedules) -> tuple[list[float], list[float], list[float]]:
    from sqlalchemy import text

    from app.oncall import on_call_user_ids
    from app.rota import service

    rng = random.Random(9)
    instants = [
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 86400))
        for _ in range(LOOKUPS)
    ]
    ours, bare = [], []
    async with db.session() as session:
        await on_call_user_ids(session, "triager", instants[0])  # warm caches (zone, holidays)
        for at in instants:
            t0 = time.perf_counter()
            found = await on_call_user_ids(session, "triager", at)
            ours.append((time.perf_counter() - t0) * 1000)
            assert found
        reloads = []
        for _ in range(20):
            t0 = time.perf_counter()
            await service._load_snapshot(session)
            reloads.append((time.perf_counter() - t0) * 1000)
        anchor = datetime(2025, 1, 6, 8, tzinfo=UTC)
        for at in instants:
            t0 = time.perf_counter()
            week = int((at - anchor).total_seconds() // (7 * 86400))
            row = (
                await session.execute(
                    text(
                        "SELECT user_id FROM rota_member WHERE schedule_id = :s AND role = 'triager' AND position = :p"
                    ),
                    {"s": schedules[0].id, "p": week % PEOPLE},
                )
            ).first()
            bare.append((time.perf_counter() - t0) * 1000)
            assert row
    return ours, bare, reloads


def _time(fn, repeat: int = 20) -> float:
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best.append((time.perf_counter() - t0) * 1000)
    return statistics.median(best)


async def _year(db, schedules) -> list[tuple[str, float, int]]:
    from app.rota import service
    from app.rota.schedule import shifts_between

    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    rows = []
    async with db.session() as session:
        for s in schedules[:2]:
            loaded = await service.load(
                session, s, start - timedelta(days=10), end + timedelta(days=10)
            )
            count = len(shifts_between(loaded.layout, loaded.overrides, start, end))
            ms = _time(
                lambda loaded=loaded: shifts_between(loaded.layout, loaded.overrides, start, end)
            )
            rows.append((f"pure final layout, {s.kind}, 2 roles", ms, count))
            t = []
            for _ in range(10):
                t0 = time.perf_counter()
                shifts = await service.final_shifts(session, s, start, end)
                t.append((time.perf_counter() - t0) * 1000)
            rows.append(
                (f"service (snapshot, or queries), {s.kind}", statistics.median(t), len(shifts))
            )

    def bare():
        out = []
        at = start
        for i in range(365):
            out.append((at, at + timedelta(days=1), i % PEOPLE))
            at += timedelta(days=1)
        return out

    rows.insert(0, ("bare: 365 UTC day tuples", _time(bare), 365))
    return rows


def run() -> list[str]:
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-rota-"))

    async def main():
        db, schedules = await _prepare(f"sqlite:///{workdir / 'rota.db'}")
        try:
            lookups = await _lookups(db, schedules)
            year = await _year(db, schedules)
        finally:
            await db.dispose()
        return lookups, year

    (ours, bare, reloads), year = asyncio.run(main())
    o, b, r = _stats(ours), _stats(bare), _stats(reloads)
    out = [
        table(
            f"Who is on call: {LOOKUPS} lookups at random instants of 2026, 3 schedules x 50 people, 300 overrides, "
            "SQLite (target: ≤ 1 ms each)",
            [
                (
                    "bare: one indexed SELECT by position",
                    f"{b[0]:.3f}",
                    f"{b[1]:.3f}",
                    f"{b[2]:.3f}",
                    "1.0",
                ),
                (
                    "on_call_user_ids('triager', at)",
                    f"{o[0]:.3f}",
                    f"{o[1]:.3f}",
                    f"{o[2]:.3f}",
                    f"{o[0] / b[0]:.1f}",
                ),
                (
                    "snapshot reload (at most 1/s per process)",
                    f"{r[0]:.3f}",
                    f"{r[1]:.3f}",
                    f"{r[2]:.3f}",
                    f"{r[0] / b[0]:.1f}",
                ),
            ],
            ("", "mean ms", "p50 ms", "p99 ms", "ratio (mean)"),
        )
    ]
    base = year[0][1]
    out.append(
        table(
            "A year of final shifts for 50 people (target: ≤ 100 ms)",
            [(name, f"{ms:.2f}", n, f"{ms / base:.1f}") for name, ms, n in year],
            ("", "ms (median)", "shifts", "ratio"),
        )
    )
    return out


if __name__ == "__main__":
    for block in run():
        print(block)
