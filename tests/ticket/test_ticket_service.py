"""Ticket use cases against a real database (SQLite or PostgreSQL)."""

import asyncio

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.audit.models import Event
from app.audit.service import list_ticket_events
from app.errors import (
    AlreadyClaimed,
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
)
from app.ticket import service
from app.ticket.enums import Criticality, MessageKind, Status, TicketType, Urgency
from app.ticket.models import (
    Attachment,
    LinkCreate,
    MessageCreate,
    Ticket,
    TicketCreate,
    TicketUpdate,
)
from app.user.models import StaffRole, User
from tests.factories import actor_for, make_community, make_ticket, make_user, principal_for


async def kinds(session, ticket_id):
    return [e.kind for e in await list_ticket_events(session, ticket_id)]


async def state_of(session, ticket_id):
    """Everything a refused change must leave alone: the row, its events and the outbox."""
    from app.outbox.models import OutboxMessage

    session.expire_all()
    row = (await session.exec(select(Ticket).where(Ticket.id == ticket_id))).one()
    outbox = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
    return row.model_dump(), await kinds(session, ticket_id), outbox


async def test_representative_request_is_new_and_others_await_approval(session):
    community = await make_community(
        session, reps=("rep@uni.example",), members=("member@uni.example",)
    )
    from_rep = await make_ticket(session, community, requester_email="rep@uni.example")
    from_member = await make_ticket(session, community, requester_email="member@uni.example")
    from_stranger = await make_ticket(session, community, requester_email="stranger@else.example")
    assert from_rep.status == Status.new
    assert from_member.status == Status.awaiting_approval
    assert from_stranger.status == Status.awaiting_approval
    stranger = (await session.exec(select(User).where(User.email == "stranger@else.example"))).one()
    assert stranger.staff_role is None  # became a contact, not staff


async def test_unknown_community_is_refused_and_nothing_is_written(session):
    with pytest.raises(InvalidInput) as err:
        await service.submit_ticket(
            session, TicketCreate(title="t", requester_email="x@y.example", community="nope")
        )
    assert err.value.code == "unknown_community"
    assert (await session.exec(select(func.count()).select_from(Ticket))).one() == 0
    assert (await session.exec(select(func.count()).select_from(User))).one() == 0


async def test_a_failure_mid_intake_leaves_no_half_written_rows(session, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "record_event", boom)
    with pytest.raises(RuntimeError):
        await make_ticket(session, None, requester_email="new@person.example")
    for model in (Ticket, User, Event, Attachment):
        assert (await session.exec(select(func.count()).select_from(model))).one() == 0


async def test_oversized_upload_is_refused_before_anything_is_written(session, monkeypatch):
    monkeypatch.setenv("FIRSTLINE_MAX_ATTACHMENT_BYTES", "10")
    from app.config import get_settings

    get_settings.cache_clear()
    with pytest.raises(PayloadTooLarge):
        await service.submit_ticket(
            session,
            TicketCreate(title="t", requester_email="a@b.example"),
            files=[service.UploadedFile("big.bin", "application/octet-stream", b"x" * 11)],
        )
    assert (await session.exec(select(func.count()).select_from(Ticket))).one() == 0


async def test_attachments_are_stored_with_the_ticket(session):
    ticket = await service.submit_ticket(
        session,
        TicketCreate(title="t", requester_email="a@b.example"),
        files=[
            service.UploadedFile("log.txt", "text/plain", b"hello"),
            service.UploadedFile("../../etc/passwd", "", b"x"),
        ],
    )
    atts = await service.list_attachments(session, ticket.id)
    assert [(a.filename, a.size) for a in atts] == [("log.txt", 5), (".._.._etc_passwd", 1)]
    assert atts[1].content_type == "application/octet-stream"


