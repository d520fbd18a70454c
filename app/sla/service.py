"""SLA use cases: calendars and policies, clocks following ticket changes, states, breaches.

Clocks follow the ticket through the ticket hook (same transaction as the change):
created → start every target the policy has; pending → pause; requester reply (or any
move out of pending) → resume; triage/claim/staff reply → acknowledgement met; first
public staff reply → first response met; resolved/closed → all met; reopened →
resolution runs on; criticality/urgency/channel/community change → targets recomputed,
with an `sla.recomputed` event keeping the before and after.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, inspect, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.audit.service import record_event
from app.cache import cached
from app.community.models import Community
from app.db import memo, memo_for_reading, pk, transaction, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.sla import clock as clocks
from app.sla.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    CalendarError,
    calendar_from_spec,
    format_periods,
)
from app.sla.models import (
    SlaCalendar,
    SlaCalendarIn,
    SlaCalendarPublic,
    SlaClock,
    SlaPolicy,
    SlaPolicyIn,
    SlaPolicyPublic,
    SlaRule,
    SlaRulePublic,
)
from app.sla.policy import RuleFacts, TicketFacts, pick_rules
from app.sla.schemas import ClockState, SlaCountdown, SlaTargetState, Target
from app.ticket.enums import Status
from app.ticket.hooks import TicketChange
from app.ticket.models import Ticket


# Where "now" comes from when showing SLA states; tests replace it to watch time pass.
def _real_now() -> datetime:
    return utcnow()


CLOCK = {"now": _real_now}


def sla_now() -> datetime:
    return CLOCK["now"]()


# --- calendars ---------------------------------------------------------------------------

# Built calendars keep their laid-out intervals; reuse them while the row is unchanged.
_BUILT: dict[tuple[int, datetime], BusinessCalendar] = {}


def build_calendar(row: SlaCalendar) -> BusinessCalendar:
    key = (row.id or 0, row.updated_at)
    cal = _BUILT.get(key)
    if cal is None:
        cal = calendar_from_spec(
            kind=row.kind,
            zone=row.zone,
            hours=row.hours,
            holiday_country=row.holiday_country,
            holiday_subdiv=row.holiday_subdiv,
            custom_holidays=row.custom_holidays,
        )
        if len(_BUILT) > 256:
            _BUILT.clear()
        _BUILT[key] = cal
    return cal


def calendar_public(row: SlaCalendar) -> SlaCalendarPublic:
    return SlaCalendarPublic(**row.model_dump(exclude={"created_at"}))


def _checked_calendar(data: SlaCalendarIn) -> dict[str, Any]:
    try:
        cal = calendar_from_spec(
            kind=data.kind,
            zone=data.zone,
            hours=data.hours,
            holiday_country=data.holiday_country or None,
            holiday_subdiv=data.holiday_subdiv or None,
            custom_holidays=data.custom_holidays,
        )
    except CalendarError as exc:
        raise InvalidInput(str(exc), code="bad_calendar") from None
    hours = (
        {}
        if cal.kind == "24x5"
        else {name: format_periods(cal.week[i]) for i, name in enumerate(WEEKDAYS) if cal.week[i]}
    )
    return dict(
        name=data.name.strip(),
        kind=cal.kind,
        zone=cal.zone,
        hours=hours,
        holiday_country=cal.holiday_country,
        holiday_subdiv=cal.holiday_subdiv,
        custom_holidays=sorted(d.isoformat() for d in cal.custom_holidays),
    )


async def list_calendars(session: AsyncSession) -> list[SlaCalendar]:
    return list((await session.exec(select(SlaCalendar).order_by(col(SlaCalendar.name)))).all())


async def get_calendar(session: AsyncSession, calendar_id: int) -> SlaCalendar | None:
    return await session.get(SlaCalendar, calendar_id)


async def _name_taken(
    session: AsyncSession, model: type[SlaCalendar] | type[SlaPolicy], name: str, own_id: int | None
) -> bool:
    found = (await session.exec(select(model.id).where(model.name == name))).first()
    return found is not None and found != own_id


async def save_calendar(
    session: AsyncSession,
    data: SlaCalendarIn,
    *,
    calendar_id: int | None = None,
    actor_id: int | None,
    now: datetime | None = None,
) -> SlaCalendar:
    """Create or replace a calendar; running clocks on it are rescheduled on the new hours."""
    values = _checked_calendar(data)
    now = now or utcnow()
    async with transaction(session):
        if await _name_taken(session, SlaCalendar, values["name"], calendar_id):
            raise Conflict(
                f"a calendar named {values['name']!r} already exists", code="duplicate_name"
            )
        row: SlaCalendar | None
        if calendar_id is None:
            row = SlaCalendar(**values, created_at=now, updated_at=now)
            session.add(row)
        else:
            row = await session.get(SlaCalendar, calendar_id)
            if row is None:
                raise NotFound(f"calendar {calendar_id} does not exist")
            old = build_calendar(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            await _reschedule_on_calendar(session, pk(row), old, build_calendar(row), now)
        await session.flush()
        record_event(
            session,
            "sla.calendar_saved",
            subject_type="sla_calendar",
            subject_id=pk(row),
            actor_id=actor_id,
            data={"name": row.name, "kind": row.kind, "zone": row.zone},
        )
    return row


async def delete_calendar(session: AsyncSession, calendar_id: int, *, actor_id: int | None) -> None:
    async with transaction(session):
        row = await session.get(SlaCalendar, calendar_id)
        if row is None:
            raise NotFound(f"calendar {calendar_id} does not exist")
        used = (
            await session.exec(
                select(SlaRule.id).where(SlaRule.calendar_id == calendar_id).limit(1)
            )
        ).first()
        used = (
            used
            or (
                await session.exec(
                    select(SlaClock.id).where(SlaClock.calendar_id == calendar_id).limit(1)
                )
            ).first()
        )
        if used:
            raise Conflict(
                "rules or ticket clocks use this calendar; change them first",
                code="calendar_in_use",
            )
        await session.delete(row)
        record_event(
            session,
            "sla.calendar_deleted",
            subject_type="sla_calendar",
            subject_id=calendar_id,
            actor_id=actor_id,
            data={"name": row.name},
        )


async def _reschedule_on_calendar(
    session: AsyncSession,
    calendar_id: int,
    old: BusinessCalendar,
    new: BusinessCalendar,
    now: datetime,
) -> None:
    stmt = select(SlaClock).where(
        SlaClock.calendar_id == calendar_id, col(SlaClock.stopped_at).is_(None)
    )
    touched: set[int] = set()
    for c in (await session.exec(stmt)).all():
        clocks.retarget(
            c,
            old,
            new,
            minutes=c.target_minutes,
            calendar_id=calendar_id,
            rule_id=c.rule_id,
            now=now,
        )
        touched.add(c.ticket_id)
    await _refresh_ticket_due(session, touched)


# --- policies ----------------------------------------------------------------------------


async def list_policies(session: AsyncSession) -> list[SlaPolicyPublic]:
    policies = list(
        (
            await session.exec(
                select(SlaPolicy).order_by(
                    col(SlaPolicy.community_id).is_not(None), col(SlaPolicy.name)
                )
            )
        ).all()
    )
    rules = (
        await session.exec(select(SlaRule).order_by(col(SlaRule.target), col(SlaRule.id)))
    ).all()
    slugs = {c.id: c.slug for c in (await session.exec(select(Community))).all()}
    by_policy: dict[int, list[SlaRulePublic]] = {}
    for r in rules:
        by_policy.setdefault(r.policy_id, []).append(SlaRulePublic(**r.model_dump()))
    return [
        SlaPolicyPublic(
            id=pk(p),
            name=p.name,
            community=slugs.get(p.community_id),
            updated_at=p.updated_at,
            rules=by_policy.get(pk(p), []),
        )
        for p in policies
    ]


async def get_policy_public(session: AsyncSession, policy_id: int) -> SlaPolicyPublic | None:
    return next((p for p in await list_policies(session) if p.id == policy_id), None)


async def save_policy(
    session: AsyncSession,
    data: SlaPolicyIn,
    *,
    policy_id: int | None = None,
    actor_id: int | None,
    now: datetime | None = None,
) -> SlaPolicy:
    """Create or replace a policy with its rules; open tickets' targets are recomputed."""
    now = now or utcnow()
    community_id = None
    if data.community:
        community = (
            await session.exec(select(Community).where(Community.slug == data.community))
        ).first()
        if community is None:
            raise InvalidInput(f"unknown community {data.community!r}", code="unknown_community")
        community_id = community.id
    calendar_ids = {r.calendar_id for r in data.rules}
    if calendar_ids:
        known = set(
            (
                await session.exec(
                    select(SlaCalendar.id).where(col(SlaCalendar.id).in_(calendar_ids))
                )
            ).all()
        )
        if missing := calendar_ids - known:
            raise InvalidInput(f"unknown calendar id(s) {sorted(missing)}", code="unknown_calendar")
    seen = set()
    for r in data.rules:
        key = (r.target, r.channel, r.criticality, r.urgency)
        if key in seen:
            raise InvalidInput(
                f"two rules for the same {r.target.value} match; keep one", code="duplicate_rule"
            )
        seen.add(key)
    async with transaction(session):
        if await _name_taken(session, SlaPolicy, data.name, policy_id):
            raise Conflict(f"a policy named {data.name!r} already exists", code="duplicate_name")
        other = (
            await session.exec(
                select(SlaPolicy.id).where(
                    SlaPolicy.community_id == community_id
                    if community_id
                    else col(SlaPolicy.community_id).is_(None)
                )
            )
        ).first()
        if other is not None and other != policy_id:
            what = f"community {data.community}" if community_id else "the default"
            raise Conflict(f"{what} already has a policy; edit that one", code="duplicate_policy")
        policy: SlaPolicy | None
        if policy_id is None:
            policy = SlaPolicy(
                name=data.name, community_id=community_id, created_at=now, updated_at=now
            )
            session.add(policy)
            await session.flush()
        else:
            policy = await session.get(SlaPolicy, policy_id)
            if policy is None:
                raise NotFound(f"policy {policy_id} does not exist")
            policy.name, policy.community_id, policy.updated_at = data.name, community_id, now
            for old in (
                await session.exec(select(SlaRule).where(SlaRule.policy_id == policy.id))
            ).all():
                await session.delete(old)
            await session.flush()
        for r in data.rules:
            session.add(
                SlaRule(
                    policy_id=pk(policy),
                    target=r.target.value,
                    channel=r.channel.value if r.channel else None,
                    criticality=int(r.criticality) if r.criticality else None,
                    urgency=r.urgency.value if r.urgency else None,
                    minutes=r.minutes,
                    calendar_id=r.calendar_id,
                )
            )
        await session.flush()
        record_event(
            session,
            "sla.policy_saved",
            subject_type="sla_policy",
            subject_id=pk(policy),
            actor_id=actor_id,
            community_id=community_id,
            data={"name": policy.name, "rules": len(data.rules)},
        )
        await recompute_open_tickets(session, now, community_id=community_id, actor_id=actor_id)
    return policy


