"""A rota handoff sets the #support channel's topic to who is on now, through the outbox, against
a loopback stand-in for Slack's Web API (conversations.setTopic)."""

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from app.db import utcnow
from app.outbox.delivery import deliver_due
from app.outbox.models import OutboxMessage
from app.rota.hooks import handoff_job
from tests.rota.conftest import make_schedule, team  # noqa: F401 - Ana, Bo, Cy


@pytest.fixture
def fake_slack(receiver, monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_SLACK_API_URL", receiver.url.removesuffix("/hook") + "/api")
    monkeypatch.setenv("FIRSTLINE_SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("FIRSTLINE_SLACK_SUPPORT_CHANNEL", "C0SUPPORT")
    get_integration_settings.cache_clear()
    receiver.reply = json.dumps(
        {"ok": True, "channel": {"id": "C0SUPPORT", "topic": {"value": "..."}}}
    ).encode()
    yield receiver
    get_integration_settings.cache_clear()


@pytest.mark.now("2026-01-12T08:01:00Z")
async def test_handoff_sets_the_support_channel_topic_to_who_is_on_now(session, team, fake_slack):  # noqa: F811
    # Weekly from Monday 5 January, 09:00 Berlin: Ana's week ends Monday 12 January 08:00 UTC, Bo's begins.
    await make_schedule(session, [team.ana, team.bo], roles={"lead": [team.cy]})
    now = datetime(2026, 1, 12, 8, 1, tzinfo=UTC)
    assert await handoff_job(session, now) == 1
    [topic] = (
        await session.exec(select(OutboxMessage).where(OutboxMessage.topic == "slack.topic"))
    ).all()
    assert topic.payload == {
        "channel": "C0SUPPORT",
        "topic": "On call now (Support rota): triager: Bo, lead: Cy",
    }
    assert await handoff_job(session, now) == 0  # the same handoff is not announced twice
    await deliver_due(session, utcnow())
    [call] = [r for r in fake_slack.requests if r.path.endswith("/conversations.setTopic")]
    assert (
        call.path == "/api/conversations.setTopic"
        and call.headers["authorization"] == "Bearer xoxb-test"
    )
    assert json.loads(call.body) == {
        "channel": "C0SUPPORT",
        "topic": "On call now (Support rota): triager: Bo, lead: Cy",
    }
    row = (
        await session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id) == topic.id)
            .execution_options(populate_existing=True)
        )
    ).one()
    assert row.status == "done"


@pytest.mark.now("2026-01-12T08:01:00Z")
async def test_no_support_channel_no_topic(session, team, monkeypatch):  # noqa: F811
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_SLACK_SUPPORT_CHANNEL", "")
    get_integration_settings.cache_clear()
    await make_schedule(session, [team.ana, team.bo])
    assert await handoff_job(session, datetime(2026, 1, 12, 8, 1, tzinfo=UTC)) == 1
    assert not (
        await session.exec(select(OutboxMessage).where(OutboxMessage.topic == "slack.topic"))
    ).all()
