"""The HTML pages: sign-in, CSRF, fragments for htmx, plain posts without JavaScript."""

from app.ticket.models import Ticket
from app.user.models import StaffRole
from tests.factories import make_community, make_ticket, make_user
from tests.pages.conftest import csrf_from, sign_in

HX = {"HX-Request": "true"}


async def test_pages_need_a_signed_in_person(client):
    res = await client.get("/")
    assert res.status_code == 303
    assert res.headers["location"].startswith("/login")


async def test_wrong_password_and_unknown_email_answer_alike(client, triager):
    form = await client.get("/login")
    token = csrf_from(form.text)
    wrong = await client.post(
        "/login", data={"email": triager.email, "password": "nope", "csrf_token": token}
    )
    unknown = await client.post(
        "/login",
        data={
            "email": "ghost@desk.example",
            "password": "nope",
            "csrf_token": csrf_from((await client.get("/login")).text),
        },
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "fl_session" not in wrong.cookies
    assert csrf_from(wrong.text) and "Tara" not in wrong.text


async def test_login_without_its_csrf_cookie_is_refused(client, triager):
    res = await client.post(
        "/login", data={"email": triager.email, "password": "x", "csrf_token": "forged"}
    )
    assert res.status_code == 403
    assert "expired" in res.text


async def test_login_only_redirects_to_same_site_paths(client, triager):
    form = await client.get("/login")
    res = await client.post(
        "/login",
        data={
            "email": triager.email,
            "password": "correct-horse-battery",
            "csrf_token": csrf_from(form.text),
            "next": "//evil.example/x",
        },
    )
    assert res.status_code == 303
    assert res.headers["location"] == "/"


async def test_board_is_a_full_page_and_a_fragment_for_htmx(client, csrf, session):
    await make_ticket(session, title="Notebook fails to start")
    page = await client.get("/")
    assert page.status_code == 200
    assert "<html" in page.text and "Notebook fails to start" in page.text
    assert "HX-Request" in page.headers["vary"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    fragment = await client.get("/", headers=HX)
    assert "<html" not in fragment.text and "Notebook fails to start" in fragment.text
    # A history restore needs the whole page back, not a fragment.
    restore = await client.get("/", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


async def test_board_rejects_an_unknown_view(client, csrf):
    res = await client.get("/?view=everything")
    assert res.status_code == 422
    assert "unknown board view" in res.text


async def test_post_without_csrf_token_is_refused_and_changes_nothing(client, csrf, session):
    ticket = await make_ticket(session)
    res = await client.post(f"/tickets/{ticket.id}/claim", data={})
    assert res.status_code == 403
    await session.refresh(ticket)
    assert ticket.claimed_by_id is None


async def test_claim_without_javascript_redirects_back(client, csrf, session, triager):
    ticket = await make_ticket(session)
    res = await client.post(
        f"/tickets/{ticket.id}/claim",
        data={"csrf_token": csrf},
        headers={"Referer": "http://testserver/?view=mine"},
    )
    assert res.status_code == 303
    assert res.headers["location"] == "/?view=mine"
    await session.refresh(ticket)
    assert ticket.claimed_by_id == triager.id


async def test_claim_with_htmx_returns_just_the_row(client, csrf, session):
    ticket = await make_ticket(session, title="Row me")
    res = await client.post(
        f"/tickets/{ticket.id}/claim", data={"target": "row"}, headers={**HX, "X-CSRF-Token": csrf}
    )
    assert res.status_code == 200
    assert "<html" not in res.text
    assert f'id="row-{ticket.id}"' in res.text and "looking: Tara" in res.text


async def test_board_rows_escape_what_people_typed_and_offer_claim_or_release(
    client, csrf, session
):
    community = await make_community(
        session, "evil", name='<b>Evil</b> "Co"', reps=("rep@evil.example",)
    )
    ticket = await make_ticket(
        session, community, requester_email="rep@evil.example", title='<script>x()</script> & "q"'
    )
    page = await client.get("/")
    claimed = await client.post(
        f"/tickets/{ticket.id}/claim", data={"target": "row"}, headers={**HX, "X-CSRF-Token": csrf}
    )
    for html in (page.text, claimed.text):
        assert (
            "<script>x()" not in html
            and "&lt;script&gt;x()&lt;/script&gt; &amp; &#34;q&#34;" in html
        )
        assert "<b>Evil" not in html and "&lt;b&gt;Evil&lt;/b&gt; &#34;Co&#34;" in html
    row = page.text[page.text.index(f'id="row-{ticket.id}"') :]
    row = row[: row.index("</li>")]
    assert f'action="/tickets/{ticket.id}/claim"' in row and "/unclaim" not in row
    assert f'name="csrf_token" value="{csrf}"' in row
    assert (
        f'action="/tickets/{ticket.id}/unclaim"' in claimed.text
        and "data-claim" not in claimed.text
    )


async def test_second_claim_shows_who_won(client, csrf, session):
    other = await make_user(session, StaffRole.agent, name="Omar")
    ticket = await make_ticket(session)
    from app.ticket.service import claim_ticket
    from tests.factories import principal_for

    await claim_ticket(session, str(ticket.id), actor=principal_for(other))
    res = await client.post(
        f"/tickets/{ticket.id}/claim", data={"target": "row"}, headers={**HX, "X-CSRF-Token": csrf}
    )
    assert res.status_code == 409
    assert res.headers["hx-retarget"] == "#flash"
    assert "Omar" in res.text


async def test_triage_form_classifies_and_illegal_move_explains(client, csrf, session):
    ticket = await make_ticket(session)
    res = await client.post(
        f"/tickets/{ticket.id}/triage",
        data={
            "csrf_token": csrf,
            "criticality": "2",
            "type": "question",
            "impact": "1",
            "data_loss": "on",
            "has_workaround": "no",
            "tags": "gpu, notebooks",
        },
    )
    assert res.status_code == 303
    detail = await client.get(f"/tickets/{ticket.id}")
    assert "gpu" in detail.text and "notebooks" in detail.text
    await session.refresh(ticket)
    assert (ticket.criticality, ticket.type, ticket.data_loss, ticket.has_workaround) == (
        2,
        "question",
        True,
        False,
    )
    illegal = await client.post(
        f"/tickets/{ticket.id}/status/awaiting_approval", data={"csrf_token": csrf}
    )
    assert illegal.status_code == 409
    assert "only new requests from non-representatives wait for approval" in illegal.text


async def test_reply_with_then_status_and_the_timeline(client, csrf, session):
    ticket = await make_ticket(session)
    await client.post(f"/tickets/{ticket.id}/status/open", data={"csrf_token": csrf})
    res = await client.post(
        f"/tickets/{ticket.id}/messages",
        data={
            "csrf_token": csrf,
            "body": "Fixed in **v2**. <script>alert(1)</script>",
            "kind": "public",
            "then_status": "resolved",
        },
    )
    assert res.status_code == 303
    page = (await client.get(f"/tickets/{ticket.id}")).text
    assert "<strong>v2</strong>" in page
    assert "<script>alert(1)</script>" not in page
    t = await session.get(Ticket, ticket.id, populate_existing=True)
    assert t.status == "resolved" and t.first_response_at is not None


async def test_empty_reply_is_a_clear_400(client, csrf, session):
    ticket = await make_ticket(session)
    res = await client.post(
        f"/tickets/{ticket.id}/messages",
        data={"csrf_token": csrf, "body": "   "},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert res.status_code in (400, 422)
    assert "write something" in res.text


async def test_unknown_ticket_page_is_404(client, csrf):
    res = await client.get("/tickets/SUP-99999")
    assert res.status_code == 404
    assert "<html" in res.text


async def test_viewer_may_look_but_not_change(client, session):
    viewer = await make_user(session, StaffRole.viewer, email="vic@desk.example")
    ticket = await make_ticket(session)
    token = await sign_in(client, viewer.email)
    assert (await client.get(f"/tickets/{ticket.id}")).status_code == 200
    res = await client.post(f"/tickets/{ticket.id}/claim", data={"csrf_token": token})
    assert res.status_code == 403


async def test_logout_ends_the_session(client, csrf):
    res = await client.post("/logout", data={"csrf_token": csrf})
    assert res.status_code == 303
    assert (await client.get("/")).status_code == 303
