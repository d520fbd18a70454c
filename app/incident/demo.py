"""Demo incidents: one being worked, one fresh from monitoring, one finished with its post-mortem."""

from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.alerting.rules import AlertIn
from app.alerting.service import receive_alerts
from app.auth.policy import Principal
from app.db import pk, utcnow
from app.incident import service
from app.incident.models import ActionItemCreate, IncidentCreate, PostMortemWrite, UpdateCreate
from app.incident.rules import IncidentStatus, Severity
from app.ticket.models import Ticket
from app.user.models import User


def _principal(user: User) -> Principal:
    return Principal(
        user_id=pk(user), name=user.name, email=user.email, staff_role=user.required_staff_role()
    )


async def _ticket(session: AsyncSession, title: str) -> Ticket | None:
    stmt = select(Ticket).where(Ticket.title == title).order_by(col(Ticket.id).desc())
    return (await session.exec(stmt)).first()


async def seed_incidents(session: AsyncSession, staff: list[User]) -> None:
    by_email = {u.email: u for u in staff}
    tara, sam, ana = (
        by_email.get(e)
        for e in ("tara@firstline.example", "sam@firstline.example", "ana@firstline.example")
    )
    if not (tara and sam and ana):
        return
    now_actor = _principal(tara)

    # A finished SEV2 with its post-mortem and an action item (now a ticket on the board).
    lost = await _ticket(session, "Data loss after a failed image rollout")
    old = await service.declare_incident(
        session,
        IncidentCreate(
            title="Files lost after a failed image rollout",
            severity=Severity.sev2,
            responder_id=ana.id,
            tickets=[str(lost.id)] if lost else [],
        ),
        actor=now_actor,
    )
    await service.post_update(
        session,
        pk(old),
        UpdateCreate(
            body="We are aware some files written between 14:00 and 14:20 are missing. We are restoring from "
            "snapshots and will update you within the hour."
        ),
        actor=_principal(ana),
    )
    await service.post_update(
        session,
        pk(old),
        UpdateCreate(
            body="Files are restored from the 14:00 snapshot. Please check your work and reply if anything is missing.",
            status=IncidentStatus.resolved,
        ),
        actor=_principal(ana),
    )
    await service.save_postmortem(
        session,
        pk(old),
        PostMortemWrite(
            what_happened="A rollout replaced the user image while the storage migration was half done; "
            "writes in that window went to a volume that was then discarded.",
            went_well="Snapshots existed and restored cleanly; first update went out within 10 minutes.",
            went_badly="No check blocked the rollout during a migration; users found the loss before we did.",
        ),
        actor=_principal(ana),
    )
    await service.add_action_item(
        session,
        pk(old),
        ActionItemCreate(
            title="Block image rollouts while a storage migration runs",
            owner_id=pk(ana),
            due_on=utcnow().date() + timedelta(days=14),
        ),
        actor=_principal(ana),
    )

    # An active SEV1 declared from the emergency request, first update sent, comms role given.
    down = await _ticket(session, "Notebook servers fail to start with 504")
    active = await service.declare_incident(
        session,
        IncidentCreate(
            title="Notebook servers fail to start (504)",
            severity=Severity.sev1,
            communities=["climate-lab"],
            summary="Hub proxy returns 504 on spawn; suspect the node pool autoscaler.",
            tickets=[str(down.id)] if down else [],
        ),
        actor=now_actor,
    )
    await service.assign_role(session, pk(active), "communications", pk(sam), actor=now_actor)
    _, first = await service.render_update_template(session, active)
    await service.post_update(
        session,
        pk(active),
        UpdateCreate(body=first, status=IncidentStatus.identified),
        actor=now_actor,
    )

    # Fresh from monitoring: nobody has acknowledged it yet, so escalation will page the rota.
    await receive_alerts(
        session,
        "alertmanager",
        [
            AlertIn(
                fingerprint="demo-5f1e2c",
                status="firing",
                name="PrometheusTargetDown",
                summary="Prometheus cannot scrape the Grafana datasource",
                labels={
                    "alertname": "PrometheusTargetDown",
                    "severity": "warning",
                    "cluster": "city-data",
                },
                annotations={"summary": "Prometheus cannot scrape the Grafana datasource"},
                starts_at=None,
                ends_at=None,
                generator_url="http://prometheus.example:9090/alerts",
                sender_group_key='{}:{alertname="PrometheusTargetDown"}',
            )
        ],
        actor_id=None,
    )
