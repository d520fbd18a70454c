"""The /webhooks page: admins subscribe (secret shown once), see deliveries, redeliver; CSRF on every post."""

import re

from app.db import utcnow
from app.outbox.delivery import deliver_due
from app.user.models import StaffRole
from tests.factories import make_ticket, make_user
from tests.pages.conftest import sign_in

HX = {"HX-Request": "true"}


async def admin_session(session, client):
    admin = await make_user(session, StaffRole.admin, email="ada@desk.example", name="Ada")
    return await sign_in(client, admin.email)


async def test_subscribe_shows_the_secret_once(session, client, receiver):
    csrf = await admin_session(session, client)
    res = await client.post(
        "/webhooks",
        data={
            "url": receiver.url,
            "event_types": "ticket.created, incident.*",
            "description": "ops",
            "csrf_token": csrf,
        },
    )
    assert res.status_code == 201
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', res.text).group(1)
    again = await client.get("/webhooks")
    assert again.status_code == 200 and receiver.url in again.text and secret not in again.text
    assert "incident.*" in again.text


async def test_bad_subscription_rerenders_with_the_reason(session, client):
    csrf = await admin_session(session, client)
    res = await client.post(
        "/webhooks", data={"url": "ftp://nope", "event_types": "BAD kind!", "csrf_token": csrf}
    )
    assert res.status_code == 422
    assert "bad event type" in res.text and 'value="ftp://nope"' in res.text
    assert "No subscriptions yet." in res.text


async def test_posts_without_csrf_are_refused(session, client, receiver):
    await admin_session(session, client)
    res = await client.post("/webhooks", data={"url": receiver.url, "event_types": "*"})
    assert res.status_code == 403
    assert "No subscriptions yet." in (await client.get("/webhooks")).text


async def test_agents_see_but_cannot_change(session, client, receiver):
    agent = await make_user(session, StaffRole.agent, email="al@desk.example", name="Al")
    csrf = await sign_in(client, agent.email)
    page = await client.get("/webhooks")
    assert page.status_code == 200 and "Add a subscription" not in page.text
    res = await client.post(
        "/webhooks", data={"url": receiver.url, "event_types": "*", "csrf_token": csrf}
    )
    assert res.status_code == 403


async def test_dead_letter_redelivered_from_the_page(session, client, receiver, monkeypatch):
    monkeypatch.setenv("FIRSTLINE_DELIVERY_MAX_ATTEMPTS", "1")
    from app.integrations.settings import get_integration_settings

    get_integration_settings.cache_clear()
    csrf = await admin_session(session, client)
    receiver.status = [503, 200]
    await client.post(
        "/webhooks", data={"url": receiver.url, "event_types": "ticket.*", "csrf_token": csrf}
    )
    await make_ticket(session)
    await deliver_due(session, utcnow())
    page = await client.get("/webhooks?status=dead")
    assert "dead letter" in page.text and "HTTP 503" in page.text
    delivery_id = int(re.search(r'id="delivery-(\d+)"', page.text).group(1))
    detail = await client.get(f"/webhooks/deliveries/{delivery_id}")
    assert (
        "Delivery log" in detail.text and "503" in detail.text and "ticket.created" in detail.text
    )
    row = await client.post(
        f"/webhooks/deliveries/{delivery_id}/redeliver", data={"csrf_token": csrf}, headers=HX
    )
    assert row.status_code == 200 and row.text.strip().startswith(
        f'<tr id="delivery-{delivery_id}"'
    )
    assert "queued" in row.text
    await deliver_due(session, utcnow())
    assert "delivered" in (await client.get(f"/webhooks/deliveries/{delivery_id}")).text
    assert len(receiver.requests) == 2
