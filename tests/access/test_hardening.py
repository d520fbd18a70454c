"""Hardening: upload checks, security headers, framing, rate limits, sanitised markdown, audit."""

from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app.audit.models import Event
from app.auth.uploads import upload_refusal
from app.markdown import render_markdown
from app.ticket.models import Attachment, Ticket
from app.user.models import StaffRole
from tests.factories import bearer, make_community, make_token, make_user
from tests.pages.conftest import csrf_from


@pytest.mark.parametrize(
    "name,ctype,head",
    [
        ("setup.exe", "application/octet-stream", b"xx"),
        ("invoice.pdf.exe", "application/pdf", b"xx"),
        ("run.SH", "text/plain", b"#!"),
        ("report.pdf", "application/x-msdownload", b"%PDF"),
        ("cat.jpg", "image/jpeg", b"MZ\x90\x00"),
        ("tool", "application/octet-stream", b"\x7fELF\x02"),
    ],
)
def test_programs_are_refused(name, ctype, head):
    assert upload_refusal(name, ctype, head)


@pytest.mark.parametrize(
    "name,ctype,head",
    [
        ("screenshot.png", "image/png", b"\x89PNG"),
        ("logs.zip", "application/zip", b"PK\x03\x04"),
        ("notes.txt", "text/plain", b"hello"),
        ("config.yaml", "", b"a: 1"),
        ("no-extension", "", b"data"),
    ],
)
def test_ordinary_files_are_accepted(name, ctype, head):
    assert upload_refusal(name, ctype, head) is None


async def test_intake_refuses_a_program_beside_the_field_and_creates_nothing(client, session):
    await make_community(session, "uni")
    res = await client.post(
        "/intake/uni",
        data={"email": "a@uni.example", "title": "Help"},
        files={"attachments": ("fix.exe", b"MZ....", "application/octet-stream")},
    )
    assert res.status_code == 415 and "programs and scripts cannot be attached" in res.text
    assert (await session.exec(select(Ticket))).all() == []
    assert (await session.exec(select(Attachment))).all() == []


async def test_pages_send_a_csp_and_intake_may_be_framed_only_by_the_community(client, session):
    await make_community(session, "framed", allowed_origins=["https://www.uni.example"])
    page = await client.get("/portal/sign-in")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert (
        page.headers["x-frame-options"] == "DENY"
        and page.headers["x-content-type-options"] == "nosniff"
    )
    form = await client.get("/intake/framed")
    assert (
        "frame-ancestors 'self' https://www.uni.example" in form.headers["content-security-policy"]
    )
    assert "x-frame-options" not in form.headers


async def test_staff_login_is_rate_limited_with_the_same_error_for_everyone(client, session):
    await make_user(session, StaffRole.admin, email="admin@desk.example")
    codes, bodies = [], []
    for email in ["admin@desk.example", "ghost@desk.example"] * 6:
        form = await client.get("/login")
        res = await client.post(
            "/login",
            data={"email": email, "password": "wrong-password", "csrf_token": csrf_from(form.text)},
        )
        codes.append(res.status_code)
        bodies.append(res.text.count("wrong e-mail or password"))
    assert codes[:10] == [401] * 10 and codes[10] == 429
    assert bodies[0] == bodies[1] == 1  # a stranger and a user get the same answer


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@given(
    st.text(max_size=200),
    st.sampled_from(
        [
            "<script>x()</script>",
            "<img src=x onerror=y>",
            "[a](javascript:z)",
            "<a href='javascript:z'>a</a>",
            "<iframe src=//evil></iframe>",
            "<svg onload=x>",
            "[a](data:text/html,x)",
        ]
    ),
)
def test_markdown_never_emits_active_content(text, attack):
    parser = _Collector()
    parser.feed(render_markdown(text + attack))
    for tag, attrs in parser.tags:
        assert tag not in ("script", "img", "iframe", "svg", "style", "object")
        assert not [a for a in attrs if a.startswith("on")]
        assert not (attrs.get("href") or "").lower().startswith(("javascript:", "data:"))


async def test_admin_actions_are_audited(client, session):
    admin = await make_user(session, StaffRole.admin)
    token = await make_token(session, admin)
    await client.post(
        "/api/v1/users",
        json={
            "email": "new@desk.example",
            "name": "New",
            "staff_role": "agent",
            "password": "long-enough-password",
        },
        headers=bearer(token),
    )
    await client.post(
        "/api/v1/communities", json={"slug": "omega", "name": "Omega"}, headers=bearer(token)
    )
    await client.put(
        "/api/v1/communities/omega/members",
        json={"email": "rep@o.example", "role": "representative"},
        headers=bearer(token),
    )
    await client.put(
        "/api/v1/communities/omega/budget", json={"budget_hours": 8}, headers=bearer(token)
    )
    kinds = {(e.kind, e.actor_id) for e in (await session.exec(select(Event))).all()}
    for kind in (
        "user.created",
        "community.created",
        "community.member_set",
        "community.budget_set",
        "token.created",
    ):
        assert (kind, admin.id) in kinds, kind
