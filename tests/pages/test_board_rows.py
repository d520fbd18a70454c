"""The board's lean rows (`board_views`) show what the API's full ticket view shows.

The board builds its rows without the API model and reads each ticket's reasons back from
its stored board key (app/ticket/views.py says why). Drawn by the same row partial
(board/_rows.html), a row from either must be the same HTML for every kind of ticket, or
the two paths have drifted. The partial escapes text itself (autoescaping is off in it, see
there why), so a row with markup in every text field must show none of it.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlmodel import select

import app.routers.pages  # noqa: F401 - registers the template globals the row draws with
from app.incident.models import IncidentCreate
from app.incident.service import declare_incident
from app.sla.schemas import ClockState, SlaCountdown, Target
from app.templating import env, staff_choices
from app.ticket import service
from app.ticket.enums import Channel, Criticality, Status, TicketType, Urgency
from app.ticket.models import CommunityRef, Ticket, TicketUpdate
from app.ticket.views import BoardTicket, board_views, ticket_views
from app.user.models import StaffRole, UserRef
from tests.factories import make_community, make_ticket, make_user, principal_for

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def board_row(t, *, viewer_id: int, staff_options, csrf_token: str = "t") -> str:
    return env.get_template("board/_rows.html").render(
        tickets=[t],
        csrf_token=csrf_token,
        principal=SimpleNamespace(user_id=viewer_id),
        staff_options=staff_options,
        now=NOW,
    )


def test_every_text_of_a_row_is_escaped():
    evil = '<evil x="1">&'
    person = UserRef(id=7, name=evil, email=evil)
    values = {
        "requester": person,
        "assignee": person,
        "claimed_by": person,
        "claimed_at": NOW,
        "community": CommunityRef(id=3, slug=evil, name=evil),
        "sla": [
            SlaCountdown(Target.ack, ClockState.running, NOW + timedelta(hours=2), 60, 600, evil)
        ],
    }
    # Any text field, including one added later, gets the hostile value.
    for f in dataclasses.fields(BoardTicket):
        if f.name in values:
            continue
        if f.type == "str" or f.type is str:
            values[f.name] = evil
        elif "list[str]" in str(f.type):
            values[f.name] = [evil]
    t = BoardTicket(
        id=1,
        status=Status.open,
        type=TicketType.bug,
        urgency=Urgency.urgent,
        criticality=None,
        channel=Channel.web,
        created_at=NOW,
        version=1,
        vote_count=2,
        **{k: v for k, v in values.items() if k not in {"id"}},
    )
    staff = staff_choices([SimpleNamespace(id=7, name=evil)])
    for viewer in (7, 8):  # Release for the claimer, nothing for anyone else
        html = board_row(t, viewer_id=viewer, staff_options=staff, csrf_token=evil)
        assert "<evil" not in html and 'x="1"' not in html, html
        assert "&lt;evil x=&#34;1&#34;&gt;&amp;" in html


async def test_every_kind_of_row_is_drawn_alike_from_either_view(session):
    lead = await make_user(session, StaffRole.admin, name="Lead <Ops>")
    agent = await make_user(session, StaffRole.agent, name='Agent "A"')
    actor = principal_for(lead)
    funded = await make_community(
        session, "funded", name="Funded & Co", reps=("f@x.example",), funded=True
    )
    over = await make_community(session, "over", reps=("o@x.example",), budget_hours=0.0)
    plain = await make_community(session, "plain", reps=("p@x.example",))

    over_budget = await make_ticket(
        session, over, requester_email="o@x.example", title="Over budget"
    )
    classified = await make_ticket(
        session, funded, requester_email="f@x.example", title="Classified <b>"
    )
    await service.update_ticket(
        session,
        classified.id,
        TicketUpdate(criticality=Criticality.medium, tags=["gpu", "a b"], assignee_id=agent.id),
        actor=actor,
    )
    await service.add_vote(session, classified.id, voter_email="voter@x.example", actor=actor)
    claimed = await make_ticket(session, plain, requester_email="p@x.example", title="Claimed")
    await service.claim_ticket(session, claimed.id, actor=principal_for(agent))
    paused = await make_ticket(
        session, plain, requester_email="p@x.example", title="Waiting on the requester"
    )
    await service.change_status(session, paused.id, Status.pending, actor=actor)
    incident = await make_ticket(
        session, plain, requester_email="p@x.example", title="Part of an outage"
    )
    await declare_incident(
        session, IncidentCreate(title="Outage", tickets=[str(incident.id)]), actor=actor
    )
    resolved = await make_ticket(session, None, title="Done")
    await service.change_status(session, resolved.id, Status.resolved, actor=actor)

    ids = [over_budget.id, classified.id, claimed.id, paused.id, incident.id, resolved.id]
    tickets = list(
        (
            await session.exec(
                select(Ticket)
                .where(Ticket.id.in_(ids))
                .order_by(Ticket.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    lean = await board_views(session, tickets)
    full = await ticket_views(session, tickets)
    options = staff_choices([lead, agent])
    for viewer in (lead.id, agent.id):  # the claimer sees Release, everyone else no claim button
        for b, f in zip(lean, full, strict=True):
            assert board_row(b, viewer_id=viewer, staff_options=options) == board_row(
                f, viewer_id=viewer, staff_options=options
            ), f.title
    # The cases above are really there: reasons read from the key include the looked-up facts.
    reasons = {b.title: b.priority_reasons for b in lean}
    assert "part of an open incident" in reasons["Part of an outage"]
    assert "community is over its support budget" in reasons["Over budget"]
    assert "funded request" in reasons["Classified <b>"] and "1 +1" in reasons["Classified <b>"]
    assert {s.state.value for b in lean for s in b.sla} >= {"running", "paused", "met"}
