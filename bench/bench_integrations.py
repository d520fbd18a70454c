"""Issue 7: outgoing webhook delivery throughput against a bare POST loop, same receiver, same run.

    python -m bench.bench_integrations        (BENCH_DELIVERIES=500 by default)

Firstline: N ticket changes with one matching subscription → N outbox rows, drained by the
delivery job (claim with a lease, sign, POST, record the attempt and the outcome). Bare: the
same N bodies POSTed by one httpx client in a loop, nothing claimed, signed or recorded.
Both hit one loopback receiver (a uvicorn app answering 204). The ratio is deliveries/s over
bare POSTs/s; the outbox buys durability, retries and a log, so expect well below 1.
"""

import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import fresh_database, server, table

N = int(os.environ.get("BENCH_DELIVERIES", "500"))
RECEIVER = "bench.receiver:app"


async def firstline(receiver_url: str, db_path: Path) -> float:
    url = f"sqlite:///{db_path}"
    from app.db import set_database, transaction, utcnow
    from app.integrations.settings import get_integration_settings
    from app.outbox.delivery import deliver_due
    from app.outbox.models import OutboxMessage
    from app.webhooks.models import WebhookCreate
    from app.webhooks.service import TOPIC, create_subscription, delivery_key

    get_integration_settings.cache_clear()
    db = await fresh_database(url)
    async with db.session() as session:
        sub = await create_subscription(
            session, WebhookCreate(url=receiver_url + "/hook", event_types=["*"]), actor_id=None
        )
        async with transaction(session):
            for i in range(N):
                session.add(
                    OutboxMessage(
                        topic=TOPIC,
                        idempotency_key=delivery_key(sub.id, i),
                        payload={
                            "subscription_id": sub.id,
                            "event": {
                                "id": i,
                                "type": "ticket.created",
                                "data": {"title": f"Ticket {i}"},
                            },
                        },
                    )
                )
        started = time.perf_counter()
        done = 0
        while done < N:
            done += await deliver_due(session, utcnow(), limit=100)
        elapsed = time.perf_counter() - started
    await db.dispose()
    set_database(None)
    return N / elapsed


async def bare(receiver_url: str) -> float:
    import json

    bodies = [
        json.dumps({"id": i, "type": "ticket.created", "data": {"title": f"Ticket {i}"}}).encode()
        for i in range(N)
    ]
    started = time.perf_counter()
    async with httpx.AsyncClient() as client:
        for body in bodies:
            (await client.post(receiver_url + "/hook", content=body)).raise_for_status()
    return N / (time.perf_counter() - started)


def run() -> list[str]:
    with server(RECEIVER, ready_path="/hook") as receiver_url, tempfile.TemporaryDirectory() as tmp:
        bare_rate = asyncio.run(bare(receiver_url))
        ours = asyncio.run(firstline(receiver_url, Path(tmp) / "bench.db"))
    rows = [
        ("bare POST loop (one client)", f"{bare_rate:.0f}", "1.00"),
        ("outbox delivery (claim, sign, POST, log)", f"{ours:.0f}", f"{ours / bare_rate:.2f}"),
    ]
    return [
        table(
            f"Webhook delivery, {N} messages to a loopback receiver (SQLite)",
            rows,
            ("path", "deliveries/s", "ratio"),
        )
    ]


if __name__ == "__main__":
    for block in run():
        print(block)
