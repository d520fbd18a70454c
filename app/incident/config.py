"""Incident settings (FIRSTLINE_ prefix), kept here so other domains' settings never collide."""

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.escalation.rules import TierPolicy, parse_policy


class IncidentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIRSTLINE_", env_file=".env", extra="ignore")

    postmortem_required: str = Field(
        default="sev1,sev2",
        description="Severities whose incident cannot be marked done without a post-mortem",
    )
    alert_group_labels: str = Field(
        default="",
        description="Labels that group alerts into one incident (comma-separated); "
        "empty: the sender's own group key (Alertmanager route group_by)",
    )
    alert_auto_resolve: bool = Field(
        default=False,
        description="Resolve an alert-born incident when every one of its alerts has resolved",
    )
    alert_token: str = Field(
        default="",
        description="Shared bearer token monitoring tools may send instead of a user API token",
    )
    escalation_chain: str = Field(
        default="responder,lead",
        description="On-call roles paged in order when nobody acknowledges",
    )
    escalation_ack_minutes: int = Field(
        default=5, description="Minutes a new incident may stay unacknowledged"
    )
    # One policy per #support tier (support-channel-tiers.md): minutes a ticket may wait
    # unanswered and unclaimed, then the rota roles paged in turn.
    escalation_normal: str = Field(
        default="20:triager,lead",
        description='"No tag" tickets: minutes:roles, e.g. 20:triager,lead',
    )
    escalation_urgent: str = Field(
        default="20:responder,lead", description="@oncall (urgent) tickets"
    )
    escalation_emergency: str = Field(
        default="5:responder,lead", description="@dev911 (emergency) tickets"
    )
    escalation_step_minutes: int = Field(default=10, description="Minutes between escalation steps")
    escalation_max_rounds: int = Field(
        default=2, description="How many times the whole chain is walked at most"
    )

    @property
    def postmortem_required_for(self) -> frozenset[str]:
        return frozenset(
            s.strip().lower() for s in self.postmortem_required.split(",") if s.strip()
        )

    @property
    def group_labels(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.alert_group_labels.split(",") if s.strip())

    @field_validator("escalation_normal", "escalation_urgent", "escalation_emergency")
    @classmethod
    def _policy_parses(cls, value: str) -> str:
        parse_policy(value)
        return value

    def ticket_policy(self, urgency: str) -> TierPolicy:
        return parse_policy(
            {"urgent": self.escalation_urgent, "emergency": self.escalation_emergency}.get(
                urgency, self.escalation_normal
            )
        )

    @property
    def chain(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.escalation_chain.split(",") if s.strip())


@lru_cache
def get_incident_settings() -> IncidentSettings:
    return IncidentSettings()
