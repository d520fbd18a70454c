"""One person, many channels: identities, community mappings, re-grading on a community change,
and requester links to the portal (issue #17 items 2 and 6)."""

import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from app.community.models import CommunityMapping
from app.community.service import get_community_by_slug, set_community_mapping
from app.db import pk, transaction
from app.errors import Conflict, InvalidInput
from app.integrations.email import ingest_email
from app.outbox.models import OutboxMessage
from app.ticket.enums import Channel, Status
from app.ticket.models import MessageCreate, Ticket, TicketCreate, TicketUpdate
from app.ticket.service import post_message, submit_ticket, update_ticket
from app.user.identity import add_identity, set_profile
from app.user.models import Identity, IdentityKind, ProfileUpdate, User
from tests.factories import bearer, make_community, make_token, make_user, principal_for
from tests.pages.conftest import csrf_from, sign_in

PAYLOADS = Path(__file__).parent / "payloads"
GH_SECRET = "gh-test-secret"
SLACK_SECRET = "slack-test-secret"


@pytest.fixture(autouse=True)
def channel_settings(monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_EMAIL_INBOUND_TOKEN", "inbound-secret")
    monkeypatch.setenv("FIRSTLINE_MAIL_DOMAIN", "desk.example")
    monkeypatch.setenv("FIRSTLINE_MAIL_FROM", "support@desk.example")
    monkeypatch.setenv("FIRSTLINE_GITHUB_WEBHOOK_SECRET", GH_SECRET)
    monkeypatch.setenv("FIRSTLINE_SLACK_SIGNING_SECRET", SLACK_SECRET)
    monkeypatch.setenv("FIRSTLINE_SLACK_CHANNELS", "C123ABC456")
    get_integration_settings.cache_clear()
    yield
    get_integration_settings.cache_clear()


def mail(sender: str, subject: str = "The cluster is down", *, verified: bool = False) -> bytes:
    # As our MTA stamps a DKIM pass aligned with the sender's domain (see test_email_trust.py).
    domain = sender.rpartition("@")[2]
    auth = (
        f"Authentication-Results: mx.desk.example; dkim=pass header.d={domain}\r\n"
        if verified
        else ""
    )
    return (
        f"{auth}From: Someone <{sender}>\r\nTo: support@desk.example\r\nSubject: {subject}\r\n"
        f"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{uuid.uuid4()}@mail.example>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nNothing starts since this morning.\r\n"
    ).encode()


async def tickets(session) -> list[Ticket]:
    stmt = select(Ticket).order_by(col(Ticket.id)).execution_options(populate_existing=True)
    return list((await session.exec(stmt)).all())


async def count(session, model) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


# --- e-mail: membership by identity and by domain --------------------------------------------


@pytest.fixture
def our_mta(monkeypatch):
    """Mail is received through mx.desk.example, whose Authentication-Results we trust."""
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_MAIL_AUTHSERV_ID", "mx.desk.example")
    get_integration_settings.cache_clear()
    yield
    get_integration_settings.cache_clear()


async def test_mail_from_a_members_address_gets_the_community_and_waits_for_approval(
    session, our_mta
):
    physics = await make_community(
        session, "physics", reps=("rep@uni.example",), members=("ada@uni.example",), funded=True
    )
    assert (await ingest_email(session, mail("Ada@Uni.example"))).result == "created"
    assert (await ingest_email(session, mail("rep@uni.example", verified=True))).result == "created"
    # The same representative's address without our MTA's pass gains no representative's rights.
    assert (await ingest_email(session, mail("rep@uni.example", "Again"))).result == "created"
    member_ticket, rep_ticket, unverified_rep_ticket = await tickets(session)
    assert unverified_rep_ticket.community_id == physics.id
    assert unverified_rep_ticket.status == Status.awaiting_approval
    assert (
        member_ticket.community_id == physics.id
        and member_ticket.status == Status.awaiting_approval
    )
    assert member_ticket.funded is True
    assert (
        rep_ticket.community_id == physics.id and rep_ticket.status == Status.new
    )  # reps need no approval
    # The representatives were asked to approve the member's request.
    approvals = [
        m
        for m in (await session.exec(select(OutboxMessage))).all()
        if m.idempotency_key == f"approval-request-{member_ticket.id}"
    ]
    assert len(approvals) == 1


async def test_mail_from_a_members_second_address_is_the_same_person(session):
    physics = await make_community(session, "physics", members=("ada@uni.example",))
    ada = (await session.exec(select(User).where(User.email == "ada@uni.example"))).one()
    await add_identity(
        session,
        pk(ada),
        IdentityKind.email,
        "ada.lovelace@home.example",
        verified=True,
        actor_id=None,
    )
    await ingest_email(session, mail("ada.lovelace@home.example"))
    [ticket] = await tickets(session)
    assert ticket.requester_id == ada.id and ticket.community_id == physics.id
    assert ticket.status == Status.awaiting_approval


async def test_mail_from_a_communitys_domain_gets_that_community(session):
    physics = await make_community(session, "physics", email_domains=["Physics.Uni.example"])
    await make_community(session, "chemistry", email_domains=["chem.uni.example"])
    await ingest_email(session, mail("stranger@physics.uni.example"))
    await ingest_email(session, mail("someone@elsewhere.example"))
    mapped, unmapped = await tickets(session)
    assert mapped.community_id == physics.id and mapped.status == Status.awaiting_approval
    assert unmapped.community_id is None and unmapped.status == Status.new


async def test_requests_through_the_api_keep_their_explicit_community_rule(session):
    """Only outside channels guess: an API request without a community stays without one."""
    await make_community(session, "physics", members=("ada@uni.example",))
    ticket = await submit_ticket(
        session, TicketCreate(title="x", requester_email="ada@uni.example", channel=Channel.api)
    )
    assert ticket.community_id is None and ticket.status == Status.new


# --- GitHub repositories and Slack channels ----------------------------------------------------


async def github(client, event: str, payload: dict):
    body = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(GH_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return await client.post(
        "/api/v1/integrations/github",
        content=body,
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sig,
            "Content-Type": "application/json",
        },
    )


def slack_event(name: str, **event) -> dict:
    data = json.loads((PAYLOADS / "slack" / f"{name}.json").read_text())
    data["event"].update(event)
    data["event_id"] = f"Ev{uuid.uuid4().hex[:10]}"
    return data


async def slack(client, payload: dict):
    body = json.dumps(payload).encode()
    ts = int(time.time())  # the test's stated instant (time_machine)
    sig = (
        "v0="
        + hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    )
    return await client.post(
        "/api/v1/integrations/slack/events",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sig,
        },
    )


