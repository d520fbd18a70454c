"""Tracker issues: a ticket opens a GitHub issue through the REST API (a fake GitHub on loopback)."""

import json

import pytest
from sqlmodel import select

from app.ticket.models import Link, Message
from tests.factories import bearer, make_ticket, make_token, make_user
from tests.pages.conftest import sign_in

ISSUE = {
    "number": 1347,
    "html_url": "https://github.com/octo-org/infra/issues/1347",
    "state": "open",
    "title": "Notebook server fails to start",
}


@pytest.fixture
def fake_github(receiver, monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_GITHUB_API_URL", receiver.url.removesuffix("/hook") + "/api/v3")
    monkeypatch.setenv("FIRSTLINE_GITHUB_TOKEN", "ghp_test")
    monkeypatch.setenv("FIRSTLINE_GITHUB_REPO", "octo-org/infra")
    get_integration_settings.cache_clear()
    receiver.status = [201]
    receiver.reply = json.dumps(ISSUE).encode()
    return receiver


async def test_open_issue_links_it_and_sets_pending(session, client, fake_github):
    agent = await make_user(session, "agent")
    headers = bearer(await make_token(session, agent))
    ticket = await make_ticket(
        session, title="Notebook server fails to start", body="504 since this morning"
    )
    r = await client.post(
        "/api/v1/integrations/github/issues", json={"ticket": f"SUP-{ticket.id}"}, headers=headers
    )
    assert r.status_code == 201, r.text
    assert r.json() == {
        "ticket": f"SUP-{ticket.id}",
        "status": "pending",
        "issue_url": ISSUE["html_url"],
    }
    [req] = fake_github.requests
    assert req.path == "/api/v3/repos/octo-org/infra/issues"
    assert req.headers["authorization"] == "Bearer ghp_test"
    assert req.headers["accept"] == "application/vnd.github+json"
    sent = req.json()
    assert (
        sent["title"] == "Notebook server fails to start"
        and "504 since this morning" in sent["body"]
    )
    assert f"SUP-{ticket.id}" in sent["body"]
    [link] = (await session.exec(select(Link))).all()
    assert link.url == ISSUE["html_url"] and link.kind == "github_issue"
    [note] = (await session.exec(select(Message))).all()
    assert note.kind == "internal" and ISSUE["html_url"] in note.body


async def test_github_closing_the_issue_resolves_the_ticket(
    session, client, fake_github, monkeypatch
):
    """The issue we opened is the ticket's GitHub thread: GitHub's own 'closed' webhook lands on it."""
    import hashlib
    import hmac

    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_GITHUB_WEBHOOK_SECRET", "s")
    get_integration_settings.cache_clear()
    agent = await make_user(session, "agent")
    ticket = await make_ticket(session)
    await client.post(
        "/api/v1/integrations/github/issues",
        json={"ticket": str(ticket.id)},
        headers=bearer(await make_token(session, agent)),
    )
    payload = {
        "action": "closed",
        "issue": {
            "number": 1347,
            "state": "closed",
            "state_reason": "completed",
            "title": "x",
            "html_url": ISSUE["html_url"],
            "user": {"login": "octocat", "id": 1},
        },
        "repository": {"full_name": "octo-org/infra"},
        "sender": {"login": "octocat", "id": 1},
    }
    body = json.dumps(payload).encode()
    r = await client.post(
        "/api/v1/integrations/github",
        content=body,
        headers={
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": "d1",
            "X-Hub-Signature-256": "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest(),
        },
    )
    assert r.json()["result"] == "status" and r.json()["ticket"] == f"SUP-{ticket.id}"
    await session.refresh(ticket)
    assert ticket.status == "resolved"


async def test_github_refusing_is_502_and_changes_nothing(session, client, fake_github):
    fake_github.status = [404]
    fake_github.reply = b'{"message": "Not Found"}'
    agent = await make_user(session, "agent")
    ticket = await make_ticket(session)
    r = await client.post(
        "/api/v1/integrations/github/issues",
        json={"ticket": str(ticket.id)},
        headers=bearer(await make_token(session, agent)),
    )
    assert r.status_code == 502 and "Not Found" in r.json()["detail"]
    assert (await session.exec(select(Link))).all() == []
    await session.refresh(ticket)
    assert ticket.status == "new"


async def test_bad_requests(session, client, fake_github):
    agent = await make_user(session, "agent")
    headers = bearer(await make_token(session, agent))
    assert (
        await client.post(
            "/api/v1/integrations/github/issues", json={"ticket": "SUP-999"}, headers=headers
        )
    ).status_code == 404
    ticket = await make_ticket(session)
    r = await client.post(
        "/api/v1/integrations/github/issues",
        json={"ticket": str(ticket.id), "repo": "no slash"},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_repo"
    viewer = bearer(await make_token(session, await make_user(session, "viewer")))
    assert (
        await client.post(
            "/api/v1/integrations/github/issues", json={"ticket": str(ticket.id)}, headers=viewer
        )
    ).status_code == 403
    assert fake_github.requests == []


async def test_ticket_page_panel_opens_an_issue(session, client, fake_github):
    agent = await make_user(session, "agent", email="al@desk.example")
    ticket = await make_ticket(session)
    csrf = await sign_in(client, agent.email)
    page = await client.get(f"/tickets/{ticket.id}")
    assert "Open GitHub issue" in page.text and 'value="octo-org/infra"' in page.text
    r = await client.post(
        f"/tickets/{ticket.id}/tracker-issue", data={"csrf_token": csrf, "repo": "octo-org/infra"}
    )
    assert r.status_code == 303
    page = await client.get(f"/tickets/{ticket.id}")
    assert "octo-org/infra#1347" in page.text
    assert (
        await client.post(f"/tickets/{ticket.id}/tracker-issue", data={"repo": "a/b"})
    ).status_code == 403