async def delete_policy(session: AsyncSession, policy_id: int, *, actor_id: int | None) -> None:
    now = utcnow()
    async with transaction(session):
        policy = await session.get(SlaPolicy, policy_id)
        if policy is None:
            raise NotFound(f"policy {policy_id} does not exist")
        community_id = policy.community_id
        await session.delete(policy)
        await session.flush()
        record_event(
            session,
            "sla.policy_deleted",
            subject_type="sla_policy",
            subject_id=policy_id,
            actor_id=actor_id,
            community_id=community_id,
            data={"name": policy.name},
        )
        await recompute_open_tickets(session, now, community_id=community_id, actor_id=actor_id)


async def _load_rules(session: AsyncSession) -> tuple[list[RuleFacts], dict[int, list[RuleFacts]]]:
    # Columns, not entities: a row already in this session's identity map could be stale, and
    # the snapshot is shared by every session of the process.
    # sqlmodel's select() has typed overloads for up to four columns only.
    stmt = (
        select(
            SlaRule.id,
            SlaRule.target,
            SlaRule.channel,
            SlaRule.criticality,
            SlaRule.urgency,  # type: ignore[call-overload, misc]
            SlaRule.minutes,
            SlaRule.calendar_id,
            SlaPolicy.community_id,
        )
        .join(SlaPolicy, col(SlaPolicy.id) == SlaRule.policy_id)
        .order_by(col(SlaRule.id))
    )
    default: list[RuleFacts] = []
    own: dict[int, list[RuleFacts]] = {}
    for rule_id, target, channel, criticality, urgency, minutes, calendar_id, community_id in (
        await session.exec(stmt)
    ).all():
        facts = RuleFacts(
            id=rule_id,
            target=target,
            channel=channel,
            criticality=criticality,
            urgency=urgency,
            minutes=minutes,
            calendar_id=calendar_id,
            overrides=community_id is not None,
        )
        (default if community_id is None else own.setdefault(community_id, [])).append(facts)
    return default, own