async def test_an_issue_in_a_mapped_repository_gets_the_community(session, client):
    hello = await make_community(
        session, "hello", github_repos=["Codertocat/Hello-World"], funded=True
    )
    payload = json.loads((PAYLOADS / "github" / "issues.opened.json").read_text())
    r = await github(client, "issues", payload)
    assert r.status_code == 200 and r.json()["result"] == "created", r.text
    other = json.loads(json.dumps(payload))
    other["repository"]["full_name"] = "someone/else"
    other["issue"]["number"] = 999
    await github(client, "issues", other)
    mapped, unmapped = await tickets(session)
    assert mapped.community_id == hello.id and mapped.funded is True
    assert mapped.status == Status.awaiting_approval  # Codertocat is nobody's representative
    assert unmapped.community_id is None


async def test_a_message_in_a_mapped_slack_channel_gets_the_community(session, client):
    ops = await make_community(session, "ops", slack_channels=["C0MAPPED1"])
    r = await slack(client, slack_event("message", channel="C0MAPPED1", ts="1.1"))
    assert r.json()["result"] == "created", (
        r.text
    )  # a mapped channel is watched without being configured
    r = await slack(client, slack_event("message", channel="C123ABC456", ts="2.2"))
    mapped, watched = await tickets(session)
    assert mapped.community_id == ops.id and mapped.status == Status.awaiting_approval
    assert watched.community_id is None
    assert (await slack(client, slack_event("message", channel="C0NOBODY", ts="3.3"))).json()[
        "result"
    ] == "ignored"


async def test_a_slack_member_identity_brings_their_community(session, client):
    ops = await make_community(session, "ops", reps=("lead@ops.example",))
    lead = (await session.exec(select(User).where(User.email == "lead@ops.example"))).one()
    await add_identity(
        session, pk(lead), IdentityKind.slack, "U123ABC456", verified=True, actor_id=None
    )
    await slack(client, slack_event("message", ts="4.4"))
    [ticket] = await tickets(session)
    assert (
        ticket.requester_id == lead.id
        and ticket.community_id == ops.id
        and ticket.status == Status.new
    )


