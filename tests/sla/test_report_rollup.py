"""The report's rollup (kept by triggers, migration 0008) must give exactly the report a full
scan of `sla_clock` and `ticket` gives: random clock histories, every grouping, ranges that
start and end mid-day or on midnight, and several "now"s."""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from app.sla.models import SlaClock, SlaReportDay
from app.sla.reports import DIMENSIONS, sla_report
from app.ticket.enums import Channel, Criticality
from app.ticket.models import MessageCreate, Ticket, TicketUpdate
from app.ticket.service import post_message, update_ticket
from tests.factories import make_community, make_ticket, make_user, principal_for

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
CHANNELS = [c.value for c in Channel][:3]

# One step of a clock's life, as the service would write it: stopped (met or late),
# reopened, retargeted (criticality/policy change), moved to other dimensions, due moved,
# breach recorded, deleted; or the ticket itself reclassified or backdated.
step = st.one_of(
    st.tuples(st.just("stop"), st.integers(0, 8), st.integers(0, 3000)),
    st.tuples(st.just("reopen"), st.integers(0, 8)),
    st.tuples(st.just("retarget"), st.integers(0, 8), st.sampled_from([30, 60, 180, 480])),
    st.tuples(st.just("move"), st.integers(0, 8), st.sampled_from(CHANNELS), st.sampled_from([None, 1, 2]),
              st.booleans()),
    st.tuples(st.just("due"), st.integers(0, 8), st.one_of(st.none(), st.integers(-3000, 3000))),
    st.tuples(st.just("breach"), st.integers(0, 8)),
    st.tuples(st.just("opened"), st.integers(0, 8), st.one_of(st.none(), st.integers(-4000, 4000))),
    st.tuples(st.just("delete"), st.integers(0, 8)),
    st.tuples(st.just("ticket"), st.integers(0, 2), st.sampled_from(CHANNELS), st.sampled_from([None, 1, 3]),
              st.integers(-4000, 4000)),
)


async def _apply(session, community_id, op) -> None:
    clocks = list((await session.exec(select(SlaClock).order_by(SlaClock.id))).all())
    tickets = list((await session.exec(select(Ticket).order_by(Ticket.id))).all())
    kind, *args = op
    if kind == "ticket":
        t = tickets[args[0] % len(tickets)]
        t.channel, t.criticality, t.created_at = args[1], args[2], T0 + timedelta(minutes=args[3])
        session.add(t)
        return
    if not clocks:
        return
    c = clocks[args[0] % len(clocks)]
    if kind == "stop":
        c.elapsed_us, c.stopped_at = args[1] * 60_000_000 + 17, T0 + timedelta(minutes=args[1])
        c.running_since = None
    elif kind == "reopen":
        c.elapsed_us, c.stopped_at, c.running_since = None, None, T0
    elif kind == "retarget":
        c.target_minutes = args[1]
    elif kind == "move":
        c.channel, c.criticality, c.community_id = args[1], args[2], community_id if args[3] else None
    elif kind == "due":
        c.due_at = None if args[1] is None else T0 + timedelta(minutes=args[1])
    elif kind == "breach":
        c.breached_at, c.settled = T0, True
    elif kind == "opened":
        c.opened_at = None if args[1] is None else T0 + timedelta(minutes=args[1])
    elif kind == "delete":
        await session.delete(c)
        return
    session.add(c)


async def _assert_same_reports(session) -> None:
    ranges = [(None, None), (T0 - timedelta(hours=30), T0 + timedelta(hours=55)),  # mid-day ends
              (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)),  # midnights
              (T0 + timedelta(hours=1), T0 + timedelta(hours=3)),  # inside one day
              (None, T0 + timedelta(days=1)), (T0 - timedelta(days=2), None)]
    for now in (T0, T0 + timedelta(days=3)):
        for by in DIMENSIONS:
            for start, end in ranges:
                fast = await sla_report(session, by=by, start=start, end=end, now=now)
                full = await sla_report(session, by=by, start=start, end=end, now=now, scan=True)
                assert fast == full, (by, start, end, now)


@settings(max_examples=15, deadline=None,
          # one database per test: examples pile their histories on the same tickets, which
          # only adds to what is compared (the check is rollup == scan on whatever is there)
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=25))
async def test_rollup_report_equals_full_scan(session, steps):
    community = (await session.exec(select(Ticket.community_id).where(Ticket.community_id.is_not(None)))).first()
    if community is None:
        acme = await make_community(session, name="Acme")
        for i, channel in enumerate((Channel.github, Channel.email, Channel.slack)):
            await make_ticket(session, acme if i else None, channel=channel)
        community = acme.id
    for op in steps:
        await _apply(session, community, op)
        await session.flush()
    await session.commit()
    await _assert_same_reports(session)


async def test_rollup_follows_the_real_service(session, clock):
    """Answer, classify (targets recomputed), resolve, reopen and breach through the app."""
    from app.sla.sweep import sweep_breaches
    from app.ticket.enums import Status

    agent = await make_user(session, "agent")
    actor = principal_for(await make_user(session, "triager"))
    a = await make_ticket(session, channel=Channel.github)
    b = await make_ticket(session, channel=Channel.email)
    clock.advance(minutes=45)
    await post_message(session, a.id, MessageCreate(body="Hi"), author_id=agent.id, author_is_staff=True)
    await update_ticket(session, b.id, TicketUpdate(criticality=Criticality.critical), actor=actor)
    await _assert_same_reports(session)
    await update_ticket(session, a.id, TicketUpdate(status=Status.resolved), actor=actor)
    clock.advance(days=4)
    await sweep_breaches(session, clock.now)
    await update_ticket(session, a.id, TicketUpdate(status=Status.open), actor=actor)  # reopened
    await _assert_same_reports(session)
    # The rollup is really used: a met first response is on its row.
    rows = (await session.exec(select(SlaReportDay).where(SlaReportDay.target == "first_response"))).all()
    assert sum(r.decided for r in rows) >= 1
    report = await sla_report(session, by="channel", now=clock.now)
    assert {r.key: r.targets["first_response"].met for r in report.rows}["github"] == 1
