"""E-mail trust (issue 17): only our MTA's aligned DKIM/SPF pass verifies a sender; unverified mail
never speaks as staff, and naming a ticket (a guessed or copied Message-ID) is not enough to join it."""

from pathlib import Path

import pytest
from sqlmodel import col, select

from app.integrations.email import ingest_email, parse_mail, ticket_in_our_ids
from app.integrations.models import ExternalRef
from app.integrations.replies import tagged_message_id
from app.outbox.models import OutboxMessage
from app.ticket.models import Message, MessageCreate, Ticket
from app.ticket.service import post_message
from tests.factories import make_user, principal_for

MAIL = Path(__file__).parent / "payloads" / "email"
SAM = "Sam Staff <sam@staff.example>"
_n = iter(range(1, 1000))


def sample(
    name: str, *, sender: str = SAM, subject: str = "Login page broken", in_reply_to: str = ""
) -> bytes:
    data = (MAIL / f"{name}.eml").read_bytes()
    for key, value in {
        "from": sender,
        "subject": subject,
        "in_reply_to": in_reply_to,
        "n": str(next(_n)),
    }.items():
        data = data.replace(("{" + key + "}").encode(), value.encode())
    return data


@pytest.fixture(autouse=True)
def mail_settings(monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_MAIL_DOMAIN", "desk.example")
    monkeypatch.setenv("FIRSTLINE_MAIL_FROM", "support@desk.example")
    monkeypatch.setenv("FIRSTLINE_MAIL_AUTHSERV_ID", "mx.desk.example")
    get_integration_settings.cache_clear()
    yield
    get_integration_settings.cache_clear()


@pytest.fixture
async def sam(session):
    return await make_user(session, "agent", email="sam@staff.example", name="Sam Staff")


async def tickets(session) -> list[Ticket]:
    stmt = select(Ticket).order_by(col(Ticket.id)).execution_options(populate_existing=True)
    return list((await session.exec(stmt)).all())


@pytest.mark.parametrize(
    ("name", "sender", "verified"),
    [
        ("auth-pass", SAM, True),
        (
            "auth-pass",
            "Marie <marie@uni.example>",
            False,
        ),  # DKIM/SPF passed for staff.example, not for From
        ("auth-fail", SAM, False),
        ("auth-missing", SAM, False),
        ("auth-foreign", SAM, False),  # a "pass" written by someone else than our MTA
    ],
)
def test_only_our_mtas_aligned_pass_verifies_the_sender(name, sender, verified):
    mail = parse_mail(
        sample(name, sender=sender),
        max_files=5,
        max_file_bytes=10**6,
        our_domain="desk.example",
        our_address="support@desk.example",
        authserv_id="mx.desk.example",
    )
    assert mail.verified is verified


def test_without_a_configured_mta_nothing_is_verified():
    mail = parse_mail(
        sample("auth-pass"),
        max_files=5,
        max_file_bytes=10**6,
        our_domain="desk.example",
        our_address="support@desk.example",
        authserv_id="",
    )
    assert mail.verified is False


@pytest.mark.parametrize("name", ["auth-fail", "auth-missing", "auth-foreign"])
async def test_unverified_mail_from_a_staff_address_is_held_for_confirmation(session, sam, name):
    result = await ingest_email(session, sample(name))
    assert result.result == "created"
    [ticket] = await tickets(session)
    assert ticket.status == "awaiting_approval"
    [confirm] = (
        await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.idempotency_key).like("intake-confirm-%"))
        )
    ).all()
    assert (
        confirm.payload["to"] == ["sam@staff.example"]
        and "/intake/confirm/" in confirm.payload["text"]
    )


async def test_verified_mail_from_a_staff_address_is_not_held(session, sam):
    assert (await ingest_email(session, sample("auth-pass"))).result == "created"
    [ticket] = await tickets(session)
    assert ticket.status == "new"
    assert not (
        await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.idempotency_key).like("intake-confirm-%"))
        )
    ).all()


async def test_only_verified_staff_mail_threads_onto_a_requesters_ticket(session, sam):
    await ingest_email(
        session, (MAIL / "multipart-attachments.eml").read_bytes()
    )  # SUP-1 from marie@uni.example
    [first] = await tickets(session)
    forged = await ingest_email(
        session, sample("auth-fail", subject=f"Re: [SUP-{first.id}] Notebook server")
    )
    assert forged.result == "created" and forged.ticket != f"SUP-{first.id}"
    assert not (await session.exec(select(Message).where(Message.ticket_id == first.id))).all()
    genuine = await ingest_email(
        session, sample("auth-pass", subject=f"Re: [SUP-{first.id}] Notebook server")
    )
    assert genuine.result == "message" and genuine.ticket == f"SUP-{first.id}"
    [message] = (await session.exec(select(Message).where(Message.ticket_id == first.id))).all()
    assert message.author_id == sam.id


async def test_a_guessed_or_copied_message_id_from_a_stranger_opens_a_new_ticket(session, sam):
    await ingest_email(
        session, (MAIL / "multipart-attachments.eml").read_bytes()
    )  # from marie@uni.example
    [ticket] = await tickets(session)
    await post_message(
        session,
        ticket.id,
        MessageCreate(body="Could you send a screenshot?"),
        actor=principal_for(sam),
    )
    ours = (
        await session.exec(
            select(ExternalRef.external_id).where(col(ExternalRef.external_id).like("<sup-%"))
        )
    ).one()
    stranger = "Grace Hopper <grace@navy.example>"
    for guess in (
        f"<sup-{ticket.id}.reply-2@desk.example>",  # the old, predictable shape
        f"<x.t{ticket.id}.{'0' * 20}@desk.example>",  # our shape with a made-up tag
        ours,
    ):  # the real id, copied from a forwarded mail
        result = await ingest_email(
            session, sample("auth-missing", sender=stranger, subject="Re: hello", in_reply_to=guess)
        )
        assert result.result == "created" and result.ticket != f"SUP-{ticket.id}", guess
    assert (
        len((await session.exec(select(Message).where(Message.ticket_id == ticket.id))).all()) == 1
    )
    # ... while the requester's own answer to the same id threads (participants need no DKIM).
    answer = await ingest_email(
        session,
        sample(
            "auth-missing",
            sender="Marie Curie <marie@uni.example>",
            subject="Re: hello",
            in_reply_to=ours,
        ),
    )
    assert answer.result == "message" and answer.ticket == f"SUP-{ticket.id}"


def test_our_message_ids_carry_a_tag_only_the_secret_key_makes(mail_settings):
    real = tagged_message_id("resolution-7-1.t7")
    assert real.startswith("<resolution-7-1.t7.") and real.endswith("@desk.example>")
    assert ticket_in_our_ids([real], "desk.example") == 7
    forged = real.replace("resolution-7-1.t7.", "resolution-7-1.t8.")
    assert ticket_in_our_ids([forged, "<resolution-7-1.t7@desk.example>"], "desk.example") is None
