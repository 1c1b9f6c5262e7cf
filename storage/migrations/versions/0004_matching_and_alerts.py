"""matching and alerts: bank entry revisions, matcher versions, discovery references, the
notification outbox, and an append-only guard on alert_event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_APPEND_ONLY_MESSAGE = "alert_event is append-only"


def upgrade() -> None:
    with op.batch_alter_table("bank_entry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_index(batch_op.f("ix_bank_entry_revision"), ["revision"], unique=False)
    op.create_table(
        "matching_version",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_matching_version")),
    )
    op.create_table(
        "discovery_ref",
        sa.Column("channel", sa.String(length=300), nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_discovery_ref_item_id_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "item_id", name=op.f("pk_discovery_ref")),
        sqlite_with_rowid=False,
    )  # fmt: skip
    op.create_table(
        "notify_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_notify_outbox_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
        sa.UniqueConstraint(
            "alert_id", "destination", name=op.f("uq_notify_outbox_alert_id_destination")
        ),
    )  # fmt: skip
    op.create_index(
        "ix_notify_outbox_pending", "notify_outbox", ["delivered_at", "next_attempt_at"]
    )
    _append_only_guard()


def _append_only_guard() -> None:
    # The review history is evidence: the database itself refuses to rewrite it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION alert_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER alert_event_no_update BEFORE UPDATE ON alert_event "
            "FOR EACH ROW EXECUTE FUNCTION alert_event_append_only()"
        )
        return
    op.execute(
        "CREATE TRIGGER alert_event_no_update BEFORE UPDATE ON alert_event "
        f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS alert_event_no_update" + (
        " ON alert_event" if op.get_bind().dialect.name == "postgresql" else ""
    ))  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS alert_event_append_only()")
    op.drop_index("ix_notify_outbox_pending", table_name="notify_outbox")
    op.drop_table("notify_outbox")
    op.drop_table("discovery_ref")
    op.drop_table("matching_version")
    with op.batch_alter_table("bank_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_entry_revision"))
        batch_op.drop_column("revision")