async def test_status_flow_records_every_transition(session):
    triager = principal_for(await make_user(session))
    ticket = await make_ticket(session)
    for target in (
        Status.open,
        Status.pending,
        Status.open,
        Status.resolved,
        Status.closed,
        Status.open,
    ):
        ticket = await service.change_status(session, ticket.id, target, actor=triager)
        assert ticket.status == target
    changes = [
        e.data
        for e in await list_ticket_events(session, ticket.id)
        if e.kind == "ticket.status_changed"
    ]
    assert [(c["before"], c["after"]) for c in changes] == [
        ("new", "open"),
        ("open", "pending"),
        ("pending", "open"),
        ("open", "resolved"),
        ("resolved", "closed"),
        ("closed", "open"),
    ]
    assert changes[-1]["reopened"] is True
    assert ticket.resolved_at is None and ticket.closed_at is None


async def test_illegal_move_is_409_and_changes_nothing(session):
    triager = principal_for(await make_user(session))
    tid = (await make_ticket(session)).id  # ORM objects expire on rollback: keep plain ids
    await service.change_status(session, tid, Status.closed, actor=triager)
    before = await state_of(session, tid)
    with pytest.raises(InvalidTransition):
        await service.change_status(session, tid, Status.pending, actor=triager)
    assert await state_of(session, tid) == before
    assert before[0]["status"] == Status.closed


async def test_if_match_guards_against_lost_updates(session):
    triager = principal_for(await make_user(session))
    ticket = await make_ticket(session)
    tid, stale = ticket.id, ticket.version
    await service.update_ticket(
        session, tid, TicketUpdate(criticality=Criticality.low), actor=triager, if_match=stale
    )
    before = await state_of(session, tid)
    with pytest.raises(PreconditionFailed):
        await service.update_ticket(
            session,
            tid,
            TicketUpdate(criticality=Criticality.critical),
            actor=triager,
            if_match=stale,
        )
    assert await state_of(session, tid) == before
    assert before[0]["criticality"] == Criticality.low


async def test_classification_changes_rank_and_is_audited(session):
    triager = principal_for(await make_user(session))
    minor = await make_ticket(session, title="typo")
    outage = await make_ticket(session, title="outage")
    await service.update_ticket(
        session,
        minor.id,
        TicketUpdate(criticality=Criticality.minor, type=TicketType.docs, tags=["Docs", "website"]),
        actor=triager,
    )
    await service.update_ticket(
        session, outage.id, TicketUpdate(criticality=Criticality.critical), actor=triager
    )
    rows, _ = await service.list_tickets(session, service.TicketFilter(), viewer_id=None)
    assert [t.title for t in rows] == ["outage", "typo"]
    events = await list_ticket_events(session, minor.id)
    updated = next(e for e in events if e.kind == "ticket.updated")
    assert updated.data["changes"]["criticality"] == {"before": None, "after": 4}
    tagged = next(e for e in events if e.kind == "ticket.tagged")
    assert tagged.data == {"added": ["docs", "website"], "removed": []}
    await service.update_ticket(session, minor.id, TicketUpdate(tags=["website"]), actor=triager)
    assert (await service.tags_by_ticket(session, [minor.id]))[minor.id] == ["website"]


async def test_patch_with_no_real_change_writes_nothing(session):
    triager = principal_for(await make_user(session))
    ticket = await make_ticket(session, type=TicketType.bug)
    before = len(await kinds(session, ticket.id))
    same = await service.update_ticket(
        session, ticket.id, TicketUpdate(type=TicketType.bug), actor=triager
    )
    assert same.version == ticket.version
    assert len(await kinds(session, ticket.id)) == before


async def test_assignee_must_be_active_staff(session):
    triager = principal_for(await make_user(session))
    contact_id = (await make_user(session, role=None)).id
    tid = (await make_ticket(session)).id
    before = await state_of(session, tid)
    with pytest.raises(InvalidInput):
        await service.update_ticket(
            session, tid, TicketUpdate(assignee_id=contact_id, funded=True), actor=triager
        )
    with pytest.raises(InvalidInput):
        await service.update_ticket(session, tid, TicketUpdate(assignee_id=999999), actor=triager)
    assert await state_of(session, tid) == before  # not even the funded flag sent alongside


