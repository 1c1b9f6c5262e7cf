"""the review queue's rule and bank indexes hold only the alerts that have one: a keyword alert
has no bank and a hash alert no rule, so each alert was written into an index entry nobody can
find (the queue filters them with `rule = …` / `bank = …`, which implies IS NOT NULL on both
databases). Every alert write now touches six indexes instead of seven.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

QUEUE_ORDER = [sa.text("priority DESC"), sa.text("last_seen DESC"), sa.text("id DESC")]
INDEXES = {"ix_alert_rule_queue": "rule", "ix_alert_bank_queue": "bank"}


def upgrade() -> None:
    for name, column in INDEXES.items():
        op.drop_index(name, table_name="alert")
        present = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "alert", [column, *QUEUE_ORDER],
                        postgresql_where=present, sqlite_where=present)  # fmt: skip


def downgrade() -> None:
    for name, column in INDEXES.items():
        op.drop_index(name, table_name="alert")
        op.create_index(name, "alert", [column, *QUEUE_ORDER])