async def test_mappings_are_validated_and_unique(session, client):
    a = await make_community(session, "alpha", github_repos=["acme/app"])
    b = await make_community(session, "beta")
    with pytest.raises(InvalidInput):
        await set_community_mapping(
            session, pk(b), CommunityMapping(github_repos=["not a repo"]), actor_id=None
        )
    with pytest.raises(Conflict) as taken:
        await set_community_mapping(
            session,
            pk(b),
            CommunityMapping(github_repos=["ACME/app"], email_domains=["beta.example"]),
            actor_id=None,
        )
    assert taken.value.code == "mapping_taken"
    await session.refresh(b)
    assert b.github_repos == [] and b.email_domains == []  # nothing written
    admin = await make_user(session, "admin")
    token = await make_token(session, admin)
    r = await client.patch(
        "/api/v1/communities/beta/mapping",
        headers=bearer(token),
        json={"slack_channels": ["lowercase"]},
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_mapping"
    r = await client.patch(
        "/api/v1/communities/beta/mapping",
        headers=bearer(token),
        json={"email_domains": ["@Beta.Example"], "slack_channels": ["C0BETA"]},
    )
    assert r.status_code == 200 and r.json()["email_domains"] == ["beta.example"], r.text
    await session.refresh(a)
    assert r.json()["github_repos"] == [] and a.github_repos == ["acme/app"]


async def test_a_refused_mapping_on_the_community_page_keeps_what_was_typed_beside_the_reason(
    session, client
):
    await make_community(session, "alpha", github_repos=["acme/app"])
    await make_community(session, "beta", email_domains=["beta.example"])
    admin = await make_user(session, "admin", email="boss@desk.example")
    csrf = await sign_in(client, admin.email)
    form = {
        "csrf_token": csrf,
        "email_domains": "beta.example\nnew.example",
        "slack_channels": "",
        "github_repos": "acme/app",
    }
    r = await client.post("/communities/beta/mapping", data=form)
    assert r.status_code == 409
    page = r.text
    assert 'id="github_repos" name="github_repos"' in page and 'aria-invalid="true"' in page
    assert "acme/app already maps to community &#39;alpha&#39;" in page
    assert "beta.example\nnew.example</textarea>" in page  # what was typed, not the saved list
    r = await client.post("/communities/beta/mapping", data=form | {"github_repos": "no repo"})
    assert r.status_code == 422 and 'aria-describedby="github_repos-error"' in r.text
    beta = await get_community_by_slug(session, "beta")
    await session.refresh(beta)
    assert beta.email_domains == ["beta.example"] and beta.github_repos == []  # nothing written
    r = await client.post("/communities/beta/mapping", data=form | {"github_repos": "acme/other"})
    assert r.status_code == 303


# --- a community change re-grades the ticket ---------------------------------------------------


async def test_changing_the_community_re_evaluates_funding_approval_and_rank(session):
    funded = await make_community(session, "funded", funded=True, reps=("rep@f.example",))
    await make_community(session, "unfunded", members=("ada@uni.example",))
    triager = principal_for(await make_user(session, "triager"))
    ticket = await submit_ticket(
        session, TicketCreate(title="Help", requester_email="ada@uni.example")
    )
    assert ticket.funded is False and ticket.status == Status.new
    rank_before = ticket.rank_key

    ticket = await update_ticket(
        session, pk(ticket), TicketUpdate(community="funded"), actor=triager
    )
    assert ticket.community_id == funded.id and ticket.funded is True
    assert ticket.status == Status.awaiting_approval  # Ada is not funded's representative
    assert (
        ticket.rank_key != rank_before
    )  # re-ranked: funded work (and waiting status) rank differently
    approvals = [
        m
        for m in (await session.exec(select(OutboxMessage))).all()
        if m.idempotency_key.startswith(f"approval-request-{ticket.id}")
    ]
    assert len(approvals) == 1 and approvals[0].payload["to"] == [
        "rep@f.example"
    ]  # funded's rep is asked

    ticket = await update_ticket(
        session, pk(ticket), TicketUpdate(community="unfunded"), actor=triager
    )
    assert (
        ticket.funded is False and ticket.status == Status.awaiting_approval
    )  # a member, not a rep
    ticket = await update_ticket(session, pk(ticket), TicketUpdate(community=None), actor=triager)
    assert ticket.community_id is None and ticket.funded is False and ticket.status == Status.new
    ticket = await update_ticket(
        session, pk(ticket), TicketUpdate(community="funded"), actor=triager
    )
    assert ticket.status == Status.awaiting_approval and ticket.funded is True
    asked = [
        m
        for m in (await session.exec(select(OutboxMessage))).all()
        if m.idempotency_key.startswith(f"approval-request-{ticket.id}")
    ]
    assert len(asked) == 2  # asked again, as a new question


async def test_an_explicit_funded_flag_wins_over_the_community_and_started_work_keeps_its_status(
    session,
):
    await make_community(session, "funded", funded=True)
    triager = principal_for(await make_user(session, "triager"))
    ticket = await submit_ticket(session, TicketCreate(title="Help", requester_email="x@y.example"))
    ticket = await update_ticket(
        session, pk(ticket), TicketUpdate(status=Status.open), actor=triager
    )
    ticket = await update_ticket(
        session, pk(ticket), TicketUpdate(community="funded", funded=False), actor=triager
    )
    assert ticket.funded is False and ticket.status == Status.open


# --- identities: unique, validated, nothing written on refusal ---------------------------------


async def test_an_identity_belongs_to_one_person(session, client):
    sam = await make_user(session, "agent", name="Sam")
    kim = await make_user(session, "agent", name="Kim")
    sam_id, kim_id, sam_email = (
        pk(sam),
        pk(kim),
        sam.email,
    )  # a refused write rolls back and expires rows
    await set_profile(
        session,
        pk(sam),
        ProfileUpdate(slack_user_id="U0SAM1", github_login="Sam-Dev"),
        by=principal_for(sam),
    )
    with pytest.raises(Conflict) as taken:
        await set_profile(session, kim_id, ProfileUpdate(slack_user_id="U0SAM1"), by=None)
    assert taken.value.code == "identity_taken"
    with pytest.raises(Conflict):  # GitHub logins are case-insensitive
        await add_identity(
            session, kim_id, IdentityKind.github, "sam-dev", verified=True, actor_id=None
        )
    with pytest.raises(Conflict):  # someone's sign-up address is theirs too
        await add_identity(
            session, kim_id, IdentityKind.email, sam_email.upper(), verified=True, actor_id=None
        )
    rows = (await session.exec(select(Identity).order_by(col(Identity.kind)))).all()
    assert [(i.kind, i.value, i.user_id) for i in rows] == [
        ("github", "sam-dev", sam_id),
        ("slack", "U0SAM1", sam_id),
    ]
    admin = await make_user(session, "admin")
    r = await client.post(
        f"/api/v1/users/{kim_id}/identities",
        headers=bearer(await make_token(session, admin)),
        json={"kind": "slack", "value": "U0SAM1"},
    )
    assert (
        r.status_code == 409
        and r.json()["code"] == "identity_taken"
        and "another person" in r.json()["detail"]
    )


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"github_login": "-bad-", "slack_user_id": "U0GOOD1"}, "bad_github_login"),
        ({"github_login": "good", "slack_user_id": "u0lower"}, "bad_slack_id"),
        ({"slack_user_id": "C0CHANNEL"}, "bad_slack_id"),
        ({"github_login": "a" * 40}, "bad_github_login"),
    ],
)
async def test_bad_input_is_422_with_the_reason_and_writes_nothing(session, patch, code):
    sam = await make_user(session, "agent")
    with pytest.raises(InvalidInput) as bad:
        await set_profile(session, pk(sam), ProfileUpdate(**patch), by=principal_for(sam))
    assert bad.value.code == code and bad.value.status_code == 422
    assert await count(session, Identity) == 0
    await session.refresh(sam)
    assert sam.github_login is None and sam.slack_user_id is None