async def rules_for(
    session: AsyncSession, community_ids: Iterable[int | None]
) -> dict[int | None, list[RuleFacts]]:
    """Rules that may apply to tickets of each community (its override, then the default).

    Every ticket change asks, so all rules are kept per process (app/cache.py).
    """
    default, own = await cached(session, "sla", "rules", _load_rules)
    out: dict[int | None, list[RuleFacts]] = {None: list(default)}
    for c in community_ids:
        if c is not None:
            out[c] = own.get(c, []) + default
    return out


def ticket_facts(ticket: Ticket) -> TicketFacts:
    return TicketFacts(
        channel=ticket.channel, criticality=ticket.criticality, urgency=ticket.urgency
    )


async def _load_calendars(session: AsyncSession) -> dict[int, SlaCalendar]:
    # Detached copies built from columns (not this session's possibly stale identity map).
    rows = (await session.exec(select(*inspect(SlaCalendar).local_table.columns))).all()
    return {r.id: SlaCalendar(**r._mapping) for r in rows}


async def calendars_by_id(session: AsyncSession, ids: set[int]) -> dict[int, SlaCalendar]:
    """Calendar rows by id, read-only (kept per process: app/cache.py); edit through `session.get`."""
    if not ids:
        return {}
    every = await cached(session, "sla", "calendars", _load_calendars)
    return {i: every[i] for i in ids if i in every}


