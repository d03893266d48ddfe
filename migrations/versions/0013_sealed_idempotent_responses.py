"""idempotency: stored responses sealed under the master key

Replayed responses can hold secrets shown once (bearer tokens, webhook signing secrets,
invitation tokens); they were kept in plain text for a day. From here on they are sealed
(AES-GCM, bound to their record). Stored responses are a cache of at most a day: the plain
ones are dropped rather than converted, and a retry of those requests runs them again.

Revision ID: 0013_sealed_idempotency
Revises: 0012_legal_name_review
Create Date: 2026-12-03 07:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_sealed_idempotency"
down_revision = "0012_legal_name_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_records")
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_nonce", sa.LargeBinary(length=12), nullable=True))
        batch_op.add_column(sa.Column("body_key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_records")
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_column("body_key_id")
        batch_op.drop_column("body_nonce")
