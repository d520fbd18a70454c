"""The report's rollup (kept by triggers, migrations 0008 and 0009) must give exactly the
report a full scan of `sla_clock` and `ticket` gives: random clock histories, every grouping,
ranges that start and end mid-day or on midnight, inside or across week-and-month segments,
and several "now"s."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from app.sla.models import SlaClock, SlaReportDay, SlaReportMinute, SlaReportMinuteSegment
from app.sla.reports import DIMENSIONS, _whole_segments, segment_start, sla_report
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
    st.tuples(
        st.just("move"),
        st.integers(0, 8),
        st.sampled_from(CHANNELS),
        st.sampled_from([None, 1, 2]),
        st.booleans(),
    ),
    st.tuples(st.just("due"), st.integers(0, 8), st.one_of(st.none(), st.integers(-3000, 3000))),
    st.tuples(st.just("breach"), st.integers(0, 8)),
    st.tuples(st.just("opened"), st.integers(0, 8), st.one_of(st.none(), st.integers(-4000, 4000))),
    st.tuples(st.just("delete"), st.integers(0, 8)),
    st.tuples(
        st.just("ticket"),
        st.integers(0, 2),
        st.sampled_from(CHANNELS),
        st.sampled_from([None, 1, 3]),
        st.integers(-4000, 4000),
    ),
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
        c.channel, c.criticality, c.community_id = (
            args[1],
            args[2],
            community_id if args[3] else None,
        )
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
    ranges = [
        (None, None),
        (T0 - timedelta(hours=30), T0 + timedelta(hours=55)),  # mid-day ends
        (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)),  # midnights
        (T0 + timedelta(hours=1), T0 + timedelta(hours=3)),  # inside one day
        (None, T0 + timedelta(days=1)),
        (T0 - timedelta(days=2), None),
        # T0 is Monday 2 November: segments Mon 26 - Sat 31 Oct, Sun 1 Nov, Mon 2 - Sun 8 Nov
        (
            datetime(2026, 10, 27, 12, tzinfo=UTC),
            datetime(2026, 11, 4, tzinfo=UTC),
        ),  # partial both ends
        (datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)),
    ]  # two whole segments
    for now in (T0, T0 + timedelta(days=3)):
        for by in DIMENSIONS:
            for start, end in ranges:
                fast = await sla_report(session, by=by, start=start, end=end, now=now)
                full = await sla_report(session, by=by, start=start, end=end, now=now, scan=True)
                assert fast == full, (by, start, end, now)
    await _assert_segments_add_up(session)


async def _assert_segments_add_up(session) -> None:
    """The per-segment histogram holds what the per-day one holds, summed by segment."""
    by_segment: dict = {}
    for day, minute, n in (
        await session.exec(select(SlaReportMinute.day, SlaReportMinute.minute, SlaReportMinute.n))
    ).all():
        key = (segment_start(day), minute)
        by_segment[key] = by_segment.get(key, 0) + n
    segments = {
        (s.segment, s.minute): s.n
        for s in (await session.exec(select(SlaReportMinuteSegment))).all()
    }
    assert {k: n for k, n in segments.items() if n} == {k: n for k, n in by_segment.items() if n}


@settings(
    max_examples=15,
    deadline=None,
    # one database per test: examples pile their histories on the same tickets, which
    # only adds to what is compared (the check is rollup == scan on whatever is there)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=25))
async def test_rollup_report_equals_full_scan(session, steps):
    community = (
        await session.exec(select(Ticket.community_id).where(Ticket.community_id.is_not(None)))
    ).first()
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
    await post_message(session, a.id, MessageCreate(body="Hi"), actor=principal_for(agent))
    await update_ticket(session, b.id, TicketUpdate(criticality=Criticality.critical), actor=actor)
    await _assert_same_reports(session)
    await update_ticket(session, a.id, TicketUpdate(status=Status.resolved), actor=actor)
    clock.advance(days=4)
    await sweep_breaches(session, clock.now)
    await update_ticket(session, a.id, TicketUpdate(status=Status.open), actor=actor)  # reopened
    await _assert_same_reports(session)
    # The rollup is really used: a met first response is on its row.
    rows = (
        await session.exec(select(SlaReportDay).where(SlaReportDay.target == "first_response"))
    ).all()
    assert sum(r.decided for r in rows) >= 1
    report = await sla_report(session, by="channel", now=clock.now)
    assert {r.key: r.targets["first_response"].met for r in report.rows}["github"] == 1


@settings(deadline=None)
@given(
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(0, 120),
    open_start=st.booleans(),
    open_end=st.booleans(),
)
def test_whole_segments_and_edges_cover_the_days_once(first, days, open_start, open_end):
    """Every day of [first, last) is in exactly one whole segment or one edge stretch; a
    whole segment is one ISO week's days within one month, an edge is not a whole segment."""
    last = first + timedelta(days=days)
    # an open end is checked over 40 days beyond the bound
    lo_day, hi_day = (
        first - timedelta(days=40 if open_start else 0),
        last + timedelta(days=40 if open_end else 0),
    )
    segments, edges = _whole_segments(None if open_start else first, None if open_end else last)
    seen: dict[date, str] = {}
    d = lo_day
    while d < hi_day:
        in_whole = (
            segments is not None
            and (segments[0] is None or segments[0] <= segment_start(d))
            and (segments[1] is None or segment_start(d) < segments[1])
        )
        in_edge = [e for e in edges if e[0] <= d < e[1]]
        assert in_whole + len(in_edge) == 1, d
        seen[d] = "whole" if in_whole else "edge"
        d += timedelta(days=1)
    kinds: dict[date, set[str]] = {}
    for d, kind in seen.items():
        start = segment_start(d)
        assert start.isocalendar()[:2] == d.isocalendar()[:2] and (start.year, start.month) == (
            d.year,
            d.month,
        )
        kinds.setdefault(start, set()).add(kind)
    assert all(len(k) == 1 for k in kinds.values())  # a segment is read whole or by day, never both
    for start, kind in kinds.items():
        if kind == {"whole"}:  # and a whole one lies inside the range
            end = start
            while segment_start(end + timedelta(days=1)) == start:
                end += timedelta(days=1)
            assert (open_start or first <= start) and (open_end or end < last)
    for lo, hi in edges:  # at most the days of two partial segments
        assert lo < hi and (hi - lo).days <= 12