async def preview(
    session: AsyncSession,
    *,
    channel: str,
    criticality: int | None,
    urgency: str,
    community: str | None,
    at: datetime,
) -> list[dict[str, Any]]:
    """When each target would fall due for a ticket opened at `at` (the admin page's preview)."""
    community_id = None
    if community:
        row = (await session.exec(select(Community).where(Community.slug == community))).first()
        if row is None:
            raise InvalidInput(f"unknown community {community!r}", code="unknown_community")
        community_id = row.id
    rules = (await rules_for(session, [community_id]))[community_id]
    picked = pick_rules(
        rules, TicketFacts(channel=channel, criticality=criticality, urgency=urgency)
    )
    cals = await calendars_by_id(session, {r.calendar_id for r in picked.values()})
    out = []
    for target in Target:
        rule = picked.get(target)
        if rule is None:
            continue
        cal_row = cals[rule.calendar_id]
        due = build_calendar(cal_row).add_business(at, timedelta(minutes=rule.minutes))
        out.append(
            {
                "target": target,
                "minutes": rule.minutes,
                "calendar": cal_row.name,
                "zone": cal_row.zone,
                "due_at": due,
                "rule_id": rule.id,
                "from_community_policy": rule.overrides,
            }
        )
    return out


# --- clocks following the ticket -----------------------------------------------------------

ACK_FIELDS = frozenset({"criticality", "type", "assignee_id", "status"})
RETARGET_FIELDS = frozenset({"criticality", "urgency", "channel", "community_id"})


async def _clocks_of(session: AsyncSession, ticket_id: int) -> dict[str, SlaClock]:
    rows = (await session.exec(select(SlaClock).where(SlaClock.ticket_id == ticket_id))).all()
    return {c.target: c for c in rows}


