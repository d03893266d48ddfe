"""organization signing keys

Each admitted organization gets a custodial secp256k1 key so that what it attests on the
ledger is signed by itself. Only AES-GCM ciphertext is stored, bound to the organization
id; the master key lives outside the database.

Revision ID: 0002_org_keys
Revises: 0001_foundation
Create Date: 2026-11-23 09:17:21.416510
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0002_org_keys"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organization_keys",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("rotated_at", concord.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_organization_keys_organization_id_organizations")),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_organization_keys")),
        sa.UniqueConstraint("address", name=op.f("uq_organization_keys_address")),
    )
    with op.batch_alter_table("organization_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organization_keys_master_key_id"), ["master_key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("organization_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_keys_master_key_id"))

    op.drop_table("organization_keys")
