"""identities: one person, many channels; communities mapped by e-mail domain, Slack channel, GitHub repo

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:45:00.000000

Existing GitHub logins and Slack ids of users become identity rows, so the lookups every
intake path makes find the same people as before. A user's sign-up address stays on
user_account.email; identity rows of kind email are further addresses.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_identity_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_identity_kind_value")),
    )
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_domains", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("slack_channels", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("github_repos", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.alter_column("email_domains", server_default=None)
        batch_op.alter_column("slack_channels", server_default=None)
        batch_op.alter_column("github_repos", server_default=None)
    # Backfill: what users already had becomes their identities (the e-mail they signed up with is verified).
    # One identity per value: if two users share a handle, the older one keeps it.
    for kind, value, inner, column in (
        ("github", "lower(u.github_login)", "lower(u2.github_login)", "github_login"),
        ("slack", "u.slack_user_id", "u2.slack_user_id", "slack_user_id"),
    ):
        op.execute(
            f"INSERT INTO identity (user_id, kind, value, verified, verified_at, created_at) "
            f"SELECT u.id, '{kind}', {value}, TRUE, u.created_at, u.created_at FROM user_account u "
            f"WHERE u.{column} IS NOT NULL AND u.{column} <> '' "
            f"AND u.id = (SELECT min(u2.id) FROM user_account u2 WHERE {inner} = {value})"
        )


def downgrade() -> None:
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_column("github_repos")
        batch_op.drop_column("slack_channels")
        batch_op.drop_column("email_domains")
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_user_id"))
    op.drop_table("identity")