async def test_claim_takes_ownership_and_a_second_claimer_is_refused(session):
    a = principal_for(await make_user(session, name="Ana"))
    b = principal_for(await make_user(session, name="Bo"))
    c = principal_for(await make_user(session, StaffRole.agent))
    tid = (await make_ticket(session)).id
    claimed = await service.claim_ticket(session, tid, actor=a)
    assert claimed.claimed_by_id == a.user_id and claimed.assignee_id == a.user_id
    before = await state_of(session, tid)
    with pytest.raises(AlreadyClaimed) as err:
        await service.claim_ticket(session, tid, actor=b)
    assert "Ana" in err.value.detail
    assert await state_of(session, tid) == before
    assert (
        await service.claim_ticket(session, tid, actor=a)
    ).claimed_by_id == a.user_id  # idempotent
    with pytest.raises(AlreadyClaimed):
        await service.release_claim(session, tid, actor=c)
    released = await service.release_claim(session, tid, actor=a)
    assert released.claimed_by_id is None


async def test_concurrent_claims_have_exactly_one_winner(db):
    async with db.session() as setup:
        people = [principal_for(await make_user(setup)) for _ in range(8)]
        ticket = await make_ticket(setup)

    async def attempt(person):
        async with db.session() as s:
            try:
                await service.claim_ticket(s, ticket.id, actor=person)
                return "won"
            except AlreadyClaimed:
                return "lost"

    results = await asyncio.gather(*(attempt(p) for p in people))
    assert sorted(results) == ["lost"] * 7 + ["won"]
    async with db.session() as check:
        claims = [
            e for e in await list_ticket_events(check, ticket.id) if e.kind == "ticket.claimed"
        ]
        assert len(claims) == 1


async def test_finished_tickets_cannot_be_claimed(session):
    triager = principal_for(await make_user(session))
    tid = (await make_ticket(session)).id
    await service.change_status(session, tid, Status.resolved, actor=triager)
    with pytest.raises(Conflict):
        await service.claim_ticket(session, tid, actor=triager)


async def test_first_public_staff_reply_records_first_response(session):
    staff = await make_user(session)
    ticket = await make_ticket(session)
    await service.post_message(
        session,
        ticket.id,
        MessageCreate(body="note", kind=MessageKind.internal),
        actor=principal_for(staff),
    )
    assert (await service.get_ticket(session, ticket.id)).first_response_at is None
    await service.post_message(
        session, ticket.id, MessageCreate(body="hi"), actor=principal_for(staff)
    )
    t = await service.get_ticket(session, ticket.id)
    await session.refresh(t)
    first = t.first_response_at
    assert first is not None
    await service.post_message(
        session, ticket.id, MessageCreate(body="again"), actor=principal_for(staff)
    )
    await session.refresh(t)
    assert t.first_response_at == first
    assert (await kinds(session, ticket.id)).count("ticket.first_response") == 1


async def test_requester_reply_moves_pending_back_to_open(session):
    triager = principal_for(await make_user(session))
    tid = (await make_ticket(session, requester_email="req@example.org")).id
    await service.change_status(session, tid, Status.pending, actor=triager)
    requester_id = (
        await session.exec(select(User.id).where(User.email == "req@example.org"))
    ).one()
    await service.post_message(
        session,
        tid,
        MessageCreate(body="here you go"),
        actor=await actor_for(session, requester_id),
    )
    t = await service.get_ticket(session, tid)
    await session.refresh(t)
    assert t.status == Status.open
    with pytest.raises(InvalidInput):
        await service.post_message(
            session,
            tid,
            MessageCreate(body="x", kind=MessageKind.internal),
            actor=await actor_for(session, requester_id),
        )


