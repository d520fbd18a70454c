#!/usr/bin/env bash
# Runs the time-sensitive part of the suite again with the machine's own clock and zone faked
# by libfaketime (Debian's `faketime` package) at instants where a test that still read the
# real clock, the weekday, the hour or the local zone would answer differently: a Friday
# evening, a Sunday, Monday 00:30 east of UTC, and a DST night in Europe and in the US.
# Every test states its own "now" (tests/conftest.py), so each run must be as green as the
# plain one; a red run names a test that depends on the calendar it happens to run on.
#
#   scripts/test-at-instants.sh [sqlite|postgres ...]   (default: sqlite, and postgres when
#                                                        FIRSTLINE_TEST_PG_URL is set)
set -uo pipefail
cd "$(dirname "$0")/.."

LIB="$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)"
if [ -z "$LIB" ]; then
  echo "libfaketime is missing: apt-get install faketime" >&2
  exit 2
fi

# zone | local wall time at the start of the run | why this instant
INSTANTS=(
  "Europe/Berlin|2026-12-04 19:30:00|Friday evening"
  "America/Los_Angeles|2026-12-06 11:00:00|Sunday"
  "Asia/Tokyo|2026-12-07 00:30:00|Monday 00:30 east of UTC (still Sunday in UTC)"
  "Europe/Berlin|2027-03-28 01:58:00|Europe springs forward at 02:00 during the run"
  "America/New_York|2026-11-01 01:28:00|US falls back at 02:00 (01:00-02:00 happens twice)"
)
# What reads dates, weekdays, zones or "now": rota, SLA, handoffs, escalation, reports,
# auto-close, incidents, budgets, intake, the CLI and the demo data.
TIME_SENSITIVE=(tests/rota tests/sla tests/incident tests/access tests/ticket tests/integrations
                tests/pages tests/api tests/test_cli.py tests/test_clock.py)

BACKENDS=("$@")
if [ ${#BACKENDS[@]} -eq 0 ]; then
  BACKENDS=(sqlite)
  [ -n "${FIRSTLINE_TEST_PG_URL:-}" ] && BACKENDS+=(postgres)
fi

PYTEST="${PYTEST:-.venv/bin/pytest}"
summary=()
status=0
ONLY="${FIRSTLINE_CLOCK_ONLY:-}"  # e.g. "Friday": run just the instants whose reason matches
for entry in "${INSTANTS[@]}"; do
  [ -n "$ONLY" ] && [[ "$entry" != *"$ONLY"* ]] && continue
  IFS='|' read -r zone wall why <<<"$entry"
  # An offset rather than a start time, so every process of the run (the worker and CLI
  # subprocesses too) sees the same faked clock, and it ticks.
  offset=$(( $(TZ="$zone" date -d "$wall" +%s) - $(date +%s) ))
  fake="$([ "$offset" -ge 0 ] && echo +)${offset}s"
  for backend in "${BACKENDS[@]}"; do
    echo
    echo "== $why: $wall $zone, $backend"
    env TZ="$zone" LD_PRELOAD="$LIB" FAKETIME="$fake" \
      date '+   the machine now reads %a %Y-%m-%d %H:%M %Z'
    log="$(mktemp)"
    env TZ="$zone" LD_PRELOAD="$LIB" FAKETIME="$fake" FIRSTLINE_TEST_BACKEND="$backend" \
        "$PYTEST" -p no:cacheprovider -q -m "not browser" ${FIRSTLINE_CLOCK_XDIST:+-n "$FIRSTLINE_CLOCK_XDIST"} "${TIME_SENSITIVE[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    [ "$rc" -ne 0 ] && status=1
    summary+=("$why ($zone, $backend): $(grep -E '^(=+ )?[0-9]+ (passed|failed)|no tests ran' "$log" | tail -n 1)")
    rm -f "$log"
  done
done

echo
echo "== Suite at faked instants"
printf '   %s\n' "${summary[@]}"
exit $status
