"""`firstline worker` as a real process: SIGKILLed mid-delivery, the delivery happens after a restart."""

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlmodel import select

from app.outbox.models import OutboxMessage
from app.webhooks.models import WebhookCreate
from app.webhooks.service import create_subscription
from tests.conftest import subprocess_env
from tests.factories import make_ticket

FIRSTLINE = str(Path(sys.executable).with_name("firstline"))


def start_worker(database_url: str) -> subprocess.Popen:
    env = subprocess_env(
        FIRSTLINE_DATABASE_URL=database_url,
        FIRSTLINE_DELIVERY_LEASE_SECONDS="1",
        FIRSTLINE_DELIVERY_TIMEOUT_SECONDS="30",
        FIRSTLINE_LOG_LEVEL="warning",
    )
    return subprocess.Popen(
        [FIRSTLINE, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_for(predicate, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


async def test_killed_worker_redelivers_after_restart_with_the_same_key(
    session, database_url, receiver
):
    receiver.hang = threading.Event()
    await create_subscription(
        session, WebhookCreate(url=receiver.url, event_types=["ticket.created"]), actor_id=None
    )
    await make_ticket(session, title="Deliver me once")
    worker = start_worker(database_url)
    try:
        assert wait_for(receiver.arrived.is_set), "the worker never started delivering"
        worker.send_signal(signal.SIGKILL)  # dies holding the request open: no outcome recorded
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    [row] = (
        await session.exec(select(OutboxMessage).execution_options(populate_existing=True))
    ).all()
    assert row.status == "pending" and row.attempts == 1 and row.delivered_at is None
    receiver.hang.set()
    receiver.hang = None
    again = start_worker(database_url)
    try:
        assert wait_for(lambda: len(receiver.requests) >= 1), (
            again.stderr.read1() if again.stderr else ""
        )
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(20)
    await session.rollback()
    [row] = (
        await session.exec(select(OutboxMessage).execution_options(populate_existing=True))
    ).all()
    assert row.status == "done" and row.attempts == 2
    assert [r.headers["idempotency-key"] for r in receiver.requests] == [row.idempotency_key]
    # the receiver saw the message twice (once unanswered), both times under the same key and body
    assert [r.headers["idempotency-key"] for r in receiver.arrivals] == [row.idempotency_key] * 2
    assert receiver.arrivals[0].body == receiver.arrivals[1].body
    assert receiver.requests[0].json()["data"]["title"] == "Deliver me once"
