"""Pure alert rules: the payload shapes we accept, severity from labels, the grouping key.

Alertmanager (webhook v4) and Grafana unified alerting send the same alert shape (Grafana's
notifier is built on Alertmanager's), so one model reads both; Grafana adds a few fields.
"""

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.incident.rules import Severity

ZERO_TIME_YEAR = 1  # "0001-01-01T00:00:00Z": Alertmanager's "no end yet"


class WireAlert(BaseModel):
    """One alert as Alertmanager and Grafana send it (unknown fields are kept, not refused)."""

    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - the senders' field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str | None = None  # noqa: N815
    fingerprint: str | None = Field(default=None, max_length=128)


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook_config body, version 4."""

    model_config = ConfigDict(extra="allow")

    version: str = "4"
    groupKey: str = Field(default="", max_length=2000)  # noqa: N815
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = ""  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    alerts: list[WireAlert] = Field(max_length=1000)


class GrafanaPayload(AlertmanagerPayload):
    """Grafana unified alerting's webhook contact point body (Alertmanager's plus a few fields)."""

    version: str = "1"
    orgId: int | None = None  # noqa: N815
    title: str = ""
    state: str = ""
    message: str = ""


class GenericAlert(BaseModel):
    """`POST /api/v1/alerts`: the shape for anything that is neither Alertmanager nor Grafana."""

    fingerprint: str = Field(
        min_length=1, max_length=128, description="stable id of this alert at its source"
    )
    status: Literal["firing", "resolved"] = "firing"
    name: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=5000)
    labels: dict[str, str] = Field(default_factory=dict)
    group_key: str | None = Field(
        default=None, max_length=200, description="alerts with one key share an incident"
    )
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    url: str | None = Field(default=None, max_length=1000)


class GenericPayload(BaseModel):
    alerts: list[GenericAlert] = Field(min_length=1, max_length=1000)


class AlertIn(BaseModel):
    """An alert in our own terms, whatever sent it."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    name: str
    summary: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str | None
    sender_group_key: str


def _real_time(value: datetime | None) -> datetime | None:
    return None if value is None or value.year == ZERO_TIME_YEAR else value


def label_fingerprint(labels: dict[str, str]) -> str:
    """Like Alertmanager's: the identity of an alert is its label set."""
    raw = "\x00".join(f"{k}\x01{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def from_alertmanager(payload: AlertmanagerPayload) -> list[AlertIn]:
    out = []
    for a in payload.alerts:
        labels = {**payload.commonLabels, **a.labels}
        annotations = {**payload.commonAnnotations, **a.annotations}
        out.append(
            AlertIn(
                fingerprint=a.fingerprint or label_fingerprint(labels),
                status=a.status,
                name=labels.get("alertname", "alert")[:200],
                summary=annotations.get("summary") or annotations.get("description") or "",
                labels=labels,
                annotations=annotations,
                starts_at=_real_time(a.startsAt),
                ends_at=_real_time(a.endsAt),
                generator_url=a.generatorURL,
                sender_group_key=payload.groupKey
                or "labels:" + label_fingerprint(payload.groupLabels),
            )
        )
    return out


def from_generic(payload: GenericPayload) -> list[AlertIn]:
    return [
        AlertIn(
            fingerprint=a.fingerprint,
            status=a.status,
            name=a.name,
            summary=a.summary,
            labels=a.labels,
            annotations={},
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            generator_url=a.url,
            sender_group_key=a.group_key or a.name,
        )
        for a in payload.alerts
    ]


# Common severity words in alert labels, most severe first.
SEVERITY_WORDS: dict[Severity, frozenset[str]] = {
    Severity.sev1: frozenset(
        {"critical", "crit", "page", "emergency", "fatal", "disaster", "sev1", "p1"}
    ),
    Severity.sev2: frozenset({"high", "major", "error", "sev2", "p2"}),
    Severity.sev3: frozenset({"warning", "warn", "medium", "average", "sev3", "p3"}),
    Severity.sev4: frozenset({"info", "low", "minor", "none", "sev4", "p4", "p5"}),
}
SEVERITY_LABELS = ("severity", "priority", "level")


def severity_from_labels(labels: dict[str, str], default: Severity = Severity.sev3) -> Severity:
    for name in SEVERITY_LABELS:
        value = str(labels.get(name, "")).strip().lower()
        for severity, words in SEVERITY_WORDS.items():
            if value in words:
                return severity
    return default


def group_key(alert: AlertIn, *, source: str, group_labels: tuple[str, ...]) -> str:
    """Which open incident an alert joins: by the configured labels, else by the sender's group.

    Grouping by labels ignores the source, so Alertmanager and Grafana alerts about the same
    thing (e.g. the same `cluster`) share one incident.
    """
    if group_labels:
        raw = "labels:" + ",".join(f"{name}={alert.labels.get(name, '')}" for name in group_labels)
    else:
        raw = f"{source}:{alert.sender_group_key}"
    return raw if len(raw) <= 255 else raw[:190] + "#" + hashlib.sha256(raw.encode()).hexdigest()