async def test_votes_come_from_distinct_people(session):
    triager = principal_for(await make_user(session))
    tid = (await make_ticket(session)).id
    await service.add_vote(session, tid, voter_email="a@x.example", actor=triager)
    await service.add_vote(session, tid, voter_email=None, actor=triager)
    with pytest.raises(Conflict) as err:
        await service.add_vote(session, tid, voter_email="A@X.example", actor=triager)
    assert err.value.code == "already_voted"
    t = await service.get_ticket(session, tid)
    await session.refresh(t)
    assert t.vote_count == 2
    assert [u.email for u in await service.list_voters(session, tid)] == [
        "a@x.example",
        triager.email,
    ]
    await service.remove_vote(session, tid, voter_id=triager.user_id, actor=triager)
    await session.refresh(t)
    assert t.vote_count == 1


async def test_links_are_unique_per_ticket(session):
    triager = principal_for(await make_user(session))
    tid = (await make_ticket(session)).id
    link_id = (
        await service.add_link(
            session, tid, LinkCreate(url="https://github.com/o/r/issues/1"), actor=triager
        )
    ).id
    with pytest.raises(Conflict):
        await service.add_link(
            session, tid, LinkCreate(url="https://github.com/o/r/issues/1"), actor=triager
        )
    await service.remove_link(session, tid, link_id, actor=triager)
    assert await service.list_links(session, tid) == []
    with pytest.raises(NotFound):
        await service.remove_link(session, tid, link_id, actor=triager)


async def test_listing_filters_and_cursor_paging(session):
    triager = principal_for(await make_user(session))
    community = await make_community(session, "physics", reps=("rep@p.example",))
    made = [
        await make_ticket(session, community, requester_email="rep@p.example", title=f"t{i}")
        for i in range(7)
    ]
    await make_ticket(session, title="elsewhere")
    await service.update_ticket(
        session, made[0].id, TicketUpdate(tags=["gpu"], assignee_id=triager.user_id), actor=triager
    )
    flt = service.TicketFilter(community="physics", sort="age")
    seen, cursor = [], None
    while True:
        rows, cursor = await service.list_tickets(
            session, flt, viewer_id=None, cursor=cursor, limit=3
        )
        seen += [t.title for t in rows]
        if cursor is None:
            break
    assert seen == [f"t{i}" for i in range(7)]
    newest, _ = await service.list_tickets(
        session, service.TicketFilter(sort="-age"), viewer_id=None, limit=2
    )
    assert [t.title for t in newest] == ["elsewhere", "t6"]
    tagged, _ = await service.list_tickets(session, service.TicketFilter(tag="GPU"), viewer_id=None)
    assert [t.id for t in tagged] == [made[0].id]
    mine, _ = await service.list_tickets(
        session, service.TicketFilter(assignee="me"), viewer_id=triager.user_id
    )
    assert [t.id for t in mine] == [made[0].id]
    text, _ = await service.list_tickets(
        session, service.TicketFilter(text="ELSEwhere"), viewer_id=None
    )
    assert [t.title for t in text] == ["elsewhere"]
    pct, _ = await service.list_tickets(session, service.TicketFilter(text="100%_"), viewer_id=None)
    assert pct == []
    with pytest.raises(InvalidInput):
        await service.list_tickets(session, flt, viewer_id=None, cursor="garbage!")
    _, prio_cursor = await service.list_tickets(
        session, service.TicketFilter(), viewer_id=None, limit=1
    )
    with pytest.raises(InvalidInput):  # a cursor from another sort order is refused
        await service.list_tickets(session, flt, viewer_id=None, cursor=prio_cursor)


