"""users and audit: passwords and an enabled flag on user_account; audit_log rebuilt as a chain
ordered by `seq` with who, how and what; signed audit checkpoints; both refuse UPDATE, DELETE
and TRUNCATE. alert_event now refuses DELETE too and no longer cascades away with its alert.

user_account and audit_log were created by 0001 but never written, so they are rebuilt rather
than altered.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TIME = sa.DateTime(timezone=True)
# Must equal storage.audit_store.CHAIN_LOCK and GENESIS (a migration is frozen: no imports).
_CHAIN_LOCK = 0x6377_6175_6469_7400
_GENESIS = "0" * 64
_APPEND_ONLY = ("audit_log", "audit_checkpoint")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_table("user_account")
    op.create_table(
        "user_account",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("name", name=op.f("uq_user_account_name")),
    )
    op.drop_table("audit_log")
    op.create_table(
        "audit_log",
        sa.Column("seq", _ID, autoincrement=False, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("os_user", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("details", _JSON, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_log_prev_hash")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", _ID, nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )
    _alert_event_without_cascade(ondelete=None)
    if postgres:
        _postgres_guards()
    else:
        _sqlite_guards()


def _alert_event_without_cascade(ondelete: str | None) -> None:
    with op.batch_alter_table("alert_event", schema=None) as batch_op:
        batch_op.drop_constraint("fk_alert_event_alert_id_alert", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_alert_event_alert_id_alert", "alert", ["alert_id"], ["id"], ondelete=ondelete
        )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's batch mode copies the table, and the copy has none of the old one's triggers.
        op.execute(
            "CREATE TRIGGER alert_event_no_update BEFORE UPDATE ON alert_event "
            "BEGIN SELECT RAISE(ABORT, 'alert_event is append-only'); END"
        )


def _postgres_guards() -> None:
    # alert_event_append_only() is 0004's; it already says what the table is.
    op.execute(
        "CREATE TRIGGER alert_event_no_delete BEFORE DELETE ON alert_event "
        "FOR EACH ROW EXECUTE FUNCTION alert_event_append_only()"
    )
    op.execute(
        "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )
    for table in _APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )
    # The writer takes this lock and reads the head before it computes the row's hash; the
    # trigger takes it again (a no-op for that writer) so that no insert, however written, can
    # put a row anywhere but right after the committed head.
    op.execute(
        "CREATE FUNCTION audit_log_extends_head() RETURNS trigger LANGUAGE plpgsql AS $$ "  # noqa: S608  (constants)
        "DECLARE head_seq bigint; head_hash text; "
        f"BEGIN PERFORM pg_advisory_xact_lock({_CHAIN_LOCK}); "
        "SELECT seq, hash INTO head_seq, head_hash FROM audit_log ORDER BY seq DESC LIMIT 1; "
        "IF NEW.seq IS DISTINCT FROM coalesce(head_seq, 0) + 1 "
        f"OR NEW.prev_hash IS DISTINCT FROM coalesce(head_hash, '{_GENESIS}') THEN "
        "RAISE EXCEPTION 'audit_log row % does not extend the head (row %)', "
        "NEW.seq, coalesce(head_seq, 0); END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_extends_head()"
    )


def _sqlite_guards() -> None:
    # SQLite has no TRUNCATE: its "truncate optimization" is a DELETE, which these refuse.
    op.execute(
        "CREATE TRIGGER alert_event_no_delete BEFORE DELETE ON alert_event "
        "BEGIN SELECT RAISE(ABORT, 'alert_event is append-only'); END"
    )
    for table in _APPEND_ONLY:
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    # SQLite writers hold the one write lock, so the head read here is the committed one.
    op.execute(
        "CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log "  # noqa: S608  (constants)
        "WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM audit_log), 0) + 1 "
        "OR NEW.prev_hash IS NOT coalesce("
        f"(SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '{_GENESIS}') "
        "BEGIN SELECT RAISE(ABORT, 'audit_log row does not extend the head'); END"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS alert_event_no_delete ON alert_event")
    else:
        op.execute("DROP TRIGGER IF EXISTS alert_event_no_delete")
        # Recreated by _alert_event_without_cascade after batch mode copies the table.
        op.execute("DROP TRIGGER IF EXISTS alert_event_no_update")
    _alert_event_without_cascade(ondelete="CASCADE")
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_log")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_log_extends_head()")
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.drop_table("user_account")
    op.create_table(
        "user_account",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("name", name=op.f("uq_user_account_name")),
    )
