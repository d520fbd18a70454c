"""sla: business calendars, SLA policies and per-ticket clocks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 08:30:00

Seeds two calendars and a default policy taken from the reference teams, so a fresh desk
counts SLAs from its first ticket: acknowledge within one working day (a continuous 24 h,
Mon-Fri); first response within 3 business hours on GitHub and Slack, 1 business day by
e-mail; resolution targets by criticality. Admins edit them at /sla.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WEEKDAY_HOURS = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
# (target, channel, criticality, minutes, calendar id): 1 = office hours, 2 = 24x5 working days.
DEFAULT_RULES = [
    ("ack", None, None, 24 * 60, 2),
    ("ack", None, 1, 30, 2),
    ("first_response", None, None, 24 * 60, 2),
    ("first_response", "github", None, 3 * 60, 1),
    ("first_response", "slack", None, 3 * 60, 1),
    ("first_response", "email", None, 8 * 60, 1),
    ("first_response", None, 1, 60, 2),
    ("resolution", None, None, 10 * 24 * 60, 2),
    ("resolution", None, 1, 8 * 60, 2),
    ("resolution", None, 2, 3 * 24 * 60, 2),
    ("resolution", None, 4, 20 * 24 * 60, 2),
]


def _seed_defaults() -> None:
    now = datetime.now(UTC)
    calendar = sa.table(
        "sla_calendar",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("kind", sa.String),
        sa.column("zone", sa.String),
        sa.column("hours", sa.JSON),
        sa.column("custom_holidays", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    policy = sa.table(
        "sla_policy",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    rule = sa.table(
        "sla_rule",
        sa.column("policy_id", sa.Integer),
        sa.column("target", sa.String),
        sa.column("channel", sa.String),
        sa.column("criticality", sa.Integer),
        sa.column("minutes", sa.Integer),
        sa.column("calendar_id", sa.Integer),
    )
    op.bulk_insert(
        calendar,
        [
            {
                "id": 1,
                "name": "Office hours (UTC)",
                "kind": "hours",
                "zone": "UTC",
                "hours": WEEKDAY_HOURS,
                "custom_holidays": [],
                "created_at": now,
                "updated_at": now,
            },
            {
                "id": 2,
                "name": "Working days (24 h, Mon-Fri)",
                "kind": "24x5",
                "zone": "UTC",
                "hours": {},
                "custom_holidays": [],
                "created_at": now,
                "updated_at": now,
            },
        ],
    )
    op.bulk_insert(policy, [{"id": 1, "name": "Default", "created_at": now, "updated_at": now}])
    op.bulk_insert(
        rule,
        [
            {
                "policy_id": 1,
                "target": t,
                "channel": ch,
                "criticality": crit,
                "minutes": m,
                "calendar_id": cal,
            }
            for t, ch, crit, m, cal in DEFAULT_RULES
        ],
    )
    if (
        op.get_bind().dialect.name == "postgresql"
    ):  # explicit ids above: move the sequences past them
        op.execute("SELECT setval('sla_calendar_id_seq', 2)")
        op.execute("SELECT setval('sla_policy_id_seq', 1)")


def upgrade() -> None:
    op.create_table(
        "sla_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holiday_country", sa.String(length=8), nullable=True),
        sa.Column("holiday_subdiv", sa.String(length=16), nullable=True),
        sa.Column("custom_holidays", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendar")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_calendar_name")),
    )
    op.create_table(
        "sla_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_sla_policy_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policy")),
        sa.UniqueConstraint("community_id", name=op.f("uq_sla_policy_community_id")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_policy_name")),
    )
    op.create_table(
        "sla_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("criticality", sa.Integer(), nullable=True),
        sa.Column("urgency", sa.String(length=16), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendar.id"],
            name=op.f("fk_sla_rule_calendar_id_sla_calendar"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policy.id"],
            name=op.f("fk_sla_rule_policy_id_sla_policy"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_rule")),
    )
    with op.batch_alter_table("sla_rule", schema=None) as batch_op:
        batch_op.create_index("ix_sla_rule_policy_target", ["policy_id", "target"], unique=False)

    op.create_table(
        "sla_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consumed_us", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at_risk_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("elapsed_us", sa.BigInteger(), nullable=True),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("criticality", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendar.id"],
            name=op.f("fk_sla_clock_calendar_id_sla_calendar"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["sla_rule.id"],
            name=op.f("fk_sla_clock_rule_id_sla_rule"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_sla_clock_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clock")),
        sa.UniqueConstraint("ticket_id", "target", name=op.f("uq_sla_clock_ticket_id_target")),
    )
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_clock_breached_at"), ["breached_at"], unique=False)
        batch_op.create_index("ix_sla_clock_running_due", ["stopped_at", "due_at"], unique=False)
        batch_op.create_index(
            "ix_sla_clock_running_risk", ["stopped_at", "at_risk_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sla_clock_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index("ix_sla_clock_unsettled_due", ["settled", "due_at"], unique=False)
        batch_op.create_index("ix_sla_clock_report", ["target", "opened_at"], unique=False)

    _seed_defaults()


def downgrade() -> None:
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_clock_report")
        batch_op.drop_index("ix_sla_clock_unsettled_due")
        batch_op.drop_index(batch_op.f("ix_sla_clock_ticket_id"))
        batch_op.drop_index("ix_sla_clock_running_risk")
        batch_op.drop_index("ix_sla_clock_running_due")
        batch_op.drop_index(batch_op.f("ix_sla_clock_breached_at"))

    op.drop_table("sla_clock")
    with op.batch_alter_table("sla_rule", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_rule_policy_target")

    op.drop_table("sla_rule")
    op.drop_table("sla_policy")
    op.drop_table("sla_calendar")