async def test_priority_paging_visits_every_ticket_once_in_board_order(session):
    triager = principal_for(await make_user(session))
    made = [
        await make_ticket(session, title=f"t{i}", urgency=[Urgency.normal, Urgency.urgent][i % 2])
        for i in range(9)
    ]
    for t in made[:4]:
        await service.update_ticket(
            session, t.id, TicketUpdate(criticality=Criticality((t.id % 4) + 1)), actor=triager
        )
    all_rows, _ = await service.list_tickets(
        session, service.TicketFilter(), viewer_id=None, limit=100
    )
    seen, cursor = [], None
    while True:
        rows, cursor = await service.list_tickets(
            session, service.TicketFilter(), viewer_id=None, cursor=cursor, limit=2
        )
        seen += [t.id for t in rows]
        if cursor is None:
            break
    assert seen == [t.id for t in all_rows]
    assert [t.rank_key for t in all_rows] == sorted(t.rank_key for t in all_rows)


async def test_several_statuses_page_in_one_order_in_every_sort(session):
    # Several statuses are read one index range each and merged; the pages must still be
    # exactly the matching tickets in the sort order, each once.
    triager = principal_for(await make_user(session))
    made = [
        await make_ticket(
            session, title=f"t{i}", urgency=[Urgency.normal, Urgency.emergency][i % 2]
        )
        for i in range(10)
    ]
    for i, t in enumerate(made):
        if i % 3:
            await service.update_ticket(
                session, t.id, TicketUpdate(status=Status.open), actor=triager
            )
        if i % 3 == 2 and i > 5:
            await service.update_ticket(
                session, t.id, TicketUpdate(status=Status.pending), actor=triager
            )
        if i % 4 == 0:
            await service.update_ticket(
                session, t.id, TicketUpdate(criticality=Criticality.critical), actor=triager
            )
    everything = list((await session.exec(select(Ticket))).all())
    keys = {
        "priority": lambda t: (t.rank_key, t.id),
        "age": lambda t: (t.created_at, t.id),
        "-age": lambda t: (t.created_at, t.id),
    }
    for statuses in (
        [Status.new, Status.open],
        [Status.pending, Status.new, Status.open],
        [Status.open, Status.open],
    ):
        for sort in service.SORTS:
            wanted = sorted(
                (t for t in everything if t.status in {s.value for s in statuses}),
                key=keys[sort],
                reverse=sort == "-age",
            )
            assert len({t.status for t in wanted}) > 1 or statuses[0] == statuses[-1]
            seen, cursor = [], None
            while True:
                rows, cursor = await service.list_tickets(
                    session,
                    service.TicketFilter(statuses=statuses, sort=sort),
                    viewer_id=None,
                    cursor=cursor,
                    limit=3,
                )
                seen += [t.id for t in rows]
                if cursor is None:
                    break
            assert seen == [t.id for t in wanted], (statuses, sort)


async def test_canned_reply_placeholders_are_filled(session):
    community = await make_community(session, "bio", name="BioStats", reps=("ronald@bio.example",))
    ticket = await make_ticket(
        session, community, requester_email="ronald@bio.example", type=TicketType.bug
    )
    canned = await service.list_canned_replies(session, ticket_type="bug")
    assert canned[0].slug == "need-repro-steps"  # the bug-specific one first
    _, body = await service.render_canned_reply(
        session, "need-repro-steps", ticket, agent_name="Tara"
    )
    assert body.startswith("Hello ronald,") and "Tara" in body and "{" not in body
    _, approval = await service.render_canned_reply(
        session, "ask-approval", ticket, agent_name="Tara"
    )
    assert "BioStats" in approval and f"SUP-{ticket.id}" in approval
    with pytest.raises(NotFound):
        await service.render_canned_reply(session, "nope", ticket, agent_name="Tara")


def test_ticket_refs():
    assert service.parse_ticket_ref("SUP-42") == 42
    assert service.parse_ticket_ref("sup-42") == 42
    assert service.parse_ticket_ref(" 42 ") == 42
    assert service.parse_ticket_ref("42abc") is None
    assert service.parse_ticket_ref("-1") is None
    assert service.parse_ticket_ref("SUP-") is None
