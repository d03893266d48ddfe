"""tenancy: a buyer–financier partnership, for buyer-led financing programmes

Reverse factoring joins a buyer and the financier who pays its approved payables early;
neither supplier–financier (the supplier's lender) nor any other relation says that.

Revision ID: 0027_financing_extra
Revises: 0024_finance
Create Date: 2026-12-03 18:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_financing_extra"
down_revision = "0024_finance"
branch_labels = None
depends_on = None

_BEFORE = ("buyer_supplier", "shipper_carrier", "supplier_financier", "party_auditor")
_AFTER = (*_BEFORE, "buyer_financier")
_CHECK = "ck_partnerships_partnership_relation"


def _allow(relations: tuple[str, ...]) -> None:
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(_CHECK), sa.column("relation").in_(relations))


def upgrade() -> None:
    _allow(_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM partnerships WHERE relation = 'buyer_financier'")
    _allow(_BEFORE)