def copy_dimensions(c: SlaClock, ticket: Ticket) -> None:
    c.channel, c.criticality, c.community_id, c.opened_at = (
        ticket.channel,
        ticket.criticality,
        ticket.community_id,
        ticket.created_at,
    )


def _earliest_due(rows: Iterable[SlaClock]) -> datetime | None:
    dues = [
        c.due_at for c in rows if c.stopped_at is None and c.running_since is not None and c.due_at
    ]
    return min(dues) if dues else None


async def _refresh_ticket_due(session: AsyncSession, ticket_ids: set[int]) -> None:
    from app.ticket.ranking import refresh_rank

    for ticket_id in ticket_ids:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            continue
        due = _earliest_due((await _clocks_of(session, ticket_id)).values())
        if due != ticket.due_at:
            ticket.due_at = due
            await refresh_rank(session, ticket)


async def start_clocks(session: AsyncSession, ticket: Ticket, now: datetime) -> list[SlaClock]:
    rules = (await rules_for(session, [ticket.community_id]))[ticket.community_id]
    picked = pick_rules(rules, ticket_facts(ticket))
    cals = await calendars_by_id(session, {r.calendar_id for r in picked.values()})
    started = []
    for target, rule in picked.items():
        c = SlaClock(
            ticket_id=pk(ticket),
            target=target.value,
            rule_id=rule.id,
            calendar_id=rule.calendar_id,
            target_minutes=rule.minutes,
            started_at=now,
        )
        copy_dimensions(c, ticket)
        clocks.start(c, build_calendar(cals[rule.calendar_id]), now)
        session.add(c)
        started.append(c)
    ticket.due_at = _earliest_due(started)
    memo(session, "sla_clocks")[ticket.id] = list(started)  # the new ticket's response shows these
    return started


async def _retarget_ticket(
    session: AsyncSession,
    ticket: Ticket,
    current: dict[str, SlaClock],
    now: datetime,
    *,
    actor_id: int | None,
    reason: str,
) -> None:
    rules = (await rules_for(session, [ticket.community_id]))[ticket.community_id]
    picked = pick_rules(rules, ticket_facts(ticket))
    cals = await calendars_by_id(
        session,
        {r.calendar_id for r in picked.values()} | {c.calendar_id for c in current.values()},
    )
    changes = {}
    for target, rule in picked.items():
        c = current.get(target.value)
        if c is None:
            if ticket.status in (Status.resolved, Status.closed):
                continue
            c = SlaClock(
                ticket_id=pk(ticket),
                target=target.value,
                rule_id=rule.id,
                calendar_id=rule.calendar_id,
                target_minutes=rule.minutes,
                started_at=now,
            )
            copy_dimensions(c, ticket)
            clocks.start(c, build_calendar(cals[rule.calendar_id]), now)
            if ticket.status == Status.pending:
                clocks.pause(c, build_calendar(cals[rule.calendar_id]), now)
            session.add(c)
            current[target.value] = c
            changes[target.value] = {
                "before": None,
                "after": {"minutes": rule.minutes, "due_at": c.due_at},
            }
            continue
        if c.stopped_at is not None or (
            c.target_minutes == rule.minutes and c.calendar_id == rule.calendar_id
        ):
            continue
        before = {"minutes": c.target_minutes, "due_at": c.due_at, "calendar_id": c.calendar_id}
        clocks.retarget(
            c,
            build_calendar(cals[c.calendar_id]),
            build_calendar(cals[rule.calendar_id]),
            minutes=rule.minutes,
            calendar_id=rule.calendar_id,
            rule_id=rule.id,
            now=now,
        )
        changes[target.value] = {
            "before": before,
            "after": {
                "minutes": c.target_minutes,
                "due_at": c.due_at,
                "calendar_id": c.calendar_id,
            },
        }
    if changes:
        record_event(
            session,
            "sla.recomputed",
            subject_type="ticket",
            subject_id=pk(ticket),
            ticket_id=ticket.id,
            community_id=ticket.community_id,
            actor_id=actor_id,
            data={"reason": reason, "targets": changes},
        )


