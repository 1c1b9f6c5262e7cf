"""usernames by lower case: expression indexes on lower(username) of source and source_snapshot,
which the re-created room check (`match_queries.usernames_held_before`, on every ingest batch
that brings a new source), the review queue's source filter and the item search compare.
Without them each of those read both tables whole: 20,000 sources and 200,000 snapshots took
21 ms a call on SQLite and 35 ms on PostgreSQL, and 0.4 / 0.8 ms with them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_source_username_lower": "source",
    "ix_source_snapshot_username_lower": "source_snapshot",
}


def upgrade() -> None:
    for name, table in INDEXES.items():
        op.create_index(name, table, [sa.text("lower(username)")])


def downgrade() -> None:
    for name, table in INDEXES.items():
        op.drop_index(name, table_name=table)
