"""ledger: transaction outbox, nonces, contract deployments, indexed events

Chain intents are written with the business change they belong to; the outbox worker owns
each sender's nonces; deployments record where the contracts live per chain id; the
indexer keeps the events it read back and the consortium membership they describe.

Revision ID: 0003_ledger_outbox
Revises: 0002_org_keys
Create Date: 2026-11-23 15:22:50.036555
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0003_ledger_outbox"
down_revision = "0002_org_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_events",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("contract", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "tx_hash", "log_index", name=op.f("pk_chain_events")),
    )
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_events_block_number"), ["block_number"], unique=False)

    op.create_table(
        "chain_members",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("organization_ref", sa.String(length=66), nullable=False),
        sa.Column("roles", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "address", name=op.f("pk_chain_members")),
    )
    op.create_table(
        "contract_deployments",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("artifact", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("source_hash", sa.String(length=80), nullable=False),
        sa.Column("code_hash", sa.String(length=66), nullable=False),
        sa.Column("deployed_at", concord.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "name", name=op.f("pk_contract_deployments")),
    )
    op.create_table(
        "indexer_cursors",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_indexer_cursors")),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "address", name=op.f("pk_ledger_accounts")),
    )
    op.create_table(
        "chain_intents",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("uid", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.Enum("call", "deploy", name="intent_kind", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("contract", sa.String(length=64), nullable=False),
        sa.Column("function", sa.String(length=64), nullable=True),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("gas_limit", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column(
            "state",
            sa.Enum("queued", "signed", "confirmed", "failed", name="intent_state", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("raw_tx", sa.LargeBinary(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("receipt_status", sa.SmallInteger(), nullable=True),
        sa.Column("contract_address", sa.String(length=42), nullable=True),
        sa.Column("revert_reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", concord.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_chain_intents_organization_id_organizations")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_chain_intents")),
        sa.UniqueConstraint("uid", name=op.f("uq_chain_intents_uid")),
    )
    with op.batch_alter_table("chain_intents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_intents_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_intents_sender"), ["sender"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_intents_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_intents_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_intents_tx_hash"), ["tx_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chain_intents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_intents_tx_hash"))
        batch_op.drop_index(batch_op.f("ix_chain_intents_subject_id"))
        batch_op.drop_index(batch_op.f("ix_chain_intents_state"))
        batch_op.drop_index(batch_op.f("ix_chain_intents_sender"))
        batch_op.drop_index(batch_op.f("ix_chain_intents_organization_id"))

    op.drop_table("chain_intents")
    op.drop_table("ledger_accounts")
    op.drop_table("indexer_cursors")
    op.drop_table("contract_deployments")
    op.drop_table("chain_members")
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_events_block_number"))

    op.drop_table("chain_events")
