"""The suite's clock: every test runs at a stated instant, never at the machine's."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from app.db import utcnow
from tests.conftest import SUITE_NOW, stated_now, subprocess_env

# Generous: a process start on a loaded 2-core machine; the real clock is months away.
SLACK = timedelta(minutes=2)


def test_an_unmarked_test_runs_at_the_suites_instant():
    assert SUITE_NOW <= utcnow() < SUITE_NOW + SLACK
    assert SUITE_NOW <= datetime.now(UTC) < SUITE_NOW + SLACK


@pytest.mark.now("2026-12-04T19:30:00+01:00")
def test_a_marked_test_runs_at_its_own_instant():
    assert (
        datetime(2026, 12, 4, 18, 30, tzinfo=UTC)
        <= utcnow()
        < datetime(2026, 12, 4, 18, 32, tzinfo=UTC)
    )


def test_the_clock_can_be_moved_within_a_test(clock):
    clock.move_to(datetime(2027, 3, 28, 0, 59, tzinfo=UTC))
    assert utcnow().date().isoformat() == "2027-03-28"
    clock.shift(timedelta(hours=2))
    assert utcnow().hour == 2


@pytest.mark.now("2026-11-01T05:30:00+00:00")
def test_a_process_the_test_starts_continues_its_clock():
    code = "from datetime import UTC, datetime; print(datetime.now(UTC).isoformat())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    child = datetime.fromisoformat(out.stdout.strip())
    assert (
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
        <= child
        < datetime(2026, 11, 1, 5, 30, tzinfo=UTC) + SLACK
    )


class _Node:
    def __init__(self, *args: str) -> None:
        self.marker = pytest.mark.now(*args).mark if args else None

    def get_closest_marker(self, name: str):
        return self.marker


def test_stated_now_reads_the_marker_and_refuses_a_naive_instant():
    assert stated_now(_Node()) == SUITE_NOW
    assert stated_now(_Node("2027-03-28T02:30:00+02:00")) == datetime(
        2027, 3, 28, 0, 30, tzinfo=UTC
    )
    with pytest.raises(pytest.UsageError, match="needs an offset"):
        stated_now(_Node("2027-03-28T02:30:00"))