async def test_period_reports_equal_full_scan_for_every_range_across_segments(session):
    """One answered first response opened on each day from Mon 26 Oct to Wed 11 Nov 2026: by
    week and by month, every range of whole days in that stretch (whole segments from the
    segment table, partial ones by day) gives what the full scan gives."""
    first_day = date(2026, 10, 26)
    for i in range(17):
        ticket = await make_ticket(session, channel=CHANNELS[i % 3])
        opened = datetime.combine(
            first_day + timedelta(days=i), datetime.min.time(), tzinfo=UTC
        ) + timedelta(hours=13)
        ticket.created_at = opened
        session.add(ticket)
        for c in (
            await session.exec(select(SlaClock).where(SlaClock.ticket_id == ticket.id))
        ).all():
            c.opened_at = opened
            if c.target == "first_response":
                c.elapsed_us, c.stopped_at, c.running_since = (
                    (i * 37 % 90) * 60_000_000,
                    opened,
                    None,
                )
            session.add(c)
    await session.commit()
    midnights = [
        datetime.combine(first_day + timedelta(days=i), datetime.min.time(), tzinfo=UTC)
        for i in range(18)
    ]
    for by in ("week", "month"):
        for a, start in enumerate(midnights):
            for end in midnights[a + 1 :]:
                fast = await sla_report(session, by=by, start=start, end=end, now=T0)
                full = await sla_report(session, by=by, start=start, end=end, now=T0, scan=True)
                assert fast == full, (by, start, end)
                assert fast.overall.first_response_p50_s is not None
