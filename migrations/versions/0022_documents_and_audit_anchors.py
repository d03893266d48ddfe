"""documents: certificates and reports with their SHA-256 anchored; the audit trail's anchored heads

An auditor could not check a certificate against anything: documents are now stored
content-addressed, attached to an organization, a product or a lot, with issuer and
validity, their SHA-256 anchored on chain, and their owners reminded before they expire.
The audit trail's head is anchored on a schedule too, so that a rewrite of the trail
below an anchored head shows against the chain (`concord audit verify`).

Revision ID: 0020_documents_and_audit_anchors
Revises: 0017_epcis_events
Create Date: 2026-12-03 16:00:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0022_documents_and_audit_anchors"
down_revision = "0021_digital_link_and_sharing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("document_number", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("lot", sa.String(length=20), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("expiring_notice_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("expired_notice_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name=op.f("ck_documents_valid_dates_in_order")),
        sa.CheckConstraint("subject_type <> 'product' OR product_id IS NOT NULL", name=op.f("ck_documents_product_named")),
        sa.CheckConstraint("subject_type <> 'lot' OR (gtin IS NOT NULL AND lot IS NOT NULL)", name=op.f("ck_documents_lot_named")),
        sa.ForeignKeyConstraint(["file_sha256"], ["stored_files.sha256"], name=op.f("fk_documents_file_sha256_stored_files")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_documents_organization_id_organizations")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_documents_product_id_products")),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"], name=op.f("fk_documents_uploaded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_organization_id_created_at", ["organization_id", "created_at"], unique=False)
        batch_op.create_index("ix_documents_gtin_lot", ["gtin", "lot"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_valid_until"), ["valid_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_file_sha256"), ["file_sha256"], unique=False)
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchors")),
    )
    with op.batch_alter_table("audit_anchors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_anchors_seq"), ["seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_anchors_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_anchors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_anchors_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_anchors_seq"))
    op.drop_table("audit_anchors")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_file_sha256"))
        batch_op.drop_index(batch_op.f("ix_documents_product_id"))
        batch_op.drop_index(batch_op.f("ix_documents_valid_until"))
        batch_op.drop_index("ix_documents_gtin_lot")
        batch_op.drop_index("ix_documents_organization_id_created_at")
    op.drop_table("documents")