async def test_profile_page_sets_your_handles_with_csrf_and_refuses_bad_ones(session, client):
    sam = await make_user(session, "viewer", email="sam@desk.example", name="Sam")
    csrf = await sign_in(client, sam.email)
    page = await client.get("/profile")
    assert page.status_code == 200 and 'name="slack_user_id"' in page.text
    r = await client.post("/profile", data={"slack_user_id": "U0SAM1", "github_login": "sam"})
    assert r.status_code == 403  # no CSRF token
    r = await client.post(
        "/profile", data={"slack_user_id": "nope", "github_login": "sam", "csrf_token": csrf}
    )
    assert r.status_code == 422 and "is not a Slack user id" in r.text and 'value="nope"' in r.text
    assert await count(session, Identity) == 0
    r = await client.post(
        "/profile",
        data={"slack_user_id": "U0SAM1", "github_login": "sam", "csrf_token": csrf_from(r.text)},
    )
    assert r.status_code == 303 and r.headers["location"] == "/profile?saved=1"
    await session.refresh(sam)
    assert (sam.slack_user_id, sam.github_login) == ("U0SAM1", "sam")
    # Someone else's profile is an admin's to edit.
    other = await make_user(session, "agent")
    assert (await client.get(f"/users/{other.id}/profile")).status_code == 403


