"""Settings from the environment (prefix FIRSTLINE_), read once per process."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = Path("firstline.db")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIRSTLINE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB}",
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql://user@host/db",
    )
    secret_key: str = Field(
        default="dev-insecure-secret-change-me",
        description="Signs one-time links and feed URLs; set a long random value in production",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Public URL used in links we send out"
    )
    ticket_prefix: str = Field(default="SUP", description="Ticket keys look like SUP-42")
    db_pool_size: int = Field(default=10, description="PostgreSQL connection pool size")
    db_max_overflow: int = Field(
        default=20, description="PostgreSQL connections above the pool size"
    )
    session_days: int = Field(default=14, description="How long a staff login lasts")
    secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure (set true behind HTTPS)"
    )
    max_attachment_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest accepted upload, per file"
    )
    max_attachments: int = Field(default=5, description="Most files on one intake submission")
    intake_rate_per_minute: int = Field(
        default=10, description="Intake form posts per client address per minute"
    )
    login_rate_per_minute: int = Field(
        default=10, description="Login attempts per client address per minute"
    )
    api_intake_rate_per_minute: int = Field(
        default=600,
        description="Tickets one API user may open per minute (a runaway script gets 429, not a flood)",
    )
    trust_proxy_headers: bool = Field(
        default=False, description="Take the client address from X-Forwarded-For"
    )
    live_backend: str = Field(
        default="auto", description="Live updates fan-out: memory, postgres or auto"
    )
    worker_in_process: str = Field(
        default="auto",
        description="Run background jobs inside the web process: auto (yes on SQLite), true or false",
    )
    log_level: str = Field(default="info")
    # Requester portal (issue 3)
    portal_link_minutes: int = Field(
        default=20, description="How long an e-mailed portal sign-in link works"
    )
    portal_session_days: int = Field(default=7, description="How long a portal sign-in lasts")
    portal_link_rate_per_minute: int = Field(
        default=5,
        description="Sign-in link requests per client address (and per e-mail address) per minute",
    )
    auto_close_days: float = Field(
        default=0,
        description="Close resolved tickets nobody answered after this many days; 0 turns it off",
    )

    @field_validator("ticket_prefix")
    @classmethod
    def _prefix_is_word(cls, value: str) -> str:
        if not value.isalnum() or not value.isupper():
            raise ValueError("ticket_prefix must be upper-case letters or digits, e.g. SUP")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def runs_worker_in_process(self) -> bool:
        if self.worker_in_process == "auto":
            return self.is_sqlite
        return self.worker_in_process.lower() in ("1", "true", "yes")


@lru_cache
def get_settings() -> Settings:
    return Settings()
