"""search index without invisible characters: re-queue the indexed items that hold any.

The search index now holds each text without its invisible characters (storage.invisible), so
겹지인 finds 겹<U+200B>지인방. Rows indexed before held the text as collected; only those whose
text contains an invisible character differ, and re-queueing them is enough: queued items are
scanned by every query at once (search is right as soon as this runs) and re-indexed in the new
form by the next `chanwatch db index`. Items above the index's highest rowid are not indexed
yet and will be indexed in the new form anyway.

Downgrading re-queues the same items, so the old indexer writes them back as collected.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from storage.invisible import INVISIBLE_CLASS

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# One statement per backend; both read INVISIBLE_CLASS as the same bracket expression.
_REQUEUE = (
    "INSERT INTO search_queue (item_id) SELECT id FROM item "
    "WHERE id <= (SELECT coalesce(max(rowid), 0) FROM item_fts) "
    "AND id NOT IN (SELECT item_id FROM search_queue) AND "
)
_HAS_INVISIBLE = {
    "sqlite": "text GLOB '*' || :invisible || '*'",
    "postgresql": "text ~ :invisible",
}


def _requeue_items_with_invisible_characters() -> None:
    bind = op.get_bind()
    statement = sa.text(_REQUEUE + _HAS_INVISIBLE[bind.dialect.name])
    bind.execute(statement, {"invisible": INVISIBLE_CLASS})


def upgrade() -> None:
    _requeue_items_with_invisible_characters()


def downgrade() -> None:
    _requeue_items_with_invisible_characters()
