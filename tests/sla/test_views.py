"""SLA badges: the part drawn once per clock (`_badge_open` is cached) must still follow it."""

from datetime import UTC, datetime, timedelta

from app.sla.schemas import ClockState, SlaTargetState, Target
from app.sla.views import sla_badges

DUE = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def state(**changes) -> SlaTargetState:
    fields = dict(
        target=Target.first_response,
        state=ClockState.running,
        due_at=DUE,
        target_minutes=180,
        remaining_seconds=3600,
        elapsed_seconds=7200,
        calendar="Office hours",
        started_at=DUE - timedelta(hours=3),
        stopped_at=None,
        breached_at=None,
    )
    return SlaTargetState(**(fields | changes))


def test_countdown_follows_the_remaining_time_while_the_title_stays():
    assert str(sla_badges([state()])) == (
        '<span class="badge sla sla-running" data-sla="first_response" data-state="running" '
        'title="Repli target 3 business h on Office hours; due Tue 2026-11-24 12:00 UTC; running">'
        "Reply in 1h 00m</span>"
    )
    assert "Reply in 20m</span>" in sla_badges([state(remaining_seconds=1200)])


def test_every_input_of_the_title_reaches_it():
    later = DUE + timedelta(hours=2)
    assert "due Tue 2026-11-24 14:00 UTC" in sla_badges([state(due_at=later)])
    assert "target 8 business h" in sla_badges([state(target_minutes=480)])
    assert "on 24x7" in sla_badges([state(calendar="24x7")])
    late = sla_badges([state(state=ClockState.breached, remaining_seconds=-600)])
    assert 'data-state="breached"' in late and "; breached" in late and "Reply overdue 10m" in late
    assert 'data-sla="resolution"' in sla_badges([state(target=Target.resolution)])


def test_met_clocks_show_only_where_asked_and_names_are_escaped():
    met = state(state=ClockState.met, remaining_seconds=None, stopped_at=DUE)
    assert str(sla_badges([met])) == ""
    assert "Replied ✓" in sla_badges([met], include_met=True)
    assert "on &lt;b&gt;Ops&#34; hours;" in sla_badges([state(calendar='<b>Ops" hours')])
