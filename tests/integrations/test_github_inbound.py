"""GitHub webhooks in, with GitHub's own payload examples, signatures and delivery ids."""

import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
from sqlmodel import func, select

from app.integrations.models import InboundDelivery
from app.ticket.models import Link, Message, Ticket
from app.ticket.service import tags_by_ticket
from app.user.models import User

PAYLOADS = Path(__file__).parent / "payloads" / "github"
SECRET = "gh-test-secret"


def sample(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def github_secret(monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_GITHUB_WEBHOOK_SECRET", SECRET)
    get_integration_settings.cache_clear()


async def send(
    client,
    event: str,
    payload: dict | bytes,
    *,
    delivery: str | None = None,
    secret: str = SECRET,
    signature: str | None = None,
):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sig = signature or "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return await client.post(
        "/api/v1/integrations/github",
        content=body,
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sig,
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/abc",
        },
    )


async def count(session, model) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def the_ticket(session) -> Ticket:
    return (await session.exec(select(Ticket).execution_options(populate_existing=True))).one()


async def test_ping_is_acknowledged(client):
    r = await send(client, "ping", sample("ping"))
    assert r.status_code == 200 and r.json()["result"] == "pong"


async def test_bad_or_missing_signature_is_401_and_changes_nothing(session, client):
    body = json.dumps(sample("issues.opened")).encode()
    for sig in ("sha256=" + "0" * 64, "sha1=abc", ""):
        r = await send(
            client, "issues", body, signature=sig or None, secret="wrong" if not sig else SECRET
        )
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "bad_signature"
    tampered = await send(
        client,
        "issues",
        body,
        signature="sha256=" + hmac.new(SECRET.encode(), body + b" ", hashlib.sha256).hexdigest(),
    )
    assert tampered.status_code == 401
    assert await count(session, Ticket) == 0 and await count(session, InboundDelivery) == 0


async def test_issue_opened_becomes_a_github_ticket_with_requester_link_and_bug_queue(
    session, client
):
    r = await send(client, "issues", sample("issues.opened"))
    assert r.status_code == 200, r.text
    assert r.json()["result"] == "created" and r.json()["ticket"] == "SUP-1"
    ticket = await the_ticket(session)
    assert ticket.title == "Spelling error in the README file" and ticket.channel == "github"
    assert ticket.type == "bug"  # it carries the `bug` label: the bug queue
    requester = await session.get(User, ticket.requester_id)
    assert requester.github_login == "Codertocat" and requester.email.endswith(
        "@users.noreply.github.com"
    )
    [link] = (await session.exec(select(Link))).all()
    assert (
        link.url == "https://github.com/Codertocat/Hello-World/issues/1"
        and link.kind == "github_issue"
    )
    assert (await tags_by_ticket(session, [ticket.id]))[ticket.id] == ["bug"]


async def test_same_delivery_twice_changes_nothing(session, client):
    payload = sample("issues.opened")
    first = await send(client, "issues", payload, delivery="d-1")
    again = await send(client, "issues", payload, delivery="d-1")
    assert first.json()["result"] == "created" and again.json()["result"] == "duplicate"
    comment = sample("issue_comment.created")
    await send(client, "issue_comment", comment, delivery="d-2")
    await send(client, "issue_comment", comment, delivery="d-2")
    assert await count(session, Ticket) == 1 and await count(session, Message) == 1
    # a new delivery of an "opened" for the same issue still does not open a second ticket
    assert (await send(client, "issues", payload, delivery="d-3")).json()["result"] == "duplicate"
    assert await count(session, Ticket) == 1


async def test_comment_becomes_a_message(session, client):
    await send(client, "issues", sample("issues.opened"))
    r = await send(client, "issue_comment", sample("issue_comment.created"))
    assert r.json() == {"result": "message", "ticket": "SUP-1", "detail": ""}
    [message] = (await session.exec(select(Message))).all()
    assert message.body.startswith("You are totally right!") and message.channel == "github"


async def test_closed_and_reopened_move_the_status(session, client):
    await send(client, "issues", sample("issues.opened"))
    closed = sample("issues.reopened")
    closed["action"], closed["issue"]["state"], closed["issue"]["state_reason"] = (
        "closed",
        "closed",
        "completed",
    )
    assert (await send(client, "issues", closed)).json()["detail"] == "resolved"
    assert (await the_ticket(session)).status == "resolved"
    assert (await send(client, "issues", sample("issues.reopened"))).json()["detail"] == "open"
    assert (await the_ticket(session)).status == "open"
    not_planned = copy.deepcopy(closed)
    not_planned["issue"]["state_reason"] = "not_planned"
    await send(client, "issues", not_planned)
    assert (await the_ticket(session)).status == "closed"


async def test_labels_become_tags(session, client):
    opened = sample("issues.opened")
    opened["issue"]["labels"] = []
    await send(client, "issues", opened)
    ticket = await the_ticket(session)
    assert ticket.type == "question"
    labeled = sample("issues.labeled")
    assert labeled["label"]["name"] == "bug"
    await send(client, "issues", labeled)
    ticket = await the_ticket(session)
    assert ticket.type == "bug" and (await tags_by_ticket(session, [ticket.id]))[ticket.id] == [
        "bug"
    ]
    unlabeled = sample("issues.unlabeled")
    unlabeled["label"] = {"name": "bug"}
    await send(client, "issues", unlabeled)
    assert (await tags_by_ticket(session, [ticket.id]))[ticket.id] == []


async def test_a_label_that_cannot_be_a_tag_is_skipped_on_a_tagged_ticket(session, client):
    opened = sample("issues.opened")
    opened["issue"]["labels"] = [{"name": "bug"}]
    await send(client, "issues", opened)
    ticket = await the_ticket(session)
    labeled = sample("issues.labeled")
    labeled["label"] = {"name": "🎉"}
    res = await send(client, "issues", labeled)
    assert res.status_code == 200, res.text
    assert (await tags_by_ticket(session, [ticket.id]))[ticket.id] == ["bug"]


async def test_malformed_bodies_are_4xx_not_500(session, client):
    assert (await send(client, "issues", b"{not json")).status_code == 422
    r = await send(client, "issues", {"action": "opened"})
    assert r.status_code == 422 and r.json()["code"] == "bad_payload"
    assert (await send(client, "star", {"action": "created"})).json()["result"] == "ignored"
    assert await count(session, Ticket) == 0


async def test_unconfigured_secret_refuses_everything(client, monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_GITHUB_WEBHOOK_SECRET", "")
    get_integration_settings.cache_clear()
    r = await send(client, "ping", sample("ping"))
    assert r.status_code == 401 and r.json()["code"] == "not_configured"
