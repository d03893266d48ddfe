"""ledger: settlement-token balances projected from indexed Transfer events

Revision ID: 0006_token_balances
Revises: 0005_orders
Create Date: 2026-11-23 16:28:27.500440
"""

import concord.db  # noqa: F401  (column types such as UTCDateTime)
import sqlalchemy as sa
from alembic import op

revision = "0006_token_balances"
down_revision = "0005_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "token_balances",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("units", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "token", "address", name=op.f("pk_token_balances")),
    )


def downgrade() -> None:
    op.drop_table("token_balances")
