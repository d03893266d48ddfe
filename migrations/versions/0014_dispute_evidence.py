"""disputes: evidence (comments and files) on a dispute's case, files stored content-addressed

The arbiter decided blind: only the disputer's reason was on the page. The parties now add
comments and files while a dispute is open; a file is stored once per content, keyed by its
SHA-256.

Revision ID: 0014_dispute_evidence
Revises: 0013_sealed_idempotency
Create Date: 2026-12-03 10:40:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0014_dispute_evidence"
down_revision = "0013_sealed_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_stored_files")),
    )
    op.create_table(
        "dispute_evidence",
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.String(length=4000), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("comment IS NOT NULL OR file_sha256 IS NOT NULL", name=op.f("ck_dispute_evidence_comment_or_file")),
        sa.CheckConstraint("(file_sha256 IS NULL) = (file_name IS NULL)", name=op.f("ck_dispute_evidence_file_has_name")),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], name=op.f("fk_dispute_evidence_added_by_users")),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_evidence_dispute_id_disputes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["file_sha256"], ["stored_files.sha256"], name=op.f("fk_dispute_evidence_file_sha256_stored_files")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_dispute_evidence_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_evidence")),
    )
    with op.batch_alter_table("dispute_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_dispute_evidence_dispute_created", ["dispute_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispute_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_dispute_evidence_dispute_created")
    op.drop_table("dispute_evidence")
    op.drop_table("stored_files")
