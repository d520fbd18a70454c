"""/api/v1/webhooks: who may do what, the secret shown once, bad input, the delivery log."""

from app.db import utcnow
from app.outbox.delivery import deliver_due
from tests.factories import bearer, make_ticket, make_token, make_user


async def admin_headers(session):
    return bearer(await make_token(session, await make_user(session, "admin")))


async def test_crud_and_secret_shown_once(session, client, receiver):
    headers = await admin_headers(session)
    r = await client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["ticket.*"]}, headers=headers
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert (
        created["secret"].startswith("whsec_")
        and r.headers["location"] == f"/api/v1/webhooks/{created['id']}"
    )
    listed = (await client.get("/api/v1/webhooks", headers=headers)).json()
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
    one = (await client.get(f"/api/v1/webhooks/{created['id']}", headers=headers)).json()
    assert "secret" not in one
    r = await client.patch(
        f"/api/v1/webhooks/{created['id']}",
        json={"active": False, "event_types": ["*"]},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["event_types"] == ["*"]
    assert (
        await client.delete(f"/api/v1/webhooks/{created['id']}", headers=headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/webhooks/{created['id']}", headers=headers)
    ).status_code == 404


async def test_bad_input_is_422_and_writes_nothing(session, client):
    headers = await admin_headers(session)
    for body in (
        {"url": "ftp://x.example/h", "event_types": ["*"]},
        {"url": "http://x.example/h", "event_types": []},
        {"url": "http://x.example/h", "event_types": ["Ticket Created!"]},
        {"url": "not a url", "event_types": ["*"]},
    ):
        r = await client.post("/api/v1/webhooks", json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == "invalid"
    r = await client.post(
        "/api/v1/webhooks", content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert (await client.get("/api/v1/webhooks", headers=headers)).json() == []


async def test_only_admins_write_and_strangers_see_nothing(session, client):
    agent = bearer(await make_token(session, await make_user(session, "agent")))
    r = await client.post(
        "/api/v1/webhooks", json={"url": "http://x.example/h", "event_types": ["*"]}, headers=agent
    )
    assert r.status_code == 403
    assert (await client.get("/api/v1/webhooks", headers=agent)).status_code == 200
    assert (await client.get("/api/v1/webhooks")).status_code == 401


async def test_delivery_log_and_redelivery(session, client, receiver):
    headers = await admin_headers(session)
    receiver.status = [500, 200]
    hook = (
        await client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "event_types": ["ticket.created"]},
            headers=headers,
        )
    ).json()
    await make_ticket(session)
    await deliver_due(session, utcnow())
    [d] = (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers)).json()
    assert d["status"] == "pending" and d["attempts"] == 1 and d["event_type"] == "ticket.created"
    r = await client.post(f"/api/v1/webhooks/deliveries/{d['id']}/redeliver", headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "delivery_pending"
    from datetime import timedelta

    await deliver_due(session, utcnow() + timedelta(seconds=11))
    detail = (await client.get(f"/api/v1/webhooks/deliveries/{d['id']}", headers=headers)).json()
    assert detail["status"] == "done" and [a["status_code"] for a in detail["log"]] == [500, 200]
    assert detail["payload"]["type"] == "ticket.created"
    r = await client.post(f"/api/v1/webhooks/deliveries/{d['id']}/redeliver", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    await deliver_due(session, utcnow())
    assert (
        len({req.headers["idempotency-key"] for req in receiver.requests}) == 1
        and len(receiver.requests) == 3
    )
    assert (
        await client.post("/api/v1/webhooks/deliveries/999999/redeliver", headers=headers)
    ).status_code == 404
