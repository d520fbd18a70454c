"""The requester portal: magic-link sign-in, per-community visibility, replies."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.auth.secrets import token_digest
from app.db import utcnow
from app.portal import service as portal
from app.portal.models import PortalLink, PortalSession
from app.ticket.enums import MessageKind, Status
from app.ticket.models import Message, MessageCreate
from app.ticket.service import UploadedFile, post_message
from app.user.models import StaffRole
from tests.access.conftest import LINK_RE, MEMBER_A, REP_A, emails_to, portal_sign_in
from tests.factories import make_user, principal_for
from tests.pages.conftest import csrf_from, sign_in


async def test_sign_in_link_is_emailed_hashed_and_single_use(client, session, world):
    await portal_sign_in(client, session, REP_A)
    token = LINK_RE.search((await emails_to(session, REP_A))[-1]["text"]).group(1)
    links = (await session.exec(select(PortalLink))).all()
    assert [link.token_hash for link in links] == [token_digest(token)]  # only the digest is stored
    assert token not in str([link.model_dump() for link in links])
    # A second click on the same link is refused and opens no session.
    other = client.__class__(transport=client._transport, base_url="http://testserver")
    async with other:
        page = await other.get(f"/portal/auth/{token}")
        res = await other.post(f"/portal/auth/{token}", data={"csrf_token": csrf_from(page.text)})
        assert res.status_code == 401
        assert "expired or was already used" in res.text
        assert (await other.get("/portal")).status_code == 303


async def test_expired_link_is_refused(session, world):
    await portal.request_sign_in_link(session, REP_A, now=utcnow() - timedelta(hours=2))
    token = LINK_RE.search((await emails_to(session, REP_A))[-1]["text"]).group(1)
    with pytest.raises(Exception) as err:
        await portal.redeem_link(session, token)
    assert getattr(err.value, "code", None) == "bad_link"
    assert (await session.exec(select(PortalSession))).all() == []


async def test_no_user_enumeration(client, session, world):
    """A stranger, a staff member and a contact get the same page; only the contact gets mail."""
    staff = await make_user(session, StaffRole.admin, email="boss@desk.example")
    pages = []
    for email in ("nobody@nowhere.example", staff.email, REP_A):
        form = await client.get("/portal/sign-in")
        res = await client.post(
            "/portal/sign-in", data={"email": email, "csrf_token": csrf_from(form.text)}
        )
        assert res.status_code == 200
        pages.append(res.text.replace(email, "EMAIL"))
    assert pages[0] == pages[1] == pages[2]
    assert await emails_to(session, "nobody@nowhere.example") == []
    assert await emails_to(session, staff.email) == []
    assert [m["subject"] for m in await emails_to(session, REP_A) if "sign-in" in m["subject"]] == [
        "Your sign-in link for the support portal"
    ]


async def test_sign_in_requests_are_rate_limited(client, session, world):
    form = await client.get("/portal/sign-in")
    token = csrf_from(form.text)
    codes = [
        (
            await client.post("/portal/sign-in", data={"email": REP_A, "csrf_token": token})
        ).status_code
        for _ in range(7)
    ]
    assert codes[:5] == [200] * 5 and codes[5] == 429


async def test_sign_in_form_needs_its_csrf_cookie(client, world):
    res = await client.post("/portal/sign-in", data={"email": REP_A, "csrf_token": "forged"})
    assert res.status_code == 403


async def test_representative_sees_whole_community_member_only_own(client, session, world):
    await portal_sign_in(client, session, REP_A)
    page = (await client.get("/portal?view=all")).text
    assert "Alpha hub down" in page and "Member wants a package" in page
    assert "Beta secret project" not in page
    assert (await client.get(f"/portal/tickets/{world['ticket_b'].id}")).status_code == 404
    # Search looks only inside what the contact may see.
    assert "Beta secret" not in (await client.get("/portal?view=all&q=secret")).text

    client.cookies.clear()
    await portal_sign_in(client, session, MEMBER_A)
    page = (await client.get("/portal?view=all")).text
    assert "Member wants a package" in page and "Alpha hub down" not in page
    assert (await client.get(f"/portal/tickets/{world['ticket_a'].id}")).status_code == 404


async def test_internal_notes_and_their_files_never_reach_contacts(client, session, world):
    staff = await make_user(session, StaffRole.agent)
    t = world["ticket_a"]
    await post_message(
        session,
        t.id,
        MessageCreate(body="INTERNAL: customer is difficult", kind=MessageKind.internal),
        actor=principal_for(staff),
        files=[UploadedFile("secret-notes.txt", "text/plain", b"internal")],
    )
    await post_message(
        session,
        t.id,
        MessageCreate(body="We are looking into it."),
        actor=principal_for(staff),
        files=[UploadedFile("public-log.txt", "text/plain", b"log")],
    )
    await portal_sign_in(client, session, REP_A)
    page = (await client.get(f"/portal/tickets/{t.id}")).text
    assert "We are looking into it." in page and "public-log.txt" in page
    assert "INTERNAL" not in page and "secret-notes.txt" not in page
    atts = {
        a.filename: a.id
        for a in await portal.visible_attachments(session, (await _principal(session, client)), t)
    }
    assert set(atts) == {"public-log.txt"}
    from app.ticket.models import Attachment

    hidden = (
        await session.exec(select(Attachment).where(Attachment.filename == "secret-notes.txt"))
    ).one()
    assert (await client.get(f"/portal/tickets/{t.id}/attachments/{hidden.id}")).status_code == 404
    ok = await client.get(f"/portal/tickets/{t.id}/attachments/{atts['public-log.txt']}")
    assert ok.status_code == 200 and ok.content == b"log"
    assert ok.headers["content-type"] == "application/octet-stream"


async def _principal(session, client):
    from app.deps import PORTAL_COOKIE
    from app.portal.service import principal_from_portal_session

    return await principal_from_portal_session(session, client.cookies.get(PORTAL_COOKIE))


async def test_contact_replies_publicly_and_cannot_post_to_others(client, session, world):
    csrf = await portal_sign_in(client, session, REP_A)
    res = await client.post(
        f"/portal/tickets/{world['ticket_a'].id}/messages",
        data={"body": "Still broken for 30 users", "csrf_token": csrf},
    )
    assert res.status_code == 303
    msgs = (
        await session.exec(select(Message).where(Message.ticket_id == world["ticket_a"].id))
    ).all()
    assert [(m.body, m.kind) for m in msgs] == [("Still broken for 30 users", "public")]
    # Without the CSRF token nothing is written.
    assert (
        await client.post(
            f"/portal/tickets/{world['ticket_a'].id}/messages", data={"body": "forged"}
        )
    ).status_code == 403
    # Another community's ticket does not exist for this contact.
    assert (
        await client.post(
            f"/portal/tickets/{world['ticket_b'].id}/messages",
            data={"body": "hi", "csrf_token": csrf},
        )
    ).status_code == 404
    assert len((await session.exec(select(Message.id))).all()) == 1


async def test_contact_cookie_opens_no_staff_page_and_no_live_stream(client, session, world):
    await portal_sign_in(client, session, REP_A)
    assert (await client.get("/")).status_code == 303  # to the staff login
    assert (await client.get(f"/tickets/{world['ticket_a'].id}")).status_code == 303
    assert (await client.get("/live")).status_code == 401
    assert (await client.get("/api/v1/tickets")).status_code == 401


async def test_staff_session_opens_no_portal_page(client, session, world):
    staff = await make_user(session, StaffRole.admin)
    await sign_in(client, staff.email)
    res = await client.get("/portal")
    assert res.status_code == 303 and res.headers["location"].startswith("/portal/sign-in")


async def test_portal_sign_out(client, session, world):
    csrf = await portal_sign_in(client, session, REP_A)
    res = await client.post("/portal/sign-out", data={"csrf_token": csrf})
    assert res.status_code == 303
    assert (await session.exec(select(PortalSession))).all() == []
    assert (await client.get("/portal")).status_code == 303


async def test_link_next_path_stays_in_portal():
    assert portal.safe_portal_path("https://evil.example/") == "/portal"
    assert portal.safe_portal_path("//evil.example/portal") == "/portal"
    assert portal.safe_portal_path("/portal/tickets/3") == "/portal/tickets/3"
    assert portal.safe_portal_path("/admin") == "/portal"


async def test_member_request_status_is_awaiting_and_member_is_visible_requester(session, world):
    assert world["member_ticket"].status == Status.awaiting_approval
    assert world["ticket_a"].status == Status.new