async def test_your_own_extra_address_counts_only_after_its_mailed_link(session, client, clock):
    sam = await make_user(session, "viewer", email="sam@desk.example", name="Sam")
    await make_user(session, "agent", email="kim@desk.example")
    csrf = await sign_in(client, sam.email)
    r = await client.post(
        "/profile/emails", data={"address": "kim@desk.example", "csrf_token": csrf}
    )
    assert r.status_code == 409 and "another person" in r.text and 'aria-invalid="true"' in r.text
    r = await client.post("/profile/emails", data={"address": "nope", "csrf_token": csrf})
    assert (
        r.status_code == 422 and "is not an e-mail address" in r.text and 'value="nope"' in r.text
    )
    r = await client.post(
        "/profile/emails", data={"address": "Sam@Home.Example", "csrf_token": csrf}
    )
    assert r.status_code == 303 and "sent=sam%40home.example" in r.headers["location"]
    assert 'id="email-sent"' in (await client.get(r.headers["location"])).text
    assert await count(session, Identity) == 0  # typing an address proves nothing
    [mail] = (
        await session.exec(select(OutboxMessage).where(OutboxMessage.topic == "email.send"))
    ).all()
    assert mail.payload["to"] == ["sam@home.example"]
    token = mail.payload["text"].split("/identities/verify/")[1].split()[0]
    anonymous = client.__class__(transport=client._transport, base_url="http://testserver")
    async with anonymous:  # the link works from the mailbox, signed in or not
        page = await anonymous.get(f"/identities/verify/{token}")
        assert page.status_code == 200 and 'id="verify"' in page.text
        assert await count(session, Identity) == 0, "opening the link (a mail scanner) adds nothing"
        assert (await anonymous.post(f"/identities/verify/{token[:-2]}xx")).status_code == 404
        done = await anonymous.post(f"/identities/verify/{token}")
        assert done.status_code == 200 and "sam@home.example" in done.text
        assert (
            await anonymous.post(f"/identities/verify/{token}")
        ).status_code == 200  # again: same
    [added] = (await session.exec(select(Identity))).all()
    assert (added.user_id, added.kind, added.value, added.verified) == (
        sam.id,
        "email",
        "sam@home.example",
        True,
    )
    page = (await client.get("/profile")).text
    assert "sam@home.example" in page
    r = await client.post(
        f"/profile/emails/{added.id}/remove", data={"csrf_token": csrf_from(page)}
    )
    assert r.status_code == 303 and await count(session, Identity) == 0
    # A link older than a week is refused.
    r = await client.post(
        "/profile/emails", data={"address": "sam@old.example", "csrf_token": csrf_from(page)}
    )
    old = (
        await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.topic == "email.send")
            .order_by(col(OutboxMessage.id).desc())
        )
    ).first()
    stale = old.payload["text"].split("/identities/verify/")[1].split()[0]
    clock.shift(timedelta(days=8))
    assert (await client.post(f"/identities/verify/{stale}")).status_code == 404
    assert await count(session, Identity) == 0