async def follow_ticket(session: AsyncSession, ticket: Ticket, change: TicketChange) -> None:
    now = change.now
    if change.kind == "created":
        await start_clocks(session, ticket, now)
        return
    current = await _clocks_of(session, pk(ticket))
    if (change.kind == "updated" and change.fields & RETARGET_FIELDS) or (
        change.kind == "status" and change.fields & RETARGET_FIELDS
    ):
        await _retarget_ticket(
            session,
            ticket,
            current,
            now,
            actor_id=change.actor_id,
            reason="changed " + ", ".join(sorted(change.fields & RETARGET_FIELDS)),
        )
    if not current:
        return
    if change.fields & RETARGET_FIELDS:
        for c in current.values():
            copy_dimensions(c, ticket)
    cal_rows = await calendars_by_id(session, {c.calendar_id for c in current.values()})

    def cal(c: SlaClock) -> BusinessCalendar:
        return build_calendar(cal_rows[c.calendar_id])

    before, after = change.status_before, change.status_after
    if before != after and after is not None:
        finished = (Status.resolved.value, Status.closed.value)
        if after in finished:
            for c in current.values():
                clocks.stop(c, cal(c), now)
        elif before in finished:
            res = current.get(Target.resolution.value)
            if res is not None:
                clocks.reopen(res, cal(res), now)
        if after == Status.pending.value:
            for c in current.values():
                clocks.pause(c, cal(c), now)
        elif before == Status.pending.value:
            for c in current.values():
                clocks.resume(c, cal(c), now)

    ack = current.get(Target.ack.value)
    staff_acted = (
        change.kind in ("claimed",)
        or (
            change.kind in ("updated", "status")
            and bool(change.fields & ACK_FIELDS)
            and change.actor_id is not None
        )
        or (change.kind == "message" and change.by_staff)
    )
    if ack is not None and staff_acted:
        clocks.stop(ack, cal(ack), now)
    first = current.get(Target.first_response.value)
    if (
        first is not None
        and change.kind == "message"
        and change.by_staff
        and change.message_kind == "public"
    ):
        clocks.stop(first, cal(first), now)
    ticket.due_at = _earliest_due(current.values())


async def recompute_open_tickets(
    session: AsyncSession, now: datetime, *, community_id: int | None, actor_id: int | None
) -> int:
    """After a policy change: recompute every unfinished ticket it may govern (inside the caller's transaction)."""
    stmt = select(Ticket).where(
        col(Ticket.status).not_in([Status.resolved.value, Status.closed.value])
    )
    if community_id is not None:
        stmt = stmt.where(Ticket.community_id == community_id)
    tickets = list((await session.exec(stmt)).all())
    if not tickets:
        return 0
    all_clocks = (
        await session.exec(
            select(SlaClock).where(col(SlaClock.ticket_id).in_([t.id for t in tickets]))
        )
    ).all()
    by_ticket: dict[int, dict[str, SlaClock]] = {}
    for c in all_clocks:
        by_ticket.setdefault(c.ticket_id, {})[c.target] = c
    from app.ticket.ranking import refresh_rank

    for t in tickets:
        current = by_ticket.setdefault(pk(t), {})
        await _retarget_ticket(session, t, current, now, actor_id=actor_id, reason="policy changed")
        due = _earliest_due(current.values())
        if due != t.due_at:
            t.due_at = due
            await refresh_rank(session, t)
    return len(tickets)


# --- reading states --------------------------------------------------------------------------


_TARGET_ORDER = {t.value: i for i, t in enumerate(Target)}  # ack, first response, resolution
_TARGETS = {t.value: t for t in Target}
# What `clocks.reading` reads of a clock, and what each form of its state adds.
_READ = (
    "ticket_id",
    "target",
    "calendar_id",
    "target_minutes",
    "running_since",
    "consumed_us",
    "due_at",
    "stopped_at",
    "elapsed_us",
)
_STATE_COLUMNS = tuple(getattr(SlaClock, name) for name in (*_READ, "started_at", "breached_at"))
_COUNTDOWN_COLUMNS = tuple(getattr(SlaClock, name) for name in _READ)


