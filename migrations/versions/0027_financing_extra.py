"""tenancy and finance: a buyer–financier partnership for programmes; rates checked against zero

Reverse factoring joins a buyer and the financier who pays its approved payables early;
neither supplier–financier (the supplier's lender) nor any other relation says that.

The offers' and programmes' rate checks compared with 100, which on SQLite (a RATE kept as
whole ten-thousandths) refused any rate above 0.01 %: they compare with zero only, and the
API bounds the rates to 100 %.

Revision ID: 0027_financing_extra
Revises: 0026_invoices_extra
Create Date: 2026-12-03 18:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_financing_extra"
down_revision = "0026_invoices_extra"
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
    with op.batch_alter_table("financing_offers") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_financing_offers_advance_rate_in_range"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_financing_offers_discount_rate_in_range"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_financing_offers_advance_rate_positive"), "advance_rate IS NULL OR advance_rate > 0")
        batch_op.create_check_constraint(batch_op.f("ck_financing_offers_discount_rate_not_negative"), "discount_rate IS NULL OR discount_rate >= 0")
    with op.batch_alter_table("financing_programmes") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_financing_programmes_discount_rate_in_range"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_financing_programmes_discount_rate_not_negative"), "discount_rate IS NULL OR discount_rate >= 0")


def downgrade() -> None:
    with op.batch_alter_table("financing_programmes") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_financing_programmes_discount_rate_not_negative"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_financing_programmes_discount_rate_in_range"), "discount_rate IS NULL OR (discount_rate >= 0 AND discount_rate <= 100)"
        )
    with op.batch_alter_table("financing_offers") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_financing_offers_discount_rate_not_negative"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_financing_offers_advance_rate_positive"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_financing_offers_discount_rate_in_range"), "discount_rate IS NULL OR (discount_rate >= 0 AND discount_rate <= 100)"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_financing_offers_advance_rate_in_range"), "advance_rate IS NULL OR (advance_rate > 0 AND advance_rate <= 100)"
        )
    op.execute("DELETE FROM partnerships WHERE relation = 'buyer_financier'")
    _allow(_BEFORE)
