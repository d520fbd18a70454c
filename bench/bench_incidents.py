"""Alert intake: how much a repeated Alertmanager notification costs us, against the bare work.

    python -m bench.bench_incidents          (BENCH_ROUNDS=300 by default; SQLite in a temp dir)

Alertmanager re-sends every firing group each `repeat_interval` (and on every change), so
the hot path is a notification whose alerts we already have. Firstline: parse the v4
payload, take the group lock, look up each alert by (source, fingerprint), count the
repeat, commit. Baseline, same database, same process: one SELECT and one UPDATE per alert
in one transaction with raw SQL. Printed: notifications per second and the ratio.
Target: ≥ 0.3× the bare path (pydantic parsing and the ORM are the price of the checks).
"""

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.harness import fresh_database, table

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
PAYLOAD = (
    Path(__file__).resolve().parent.parent / "tests/incident/payloads/alertmanager_firing.json"
).read_text()


async def measure() -> str:
    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/bench.db"
    from app.alerting.rules import AlertmanagerPayload, from_alertmanager
    from app.alerting.service import receive_alerts

    db = await fresh_database(url)

    async def firstline_once() -> None:
        alerts = from_alertmanager(AlertmanagerPayload.model_validate(json.loads(PAYLOAD)))
        async with db.session() as session:
            await receive_alerts(session, "alertmanager", alerts, actor_id=None)

    async def bare_once() -> None:
        fingerprints = [a["fingerprint"] for a in json.loads(PAYLOAD)["alerts"]]
        async with db.engine.begin() as conn:
            for fp in fingerprints:
                row = (
                    await conn.execute(
                        text("SELECT id FROM alert WHERE source='alertmanager' AND fingerprint=:f"),
                        {"f": fp},
                    )
                ).first()
                await conn.execute(
                    text("UPDATE alert SET received = received + 1 WHERE id = :i"), {"i": row[0]}
                )

    await firstline_once()  # the first notification declares the incident; the rest are repeats
    results = {}
    for name, fn in (
        ("bare SELECT+UPDATE", bare_once),
        ("Firstline receive_alerts", firstline_once),
    ):
        for _ in range(20):
            await fn()  # warm up
        start = time.perf_counter()
        for _ in range(ROUNDS):
            await fn()
        results[name] = ROUNDS / (time.perf_counter() - start)
    await db.dispose()
    base = results["bare SELECT+UPDATE"]
    rows = [(name, f"{rate:,.0f}", f"{rate / base:.2f}×") for name, rate in results.items()]
    return table(
        f"Repeated Alertmanager notification (2 alerts), {ROUNDS} rounds, SQLite (target: ≥ 0.3× bare)",
        rows,
        ("path", "notifications/s", "vs bare"),
    )


def run() -> list[str]:
    """What `make bench` (bench/run.py) calls, as for every other benchmark."""
    return [asyncio.run(measure())]


if __name__ == "__main__":
    for block in run():
        print(block)
