"""finance: overdue notices once; the invoice line a credit note's line credits

The round job that tells buyer and supplier an approved open-account invoice passed its due
date unpaid tells them once: the invoice keeps when it did. A credit note's line names the
invoice line it credits, so that no line is credited beyond its quantity (lines that name no
order line included). The tax rate's CHECK compares with zero only: SQLite keeps a rate as
whole ten-thousandths, where "tax_rate <= 100" meant 0.01 % (the API bounds it to 100 %).

Revision ID: 0026_invoices_extra
Revises: 0024_finance
Create Date: 2026-12-03 18:50:00.000000
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0026_invoices_extra"
down_revision = "0024_finance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.add_column(sa.Column("overdue_notified_at", concord.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("invoice_lines") as batch_op:
        batch_op.add_column(sa.Column("credited_line_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoice_lines_credited_line_id"), ["credited_line_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_invoice_lines_credited_line_id_invoice_lines"), "invoice_lines", ["credited_line_id"], ["id"])
        batch_op.drop_constraint(batch_op.f("ck_invoice_lines_tax_rate_in_range"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_invoice_lines_tax_rate_not_negative"), "tax_rate >= 0")


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_invoice_lines_tax_rate_not_negative"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_invoice_lines_tax_rate_in_range"), "tax_rate >= 0 AND tax_rate <= 100")
        batch_op.drop_constraint(batch_op.f("fk_invoice_lines_credited_line_id_invoice_lines"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_invoice_lines_credited_line_id"))
        batch_op.drop_column("credited_line_id")
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.drop_column("overdue_notified_at")
