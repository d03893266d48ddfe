"""provenance: signed events in Merkle batches anchored on ProvenanceAnchor

Each EPCIS event carries its organization's EIP-712 attestation (signer, signature, and
the chain and ProvenanceAnchor deployment it was signed for) and, once its batch closes,
the batch it is anchored in. A batch row keeps the Merkle root, its size, the chain intent
that anchors it and, once confirmed, the transaction and block.

Revision ID: 0018_provenance_batches
Revises: 0017_epcis_events
Create Date: 2026-12-03 16:00:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0023_provenance_batches"
down_revision = "0022_documents_and_audit_anchors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provenance_batches",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("anchoring", "anchored", "failed", name="provenance_batch_state", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("anchor", sa.String(length=42), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("intent_uid", sa.Uuid(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("anchored_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("failed_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_provenance_batches_size_positive")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_provenance_batches_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provenance_batches")),
    )
    with op.batch_alter_table("provenance_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provenance_batches_intent_uid"), ["intent_uid"], unique=False)
        batch_op.create_index(batch_op.f("ix_provenance_batches_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_provenance_batches_state"), ["state"], unique=False)
    with op.batch_alter_table("epcis_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signer", sa.String(length=42), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(length=65), nullable=True))
        batch_op.add_column(sa.Column("signed_chain_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("signed_anchor", sa.String(length=42), nullable=True))
        batch_op.add_column(sa.Column("batch_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_epcis_events_batch_id"), ["batch_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_epcis_events_batch_id_provenance_batches"), "provenance_batches", ["batch_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("epcis_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_epcis_events_batch_id_provenance_batches"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_epcis_events_batch_id"))
        for column in ("batch_id", "signed_anchor", "signed_chain_id", "signature", "signer"):
            batch_op.drop_column(column)
    with op.batch_alter_table("provenance_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provenance_batches_state"))
        batch_op.drop_index(batch_op.f("ix_provenance_batches_organization_id"))
        batch_op.drop_index(batch_op.f("ix_provenance_batches_intent_uid"))
    op.drop_table("provenance_batches")
