"""The /api/v1/tickets endpoints: status codes, shapes and error codes."""

import asyncio

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.ticket.models import Ticket
from app.user.models import StaffRole
from tests.factories import bearer, make_community, make_token, make_user


@pytest.fixture
async def triager_token(session):
    return await make_token(session, await make_user(session, StaffRole.triager, name="Tara"))


@pytest.fixture
async def auth(triager_token):
    return bearer(triager_token)


async def new_ticket(client, auth, **fields) -> dict:
    body = {"title": "Server down", "requester_email": "ada@uni.example", **fields}
    res = await client.post("/api/v1/tickets", json=body, headers=auth)
    assert res.status_code == 201, res.text
    return res.json()


async def count_tickets(session) -> int:
    return (await session.exec(select(func.count()).select_from(Ticket))).one()


async def test_create_ticket(client, auth, session):
    await make_community(session, "uni", reps=("ada@uni.example",))
    res = await client.post(
        "/api/v1/tickets",
        headers=auth,
        json={
            "title": "  Notebook fails  ",
            "body": "504s",
            "requester_email": "Ada@Uni.example",
            "requester_name": "Ada",
            "community": "uni",
            "type": "bug",
            "urgency": "urgent",
            "channel": "email",
        },
    )
    assert res.status_code == 201
    data = res.json()
    assert data["key"] == f"SUP-{data['id']}"
    assert data["title"] == "Notebook fails"
    assert data["status"] == "new"
    assert data["requester"]["email"] == "ada@uni.example"
    assert data["community"]["slug"] == "uni"
    assert (data["type"], data["urgency"], data["channel"]) == ("bug", "urgent", "email")
    assert data["priority_reasons"]
    assert res.headers["location"] == f"/api/v1/tickets/{data['id']}"
    assert res.headers["etag"] == f'"{data["version"]}"'


async def test_non_representative_request_awaits_approval(client, auth, session):
    await make_community(session, "uni", reps=("rep@uni.example",))
    data = await new_ticket(client, auth, community="uni", requester_email="student@uni.example")
    assert data["status"] == "awaiting_approval"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"requester_email": "a@b.example"}, 422, "invalid"),
        ({"title": "   ", "requester_email": "a@b.example"}, 422, "invalid"),
        ({"title": "x" * 201, "requester_email": "a@b.example"}, 422, "invalid"),
        ({"title": "t", "requester_email": "not-an-email"}, 422, "invalid"),
        ({"title": "t", "requester_email": "a@b.example", "urgency": "yesterday"}, 422, "invalid"),
        (
            {"title": "t", "requester_email": "a@b.example", "community": "ghost"},
            422,
            "unknown_community",
        ),
    ],
)
async def test_create_rejects_bad_input_and_writes_nothing(
    client, auth, session, body, status, code
):
    res = await client.post("/api/v1/tickets", json=body, headers=auth)
    assert res.status_code == status
    assert res.json()["code"] == code
    assert isinstance(res.json()["detail"], str) and res.json()["detail"]
    assert await count_tickets(session) == 0


async def test_malformed_json_is_400(client, auth):
    res = await client.post(
        "/api/v1/tickets",
        content=b'{"title": ',
        headers={**auth, "content-type": "application/json"},
    )
    assert res.status_code == 400
    assert res.json() == {"detail": "the request body is not valid JSON", "code": "malformed_json"}


async def test_oversized_body_is_413(client, auth):
    res = await client.post(
        "/api/v1/tickets",
        content=b"x" * (60 * 1024 * 1024),
        headers={**auth, "content-type": "application/json"},
    )
    assert res.status_code == 413
    assert res.json()["code"] == "payload_too_large"


async def test_authentication_and_scopes(client, session):
    viewer = await make_user(session, StaffRole.viewer)
    read_only = await make_token(
        session, await make_user(session, StaffRole.triager), scopes="tickets:read"
    )
    body = {"title": "t", "requester_email": "a@b.example"}
    assert (await client.post("/api/v1/tickets", json=body)).status_code == 401
    res = await client.post("/api/v1/tickets", json=body, headers=bearer("fl_nonsense"))
    assert res.status_code == 401 and res.json()["code"] == "bad_token"
    assert res.headers["www-authenticate"] == "Bearer"
    res = await client.post("/api/v1/tickets", json=body, headers={"Authorization": "Basic abc"})
    assert res.status_code == 401 and res.json()["code"] == "bad_auth_header"
    res = await client.post("/api/v1/tickets", json=body, headers=bearer(read_only))
    assert res.status_code == 403 and "scope" in res.json()["detail"]
    res = await client.post(
        "/api/v1/tickets", json=body, headers=bearer(await make_token(session, viewer))
    )
    assert res.status_code == 403 and "role" in res.json()["detail"]
    assert (await client.get("/api/v1/tickets", headers=bearer(read_only))).status_code == 200
    assert await count_tickets(session) == 0


