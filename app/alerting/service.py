"""Receiving alerts: de-duplicate by fingerprint, group into an open incident, record resolutions.

One notification is one transaction: its alerts, any incident it declares and the events
commit together, so a retried notification (senders retry on any error) changes nothing
twice.
"""

import zlib
from datetime import datetime

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.alerting.models import Alert, AlertIngestResult
from app.alerting.rules import AlertIn, group_key, severity_from_labels
from app.db import dialect_name, pk, transaction, utcnow
from app.incident.config import get_incident_settings
from app.incident.models import Incident, IncidentCreate
from app.incident.rules import ACTIVE, IncidentStatus, Severity
from app.incident.service import declare_in_transaction, move_locked_incident, record_incident_event


async def _open_incident(session: AsyncSession, key: str) -> Incident | None:
    stmt = (
        select(Incident)
        .where(Incident.group_key == key, col(Incident.status).in_([s.value for s in ACTIVE]))
        .order_by(col(Incident.id).desc())
        .with_for_update()
    )
    return (await session.exec(stmt)).first()


async def _serialise_groups(session: AsyncSession, keys: set[str]) -> None:
    """Two notifications for one group at once must not both declare an incident. SQLite
    already runs one writer at a time; PostgreSQL takes a transaction lock per group, in order."""
    if dialect_name(session) != "postgresql":
        return
    for key in sorted(keys):
        lock_id = zlib.crc32(key.encode()) - 2**31
        # sqlmodel types exec() for statements; raw SQL text runs the same.
        await session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=lock_id))  # type: ignore[call-overload]


async def _attach(
    session: AsyncSession, alert: Alert, actor_id: int | None, now: datetime
) -> Incident:
    incident = await _open_incident(session, alert.group_key)
    severity = Severity(alert.severity)
    if incident is None:
        incident = await declare_in_transaction(
            session,
            IncidentCreate(
                title=f"{alert.name}: {alert.summary}"[:200] if alert.summary else alert.name,
                summary=alert.summary,
                severity=severity,
            ),
            actor_id=actor_id,
            now=now,
            source="alert",
            group_key=alert.group_key,
        )
    elif severity.value < incident.severity:  # "sev1" < "sev2": a worse alert raises the incident
        record_incident_event(
            session,
            incident,
            "incident.severity_changed",
            actor_id,
            {"before": incident.severity, "after": severity.value, "reason": f"alert {alert.name}"},
        )
        incident.severity = severity.value
    alert.incident_id = incident.id
    record_incident_event(
        session,
        incident,
        "incident.alert_received",
        actor_id,
        {
            "alert_id": alert.id,
            "name": alert.name,
            "source": alert.source,
            "fingerprint": alert.fingerprint,
            "severity": alert.severity,
        },
    )
    return incident


async def receive_alerts(
    session: AsyncSession,
    source: str,
    alerts: list[AlertIn],
    *,
    actor_id: int | None,
    now: datetime | None = None,
) -> AlertIngestResult:
    now = now or utcnow()
    settings = get_incident_settings()
    result = AlertIngestResult(received=len(alerts), new=0, duplicates=0, resolved=0, incidents=[])
    touched: dict[int, Incident] = {}
    async with transaction(session):
        await _serialise_groups(
            session,
            {group_key(a, source=source, group_labels=settings.group_labels) for a in alerts},
        )
        for a in alerts:
            stmt = (
                select(Alert)
                .where(Alert.source == source, Alert.fingerprint == a.fingerprint)
                .with_for_update()
            )
            alert = (await session.exec(stmt)).first()
            if alert is None:
                alert = Alert(
                    source=source,
                    fingerprint=a.fingerprint,
                    status=a.status,
                    name=a.name,
                    summary=a.summary,
                    severity=severity_from_labels(a.labels).value,
                    labels=a.labels,
                    annotations=a.annotations,
                    group_key=group_key(a, source=source, group_labels=settings.group_labels),
                    generator_url=a.generator_url,
                    starts_at=a.starts_at,
                    ends_at=a.ends_at,
                    first_seen_at=now,
                    last_seen_at=now,
                    resolved_at=(a.ends_at or now) if a.status == "resolved" else None,
                )
                session.add(alert)
                await session.flush()
                result.new += 1
                if a.status == "firing":
                    incident = await _attach(session, alert, actor_id, now)
                    touched[pk(incident)] = incident
                continue
            alert.received += 1
            alert.last_seen_at = now
            if a.status == alert.status:
                result.duplicates += 1  # Alertmanager repeats firing alerts every repeat_interval
                continue
            alert.status, alert.ends_at = a.status, a.ends_at
            if a.status == "resolved":
                alert.resolved_at = a.ends_at or now
                result.resolved += 1
                linked = (
                    await session.get(Incident, alert.incident_id) if alert.incident_id else None
                )
                if linked is not None:
                    record_incident_event(
                        session,
                        linked,
                        "incident.alert_resolved",
                        actor_id,
                        {
                            "alert_id": alert.id,
                            "name": alert.name,
                            "source": source,
                            "fingerprint": alert.fingerprint,
                        },
                    )
                    touched[pk(linked)] = linked
            else:  # fired again after resolving: it belongs to whatever incident is open for its group now
                alert.resolved_at, alert.starts_at = None, a.starts_at or alert.starts_at
                result.new += 1
                incident = await _attach(session, alert, actor_id, now)
                touched[pk(incident)] = incident
        await session.flush()
        if settings.alert_auto_resolve:
            for incident in touched.values():
                await _auto_resolve(session, incident, actor_id, now)
        result.incidents = sorted(touched)
    return result


async def _auto_resolve(
    session: AsyncSession, incident: Incident, actor_id: int | None, now: datetime
) -> None:
    if incident.source != "alert" or IncidentStatus(incident.status) not in ACTIVE:
        return
    firing = (
        await session.exec(
            select(Alert.id).where(Alert.incident_id == incident.id, Alert.status == "firing")
        )
    ).first()
    if firing is None:
        await move_locked_incident(
            session, incident, IncidentStatus.resolved, actor_id, now, reason="every alert resolved"
        )


async def list_alerts(
    session: AsyncSession, *, incident_id: int | None = None, limit: int = 200
) -> list[Alert]:
    stmt = select(Alert)
    if incident_id is not None:
        stmt = stmt.where(Alert.incident_id == incident_id)
    return list(
        (await session.exec(stmt.order_by(col(Alert.last_seen_at).desc()).limit(limit))).all()
    )
