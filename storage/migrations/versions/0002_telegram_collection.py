"""telegram collection: leases keyed by auth key, history cursors.

The lease moves from two columns of telegram_account to its own table keyed by the auth key
id, so that taking it is one atomic upsert even when two account names share a key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_lease",
        sa.Column("auth_key_id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("auth_key_id", name=op.f("pk_telegram_lease")),
    )
    op.create_table(
        "telegram_cursor",
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("newest_id", sa.BigInteger(), nullable=False),
        sa.Column("oldest_id", sa.BigInteger(), nullable=True),
        sa.Column("history_complete", sa.Boolean(), nullable=False),
        sa.Column("caught_up", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"],
            name=op.f("fk_telegram_cursor_source_id_source"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_telegram_cursor")),
    )  # fmt: skip
    with op.batch_alter_table("telegram_account", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("lease_until")


def downgrade() -> None:
    with op.batch_alter_table("telegram_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=128), nullable=True))
    op.drop_table("telegram_cursor")
    op.drop_table("telegram_lease")
