"""Audit events become signed webhook deliveries, delivered at least once to a real loopback receiver."""

import asyncio
import json
from contextlib import suppress
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app.db import utcnow
from app.outbox.delivery import backoff, claim_due, deliver_due, list_attempts, redeliver
from app.outbox.models import OutboxMessage
from app.ticket.models import TicketUpdate
from app.ticket.service import update_ticket
from app.webhooks.matching import matches
from app.webhooks.models import WebhookCreate, WebhookUpdate
from app.webhooks.service import create_subscription, update_subscription
from app.webhooks.signing import verify
from tests.factories import make_ticket, make_user, principal_for


async def outbox(session, topic="webhook.deliver") -> list[OutboxMessage]:
    rows = await session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.topic == topic)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def subscribe(session, url, patterns=("ticket.*",)):
    return await create_subscription(
        session, WebhookCreate(url=url, event_types=list(patterns)), actor_id=None
    )


async def test_every_matching_event_is_queued_in_the_changes_transaction(session, receiver):
    await subscribe(session, receiver.url, ["ticket.created", "ticket.status_changed"])
    await subscribe(session, receiver.url + "/other", ["incident.*"])
    ticket = await make_ticket(session)
    rows = await outbox(session)
    assert [r.payload["event"]["type"] for r in rows] == ["ticket.created"]
    assert rows[0].payload["event"]["ticket_id"] == ticket.id
    assert rows[0].idempotency_key.startswith("wh-1-ev-")


async def test_a_failed_change_queues_nothing(session, receiver):
    await subscribe(session, receiver.url)
    ticket_id = (await make_ticket(session)).id
    actor = principal_for(await make_user(session))
    before = len(await outbox(session))
    try:  # new → awaiting_approval is an illegal move: the change rolls back
        await update_ticket(
            session, ticket_id, TicketUpdate(status="awaiting_approval"), actor=actor
        )
    except Exception as exc:
        assert getattr(exc, "status_code", None) == 409
    else:
        raise AssertionError("the illegal transition was accepted")
    assert len(await outbox(session)) == before
    # and the listener's memory of the failed change does not leak into the next one
    await update_ticket(session, ticket_id, TicketUpdate(status="open"), actor=actor)
    kinds = [r.payload["event"]["type"] for r in await outbox(session)]
    assert kinds == ["ticket.created", "ticket.status_changed"]


async def test_delivery_is_signed_and_carries_the_idempotency_key(session, receiver):
    sub = await subscribe(session, receiver.url)
    await make_ticket(session, title="Signed please")
    assert await deliver_due(session, utcnow()) == 1
    [req] = receiver.requests
    assert verify(
        sub.secret, req.headers["x-firstline-signature"], req.body, now=int(utcnow().timestamp())
    )
    assert not verify(
        "whsec_wrong", req.headers["x-firstline-signature"], req.body, now=int(utcnow().timestamp())
    )
    assert not verify(
        sub.secret,
        req.headers["x-firstline-signature"],
        req.body + b" ",
        now=int(utcnow().timestamp()),
    )
    body = req.json()
    assert body["type"] == "ticket.created" and body["data"]["title"] == "Signed please"
    assert req.headers["idempotency-key"] == f"wh-{sub.id}-ev-{body['id']}"
    assert req.headers["x-firstline-event"] == "ticket.created"
    [row] = await outbox(session)
    assert row.status == "done" and row.delivered_at is not None
    [attempt] = await list_attempts(session, row.id)
    assert attempt.ok and attempt.status_code == 200


async def test_receiver_errors_retry_with_backoff_then_dead_letter(session, receiver):
    receiver.status = [500]
    await subscribe(session, receiver.url)
    await make_ticket(session)
    now = utcnow()
    assert await deliver_due(session, now) == 0
    [row] = await outbox(session)
    assert row.status == "pending" and row.attempts == 1 and "HTTP 500" in row.last_error
    assert row.available_at == now + timedelta(seconds=10)
    # not due yet: nothing is tried
    assert await deliver_due(session, now + timedelta(seconds=9)) == 0
    assert len(receiver.requests) == 1
    t = now
    for delay in (10, 20, 40):
        t = t + timedelta(seconds=delay)
        await deliver_due(session, t)
    [row] = await outbox(session)
    assert row.status == "dead" and row.attempts == 4
    assert len(receiver.requests) == 4
    assert [a.status_code for a in await list_attempts(session, row.id)] == [500, 500, 500, 500]
    # manual redelivery: same key, delivered once the receiver is back
    receiver.status = [204]
    await redeliver(session, row.id)
    assert await deliver_due(session, utcnow()) == 1
    keys = {r.headers["idempotency-key"] for r in receiver.requests}
    assert keys == {row.idempotency_key}


