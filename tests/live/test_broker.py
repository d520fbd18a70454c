"""Live updates: committed changes reach subscribers; rolled-back ones never do."""

import asyncio

import pytest
from sqlalchemy.engine import make_url

from app.db import transaction
from app.live.broker import (
    QUEUE_SIZE,
    RESYNC,
    Broker,
    LiveMessage,
    PostgresBroker,
    get_broker,
    set_broker,
)
from app.ticket.service import claim_ticket
from app.user.models import User
from tests.conftest import BACKEND
from tests.factories import make_ticket, make_user, principal_for


async def next_message(subscription, within: float = 5.0) -> LiveMessage:
    return await asyncio.wait_for(subscription.queue.get(), within)


async def test_a_committed_change_reaches_subscribers_but_not_the_actor_filter(session):
    broker = get_broker()
    everyone = broker.subscribe()
    user = await make_user(session)
    not_me = broker.subscribe(lambda m: m.actor_id != user.id)
    ticket = await make_ticket(session)
    created = await next_message(everyone)
    assert (created.kind, created.ticket_id) == ("ticket.created", ticket.id)
    await claim_ticket(session, str(ticket.id), actor=principal_for(user))
    claimed = await next_message(everyone)
    assert (claimed.kind, claimed.actor_id) == ("ticket.claimed", user.id)
    assert (
        await next_message(not_me)
    ).kind == "ticket.created"  # the claim was the subscriber's own
    assert not_me.queue.empty()


async def test_a_rolled_back_change_is_never_announced(session):
    subscription = get_broker().subscribe()
    ticket = await make_ticket(session)
    await next_message(subscription)
    user_id = (await make_user(session)).id
    with pytest.raises(RuntimeError):
        async with transaction(session):
            session.info.setdefault("live", []).append(LiveMessage("updated", ticket_id=ticket.id))
            raise RuntimeError("the change failed half-way")
    assert subscription.queue.empty()
    # The session is still usable (the rollback expired what it had loaded, as SQLAlchemy does).
    assert (await session.get(User, user_id)) is not None


async def test_a_slow_client_is_told_to_resync_instead_of_growing_without_bound():
    broker = Broker()
    subscription = broker.subscribe()
    for n in range(QUEUE_SIZE + 5):
        broker.fan_out(LiveMessage("updated", ticket_id=n))
    # The backlog (and the message that overflowed it) became one RESYNC; later ones are kept.
    assert subscription.queue.get_nowait() == RESYNC
    assert [
        subscription.queue.get_nowait().ticket_id for _ in range(subscription.queue.qsize())
    ] == [QUEUE_SIZE + n for n in range(1, 5)]
    subscription.close()
    broker.fan_out(LiveMessage("updated", ticket_id=1))
    assert subscription.queue.empty()


@pytest.mark.skipif(BACKEND != "postgres", reason="LISTEN/NOTIFY fan-out across replicas")
async def test_postgres_fan_out_reaches_another_replica_only_after_commit(session, database_url):
    conninfo = (
        make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    writer, other_replica = PostgresBroker(conninfo), PostgresBroker(conninfo)
    await writer.start()
    await other_replica.start()
    try:
        listening = other_replica.subscribe()
        set_broker(writer)
        with pytest.raises(RuntimeError):
            async with transaction(session):
                session.info.setdefault("live", []).append(LiveMessage("updated", ticket_id=999))
                raise RuntimeError("rolled back")
        ticket = await make_ticket(session)
        message = await next_message(listening)
        assert (message.kind, message.ticket_id) == ("ticket.created", ticket.id)
        assert listening.queue.empty()
    finally:
        await writer.stop()
        await other_replica.stop()
