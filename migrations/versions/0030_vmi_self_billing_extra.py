"""vmi: the tax rate an agreement's self-billing invoices charge; consignment goods left at the end bought or returned

Consumed consignment goods were self-billed without tax; the agreement now says at which
rate (percent, 0 for the versions agreed before). What was left consigned after the end is
settled like consumption: bought (self-billed) or returned (no invoice), by `kind`.

Revision ID: 0030_vmi_self_billing_extra
Revises: 0029_vmi_stock_extra
Create Date: 2026-12-04 19:00:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0030_vmi_self_billing_extra"
down_revision = "0029_vmi_stock_extra"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vmi_agreement_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("self_billing_tax_rate", concord.db.ExactDecimal(precision=9, scale=4), server_default="0", nullable=False))
        batch_op.create_check_constraint(op.f("ck_vmi_agreement_versions_self_billing_tax_rate_not_negative"), "self_billing_tax_rate >= 0")
    with op.batch_alter_table("vmi_consignment_billings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("consumed", "bought", "returned", name="vmi_consignment_settled", native_enum=False, create_constraint=True, length=32),
                server_default="consumed",
                nullable=False,
            )
        )
        batch_op.alter_column("invoice_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_vmi_consignment_billings_invoiced_unless_returned"),
            "(kind = 'returned' AND invoice_id IS NULL) OR (kind <> 'returned' AND invoice_id IS NOT NULL)",
        )


def downgrade() -> None:
    op.execute("DELETE FROM vmi_consignment_billings WHERE kind = 'returned'")
    with op.batch_alter_table("vmi_consignment_billings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_vmi_consignment_billings_invoiced_unless_returned"), type_="check")
        batch_op.alter_column("invoice_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("kind")
    with op.batch_alter_table("vmi_agreement_versions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_vmi_agreement_versions_self_billing_tax_rate_not_negative"), type_="check")
        batch_op.drop_column("self_billing_tax_rate")