async def test_receiver_down_then_up(session, receiver):
    url = receiver.url.replace(
        str(receiver.url.split(":")[2].split("/")[0]), "1"
    )  # port 1: nobody listens
    sub = await subscribe(session, url)
    await make_ticket(session)
    now = utcnow()
    assert await deliver_due(session, now) == 0
    [row] = await outbox(session)
    assert row.status == "pending" and "ConnectError" in row.last_error
    await update_subscription(session, sub.id, WebhookUpdate(url=receiver.url), actor_id=None)
    assert await deliver_due(session, now + timedelta(seconds=10)) == 1
    assert len(receiver.requests) == 1


async def test_worker_killed_mid_delivery_delivers_after_restart_with_the_same_key(
    session, receiver
):
    import threading

    receiver.hang = threading.Event()
    await subscribe(session, receiver.url)
    await make_ticket(session)
    now = utcnow()
    task = asyncio.create_task(deliver_due(session, now))
    await asyncio.to_thread(receiver.arrived.wait, 10)
    task.cancel()  # the worker dies while the receiver holds the request
    with suppress(asyncio.CancelledError):
        await task
    await session.rollback()
    receiver.hang.set()
    receiver.hang = None
    [row] = await outbox(session)
    assert row.status == "pending" and row.locked_until is not None
    # another worker does not take it while the lease holds ...
    assert await claim_due(session, now + timedelta(seconds=30)) == []
    # ... and does once it has expired
    assert await deliver_due(session, now + timedelta(seconds=61)) == 1
    [row] = await outbox(session)
    assert row.status == "done" and row.attempts == 2
    assert [r.headers["idempotency-key"] for r in receiver.requests] == [row.idempotency_key]
    assert [r.headers["idempotency-key"] for r in receiver.arrivals] == [row.idempotency_key] * 2


async def test_many_events_each_delivered_once_under_one_key(session, db, receiver):
    await subscribe(session, receiver.url, ["*"])
    user = await make_user(session)
    ticket = await make_ticket(session)
    for status in ("open", "pending", "open", "resolved"):
        await update_ticket(
            session, ticket.id, TicketUpdate(status=status), actor=principal_for(user)
        )

    # two workers, each with its own connection, racing for the same rows
    async def worker():
        async with db.session() as own:
            return await deliver_due(own, utcnow(), limit=3)

    results = await asyncio.gather(worker(), worker(), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)]
    await deliver_due(session, utcnow())
    rows = await outbox(session)
    assert rows and all(r.status == "done" for r in rows)
    by_event: dict[int, set[str]] = {}
    for req in receiver.requests:
        by_event.setdefault(req.json()["id"], set()).add(req.headers["idempotency-key"])
    assert len(by_event) == len(rows)
    assert all(len(keys) == 1 for keys in by_event.values())
    assert len(receiver.requests) == len(rows)  # nobody was sent anything twice


@given(
    st.integers(min_value=1, max_value=200),
    st.floats(min_value=0.1, max_value=100),
    st.floats(min_value=1, max_value=10_000),
)
def test_backoff_grows_and_is_capped(attempt, base, cap):
    delay = backoff(attempt, base=base, cap=cap).total_seconds()
    assert 0 < delay <= cap + 1e-6
    assert backoff(attempt + 1, base=base, cap=cap).total_seconds() >= delay - 1e-6


@given(st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8}){0,2}", fullmatch=True))
def test_patterns_match_kinds(kind):
    family = kind.split(".")[0]
    assert matches(["*"], kind)
    assert matches([kind], kind)
    assert matches([f"{family}.*"], kind) == ("." in kind)
    assert not matches([kind + "x"], kind)
    assert not matches([], kind)


def test_body_is_stable_json():
    from app.webhooks.service import body_bytes

    message = OutboxMessage(
        topic="webhook.deliver", idempotency_key="k", payload={"event": {"b": 1, "a": [1, 2]}}
    )
    assert body_bytes(message) == b'{"a":[1,2],"b":1}'
    assert json.loads(body_bytes(message)) == {"a": [1, 2], "b": 1}
