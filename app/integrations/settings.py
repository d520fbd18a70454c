"""Integration settings (FIRSTLINE_ prefix), kept apart from app.config so each area owns its knobs.

Secrets for GitHub and Slack, the SMTP relay, the Slack incoming webhook, delivery retry
budget and the GitHub REST API used for tracker issues. Documented in the README table.
"""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntegrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIRSTLINE_", env_file=".env", extra="ignore")

    # --- outgoing delivery -------------------------------------------------------------------
    delivery_max_attempts: int = Field(
        default=10, ge=1, description="Tries before a message is dead-lettered"
    )
    delivery_backoff_seconds: float = Field(
        default=15.0, gt=0, description="First retry delay; doubles each try"
    )
    delivery_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest delay between tries"
    )
    delivery_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A claimed message is retried by another worker after this long",
    )
    delivery_timeout_seconds: float = Field(
        default=10.0, gt=0, description="HTTP / SMTP timeout per try"
    )
    # --- e-mail out --------------------------------------------------------------------------
    smtp_host: str = Field(
        default="", description="SMTP relay host; empty: e-mail is not sent (stays pending)"
    )
    smtp_port: int = Field(default=25)
    smtp_username: str = Field(default="")
    smtp_password: str = Field(default="")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS"
    )
    mail_from: str = Field(
        default="support@firstline.invalid", description="From address of e-mail we send"
    )
    mail_domain: str = Field(
        default="firstline.invalid", description="Right-hand side of our Message-IDs"
    )
    # --- Slack ---------------------------------------------------------------------------------
    slack_webhook_url: str = Field(
        default="", description="Slack incoming-webhook URL for slack.notify"
    )
    slack_signing_secret: str = Field(default="", description="Verifies requests from Slack")
    slack_bot_token: str = Field(
        default="",
        description="Bot token (xoxb-...) that answers in a Slack-born ticket's thread; empty: not sent",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api", description="Slack Web API base URL"
    )
    slack_channels: str = Field(
        default="", description="Channel ids whose messages open tickets, comma-separated"
    )
    slack_reactions: str = Field(
        # The emoji conventions of support-channel-tiers.md.
        default=(
            "eyes=claim,bug=tag:bug,necktie=tag:product,fire_engine=tag:needs-dev,vhs=tag:data,"
            "coffin=tag:post-mortem,evergreen_tree=tag:onboarding,documentation=tag:docs-needed,"
            "read_the_manual=tag:docs-exist,heavy_check_mark=tag:resolved,white_check_mark=tag:resolved"
        ),
        description="Emoji → action table: claim, or tag:<name>",
    )
    slack_support_channel: str = Field(
        default="",
        description="Channel id of #support: each rota handoff sets its topic to who is on now",
    )
    slack_urgent_handles: str = Field(
        default="oncall",
        description="Group handles (or subteam ids) whose mention makes a Slack request urgent",
    )
    slack_emergency_handles: str = Field(
        default="dev911",
        description="Group handles (or subteam ids) whose mention makes it an emergency",
    )
    # --- GitHub --------------------------------------------------------------------------------
    github_webhook_secret: str = Field(default="", description="Verifies X-Hub-Signature-256")
    github_api_url: str = Field(
        default="https://api.github.com", description="GitHub REST API base URL"
    )
    github_token: str = Field(
        default="",
        description="Token that opens tracker issues and comments on GitHub-born tickets' issues",
    )
    github_repo: str = Field(default="", description="owner/name where tracker issues are opened")
    # --- replies where the request came from ---------------------------------------------------
    reply_status_changes: bool = Field(
        default=True,
        description="Also tell a GitHub issue or Slack thread when its ticket's status changes",
    )
    # --- e-mail in -----------------------------------------------------------------------------
    email_inbound_token: str = Field(
        default="", description="Bearer secret for POST /api/v1/integrations/email"
    )
    email_max_bytes: int = Field(
        default=25 * 1024 * 1024, description="Largest raw message accepted"
    )
    mail_authserv_id: str = Field(
        default="",
        description=(
            "Host name our receiving MTA stamps in Authentication-Results; only its verdicts "
            "count. Empty: no inbound mail is verified"
        ),
    )


@lru_cache
def get_integration_settings() -> IntegrationSettings:
    return IntegrationSettings()