async def test_read_by_id_or_key_and_404(client, auth):
    t = await new_ticket(client, auth)
    for ref in (t["id"], t["key"], t["key"].lower()):
        res = await client.get(f"/api/v1/tickets/{ref}", headers=auth)
        assert res.status_code == 200 and res.json()["id"] == t["id"]
    for ref in ("SUP-999", "999", "banana"):
        res = await client.get(f"/api/v1/tickets/{ref}", headers=auth)
        assert res.status_code == 404 and res.json()["code"] == "not_found"


async def test_patch_triage_and_events(client, auth, session):
    staff = await make_user(session, StaffRole.agent, name="Ana")
    t = await new_ticket(client, auth)
    res = await client.patch(
        f"/api/v1/tickets/{t['id']}",
        headers=auth,
        json={
            "status": "open",
            "type": "feature_request",
            "criticality": 3,
            "tags": ["gpu", "Quota"],
            "assignee_id": staff.id,
            "next_update_at": "2026-12-01T10:00:00+01:00",
            "has_workaround": True,
            "affected_communities": 3,
            "milestone": "H1 2027",
        },
    )
    assert res.status_code == 200, res.text
    data = res.json()
    assert (data["status"], data["type"], data["criticality"]) == ("open", "feature_request", 3)
    assert data["tags"] == ["gpu", "quota"]
    assert data["assignee"]["name"] == "Ana"
    assert data["next_update_at"].startswith("2026-12-01T09:00:00")
    assert "affects several communities" in data["priority_reasons"]
    events = (await client.get(f"/api/v1/tickets/{t['key']}/events", headers=auth)).json()
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.assigned",
        "ticket.updated",
        "ticket.tagged",
    ]
    assert events[1]["data"] == {"before": "new", "after": "open", "reopened": False}
    assert events[1]["actor"]["name"] == "Tara"


@pytest.mark.parametrize(
    ("patch", "status", "code"),
    [
        ({"status": "awaiting_approval"}, 409, "invalid_transition"),
        ({"status": "bogus"}, 422, "invalid"),
        ({"criticality": 7}, 422, "invalid"),
        ({"title": None}, 422, "null_field"),
        ({"next_update_at": "2026-12-01T10:00:00"}, 422, "invalid"),
        ({"tags": ["has space!"]}, 422, "bad_tag"),
        ({"community": "ghost"}, 422, "unknown_community"),
        ({"assignee_id": 424242}, 422, "bad_assignee"),
    ],
)
async def test_patch_rejects_bad_changes_and_changes_nothing(client, auth, patch, status, code):
    t = await new_ticket(client, auth)
    res = await client.patch(
        f"/api/v1/tickets/{t['id']}", json={"type": "docs", **patch}, headers=auth
    )
    assert res.status_code == status, res.text
    assert res.json()["code"] == code
    after = (await client.get(f"/api/v1/tickets/{t['id']}", headers=auth)).json()
    assert after["type"] == t["type"] and after["version"] == t["version"]


async def test_illegal_transition_explains(client, auth):
    t = await new_ticket(client, auth)
    await client.patch(f"/api/v1/tickets/{t['id']}", json={"status": "closed"}, headers=auth)
    res = await client.patch(
        f"/api/v1/tickets/{t['id']}", json={"status": "resolved"}, headers=auth
    )
    assert res.status_code == 409
    assert (
        res.json()["detail"]
        == "cannot move from closed to resolved: from closed a ticket can move to: open"
    )


