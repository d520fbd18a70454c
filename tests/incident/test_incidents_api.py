"""/api/v1/incidents: status codes, error shapes and the sub-resources."""

from sqlmodel import select

from app.outbox.models import OutboxMessage
from app.ticket.models import Message
from tests.factories import bearer, make_community, make_ticket, make_token, make_user


async def setup(session):
    agent = await make_user(session, "agent", name="Ann Agent")
    viewer = await make_user(session, "viewer")
    community = await make_community(session, "acme", name="Acme", reps=("rep@acme.example",))
    ticket = await make_ticket(
        session, community, requester_email="user@acme.example", title="All down"
    )
    return (
        bearer(await make_token(session, agent)),
        bearer(await make_token(session, viewer)),
        agent,
        community,
        ticket,
    )


async def test_declare_update_resolve_postmortem_over_the_api(client, session):
    h, _, agent, _community, ticket = await setup(session)
    res = await client.post(
        "/api/v1/incidents",
        headers=h,
        json={"title": "Acme hub down", "severity": "sev1", "tickets": [f"SUP-{ticket.id}"]},
    )
    assert res.status_code == 201, res.text
    inc = res.json()
    assert res.headers["location"] == f"/api/v1/incidents/{inc['id']}"
    assert inc["key"] == f"INC-{inc['id']}" and inc["status"] == "investigating"
    assert inc["responder"]["id"] == agent.id and [c["slug"] for c in inc["communities"]] == [
        "acme"
    ]
    assert (
        inc["tickets"][0]["key"] == f"SUP-{ticket.id}"
        and "no workaround" in inc["severity_definition"]
    )
    url = f"/api/v1/incidents/{inc['key']}"

    tpl = (await client.get(f"{url}/updates/template", headers=h)).json()
    assert (
        tpl["kind"] == "first" and "Acme" in tpl["body"] and "cannot promise a time" in tpl["body"]
    )

    body = {"body": "We are investigating.", "client_key": "abc"}
    first = await client.post(f"{url}/updates", headers=h, json=body)
    again = await client.post(f"{url}/updates", headers=h, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["emails"] == 1
    mails = [
        m
        for m in (
            await session.exec(select(OutboxMessage).where(OutboxMessage.topic == "email.send"))
        ).all()
        if "incident_id" in m.payload
    ]
    assert [m.payload["to"] for m in mails] == [["rep@acme.example"]]
    assert (
        len((await session.exec(select(Message).where(Message.ticket_id == ticket.id))).all()) == 1
    )

    res = await client.patch(url, headers=h, json={"status": "postmortem_done"})
    assert res.status_code == 409 and res.json()["code"] == "invalid_transition"
    assert "resolve the incident first" in res.json()["detail"]
    assert (await client.patch(url, headers=h, json={"status": "resolved"})).json()[
        "status"
    ] == "resolved"
    res = await client.patch(url, headers=h, json={"status": "postmortem_done"})
    assert res.status_code == 409 and res.json()["code"] == "postmortem_missing"

    pm = await client.put(
        f"{url}/postmortem", headers=h, json={"what_happened": "Disk full", "went_well": "Alerts"}
    )
    assert pm.status_code == 200 and "Incident declared" in pm.json()["timeline"]
    item = await client.post(
        f"{url}/postmortem/action-items",
        headers=h,
        json={"title": "Disk alert at 80%", "owner_id": agent.id, "due_on": "2026-12-01"},
    )
    assert item.status_code == 201 and item.json()["ticket"]["status"] == "new"
    bad = await client.post(
        f"{url}/postmortem/action-items",
        headers=h,
        json={"title": "x", "owner_id": agent.id, "due_on": "soon"},
    )
    assert bad.status_code == 422
    got = (await client.get(f"{url}/postmortem", headers=h)).json()
    assert got["what_happened"] == "Disk full" and got["action_items"][0]["owner"]["id"] == agent.id
    assert (await client.patch(url, headers=h, json={"status": "postmortem_done"})).json()[
        "status"
    ] == "postmortem_done"

    events = [e["kind"] for e in (await client.get(f"{url}/events", headers=h)).json()]
    for kind in (
        "incident.declared",
        "incident.update_posted",
        "incident.resolved",
        "incident.postmortem_saved",
        "incident.action_item_added",
        "incident.postmortem_done",
    ):
        assert kind in events
    updates = (await client.get(f"{url}/updates", headers=h)).json()
    assert [u["kind"] for u in updates] == ["first"]


async def test_bad_input_is_a_clear_4xx_and_writes_nothing(client, session):
    h, viewer, agent, _, _ = await setup(session)
    assert (
        await client.post("/api/v1/incidents", headers=h, json={"title": "x", "severity": "sev9"})
    ).status_code == 422
    res = await client.post(
        "/api/v1/incidents", headers=h, json={"title": "x", "communities": ["nope"]}
    )
    assert res.status_code == 422 and res.json()["code"] == "unknown_community"
    assert (
        await client.post("/api/v1/incidents", headers=viewer, json={"title": "x"})
    ).status_code == 403
    assert (await client.post("/api/v1/incidents", json={"title": "x"})).status_code == 401
    assert (await client.get("/api/v1/incidents/INC-77", headers=h)).status_code == 404
    assert (await client.get("/api/v1/incidents/zzz", headers=h)).status_code == 404
    assert (await client.get("/api/v1/incidents", headers=h)).json() == {"items": []}
    res = await client.post("/api/v1/incidents", headers=h, json={"title": "ok"})
    url = f"/api/v1/incidents/{res.json()['id']}"
    assert (await client.post(f"{url}/updates", headers=h, json={"body": "   "})).status_code == 422
    assert (
        await client.put(f"{url}/roles", headers=h, json={"role": "Bad Role!", "user_id": agent.id})
    ).status_code == 422
    res = await client.put(
        f"{url}/roles", headers=h, json={"role": "communications", "user_id": agent.id}
    )
    assert (
        res.status_code == 200
        and {"role": "communications", "user": res.json()["responder"]} in res.json()["roles"]
    )
    res = await client.put(f"{url}/postmortem", headers=h, json={"what_happened": "early"})
    assert res.status_code == 409 and res.json()["code"] == "incident_active"
    res = await client.post(f"{url}/tickets/SUP-4040", headers=h)
    assert res.status_code == 422 and res.json()["code"] == "unknown_ticket"
