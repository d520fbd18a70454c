"""Issue 4 targets: SLA due dates for 100,000 tickets, and the SLA report over 100,000 tickets.

    python -m bench.bench_sla            (BENCH_REPEAT=15 report runs by default)

Due dates: `add_business` for 100,000 (opening instant, target) pairs spread over two
years, on an office-hours calendar with public holidays (Europe/London, GB/ENG) and on the
24x5 working-day calendar, against the bare wall-clock `instant + duration` over the same
pairs. Target: < 1 s for 100,000.

Report: GET /api/v1/reports/sla by each dimension (channel, criticality, community, week,
month), and by week over a range whose ends cut weeks and months, over 100,000 tickets and
their 300,000 clocks on SQLite, through the whole ASGI app (auth, query, JSON), against a
bare `SELECT channel, count(*) ... GROUP BY channel` over the same tickets. Target: p50 ≤
200 ms for every dimension.
"""

import asyncio
import os
import random
import statistics
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import fresh_database, table

warnings.filterwarnings(
    "ignore", category=DeprecationWarning
)  # bulk inserts use session.execute on purpose
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
N = 100_000


def _pairs(rng: random.Random) -> list[tuple[datetime, timedelta]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    minutes = [30, 60, 180, 480, 1440, 4320, 14400]
    return [
        (
            start + timedelta(seconds=rng.randrange(0, 2 * 365 * 86400)),
            timedelta(minutes=rng.choice(minutes)),
        )
        for _ in range(N)
    ]


def bench_due_dates() -> str:
    from app.sla.calendar import office_hours, working_days_24x5

    pairs = _pairs(random.Random(4))
    rows = []
    t0 = time.perf_counter()
    bare = [at + d for at, d in pairs]
    bare_s = time.perf_counter() - t0
    assert len(bare) == N
    rows.append(("bare wall-clock instant + duration", f"{bare_s * 1000:.0f}", "1.00"))
    for name, cal in (
        (
            "office hours, Europe/London, GB holidays",
            office_hours("Europe/London", holiday_country="GB", holiday_subdiv="ENG"),
        ),
        ("24x5 working days", working_days_24x5("UTC")),
    ):
        cal.add_business(
            pairs[0][0], pairs[0][1]
        )  # lay out the calendar once, as a running server has
        t0 = time.perf_counter()
        due = [cal.add_business(at, d) for at, d in pairs]
        took = time.perf_counter() - t0
        assert len(due) == N
        rows.append(
            (f"Firstline add_business: {name}", f"{took * 1000:.0f}", f"{took / bare_s:.1f}")
        )
    return table(f"SLA due dates for {N:,} tickets (target: < 1000 ms)", rows, ("", "ms", "× bare"))


async def _seed(url: str) -> str:
    from sqlalchemy import insert

    from app.sla.models import SlaClock
    from app.ticket.models import Ticket
    from app.user.models import UserCreate
    from app.user.service import create_api_token, create_user

    db = await fresh_database(url)
    rng = random.Random(7)
    channels = ["web", "email", "github", "slack", "api"]
    start = datetime(2025, 12, 1, tzinfo=UTC)
    async with db.session() as session:
        await create_user(
            session,
            UserCreate(
                email="lead@bench.example",
                name="Lead",
                staff_role="admin",
                password="bench-password-123",
            ),
        )
        token, _ = await create_api_token(session, email="lead@bench.example", name="bench")
        tickets, clocks = [], []
        for i in range(1, N + 1):
            created = start + timedelta(seconds=rng.randrange(0, 300 * 86400))
            tickets.append(
                dict(
                    id=i,
                    title=f"Ticket {i}",
                    body="",
                    channel=rng.choice(channels),
                    status="closed",
                    type="question",
                    urgency="normal",
                    criticality=rng.choice([None, 1, 2, 3, 4]),
                    data_loss=False,
                    affected_communities=1,
                    blocks_priority_team=False,
                    funded=False,
                    fits_goals=False,
                    vote_count=0,
                    rank_key=f"{i:020d}",
                    version=1,
                    created_at=created,
                    updated_at=created,
                )
            )
            for target, minutes in (("ack", 1440), ("first_response", 180), ("resolution", 14400)):
                used = int(minutes * 60e6 * rng.uniform(0.05, 1.4))
                stopped = rng.random() < 0.9
                clocks.append(
                    dict(
                        ticket_id=i,
                        target=target,
                        channel=tickets[-1]["channel"],
                        criticality=tickets[-1]["criticality"],
                        opened_at=created,
                        calendar_id=2,
                        target_minutes=minutes,
                        started_at=created,
                        consumed_us=used,
                        due_at=created + timedelta(minutes=minutes),
                        stopped_at=created + timedelta(microseconds=used) if stopped else None,
                        elapsed_us=used if stopped else None,
                        settled=stopped,
                    )
                )
        for chunk in range(0, N, 5000):
            await session.execute(insert(Ticket), tickets[chunk : chunk + 5000])
        for chunk in range(0, len(clocks), 15000):
            await session.execute(insert(SlaClock), clocks[chunk : chunk + 15000])
        await session.commit()
    return token


async def _time_report(token: str) -> list[tuple[str, float, float]]:
    import httpx
    from sqlalchemy import func, select

    from app.db import get_database
    from app.main import create_app
    from app.ticket.models import Ticket

    app = create_app()
    results = []
    bare = []
    async with get_database().session() as session:
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            (
                await session.execute(select(Ticket.channel, func.count()).group_by(Ticket.channel))
            ).all()
            bare.append(time.perf_counter() - t0)
    results.append(
        (
            "bare SELECT channel, count(*) GROUP BY channel",
            statistics.median(bare) * 1000,
            max(bare) * 1000,
        )
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        queries = [{"by": by} for by in ("channel", "criticality", "community", "week", "month")]
        queries.append({"by": "week", "from": "2026-01-07", "to": "2026-07-09"})
        for params in queries:
            times = []
            for _ in range(REPEAT):
                t0 = time.perf_counter()
                res = await client.get("/api/v1/reports/sla", params=params, headers=headers)
                times.append(time.perf_counter() - t0)
                assert res.status_code == 200, res.text
            if "from" not in params:
                assert res.json()["overall"]["tickets"] == N
            query = "&".join(f"{k}={v}" for k, v in params.items())
            results.append(
                (
                    f"Firstline GET /api/v1/reports/sla?{query}",
                    statistics.median(times) * 1000,
                    max(times) * 1000,
                )
            )
    return results


def bench_report() -> str:
    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-sla-"))
    url = f"sqlite:///{workdir / 'sla.db'}"

    async def go():
        token = await _seed(url)
        return await _time_report(token)

    results = asyncio.run(go())
    bare = results[0][1]
    rows = [
        (name, f"{p50:.1f}", f"{worst:.1f}", f"{p50 / bare:.1f}") for name, p50, worst in results
    ]
    return table(
        f"SLA report over {N:,} tickets / {3 * N:,} clocks, SQLite, {REPEAT} runs (target: p50 ≤ 200 ms)",
        rows,
        ("", "p50 ms", "max ms", "× bare"),
    )


def run() -> list[str]:
    return [bench_due_dates(), bench_report()]


if __name__ == "__main__":
    for block in run():
        print(block)
