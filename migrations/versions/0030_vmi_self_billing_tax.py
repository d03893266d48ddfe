"""vmi: the tax rate an agreement's self-billing invoices charge

Consumed consignment goods were self-billed without tax; the agreement now says at which
rate (percent, 0 for the versions agreed before).

Revision ID: 0030_vmi_self_billing_tax
Revises: 0029_vmi_stock_extra
Create Date: 2026-12-04 19:00:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0030_vmi_self_billing_tax"
down_revision = "0029_vmi_stock_extra"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vmi_agreement_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("self_billing_tax_rate", concord.db.ExactDecimal(precision=9, scale=4), server_default="0", nullable=False))
        batch_op.create_check_constraint(op.f("ck_vmi_agreement_versions_self_billing_tax_rate_not_negative"), "self_billing_tax_rate >= 0")


def downgrade() -> None:
    with op.batch_alter_table("vmi_agreement_versions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_vmi_agreement_versions_self_billing_tax_rate_not_negative"), type_="check")
        batch_op.drop_column("self_billing_tax_rate")