async def _clock_readings(
    session: AsyncSession, ticket_ids: list[int], now: datetime, columns: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    """(clock row, its calendar's name, state, seconds left or None once met, seconds used) of each
    clock, in target order."""
    known = memo_for_reading(session, "sla_clocks")
    if all(i in known for i in ticket_ids):
        rows = [c for i in ticket_ids for c in known[i]]
    else:
        # Plain rows of the columns needed, not ORM objects: a board page reads 300 clocks,
        # and building and tracking them as entities cost ~2.4 ms of its time.
        rows = (
            await session.exec(select(*columns).where(col(SlaClock.ticket_id).in_(ticket_ids)))
        ).all()
    rows_by_id = await calendars_by_id(session, {c.calendar_id for c in rows})
    cals = {
        i: (build_calendar(row), row.name) for i, row in rows_by_id.items()
    }  # built once per page
    out = []
    for c in sorted(rows, key=lambda c: _TARGET_ORDER[c.target]):
        cal, name = cals[c.calendar_id]
        state, remaining, used = clocks.reading(c, cal, now)
        out.append(
            (
                c,
                name,
                state,
                None if remaining is None else remaining // 1_000_000,
                used // 1_000_000,
            )
        )
    return out


async def clock_states(
    session: AsyncSession, ticket_ids: list[int], now: datetime
) -> dict[int, list[SlaTargetState]]:
    """Each ticket's SLA targets with their full state (the API's and the ticket page's form)."""
    out: dict[int, list[SlaTargetState]] = {i: [] for i in ticket_ids}
    if ticket_ids:
        for c, name, state, remaining, used in await _clock_readings(
            session, ticket_ids, now, _STATE_COLUMNS
        ):
            out[c.ticket_id].append(
                SlaTargetState(
                    target=_TARGETS[c.target],
                    state=state,
                    due_at=c.due_at,
                    target_minutes=c.target_minutes,
                    remaining_seconds=remaining,
                    elapsed_seconds=used,
                    calendar=name,
                    started_at=c.started_at,
                    stopped_at=c.stopped_at,
                    breached_at=c.breached_at,
                )
            )
    return out


async def clock_countdowns(
    session: AsyncSession, ticket_ids: list[int], now: datetime
) -> dict[int, list[SlaCountdown]]:
    """Each ticket's SLA targets as the board's countdown badges show them (same states as above)."""
    out: dict[int, list[SlaCountdown]] = {i: [] for i in ticket_ids}
    if ticket_ids:
        for c, name, state, remaining, _used in await _clock_readings(
            session, ticket_ids, now, _COUNTDOWN_COLUMNS
        ):
            out[c.ticket_id].append(
                SlaCountdown(_TARGETS[c.target], state, c.due_at, c.target_minutes, remaining, name)
            )
    return out


def board_filter(kind: str, now: datetime) -> SelectOfScalar[int]:
    """A subquery of ticket ids whose SLA is `breached` or `at_risk` now (for the board filter)."""
    running = and_(col(SlaClock.stopped_at).is_(None))
    if kind == "breached":
        cond = and_(running, col(SlaClock.due_at) <= now)
    elif kind == "at_risk":
        cond = and_(
            running,
            col(SlaClock.running_since).is_not(None),
            col(SlaClock.at_risk_at) <= now,
            col(SlaClock.due_at) > now,
        )
    elif kind == "attention":
        cond = and_(
            running,
            or_(
                col(SlaClock.due_at) <= now,
                and_(col(SlaClock.running_since).is_not(None), col(SlaClock.at_risk_at) <= now),
            ),
        )
    else:
        raise InvalidInput("sla filter is breached, at_risk or attention", code="bad_sla_filter")
    return select(SlaClock.ticket_id).where(cond)


def worst_state(states: list[SlaTargetState]) -> ClockState | None:
    rank = [
        ClockState.breached,
        ClockState.at_risk,
        ClockState.running,
        ClockState.paused,
        ClockState.met,
    ]
    live = [s.state for s in states]
    return min(live, key=rank.index) if live else None
