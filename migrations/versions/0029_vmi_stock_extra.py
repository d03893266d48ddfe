"""vmi: a CSV upload keeps its file, so that a job can read it in chunks and resume after a crash

An upload of many rows is read by the worker, a chunk per transaction; its file is stored
content-addressed (stored_files, as disputes' evidence and documents are) and named here.

Revision ID: 0029_vmi_stock_extra
Revises: 0028_vmi_agreements_and_stock
Create Date: 2026-12-04 15:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_vmi_stock_extra"
down_revision = "0028_vmi_agreements_and_stock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vmi_uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_vmi_uploads_file_sha256_stored_files"), "stored_files", ["file_sha256"], ["sha256"])
        batch_op.create_index(batch_op.f("ix_vmi_uploads_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vmi_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vmi_uploads_state"))
        batch_op.drop_constraint(batch_op.f("fk_vmi_uploads_file_sha256_stored_files"), type_="foreignkey")
        batch_op.drop_column("file_sha256")
