"""ledger: a record of each `concord ledger verify` run, where the next incremental run starts

Verify compared every transaction and every order with the chain on each run, and could not
run beside the platform. It now reads at one pinned block and records what it checked, so the
next run checks only what changed since (`--full` still checks everything).

Revision ID: 0015_ledger_verifications
Revises: 0014_dispute_evidence
Create Date: 2026-12-03 14:20:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0015_ledger_verifications"
down_revision = "0014_dispute_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_verifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("started_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("through_block", sa.BigInteger(), nullable=False),
        sa.Column("indexed_through", sa.BigInteger(), nullable=True),
        sa.Column("checked", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("deferred", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_verifications")),
    )
    with op.batch_alter_table("ledger_verifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_verifications_chain_id"), ["chain_id"], unique=False)
    # What an incremental run looks for: what changed since the last one.
    with op.batch_alter_table("chain_intents", schema=None) as batch_op:
        batch_op.create_index("ix_chain_intents_updated_at", ["updated_at"], unique=False)
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.create_index("ix_purchase_orders_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_orders_updated_at")
    with op.batch_alter_table("chain_intents", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_intents_updated_at")
    with op.batch_alter_table("ledger_verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_verifications_chain_id"))
    op.drop_table("ledger_verifications")