async def test_if_match(client, auth):
    t = await new_ticket(client, auth)
    url = f"/api/v1/tickets/{t['id']}"
    etag = (await client.get(url, headers=auth)).headers["etag"]
    ok = await client.patch(url, json={"criticality": 2}, headers={**auth, "If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] != etag
    stale = await client.patch(url, json={"criticality": 1}, headers={**auth, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    weak = await client.patch(
        url, json={"criticality": 1}, headers={**auth, "If-Match": f"W/{ok.headers['etag']}"}
    )
    assert weak.status_code == 200
    bad = await client.patch(url, json={"criticality": 1}, headers={**auth, "If-Match": "nonsense"})
    assert bad.status_code == 422
    assert (await client.get(url, headers=auth)).json()["criticality"] == 1


async def test_claim_api_and_concurrency(client, session):
    tokens = [
        await make_token(session, await make_user(session, StaffRole.agent, name=f"Agent {i}"))
        for i in range(6)
    ]
    t = await new_ticket(client, bearer(tokens[0]))
    results = await asyncio.gather(
        *(client.post(f"/api/v1/tickets/{t['id']}/claim", headers=bearer(tok)) for tok in tokens)
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 5
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["code"] == "already_claimed" and loser["claimed_by"].startswith("Agent")
    winner = next(r for r in results if r.status_code == 200).json()
    assert winner["claimed_by"]["name"] == loser["claimed_by"]
    who = next(tok for tok, r in zip(tokens, results, strict=True) if r.status_code == 200)
    released = await client.delete(f"/api/v1/tickets/{t['id']}/claim", headers=bearer(who))
    assert released.status_code == 200 and released.json()["claimed_by"] is None
    assert (await client.post("/api/v1/tickets/9999/claim", headers=bearer(who))).status_code == 404


async def test_messages(client, auth):
    t = await new_ticket(client, auth)
    url = f"/api/v1/tickets/{t['id']}/messages"
    note = await client.post(url, json={"body": "checked logs", "kind": "internal"}, headers=auth)
    assert note.status_code == 201 and note.json()["kind"] == "internal"
    reply = await client.post(url, json={"body": "**Hi** <script>alert(1)</script>"}, headers=auth)
    assert reply.status_code == 201
    assert (
        "<strong>Hi</strong>" in reply.json()["body_html"]
        and "<script>" not in reply.json()["body_html"]
    )
    listed = (await client.get(url, headers=auth)).json()
    assert [m["kind"] for m in listed] == ["internal", "public"]
    after = (await client.get(f"/api/v1/tickets/{t['id']}", headers=auth)).json()
    assert after["first_response_at"] is not None
    assert (await client.post(url, json={"body": "  "}, headers=auth)).status_code == 422
    assert (
        await client.post(url, json={"body": "x", "kind": "shout"}, headers=auth)
    ).status_code == 422


async def test_votes(client, auth):
    t = await new_ticket(client, auth)
    url = f"/api/v1/tickets/{t['id']}/votes"
    first = await client.post(url, json={"email": "fan@uni.example"}, headers=auth)
    assert first.status_code == 201 and first.json()["vote_count"] == 1
    mine = await client.post(url, headers=auth)
    assert mine.status_code == 201 and mine.json()["vote_count"] == 2
    again = await client.post(url, json={"email": "FAN@uni.example"}, headers=auth)
    assert again.status_code == 409 and again.json()["code"] == "already_voted"
    voters = (await client.get(url, headers=auth)).json()["voters"]
    gone = await client.delete(f"{url}/{voters[0]['id']}", headers=auth)
    assert gone.status_code == 200 and gone.json()["vote_count"] == 1
    assert (await client.delete(f"{url}/{voters[0]['id']}", headers=auth)).status_code == 404
    assert (await client.post(url, json={"email": "nope"}, headers=auth)).status_code == 422


async def test_links(client, auth):
    t = await new_ticket(client, auth)
    url = f"/api/v1/tickets/{t['id']}/links"
    link = await client.post(
        url,
        json={"url": "https://github.com/o/r/issues/7", "title": "o/r#7", "kind": "github_issue"},
        headers=auth,
    )
    assert link.status_code == 201 and link.json()["kind"] == "github_issue"
    assert (
        await client.post(url, json={"url": "https://github.com/o/r/issues/7"}, headers=auth)
    ).status_code == 409
    assert (
        await client.post(url, json={"url": "javascript:alert(1)"}, headers=auth)
    ).status_code == 422
    assert (
        await client.post(url, json={"url": "https://x.example", "kind": "weird"}, headers=auth)
    ).status_code == 422
    assert len((await client.get(url, headers=auth)).json()) == 1
    assert (await client.delete(f"{url}/{link.json()['id']}", headers=auth)).status_code == 204
    assert (await client.get(url, headers=auth)).json() == []


async def test_list_filters_and_paging(client, auth, session):
    await make_community(session, "uni", reps=("ada@uni.example",))
    made = [
        await new_ticket(
            client, auth, title=f"t{i}", community="uni", type="bug" if i % 2 else "question"
        )
        for i in range(5)
    ]
    await client.patch(
        f"/api/v1/tickets/{made[0]['id']}", json={"status": "open", "tags": ["gpu"]}, headers=auth
    )
    page = (
        await client.get("/api/v1/tickets", params={"limit": 2, "sort": "age"}, headers=auth)
    ).json()
    assert [t["title"] for t in page["items"]] == ["t0", "t1"]
    page2 = (
        await client.get(
            "/api/v1/tickets",
            params={"limit": 2, "sort": "age", "cursor": page["next_cursor"]},
            headers=auth,
        )
    ).json()
    assert [t["title"] for t in page2["items"]] == ["t2", "t3"]

    async def titles(**params):
        res = await client.get("/api/v1/tickets", params=params, headers=auth)
        assert res.status_code == 200, res.text
        return sorted(t["title"] for t in res.json()["items"])

    assert await titles(type="bug") == ["t1", "t3"]
    assert await titles(status="open") == ["t0"]
    assert await titles(status=["open", "new"]) == ["t0", "t1", "t2", "t3", "t4"]
    assert await titles(tag="gpu") == ["t0"]
    assert await titles(community="uni", q="t4") == ["t4"]
    assert await titles(channel="email") == []
    assert await titles(assignee="none") == ["t0", "t1", "t2", "t3", "t4"]
    for bad in (
        {"sort": "random"},
        {"limit": 0},
        {"limit": 500},
        {"status": "lost"},
        {"cursor": "!!"},
        {"assignee": "bob"},
    ):
        res = await client.get("/api/v1/tickets", params=bad, headers=auth)
        assert res.status_code == 422, bad


async def test_attachments_download_as_files(client, auth, session):
    from app.ticket.models import TicketCreate
    from app.ticket.service import UploadedFile, submit_ticket

    ticket = await submit_ticket(
        session,
        TicketCreate(title="t", requester_email="a@b.example"),
        files=[UploadedFile("evil.html", "text/html", b"<script>alert(1)</script>")],
    )
    listed = (await client.get(f"/api/v1/tickets/{ticket.id}/attachments", headers=auth)).json()
    assert listed[0]["filename"] == "evil.html" and "data" not in listed[0]
    res = await client.get(
        f"/api/v1/tickets/{ticket.id}/attachments/{listed[0]['id']}", headers=auth
    )
    assert res.status_code == 200 and res.content == b"<script>alert(1)</script>"
    assert res.headers["content-type"] == "application/octet-stream"
    assert res.headers["content-disposition"].startswith("attachment;")
    assert (
        await client.get(f"/api/v1/tickets/{ticket.id}/attachments/999", headers=auth)
    ).status_code == 404


async def test_canned_replies(client, auth):
    t = await new_ticket(client, auth, type="feature_request", requester_name="Grace Hopper")
    listed = (
        await client.get(
            "/api/v1/canned-replies", params={"ticket_type": "feature_request"}, headers=auth
        )
    ).json()
    assert listed[0]["slug"] == "need-motivation"
    res = await client.get(
        f"/api/v1/tickets/{t['id']}/canned-replies/need-motivation", headers=auth
    )
    assert (
        res.status_code == 200
        and res.json()["body"].startswith("Hello Grace,")
        and "Tara" in res.json()["body"]
    )
    assert (
        await client.get(f"/api/v1/tickets/{t['id']}/canned-replies/nope", headers=auth)
    ).status_code == 404


async def test_unknown_api_route_is_json_404(client, auth):
    res = await client.get("/api/v1/nothing-here", headers=auth)
    assert res.status_code == 404 and res.json()["code"] == "not_found"
    res = await client.put("/api/v1/tickets", headers=auth)
    assert res.status_code == 405 and res.json()["code"] == "method_not_allowed"


async def test_health(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready["status"] == "ok" and ready["database"] in ("sqlite", "postgresql")


async def test_readyz_fails_when_the_database_is_gone(client, db, monkeypatch):
    from sqlalchemy.ext.asyncio import create_async_engine

    monkeypatch.setattr(
        db, "engine", create_async_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    )
    res = await client.get("/readyz")
    assert res.status_code == 503 and res.json()["code"] == "not_ready"


async def test_openapi_documents_every_error(client):
    spec = (await client.get("/openapi.json")).json()
    create = spec["paths"]["/api/v1/tickets"]["post"]
    assert {"400", "401", "403", "413", "422"} <= set(create["responses"])
    patch = spec["paths"]["/api/v1/tickets/{ref}"]["patch"]
    assert {"409", "412"} <= set(patch["responses"])
    assert spec["components"]["schemas"]["TicketCreate"]["examples"]
    for path, methods in spec["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in methods.items():
            assert "401" in op["responses"], f"{method.upper()} {path} does not document 401"
    assert not [p for p in spec["paths"] if p.startswith(("/tickets", "/intake", "/login"))]


async def test_a_runaway_api_client_gets_429_and_others_are_unaffected(
    client, auth, session, monkeypatch
):
    monkeypatch.setenv("FIRSTLINE_API_INTAKE_RATE_PER_MINUTE", "2")
    from app.config import get_settings

    get_settings.cache_clear()
    body = {"title": "Server down", "requester_email": "ada@uni.example"}
    statuses = [
        (await client.post("/api/v1/tickets", json=body, headers=auth)).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    res = await client.post("/api/v1/tickets", json=body, headers=auth)
    assert res.json()["code"] == "rate_limited" and int(res.headers["retry-after"]) > 0
    other = bearer(await make_token(session, await make_user(session, StaffRole.agent)))
    assert (await client.post("/api/v1/tickets", json=body, headers=other)).status_code == 201
    assert await count_tickets(session) == 3
