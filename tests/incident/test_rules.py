"""Pure incident rules: the status machine and the update cadence."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import InvalidTransition
from app.incident.rules import (
    ACTIVE,
    SEVERITIES,
    TRANSITIONS,
    IncidentStatus,
    Severity,
    UpdateKind,
    check_incident_transition,
    countdown,
    next_update_due,
    update_kind,
    update_overdue,
)

REQUIRED = frozenset({"sev1", "sev2"})
T0 = datetime(
    2026, 3, 29, 0, 30, tzinfo=UTC
)  # the night Europe moves its clocks: UTC cadence is unaffected


def move(a, b, sev=Severity.sev1, written=False):
    check_incident_transition(
        a, b, severity=sev, postmortem_written=written, postmortem_required_for=REQUIRED
    )


def test_the_usual_path_is_allowed():
    path = [
        IncidentStatus.investigating,
        IncidentStatus.identified,
        IncidentStatus.monitoring,
        IncidentStatus.resolved,
    ]
    for a, b in pairwise(path):
        move(a, b)
    move(IncidentStatus.resolved, IncidentStatus.postmortem_done, written=True)


def test_done_needs_a_postmortem_for_required_severities_only():
    with pytest.raises(InvalidTransition, match="post-mortem") as err:
        move(IncidentStatus.resolved, IncidentStatus.postmortem_done, sev=Severity.sev2)
    assert err.value.code == "postmortem_missing"
    move(IncidentStatus.resolved, IncidentStatus.postmortem_done, sev=Severity.sev3)


def test_illegal_moves_give_a_reason():
    with pytest.raises(InvalidTransition, match="resolve the incident first"):
        move(IncidentStatus.investigating, IncidentStatus.postmortem_done)
    with pytest.raises(InvalidTransition, match="finished"):
        move(IncidentStatus.postmortem_done, IncidentStatus.investigating)
    with pytest.raises(InvalidTransition, match="already"):
        move(IncidentStatus.monitoring, IncidentStatus.monitoring)


@given(
    st.sampled_from(list(IncidentStatus)),
    st.sampled_from(list(IncidentStatus)),
    st.sampled_from(list(Severity)),
    st.booleans(),
)
def test_transition_check_agrees_with_the_table(a, b, sev, written):
    allowed = b in TRANSITIONS[a] and not (
        b == IncidentStatus.postmortem_done and not written and sev.value in REQUIRED
    )
    try:
        move(a, b, sev, written)
        assert allowed
    except InvalidTransition as exc:
        assert not allowed and str(exc)


@given(
    st.sampled_from(list(Severity)),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_next_update_is_one_interval_after_the_last(sev, last):
    due = next_update_due(sev, IncidentStatus.identified, last, last - timedelta(days=1))
    assert due == last + SEVERITIES[sev].update_every
    assert not update_overdue(due, due) and update_overdue(due, due + timedelta(seconds=1))


def test_cadence_counts_from_declaration_until_the_first_update_and_stops_when_resolved():
    assert next_update_due(Severity.sev1, IncidentStatus.investigating, None, T0) == T0 + timedelta(
        minutes=30
    )
    assert next_update_due(Severity.sev1, IncidentStatus.resolved, T0, T0) is None
    assert all(
        s in ACTIVE
        for s in (
            IncidentStatus.investigating,
            IncidentStatus.identified,
            IncidentStatus.monitoring,
        )
    )


def test_countdown_text():
    assert countdown(T0 + timedelta(minutes=12, seconds=30), T0) == "due in 12m"
    assert countdown(T0 - timedelta(hours=1, minutes=5), T0) == "overdue by 1h 5m"
    assert countdown(None, T0) == "no more updates due"


def test_update_kind():
    assert update_kind(0, IncidentStatus.investigating) == UpdateKind.first
    assert update_kind(3, IncidentStatus.monitoring) == UpdateKind.update
    assert update_kind(0, IncidentStatus.resolved) == UpdateKind.resolution


def test_every_severity_has_a_written_definition():
    assert [s.label for s in SEVERITIES.values()] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert all(len(s.definition) > 40 for s in SEVERITIES.values())
    assert [s.update_every for s in SEVERITIES.values()] == sorted(
        s.update_every for s in SEVERITIES.values()
    )
