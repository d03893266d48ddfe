"""vmi: agreements (versions agreed by both sides, items per buyer product and location),
the stock records a buyer shares (on hand, receipts, consumption) and its CSV uploads,
replenishment proposals; orders say what issued them on the buyer's behalf (`origin`) and
whether their goods are on consignment; consumed consignment stock billed by self-billing
invoices (`invoices.self_billed`, `vmi_consignment_billings`)

Revision ID: 0028_vmi_agreements_and_stock
Revises: 0027_financing_extra
Create Date: 2026-12-04 15:39:24.377586
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0028_vmi_agreements_and_stock"
down_revision = "0027_financing_extra"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vmi_agreements",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "proposed",
                "active",
                "suspended",
                "ended",
                "declined",
                "withdrawn",
                name="vmi_agreement_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("pending_version", sa.Integer(), nullable=True),
        sa.Column("suspended_by_org_id", sa.Uuid(), nullable=True),
        sa.Column("state_reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("ended_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("consignment_billed_through", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("buyer_org_id <> supplier_org_id", name=op.f("ck_vmi_agreements_distinct_parties")),
        sa.CheckConstraint("current_version >= 0", name=op.f("ck_vmi_agreements_current_version_not_negative")),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_vmi_agreements_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_vmi_agreements_created_by_users")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_vmi_agreements_supplier_org_id_organizations")),
        sa.ForeignKeyConstraint(["suspended_by_org_id"], ["organizations.id"], name=op.f("fk_vmi_agreements_suspended_by_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vmi_agreements")),
        sa.UniqueConstraint("buyer_org_id", "number", name="uq_vmi_agreements_buyer_number"),
    )
    with op.batch_alter_table("vmi_agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vmi_agreements_buyer_org_id"), ["buyer_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_agreements_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_agreements_supplier_org_id"), ["supplier_org_id"], unique=False)

    op.create_table(
        "vmi_uploads",
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("state", sa.Enum("running", "done", "failed", name="vmi_upload_state", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_kept", sa.Integer(), nullable=False),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("rows_read >= 0 AND rows_kept >= 0 AND rows_unchanged >= 0 AND rows_rejected >= 0", name=op.f("ck_vmi_uploads_counts_not_negative")),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_vmi_uploads_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_vmi_uploads_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vmi_uploads")),
    )
    with op.batch_alter_table("vmi_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vmi_uploads_buyer_org_id"), ["buyer_org_id"], unique=False)

    op.create_table(
        "vmi_agreement_versions",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "proposed", "agreed", "declined", "withdrawn", "superseded", name="vmi_version_state", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("proposed_by_org_id", sa.Uuid(), nullable=False),
        sa.Column("proposed_by", sa.Uuid(), nullable=False),
        sa.Column("proposed_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("max_order_value", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("max_period_value", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("baseline_inventory_value", concord.db.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("holding_cost_rate", concord.db.ExactDecimal(precision=9, scale=4), nullable=True),
        sa.Column("supplier_share", concord.db.ExactDecimal(precision=9, scale=4), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("baseline_inventory_value IS NULL OR baseline_inventory_value >= 0", name=op.f("ck_vmi_agreement_versions_baseline_not_negative")),
        sa.CheckConstraint("ends_on IS NULL OR ends_on > starts_on", name=op.f("ck_vmi_agreement_versions_ends_after_start")),
        sa.CheckConstraint("holding_cost_rate IS NULL OR holding_cost_rate >= 0", name=op.f("ck_vmi_agreement_versions_holding_cost_rate_not_negative")),
        sa.CheckConstraint("max_order_value IS NULL OR max_order_value > 0", name=op.f("ck_vmi_agreement_versions_max_order_value_positive")),
        sa.CheckConstraint("max_period_value IS NULL OR max_period_value > 0", name=op.f("ck_vmi_agreement_versions_max_period_value_positive")),
        sa.CheckConstraint("period_days >= 1 AND period_days <= 366", name=op.f("ck_vmi_agreement_versions_period_days_in_range")),
        sa.CheckConstraint("supplier_share IS NULL OR supplier_share >= 0", name=op.f("ck_vmi_agreement_versions_supplier_share_not_negative")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_vmi_agreement_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["vmi_agreements.id"], name=op.f("fk_vmi_agreement_versions_agreement_id_vmi_agreements"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_vmi_agreement_versions_decided_by_users")),
        sa.ForeignKeyConstraint(["proposed_by"], ["users.id"], name=op.f("fk_vmi_agreement_versions_proposed_by_users")),
        sa.ForeignKeyConstraint(["proposed_by_org_id"], ["organizations.id"], name=op.f("fk_vmi_agreement_versions_proposed_by_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vmi_agreement_versions")),
        sa.UniqueConstraint("agreement_id", "version", name="uq_vmi_agreement_versions_version"),
    )
    with op.batch_alter_table("vmi_agreement_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vmi_agreement_versions_agreement_id"), ["agreement_id"], unique=False)

    op.create_table(
        "vmi_proposals",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "awaiting_approval",
                "ordered",
                "dismissed",
                "rejected",
                "cancelled",
                name="vmi_proposal_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("quantity", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("confirmed_quantity", concord.db.ExactDecimal(precision=18, scale=3), nullable=True),
        sa.Column("confirmed_delivery_date", sa.Date(), nullable=True),
        sa.Column("unit_price", concord.db.ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column("on_hand", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("on_order", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("minimum", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("maximum", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("safety_stock", concord.db.ExactDecimal(precision=18, scale=3), nullable=True),
        sa.Column("reorder_point", concord.db.ExactDecimal(precision=18, scale=3), nullable=True),
        sa.Column("forecast_model", sa.String(length=40), nullable=True),
        sa.Column("forecast_mase", concord.db.ExactDecimal(precision=9, scale=4), nullable=True),
        sa.Column("forecast_bias", concord.db.ExactDecimal(precision=9, scale=4), nullable=True),
        sa.Column("review", sa.JSON(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("state_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("confirmed_quantity IS NULL OR confirmed_quantity > 0", name=op.f("ck_vmi_proposals_confirmed_quantity_positive")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_vmi_proposals_quantity_positive")),
        sa.ForeignKeyConstraint(["agreement_id"], ["vmi_agreements.id"], name=op.f("fk_vmi_proposals_agreement_id_vmi_agreements"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_vmi_proposals_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_vmi_proposals_decided_by_users")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_vmi_proposals_location_id_locations")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_vmi_proposals_order_id_purchase_orders")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_vmi_proposals_product_id_products")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_vmi_proposals_supplier_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vmi_proposals")),
    )
    with op.batch_alter_table("vmi_proposals", schema=None) as batch_op:
        batch_op.create_index("ix_vmi_proposals_agreement_state", ["agreement_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_proposals_buyer_org_id"), ["buyer_org_id"], unique=False)
        batch_op.create_index("ix_vmi_proposals_item_review", ["agreement_id", "product_id", "location_id", "review_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_proposals_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_proposals_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_proposals_supplier_org_id"), ["supplier_org_id"], unique=False)

    op.create_table(
        "vmi_stock_records",
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind", sa.Enum("on_hand", "receipt", "consumption", name="vmi_record_kind", native_enum=False, create_constraint=True, length=32), nullable=False
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("quantity", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("source", sa.Enum("api", "csv", name="vmi_record_source", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("upload_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_vmi_stock_records_quantity_not_negative")),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_vmi_stock_records_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_vmi_stock_records_created_by_users")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_vmi_stock_records_location_id_locations")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_vmi_stock_records_product_id_products")),
        sa.ForeignKeyConstraint(["upload_id"], ["vmi_uploads.id"], name=op.f("fk_vmi_stock_records_upload_id_vmi_uploads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vmi_stock_records")),
        sa.UniqueConstraint("buyer_org_id", "record_id", name="uq_vmi_stock_records_record"),
    )
    with op.batch_alter_table("vmi_stock_records", schema=None) as batch_op:
        batch_op.create_index("ix_vmi_stock_records_series", ["buyer_org_id", "product_id", "location_id", "occurred_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_stock_records_upload_id"), ["upload_id"], unique=False)

    op.create_table(
        "vmi_agreement_items",
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("unit_of_measure", sa.String(length=3), nullable=False),
        sa.Column("location_name", sa.String(length=200), nullable=False),
        sa.Column("unit_price", concord.db.ExactDecimal(precision=18, scale=4), nullable=False),
        sa.Column(
            "level_basis", sa.Enum("quantity", "days_of_supply", name="vmi_level_basis", native_enum=False, create_constraint=True, length=32), nullable=False
        ),
        sa.Column("min_level", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("max_level", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("review_period_days", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("service_level", concord.db.ExactDecimal(precision=9, scale=4), nullable=False),
        sa.Column("consignment", sa.Boolean(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=True),
        sa.Column("last_review", sa.JSON(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("lead_time_days >= 0 AND lead_time_days <= 365", name=op.f("ck_vmi_agreement_items_lead_time_in_range")),
        sa.CheckConstraint("min_level >= 0 AND max_level > min_level", name=op.f("ck_vmi_agreement_items_band_ordered")),
        sa.CheckConstraint("review_period_days >= 1 AND review_period_days <= 91", name=op.f("ck_vmi_agreement_items_review_period_in_range")),
        sa.CheckConstraint("service_level > 0", name=op.f("ck_vmi_agreement_items_service_level_positive")),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_vmi_agreement_items_unit_price_positive")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_vmi_agreement_items_location_id_locations")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_vmi_agreement_items_product_id_products")),
        sa.ForeignKeyConstraint(
            ["version_id"], ["vmi_agreement_versions.id"], name=op.f("fk_vmi_agreement_items_version_id_vmi_agreement_versions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vmi_agreement_items")),
        sa.UniqueConstraint("version_id", "product_id", "location_id", name="uq_vmi_agreement_items_scope"),
    )
    with op.batch_alter_table("vmi_agreement_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vmi_agreement_items_version_id"), ["version_id"], unique=False)

    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("consignment", sa.Boolean(), server_default="0", nullable=False))

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("self_billed", sa.Boolean(), server_default="0", nullable=False))

    op.create_table(
        "vmi_consignment_billings",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("billed_total", concord.db.ExactDecimal(precision=18, scale=3), nullable=False),
        sa.Column("through_date", sa.Date(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("quantity > 0 AND billed_total >= quantity", name=op.f("ck_vmi_consignment_billings_quantities_positive")),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["vmi_agreements.id"], name=op.f("fk_vmi_consignment_billings_agreement_id_vmi_agreements"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_vmi_consignment_billings_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_vmi_consignment_billings_supplier_org_id_organizations")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_vmi_consignment_billings_product_id_products")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_vmi_consignment_billings_location_id_locations")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_vmi_consignment_billings_order_id_purchase_orders")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_vmi_consignment_billings_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vmi_consignment_billings")),
        sa.UniqueConstraint("order_id", "billed_total", name="uq_vmi_consignment_billings_order_total"),
    )
    with op.batch_alter_table("vmi_consignment_billings", schema=None) as batch_op:
        batch_op.create_index("ix_vmi_consignment_billings_item", ["agreement_id", "product_id", "location_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_consignment_billings_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vmi_consignment_billings_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vmi_consignment_billings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vmi_consignment_billings_order_id"))
        batch_op.drop_index(batch_op.f("ix_vmi_consignment_billings_invoice_id"))
        batch_op.drop_index("ix_vmi_consignment_billings_item")

    op.drop_table("vmi_consignment_billings")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("self_billed")

    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_column("consignment")
        batch_op.drop_column("origin")

    with op.batch_alter_table("vmi_agreement_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vmi_agreement_items_version_id"))

    op.drop_table("vmi_agreement_items")
    with op.batch_alter_table("vmi_stock_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vmi_stock_records_upload_id"))
        batch_op.drop_index("ix_vmi_stock_records_series")

    op.drop_table("vmi_stock_records")
    with op.batch_alter_table("vmi_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vmi_proposals_supplier_org_id"))
        batch_op.drop_index(batch_op.f("ix_vmi_proposals_state"))
        batch_op.drop_index(batch_op.f("ix_vmi_proposals_order_id"))
        batch_op.drop_index("ix_vmi_proposals_item_review")
        batch_op.drop_index(batch_op.f("ix_vmi_proposals_buyer_org_id"))
        batch_op.drop_index("ix_vmi_proposals_agreement_state")

    op.drop_table("vmi_proposals")
    with op.batch_alter_table("vmi_agreement_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vmi_agreement_versions_agreement_id"))

    op.drop_table("vmi_agreement_versions")
    with op.batch_alter_table("vmi_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vmi_uploads_buyer_org_id"))

    op.drop_table("vmi_uploads")
    with op.batch_alter_table("vmi_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vmi_agreements_supplier_org_id"))
        batch_op.drop_index(batch_op.f("ix_vmi_agreements_state"))
        batch_op.drop_index(batch_op.f("ix_vmi_agreements_buyer_org_id"))

    op.drop_table("vmi_agreements")
