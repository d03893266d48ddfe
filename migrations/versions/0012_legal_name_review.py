"""tenancy: a new legal name waits for the operator's review

An admin could rename its organization to another member's name, and the directory then
listed two of them. A requested name is kept beside the current one until the operator
approves it; names are unique among organizations after normalisation (checked in the
service).

Revision ID: 0012_legal_name_review
Revises: 0011_login_throttles
Create Date: 2026-12-03 07:40:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0012_legal_name_review"
down_revision = "0011_login_throttles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_legal_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("pending_legal_name_requested_at", concord.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("pending_legal_name_requested_at")
        batch_op.drop_column("pending_legal_name")
