"""Escalation: pages along the on-call chain until someone acknowledges.

Two things escalate: a new incident nobody has acknowledged within a few minutes, and a
new ticket nobody claimed or answered within its tier's time: each #support tier ("no tag",
@oncall, @dev911: normal, urgent, emergency) has its own policy, minutes and chain of rota
roles (20 minutes by default, support-channel-tiers.md). Each step asks the rota who holds
the next role now (`app.oncall.on_call_user_ids`), notifies them through the outbox and
records an event. Acknowledging the incident, or claiming or answering the ticket, stops it;
so does the chain running out after a bounded number of rounds.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.config import get_settings
from app.db import pk, transaction
from app.escalation.models import Escalation
from app.escalation.rules import next_step
from app.incident.config import get_incident_settings
from app.incident.models import Incident
from app.incident.rules import ACTIVE, SEVERITIES, Severity
from app.incident.service import incident_key
from app.oncall import on_call_user_ids
from app.outbox.service import enqueue
from app.ticket.enums import Status, Urgency
from app.ticket.models import Ticket
from app.ticket.service import ticket_key
from app.user.models import User


@dataclass
class Subject:
    type: str  # incident | ticket
    id: int
    title: str
    since: datetime  # when the clock started
    chain: tuple[str, ...]  # rota roles paged in turn
    community_id: int | None = None


def _incident_needs_ack(incident: Incident | None) -> str | None:
    """None while it still needs someone; else why escalation stops."""
    if incident is None:
        return "gone"
    if incident.acknowledged_at is not None:
        return "acknowledged"
    if incident.status not in [s.value for s in ACTIVE]:
        return "resolved"
    return None


def _ticket_needs_claim(ticket: Ticket | None) -> str | None:
    if ticket is None:
        return "gone"
    if ticket.claimed_by_id is not None:
        return "claimed"
    if ticket.first_response_at is not None:
        return "answered"
    if ticket.status != Status.new.value:
        return "triaged"
    return None


async def _candidates(session: AsyncSession, now: datetime) -> list[Subject]:
    s = get_incident_settings()
    incidents = (
        await session.exec(
            select(Incident)
            .where(
                col(Incident.acknowledged_at).is_(None),
                col(Incident.status).in_([x.value for x in ACTIVE]),
                Incident.declared_at <= now - timedelta(minutes=s.escalation_ack_minutes),
            )
            .limit(200)
        )
    ).all()
    policies = {u.value: s.ticket_policy(u.value) for u in Urgency}
    due_by_tier = or_(
        *(
            (col(Ticket.urgency) == tier)
            & (col(Ticket.created_at) <= now - timedelta(minutes=p.minutes))
            for tier, p in policies.items()
        )
    )
    tickets = (
        await session.exec(
            select(Ticket)
            .where(
                col(Ticket.claimed_by_id).is_(None),
                col(Ticket.first_response_at).is_(None),
                Ticket.status == Status.new.value,
                due_by_tier,
            )
            .limit(200)
        )
    ).all()
    return [
        Subject(
            "incident",
            pk(i),
            f"{incident_key(pk(i))} {SEVERITIES[Severity(i.severity)].label} {i.title}",
            i.declared_at,
            s.chain,
        )
        for i in incidents
    ] + [
        Subject(
            "ticket",
            pk(t),
            f"{ticket_key(pk(t))} ({t.urgency}) {t.title}",
            t.created_at,
            policies[t.urgency].chain,
            t.community_id,
        )
        for t in tickets
    ]


async def _stop_finished(session: AsyncSession, now: datetime) -> int:
    """Close the escalations whose subject no longer needs anyone (acknowledged, claimed...)."""
    running = (
        await session.exec(select(Escalation).where(col(Escalation.stopped_at).is_(None)))
    ).all()
    # Every subject in two queries, not one per escalation: the sweep runs under the write lock.
    ids = {
        kind: {e.subject_id for e in running if e.subject_type == kind}
        for kind in ("incident", "ticket")
    }
    incidents = (
        {
            i.id: i
            for i in (
                await session.exec(select(Incident).where(col(Incident.id).in_(ids["incident"])))
            ).all()
        }
        if ids["incident"]
        else {}
    )
    tickets = (
        {
            t.id: t
            for t in (
                await session.exec(select(Ticket).where(col(Ticket.id).in_(ids["ticket"])))
            ).all()
        }
        if ids["ticket"]
        else {}
    )
    stopped = 0
    for state in running:
        if state.subject_type == "incident":
            reason = _incident_needs_ack(incidents.get(state.subject_id))
        else:
            reason = _ticket_needs_claim(tickets.get(state.subject_id))
        if reason is None:
            continue
        state.stopped_at, state.stop_reason = now, reason
        _record(
            session,
            state.subject_type,
            state.subject_id,
            "escalation_stopped",
            {"reason": reason, "steps": state.steps},
        )
        stopped += 1
    return stopped


async def _states_of(
    session: AsyncSession, subjects: list[Subject]
) -> dict[tuple[str, int], Escalation]:
    """The escalation of each subject that has one, in one query."""
    if not subjects:
        return {}
    by_kind = {kind: [s.id for s in subjects if s.type == kind] for kind in ("incident", "ticket")}
    rows = (
        await session.exec(
            select(Escalation).where(
                or_(
                    *(
                        (col(Escalation.subject_type) == kind) & col(Escalation.subject_id).in_(ids)
                        for kind, ids in by_kind.items()
                        if ids
                    )
                )
            )
        )
    ).all()
    return {(e.subject_type, e.subject_id): e for e in rows}


def _record(
    session: AsyncSession,
    subject_type: str,
    subject_id: int,
    what: str,
    data: dict[str, Any],
    community_id: int | None = None,
) -> None:
    record_event(
        session,
        f"{subject_type}.{what}",
        subject_type=subject_type,
        subject_id=subject_id,
        ticket_id=subject_id if subject_type == "ticket" else None,
        community_id=community_id,
        actor_id=None,
        data=data,
    )


async def _on_call_users(session: AsyncSession, role: str, now: datetime) -> list[User]:
    user_ids = await on_call_user_ids(session, role, now)
    if not user_ids:
        return []
    found = {
        u.id: u for u in (await session.exec(select(User).where(col(User.id).in_(user_ids)))).all()
    }
    return [found[i] for i in user_ids if i in found]  # the rota's order: primary first


async def run_escalations(session: AsyncSession, now: datetime) -> int:
    """One pass: stop what was acknowledged, page the next level for what is due. Idempotent:
    a second pass at the same instant finds every step already taken (`next_at` is later)."""
    s = get_incident_settings()
    pages = 0
    async with transaction(session):
        await _stop_finished(session, now)
        subjects = await _candidates(session, now)
        states = await _states_of(session, subjects)
        paged_by_role: dict[str, list[User]] = {}
        for subject in subjects:
            state = states.get((subject.type, subject.id))
            if state is None:
                state = Escalation(subject_type=subject.type, subject_id=subject.id, created_at=now)
                session.add(state)
            if state.stopped_at is not None or (state.next_at is not None and now < state.next_at):
                continue
            chain = subject.chain
            step = next_step(state.steps, len(chain), s.escalation_max_rounds)
            if step is None:
                state.stopped_at, state.stop_reason = now, "exhausted"
                _record(
                    session,
                    subject.type,
                    subject.id,
                    "escalation_stopped",
                    {"reason": "exhausted", "steps": state.steps},
                    subject.community_id,
                )
                continue
            role = chain[step.level]
            if role not in paged_by_role:
                paged_by_role[role] = await _on_call_users(session, role, now)
            users = paged_by_role[role]
            link = f"{get_settings().base_url}/{'incidents' if subject.type == 'incident' else 'tickets'}/{subject.id}"
            waited = int((now - subject.since).total_seconds() // 60)
            text = (
                f"Escalation (step {step.number}, {role}): {subject.title} has waited {waited} min "
                f"for someone to {'acknowledge' if subject.type == 'incident' else 'claim'} it. {link}"
            )
            for user in users:
                enqueue(
                    session,
                    "email.send",
                    {"to": [user.email], "subject": f"[Escalation] {subject.title}", "text": text},
                    idempotency_key=f"escalation-{subject.type}-{subject.id}-step-{step.number}-user-{user.id}",
                )
            enqueue(
                session,
                "slack.notify",
                {"text": text},
                idempotency_key=f"escalation-{subject.type}-{subject.id}-step-{step.number}-slack",
            )
            _record(
                session,
                subject.type,
                subject.id,
                "escalated",
                {
                    "step": step.number,
                    "level": step.level,
                    "round": step.round,
                    "role": role,
                    "paged": [u.name for u in users],
                    "paged_ids": [u.id for u in users],
                    "waited_minutes": waited,
                    **(
                        {"incident": incident_key(subject.id)} if subject.type == "incident" else {}
                    ),
                },
                subject.community_id,
            )
            state.steps = step.number
            state.next_at = now + timedelta(minutes=s.escalation_step_minutes)
            pages += 1
    return pages
