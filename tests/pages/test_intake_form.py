"""The embeddable intake form: anonymous, framed by the community's site, abuse-resistant."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.outbox.models import OutboxMessage
from app.ticket.models import Attachment, Ticket
from tests.factories import make_community

FORM = {
    "name": "Ada",
    "email": "ada@uni.example",
    "title": "Notebook fails",
    "body": "504 on start",
    "type": "bug",
    "urgency": "urgent",
}


async def count(session, model) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


@pytest.fixture
async def uni(session):
    return await make_community(
        session,
        "uni",
        name="University",
        reps=("ada@uni.example",),
        allowed_origins=["https://uni.example"],
    )


async def test_form_may_be_framed_only_by_the_community_site(client, uni):
    res = await client.get("/intake/uni")
    assert res.status_code == 200
    csp = res.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://uni.example" in csp
    assert "x-frame-options" not in res.headers
    assert "Ask University" in res.text


async def test_unknown_community_is_404(client):
    assert (await client.get("/intake/nowhere")).status_code == 404
    assert (await client.post("/intake/nowhere", data=FORM)).status_code == 404


async def test_representative_address_typed_into_the_form_is_held_until_it_confirms(
    client, session, uni
):
    """Anyone can type a representative's address: that alone never skips approval (issue 17)."""
    res = await client.post("/intake/uni", data=FORM)
    assert res.status_code == 303
    done = await client.get(res.headers["location"])
    ticket = (await session.exec(select(Ticket))).one()
    assert (
        ticket.status == "awaiting_approval"
        and ticket.channel == "web"
        and ticket.urgency == "urgent"
    )
    assert (
        f"SUP-{ticket.id}" in done.text
        and 'id="held"' in done.text
        and "confirmation link" in done.text
    )
    assert "frame-ancestors 'self' https://uni.example" in done.headers["content-security-policy"]
    [mail] = (
        await session.exec(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("intake-confirm-%"))
        )
    ).all()
    assert mail.payload["to"] == ["ada@uni.example"]
    link = re.search(r"https?://\S+/intake/confirm/(\S+)", mail.payload["text"])
    assert link, mail.payload["text"]
    page = await client.get(f"/intake/confirm/{link.group(1)}")
    assert page.status_code == 200 and 'id="confirm"' in page.text
    ticket = (await session.exec(select(Ticket).execution_options(populate_existing=True))).one()
    assert ticket.status == "awaiting_approval", (
        "opening the link (a mail scanner) must not confirm"
    )
    confirmed = await client.post(f"/intake/confirm/{link.group(1)}")
    assert confirmed.status_code == 200 and f"SUP-{ticket.id}" in confirmed.text
    ticket = (await session.exec(select(Ticket).execution_options(populate_existing=True))).one()
    assert ticket.status == "new"
    again = await client.post(f"/intake/confirm/{link.group(1)}")
    assert again.status_code == 404
    assert (await client.post("/intake/confirm/ic_guessed")).status_code == 404


async def test_confirmation_link_expires(client, session, uni, clock):
    res = await client.post("/intake/uni", data=FORM)
    assert res.status_code == 303
    [mail] = (
        await session.exec(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("intake-confirm-%"))
        )
    ).all()
    token = re.search(r"/intake/confirm/(\S+)", mail.payload["text"]).group(1)
    clock.shift(timedelta(days=8))
    assert (await client.post(f"/intake/confirm/{token}")).status_code == 404
    ticket = (await session.exec(select(Ticket).execution_options(populate_existing=True))).one()
    assert ticket.status == "awaiting_approval"


async def test_a_plain_address_is_not_held(client, session):
    await make_community(session, "open", name="Open")
    res = await client.post("/intake/open", data={**FORM, "email": "someone@else.example"})
    done = await client.get(res.headers["location"])
    ticket = (await session.exec(select(Ticket))).one()
    assert ticket.status == "awaiting_approval" and 'id="held"' not in done.text
    assert not (
        await session.exec(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("intake-confirm-%"))
        )
    ).all()


async def test_member_request_awaits_approval(client, session, uni):
    res = await client.post("/intake/uni", data={**FORM, "email": "student@uni.example"})
    done = await client.get(res.headers["location"])
    ticket = (await session.exec(select(Ticket))).one()
    assert ticket.status == "awaiting_approval"
    assert "approv" in done.text


