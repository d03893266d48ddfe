"""finance: payment terms, invoices and their match, receivables, financing offers

Supply-chain finance needs its own tables: each buyer–supplier partnership's payment terms
and match tolerances; invoices and credit notes with the three-way match of each line;
receivables registered on chain (fingerprint unique here as it is on the ledger); financing
offers and the waterfall of each settlement; financiers' exposure limits; and buyer-led
programmes. Orders keep the settlement (escrow or open account) fixed when issued.

Revision ID: 0024_finance
Revises: 0023_provenance_batches
Create Date: 2026-12-03 18:30:21.517829
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0024_finance"
down_revision = "0023_provenance_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exposure_limits",
        sa.Column("financier_org_id", sa.Uuid(), nullable=False),
        sa.Column("counterparty_org_id", sa.Uuid(), nullable=False),
        sa.Column("side", sa.Enum("buyer", "supplier", name="limit_side", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_exposure_limits_amount_not_negative")),
        sa.ForeignKeyConstraint(["counterparty_org_id"], ["organizations.id"], name=op.f("fk_exposure_limits_counterparty_org_id_organizations")),
        sa.ForeignKeyConstraint(["financier_org_id"], ["organizations.id"], name=op.f("fk_exposure_limits_financier_org_id_organizations")),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_exposure_limits_updated_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure_limits")),
        sa.UniqueConstraint("financier_org_id", "counterparty_org_id", "side", "currency", name="uq_exposure_limits_scope"),
    )
    with op.batch_alter_table("exposure_limits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exposure_limits_financier_org_id"), ["financier_org_id"], unique=False)

    op.create_table(
        "financing_programmes",
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("financier_org_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "state",
            sa.Enum("requested", "open", "declined", "closed", name="programme_state", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("discount_rate", concord.db.ExactDecimal(precision=9, scale=4), nullable=True),
        sa.Column("limit_amount", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("state_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "discount_rate IS NULL OR (discount_rate >= 0 AND discount_rate <= 100)", name=op.f("ck_financing_programmes_discount_rate_in_range")
        ),
        sa.CheckConstraint("limit_amount IS NULL OR limit_amount >= 0", name=op.f("ck_financing_programmes_limit_not_negative")),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_financing_programmes_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_financing_programmes_decided_by_users")),
        sa.ForeignKeyConstraint(["financier_org_id"], ["organizations.id"], name=op.f("fk_financing_programmes_financier_org_id_organizations")),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_financing_programmes_requested_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financing_programmes")),
        sa.UniqueConstraint("buyer_org_id", "financier_org_id", "currency", name="uq_financing_programmes_scope"),
    )
    with op.batch_alter_table("financing_programmes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_financing_programmes_buyer_org_id"), ["buyer_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_financing_programmes_financier_org_id"), ["financier_org_id"], unique=False)

    op.create_table(
        "payment_terms",
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("settlement", sa.Enum("escrow", "open_account", name="settlement", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("net_days", sa.Integer(), nullable=False),
        sa.Column("quantity_tolerance", concord.db.ExactDecimal(precision=9, scale=4), nullable=False),
        sa.Column("price_tolerance", concord.db.ExactDecimal(precision=9, scale=4), nullable=False),
        sa.Column("amount_tolerance", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("net_days >= 0 AND net_days <= 365", name=op.f("ck_payment_terms_net_days_in_range")),
        sa.CheckConstraint("quantity_tolerance >= 0 AND price_tolerance >= 0 AND amount_tolerance >= 0", name=op.f("ck_payment_terms_tolerances_not_negative")),
        sa.ForeignKeyConstraint(["partnership_id"], ["partnerships.id"], name=op.f("fk_payment_terms_partnership_id_partnerships"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_payment_terms_updated_by_users")),
        sa.PrimaryKeyConstraint("partnership_id", name=op.f("pk_payment_terms")),
    )
    op.create_table(
        "invoices",
        sa.Column("kind", sa.Enum("invoice", "credit_note", name="invoice_kind", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("credited_invoice_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("settlement", sa.Enum("escrow", "open_account", name="settlement", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("net_days", sa.Integer(), nullable=False),
        sa.Column("subtotal", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("tax_total", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("total", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("credited_total", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "matched", "exception", "approved", "rejected", "paid", "cancelled", name="invoice_state", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("paid_amount", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("paid_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind <> 'credit_note' OR credited_invoice_id IS NOT NULL", name=op.f("ck_invoices_credit_note_names_invoice")),
        sa.CheckConstraint("credited_total >= 0 AND credited_total <= total", name=op.f("ck_invoices_credited_within_total")),
        sa.CheckConstraint("due_date >= issue_date", name=op.f("ck_invoices_due_after_issue")),
        sa.CheckConstraint("subtotal >= 0 AND tax_total >= 0 AND total >= 0", name=op.f("ck_invoices_amounts_not_negative")),
        sa.CheckConstraint("total = subtotal + tax_total", name=op.f("ck_invoices_total_adds_up")),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_invoices_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_invoices_created_by_users")),
        sa.ForeignKeyConstraint(["credited_invoice_id"], ["invoices.id"], name=op.f("fk_invoices_credited_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_invoices_decided_by_users")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_invoices_order_id_purchase_orders")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_invoices_supplier_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("supplier_org_id", "number", name="uq_invoices_supplier_number"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index("ix_invoices_buyer_state", ["buyer_org_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_credited_invoice_id"), ["credited_invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_due_date"), ["due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_invoices_supplier_state", ["supplier_org_id", "state"], unique=False)

    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("quantity", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("unit_price", concord.db.ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("tax_rate", concord.db.ExactDecimal(precision=9, scale=4), nullable=False),
        sa.Column("net", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("tax", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("total", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("match_status", sa.Enum("matched", "exception", name="match_status", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("match_reason", sa.String(length=500), nullable=True),
        sa.Column("ordered_unit_price", concord.db.ExactDecimal(precision=18, scale=4), nullable=True),
        sa.Column("accepted_quantity", concord.db.ExactDecimal(precision=18, scale=3), nullable=True),
        sa.Column("previously_invoiced", concord.db.ExactDecimal(precision=18, scale=3), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("quantity > 0 AND unit_price >= 0", name=op.f("ck_invoice_lines_quantity_positive")),
        sa.CheckConstraint("tax_rate >= 0 AND tax_rate <= 100", name=op.f("ck_invoice_lines_tax_rate_in_range")),
        sa.CheckConstraint("total = net + tax", name=op.f("ck_invoice_lines_total_adds_up")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"], name=op.f("fk_invoice_lines_order_line_id_order_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "line_no", name=op.f("uq_invoice_lines_invoice_id_line_no")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_lines_order_line_id"), ["order_line_id"], unique=False)

    op.create_table(
        "receivables",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("holder_org_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=66), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("registry_address", sa.String(length=42), nullable=False),
        sa.Column("escrowed", sa.Boolean(), nullable=False),
        sa.Column("amount", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "registering",
                "registered",
                "verified",
                "financed",
                "settled",
                "refused",
                name="receivable_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("state_reason", sa.String(length=500), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("registered_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("verified_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("financed_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("settled_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("amount_paid", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_receivables_amount_positive")),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_receivables_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["holder_org_id"], ["organizations.id"], name=op.f("fk_receivables_holder_org_id_organizations")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_receivables_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_receivables_order_id_purchase_orders")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_receivables_supplier_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivables")),
        sa.UniqueConstraint("fingerprint", name="uq_receivables_fingerprint"),
        sa.UniqueConstraint("invoice_id", name="one_receivable_per_invoice"),
    )
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receivables_buyer_org_id"), ["buyer_org_id"], unique=False)
        batch_op.create_index("ix_receivables_holder_state", ["holder_org_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_receivables_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_receivables_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_receivables_supplier_org_id"), ["supplier_org_id"], unique=False)

    op.create_table(
        "financing_offers",
        sa.Column("receivable_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("financier_org_id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "offered",
                "declined",
                "accepted",
                "financed",
                "withdrawn",
                "expired",
                "refused",
                "settled",
                name="offer_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("state_reason", sa.String(length=500), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("requested_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("advance_rate", concord.db.ExactDecimal(precision=9, scale=4), nullable=True),
        sa.Column("discount_rate", concord.db.ExactDecimal(precision=9, scale=4), nullable=True),
        sa.Column("fees", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("valid_until", concord.db.UTCDateTime(), nullable=True),
        sa.Column("advance", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("discount", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("claim", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("offered_by", sa.Uuid(), nullable=True),
        sa.Column("offered_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("financed_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("advance_rate IS NULL OR (advance_rate > 0 AND advance_rate <= 100)", name=op.f("ck_financing_offers_advance_rate_in_range")),
        sa.CheckConstraint("discount_rate IS NULL OR (discount_rate >= 0 AND discount_rate <= 100)", name=op.f("ck_financing_offers_discount_rate_in_range")),
        sa.CheckConstraint("fees IS NULL OR fees >= 0", name=op.f("ck_financing_offers_fees_not_negative")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_financing_offers_decided_by_users")),
        sa.ForeignKeyConstraint(["financier_org_id"], ["organizations.id"], name=op.f("fk_financing_offers_financier_org_id_organizations")),
        sa.ForeignKeyConstraint(["offered_by"], ["users.id"], name=op.f("fk_financing_offers_offered_by_users")),
        sa.ForeignKeyConstraint(["programme_id"], ["financing_programmes.id"], name=op.f("fk_financing_offers_programme_id_financing_programmes")),
        sa.ForeignKeyConstraint(["receivable_id"], ["receivables.id"], name=op.f("fk_financing_offers_receivable_id_receivables")),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_financing_offers_requested_by_users")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_financing_offers_supplier_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financing_offers")),
        sa.UniqueConstraint("receivable_id", "financier_org_id", name="one_offer_per_financier"),
    )
    with op.batch_alter_table("financing_offers", schema=None) as batch_op:
        batch_op.create_index("ix_financing_offers_financier_state", ["financier_org_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_financing_offers_programme_id"), ["programme_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_financing_offers_receivable_id"), ["receivable_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_financing_offers_supplier_org_id"), ["supplier_org_id"], unique=False)

    op.create_table(
        "receivable_settlements",
        sa.Column("receivable_id", sa.Uuid(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_paid", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("financier_share", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("supplier_share", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("shortfall", concord.db.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("recorded_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("amount_paid = financier_share + supplier_share", name=op.f("ck_receivable_settlements_waterfall_adds_up")),
        sa.CheckConstraint("financier_share >= 0 AND supplier_share >= 0", name=op.f("ck_receivable_settlements_shares_not_negative")),
        sa.ForeignKeyConstraint(["offer_id"], ["financing_offers.id"], name=op.f("fk_receivable_settlements_offer_id_financing_offers")),
        sa.ForeignKeyConstraint(["receivable_id"], ["receivables.id"], name=op.f("fk_receivable_settlements_receivable_id_receivables")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_settlements")),
        sa.UniqueConstraint("receivable_id", name="one_settlement_per_receivable"),
    )
    # Plain ADD COLUMN (with its CHECK inline): a batch copy of purchase_orders would trip
    # SQLite's foreign keys from every table that references it.
    op.add_column(
        "purchase_orders",
        sa.Column(
            "settlement",
            sa.Enum("escrow", "open_account", name="settlement", native_enum=False, create_constraint=True, length=32),
            server_default="escrow",
            nullable=False,
        ),
    )
    op.add_column("purchase_orders", sa.Column("net_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_column("net_days")
        batch_op.drop_column("settlement")

    op.drop_table("receivable_settlements")
    with op.batch_alter_table("financing_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_financing_offers_supplier_org_id"))
        batch_op.drop_index(batch_op.f("ix_financing_offers_receivable_id"))
        batch_op.drop_index(batch_op.f("ix_financing_offers_programme_id"))
        batch_op.drop_index("ix_financing_offers_financier_state")

    op.drop_table("financing_offers")
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivables_supplier_org_id"))
        batch_op.drop_index(batch_op.f("ix_receivables_state"))
        batch_op.drop_index(batch_op.f("ix_receivables_order_id"))
        batch_op.drop_index("ix_receivables_holder_state")
        batch_op.drop_index(batch_op.f("ix_receivables_buyer_org_id"))

    op.drop_table("receivables")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_order_line_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_supplier_state")
        batch_op.drop_index(batch_op.f("ix_invoices_order_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_due_date"))
        batch_op.drop_index(batch_op.f("ix_invoices_credited_invoice_id"))
        batch_op.drop_index("ix_invoices_buyer_state")

    op.drop_table("invoices")
    op.drop_table("payment_terms")
    with op.batch_alter_table("financing_programmes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_financing_programmes_financier_org_id"))
        batch_op.drop_index(batch_op.f("ix_financing_programmes_buyer_org_id"))

    op.drop_table("financing_programmes")
    with op.batch_alter_table("exposure_limits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exposure_limits_financier_org_id"))

    op.drop_table("exposure_limits")
