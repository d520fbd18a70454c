"""reply delivery: what we post back into a requester's GitHub issue, Slack thread or mail thread

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:05:41.682238

Each row ties a ticket message (or status note) to the outbox row that carries it and, once
sent, to the id the channel gave it (GitHub comment id, Slack channel:ts), so the webhook
echo of our own post is dropped instead of stored a second time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "reply_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("outbox_message_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_reply_delivery_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
            name=op.f("fk_reply_delivery_outbox_message_id_outbox_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_reply_delivery_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_delivery")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_reply_delivery_source_external_id")
        ),
    )
    with op.batch_alter_table("reply_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reply_delivery_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reply_delivery_outbox_message_id"), ["outbox_message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reply_delivery_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("reply_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_delivery_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_reply_delivery_outbox_message_id"))
        batch_op.drop_index(batch_op.f("ix_reply_delivery_message_id"))

    op.drop_table("reply_delivery")