async def test_an_admin_adds_and_removes_anyones_address_and_others_cannot(session, client):
    admin = await make_user(session, "admin", email="boss@desk.example")
    kim = await make_user(session, "agent", email="kim@desk.example")
    csrf = await sign_in(client, admin.email)
    r = await client.post(
        f"/users/{kim.id}/profile/emails", data={"address": "kim@home.example", "csrf_token": csrf}
    )
    assert r.status_code == 303
    [added] = (await session.exec(select(Identity))).all()
    assert (added.user_id, added.value, added.verified) == (kim.id, "kim@home.example", True)
    other = client.__class__(transport=client._transport, base_url="http://testserver")
    async with other:
        sam = await make_user(session, "triager", email="sam@desk.example")
        sam_csrf = await sign_in(other, sam.email)
        r = await other.post(
            f"/users/{kim.id}/profile/emails/{added.id}/remove", data={"csrf_token": sam_csrf}
        )
        assert r.status_code == 403
        r = await other.post(  # someone else's identity id through your own profile
            f"/profile/emails/{added.id}/remove", data={"csrf_token": sam_csrf}
        )
        assert r.status_code == 404
    assert await count(session, Identity) == 1
    r = await client.post(
        f"/users/{kim.id}/profile/emails/{added.id}/remove", data={"csrf_token": csrf}
    )
    assert r.status_code == 303 and await count(session, Identity) == 0


async def test_an_admin_sets_anyones_handles_and_a_taken_one_is_409_on_the_form(session, client):
    admin = await make_user(session, "admin", email="admin@desk.example")
    sam = await make_user(session, "agent")
    await set_profile(session, pk(sam), ProfileUpdate(slack_user_id="U0SAM1"), by=None)
    kim = await make_user(session, "agent")
    csrf = await sign_in(client, admin.email)
    r = await client.post(
        f"/users/{kim.id}/profile", data={"slack_user_id": "U0SAM1", "csrf_token": csrf}
    )
    assert r.status_code == 409 and "already belongs to another person" in r.text
    r = await client.post(
        f"/users/{kim.id}/profile",
        data={"slack_user_id": "W0KIM2", "github_login": "kim", "csrf_token": csrf},
    )
    assert r.status_code == 303
    await session.refresh(kim)
    assert kim.slack_user_id == "W0KIM2"
    r = await client.get(
        f"/api/v1/users/{kim.id}/identities", headers=bearer(await make_token(session, admin))
    )
    assert sorted((i["kind"], i["value"], i["verified"]) for i in r.json()) == [
        ("github", "kim", True),
        ("slack", "W0KIM2", True),
    ]


async def test_a_github_login_set_on_the_profile_attributes_comments_to_that_person(
    session, client
):
    staff = await make_user(session, "agent")
    await set_profile(session, pk(staff), ProfileUpdate(github_login="Codertocat"), by=None)
    payload = json.loads((PAYLOADS / "github" / "issues.opened.json").read_text())
    await github(client, "issues", payload)
    [ticket] = await tickets(session)
    assert ticket.requester_id == staff.id  # not a new contact for the same login


# --- requester mails link to the portal --------------------------------------------------------


async def test_requester_mails_link_to_their_portal_page(session):
    await ingest_email(session, mail("ada@uni.example"))
    [ticket] = await tickets(session)
    agent = principal_for(await make_user(session, "agent"))
    await post_message(
        session, pk(ticket), MessageCreate(body="Restarted it, try again?"), actor=agent
    )
    await update_ticket(session, pk(ticket), TicketUpdate(status=Status.resolved), actor=agent)
    async with transaction(session):
        mails = [
            m.payload
            for m in (await session.exec(select(OutboxMessage))).all()
            if m.topic == "email.send" and m.payload.get("to") == ["ada@uni.example"]
        ]
    assert len(mails) >= 2
    for payload in mails:
        assert f"/portal/tickets/{ticket.id}" in payload["text"], payload["text"]
        assert f"/tickets/{ticket.id}" not in payload["text"].replace(
            f"/portal/tickets/{ticket.id}", ""
        )


async def test_staff_set_their_own_handles_through_the_api_and_others_need_users_write(
    session, client
):
    viewer = await make_user(session, "viewer")
    other = await make_user(session, "agent")
    token = await make_token(session, viewer)
    r = await client.patch(
        "/api/v1/users/me/profile", headers=bearer(token), json={"slack_user_id": "W0VIEW1"}
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        "/api/v1/users/me/profile", headers=bearer(token), json={"github_login": "no spaces"}
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_github_login"
    r = await client.patch(
        f"/api/v1/users/{other.id}/profile", headers=bearer(token), json={"slack_user_id": "U0X1"}
    )
    assert r.status_code == 403
    r = await client.get(f"/api/v1/users/{viewer.id}/identities", headers=bearer(token))
    assert [(i["kind"], i["value"]) for i in r.json()] == [("slack", "W0VIEW1")]