async def test_forged_receipt_shows_no_key(client, uni):
    res = await client.get("/intake/uni/done?key=SUP-1&s=new&sig=forged")
    assert res.status_code == 200
    assert "SUP-1" not in res.text


async def test_honeypot_looks_like_success_and_creates_nothing(client, session, uni):
    res = await client.post("/intake/uni", data={**FORM, "website": "http://spam.example"})
    assert res.status_code == 303
    assert await count(session, Ticket) == 0


async def test_invalid_form_is_re_rendered_with_the_values_and_a_422(client, session, uni):
    res = await client.post("/intake/uni", data={**FORM, "email": "not-an-address", "title": ""})
    assert res.status_code == 422
    assert 'value="Ada"' in res.text and "504 on start" in res.text
    assert 'class="error"' in res.text
    assert await count(session, Ticket) == 0


async def test_attachments_are_kept_and_oversized_ones_refused_whole(
    client, session, uni, monkeypatch
):
    ok = await client.post(
        "/intake/uni", data=FORM, files={"attachments": ("log.txt", b"traceback", "text/plain")}
    )
    assert ok.status_code == 303
    assert await count(session, Attachment) == 1
    monkeypatch.setenv("FIRSTLINE_MAX_ATTACHMENT_BYTES", "1024")
    from app.config import get_settings

    get_settings.cache_clear()
    big = await client.post(
        "/intake/uni", data=FORM, files={"attachments": ("dump.bin", b"x" * 4096, "text/plain")}
    )
    assert big.status_code == 413
    assert "Notebook fails" in big.text  # the form comes back filled in
    assert await count(session, Ticket) == 1 and await count(session, Attachment) == 1


async def test_too_many_posts_from_one_address_get_429(client, session, uni, monkeypatch):
    monkeypatch.setenv("FIRSTLINE_INTAKE_RATE_PER_MINUTE", "3")
    from app.config import get_settings

    get_settings.cache_clear()
    statuses = [(await client.post("/intake/uni", data=FORM)).status_code for _ in range(5)]
    assert statuses == [303, 303, 303, 429, 429]
    assert await count(session, Ticket) == 3


@pytest.mark.parametrize("answer", ["yes", "no"])
async def test_the_named_person_answers_a_held_request_in_the_portal(client, session, uni, answer):
    """Signed in through a link mailed to that address, they prove it as well as the
    confirmation link does; "not me" closes the request and spends the link."""
    from tests.access.conftest import portal_sign_in
    from tests.pages.conftest import csrf_from

    stranger = client.__class__(transport=client._transport, base_url="http://testserver")
    async with stranger:
        assert (await stranger.post("/intake/uni", data=FORM)).status_code == 303
    ticket = (await session.exec(select(Ticket))).one()
    csrf = await portal_sign_in(client, session, "ada@uni.example")
    page = await client.get(f"/portal/tickets/{ticket.id}")
    assert 'id="sent-by-me"' in page.text and 'id="approve"' not in page.text
    bad = await client.post(
        f"/portal/tickets/{ticket.id}/sent-by-me", data={"csrf_token": csrf, "answer": "maybe"}
    )
    assert bad.status_code == 422
    res = await client.post(
        f"/portal/tickets/{ticket.id}/sent-by-me", data={"csrf_token": csrf, "answer": answer}
    )
    assert res.status_code == 303
    ticket = (await session.exec(select(Ticket).execution_options(populate_existing=True))).one()
    assert ticket.status == ("new" if answer == "yes" else "closed")
    page = await client.get(f"/portal/tickets/{ticket.id}")
    assert 'id="sent-by-me"' not in page.text
    again = await client.post(
        f"/portal/tickets/{ticket.id}/sent-by-me",
        data={"csrf_token": csrf_from(page.text), "answer": "yes"},
    )
    assert again.status_code == 409  # answered once; the mailed link is spent as well
    [mail] = (
        await session.exec(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("intake-confirm-%"))
        )
    ).all()
    token = re.search(r"/intake/confirm/(\S+)", mail.payload["text"]).group(1)
    assert (await client.post(f"/intake/confirm/{token}")).status_code == 404
