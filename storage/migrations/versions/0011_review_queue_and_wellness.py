"""review queue and reviewer wellness: alert.rule and alert.bank as indexed columns (filled from
the evidence), indexes in the queue's order (priority, last seen, id; alone and after status,
rule, bank or source) so a page of 100,000 alerts is an index walk, user_account.show_critical
(whether critical text is shown without asking), and an audit index for a reviewer's own counts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

QUEUE_ORDER = [sa.text("priority DESC"), sa.text("last_seen DESC"), sa.text("id DESC")]
QUEUE_INDEXES = {
    "ix_alert_queue": [],
    "ix_alert_status_queue": ["status"],
    "ix_alert_rule_queue": ["rule"],
    "ix_alert_bank_queue": ["bank"],
    # A room's alerts: without it the queue walked every alert to find a source's few.
    "ix_alert_source_queue": ["source_id"],
}


BACKFILL = {
    "postgresql": (
        "UPDATE alert SET rule = left(evidence ->> 'rule', 100)"
        " WHERE jsonb_typeof(evidence -> 'rule') = 'string'",
        "UPDATE alert SET bank = left(evidence ->> 'bank', 100)"
        " WHERE jsonb_typeof(evidence -> 'bank') = 'string'",
    ),
    "sqlite": (
        "UPDATE alert SET rule = substr(json_extract(evidence, '$.rule'), 1, 100)"
        " WHERE json_type(evidence, '$.rule') = 'text'",
        "UPDATE alert SET bank = substr(json_extract(evidence, '$.bank'), 1, 100)"
        " WHERE json_type(evidence, '$.bank') = 'text'",
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("bank", sa.String(length=100), nullable=True))
        batch_op.drop_index("ix_alert_status_priority")
    for statement in BACKFILL[op.get_bind().dialect.name]:
        op.execute(statement)
    for name, leading in QUEUE_INDEXES.items():
        op.create_index(name, "alert", [*leading, *QUEUE_ORDER])
    op.create_index("ix_audit_log_actor_action_at", "audit_log", ["actor", "action", "at"])
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("show_critical", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("show_critical")
    op.drop_index("ix_audit_log_actor_action_at", table_name="audit_log")
    for name in QUEUE_INDEXES:
        op.drop_index(name, table_name="alert")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_status_priority", ["status", "priority"], unique=False)
        batch_op.drop_column("bank")
        batch_op.drop_column("rule")
