"""lease: one table of leases by (kind, key) for Telegram auth keys and target claims.

`telegram_lease` becomes the `telegram_key` kind of the generic `lease`; held leases move over,
so a collector running across the upgrade keeps its key.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lease",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_lease")),
    )
    op.execute(
        'INSERT INTO lease (kind, "key", owner, until) '
        "SELECT 'telegram_key', auth_key_id, owner, until FROM telegram_lease"
    )
    op.drop_table("telegram_lease")


def downgrade() -> None:
    op.create_table(
        "telegram_lease",
        sa.Column("auth_key_id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("auth_key_id", name=op.f("pk_telegram_lease")),
    )
    op.execute(
        "INSERT INTO telegram_lease (auth_key_id, owner, until) "
        'SELECT "key", owner, until FROM lease WHERE kind = \'telegram_key\''
    )
    op.drop_table("lease")
