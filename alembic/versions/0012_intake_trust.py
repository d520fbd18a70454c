"""intake trust: one-click confirmations for requests held because their sender was not verified

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:55:00

A request from the web form or an unauthenticated mail that names a representative's or a
staff member's address is held; the address gets a link whose digest is kept here.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "intake_confirmation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_intake_confirmation_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_intake_confirmation_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_confirmation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_intake_confirmation_token_hash")),
    )
    with op.batch_alter_table("intake_confirmation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_confirmation_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("intake_confirmation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_confirmation_ticket_id"))
    op.drop_table("intake_confirmation")
