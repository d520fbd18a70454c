"""SLA test helpers: an injected clock for ticket changes and for reading SLA states."""

from datetime import UTC, datetime, timedelta

import pytest

from app.sla import service as sla_service
from tests.pages.conftest import csrf, triager  # noqa: F401 - a signed-in staff client for page tests


class FakeClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return when

    def advance(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Monday 2026-11-23 10:00 UTC unless a test sets another time."""
    fake = FakeClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    monkeypatch.setattr("app.ticket.service.utcnow", fake)
    monkeypatch.setattr("app.sla.service.utcnow", fake)
    monkeypatch.setitem(sla_service.CLOCK, "now", fake)
    return fake
