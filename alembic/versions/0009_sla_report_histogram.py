"""sla report histogram: read without a sort, and per week-and-month segment for periods.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00

The first-response histogram of 0008 (`sla_report_minute`, per day x channel x criticality x
community x minute) has about one row per answered clock at 100,000 tickets (~88,000 rows),
and grouping it by (dimension, minute) sorted all of them: ~90 ms on SQLite, ~340 ms by ISO
week. A coarser day grain does not shrink it (the dimensions times ~250 minutes are as many
cells as there are clocks), so:

- covering indexes in (dimension, minute) order let the report group by channel,
  criticality or community in one pass with no sort; the same for `sla_report_day`
  (~22,000 rows, ~15 ms of sorting): (dimension, target), and (day, target) for periods;
- `sla_report_minute_segment` keeps the histogram per *segment* (the days an ISO week and a
  calendar month have in common, named by their first day) and minute, with no other
  dimension: ~12,000 rows. Every ISO week and every month is a union of whole segments, so
  the report by week or month reads whole segments here and only the days of partial
  segments at the ends of a range from `sla_report_minute`.

Own triggers (beside 0008's, which stay as they are) keep the segment table in the same
transaction as every write to `sla_clock`. Clocks without an opening time are under segment
0001-01-01 (0008's day for them, a Monday and the first of a month).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_DAY = "0001-01-01"
CLOCK_FIELDS = ("stopped_at", "elapsed_us", "target", "opened_at")
DIMENSIONS = (("channel", "channel"), ("criticality", "criticality"), ("community", "community_id"))
SQLITE_TRIGGERS = ("sla_report_segment_ins", "sla_report_segment_del", "sla_report_segment_upd")


def _segment(dialect: str, column: str) -> str:
    """First day of the segment (ISO week within a calendar month) of a timestamp's UTC day."""
    if (
        dialect == "sqlite"
    ):  # UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; 'weekday 0', '-6 days': its Monday
        day = f"coalesce(substr({column}, 1, 10), '{NO_DAY}')"
        return f"max(date({day}, 'start of month'), date({day}, 'weekday 0', '-6 days'))"
    day = f"coalesce(({column} AT TIME ZONE 'UTC')::date, DATE '{NO_DAY}')::timestamp"
    return f"greatest(date_trunc('month', {day})::date, date_trunc('week', {day})::date)"


def _answered(r: str) -> str:
    return f"{r}.stopped_at IS NOT NULL AND {r}.target = 'first_response' AND {r}.elapsed_us IS NOT NULL"


def _statement(dialect: str, r: str, sign: int) -> str:
    """Add (sign 1) or remove (sign -1) clock row `r` (NEW/OLD) from the segment histogram."""
    # SQLite needs a WHERE on INSERT ... SELECT before ON CONFLICT (parsing ambiguity).
    return (
        f"INSERT INTO sla_report_minute_segment (segment, minute, n) "
        f"SELECT {_segment(dialect, r + '.opened_at')}, {r}.elapsed_us / 60000000, {sign} WHERE {_answered(r)} "
        f"ON CONFLICT (segment, minute) DO UPDATE SET n = sla_report_minute_segment.n + excluded.n"
    )


def _create_triggers(dialect: str) -> None:
    add, remove = _statement(dialect, "NEW", 1), _statement(dialect, "OLD", -1)
    if dialect == "sqlite":
        op.execute(
            f"CREATE TRIGGER sla_report_segment_ins AFTER INSERT ON sla_clock "
            f"WHEN NEW.stopped_at IS NOT NULL BEGIN {add}; END"
        )
        op.execute(
            f"CREATE TRIGGER sla_report_segment_del AFTER DELETE ON sla_clock "
            f"WHEN OLD.stopped_at IS NOT NULL BEGIN {remove}; END"
        )
        op.execute(
            f"CREATE TRIGGER sla_report_segment_upd AFTER UPDATE OF {', '.join(CLOCK_FIELDS)} ON sla_clock "
            f"WHEN OLD.stopped_at IS NOT NULL OR NEW.stopped_at IS NOT NULL BEGIN {remove}; {add}; END"
        )
        return
    # Nested IFs: OLD/NEW are unassigned for INSERT/DELETE, and AND does not short-circuit.
    op.execute(f"""CREATE FUNCTION sla_report_segment_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.stopped_at IS NOT NULL THEN {remove}; END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    IF NEW.stopped_at IS NOT NULL THEN {add}; END IF;
  END IF;
  RETURN NULL;
END $$""")
    op.execute(
        f"CREATE TRIGGER sla_report_segment AFTER INSERT OR DELETE OR UPDATE OF {', '.join(CLOCK_FIELDS)} "
        "ON sla_clock FOR EACH ROW EXECUTE FUNCTION sla_report_segment_change()"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "sla_report_minute_segment",
        sa.Column("segment", sa.Date(), nullable=False),
        sa.Column("minute", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("segment", "minute", name=op.f("pk_sla_report_minute_segment")),
    )
    with op.batch_alter_table("sla_report_minute", schema=None) as batch_op:
        for name, column in DIMENSIONS:
            batch_op.create_index(
                f"ix_sla_report_minute_{name}", [column, "minute", "day", "n"], unique=False
            )
    with op.batch_alter_table("sla_report_day", schema=None) as batch_op:
        for name, column in DIMENSIONS:
            batch_op.create_index(
                f"ix_sla_report_day_{name}",
                [column, "target", "day", "decided", "met"],
                unique=False,
            )
        batch_op.create_index(
            "ix_sla_report_day_days", ["day", "target", "decided", "met"], unique=False
        )
    op.execute(
        f"INSERT INTO sla_report_minute_segment (segment, minute, n) "
        f"SELECT {_segment(dialect, 'c.opened_at')}, c.elapsed_us / 60000000, count(*) FROM sla_clock c "
        f"WHERE {_answered('c')} GROUP BY 1, 2"
    )
    _create_triggers(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS sla_report_segment ON sla_clock")
        op.execute("DROP FUNCTION IF EXISTS sla_report_segment_change()")
    with op.batch_alter_table("sla_report_day", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_report_day_days")
        for name, _ in DIMENSIONS:
            batch_op.drop_index(f"ix_sla_report_day_{name}")
    with op.batch_alter_table("sla_report_minute", schema=None) as batch_op:
        for name, _ in DIMENSIONS:
            batch_op.drop_index(f"ix_sla_report_minute_{name}")
    op.drop_table("sla_report_minute_segment")
