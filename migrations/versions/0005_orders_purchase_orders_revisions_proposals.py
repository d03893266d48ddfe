"""orders: purchase orders, lines, revisions, change proposals

Shared documents between a buyer and its supplier partner; quantities and prices are exact
Numeric columns, with the database refusing non-positive quantities and prices and
confirmations beyond the ordered quantity.

Revision ID: 0005_orders
Revises: 0004_catalog
Create Date: 2026-11-23 16:21:35.040384
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0005_orders"
down_revision = "0004_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purchase_orders",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ship_to_location_id", sa.Uuid(), nullable=False),
        sa.Column("ship_to", sa.JSON(), nullable=False),
        sa.Column("incoterm", sa.String(length=3), nullable=False),
        sa.Column("payment_terms", sa.String(length=100), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "draft",
                "issued",
                "acknowledged",
                "rejected",
                "partially_shipped",
                "shipped",
                "delivered",
                "partially_received",
                "received",
                "closed",
                "cancelled",
                "disputed",
                name="order_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("confirmed_total", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("issued_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("closed_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("state_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("buyer_org_id <> supplier_org_id", name=op.f("ck_purchase_orders_distinct_parties")),
        sa.CheckConstraint("total >= 0", name=op.f("ck_purchase_orders_total_not_negative")),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_purchase_orders_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_purchase_orders_created_by_users")),
        sa.ForeignKeyConstraint(["ship_to_location_id"], ["locations.id"], name=op.f("fk_purchase_orders_ship_to_location_id_locations")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_purchase_orders_supplier_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint("buyer_org_id", "number", name=op.f("uq_purchase_orders_buyer_org_id_number")),
    )
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_orders_buyer_org_id"), ["buyer_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_purchase_orders_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_purchase_orders_supplier_org_id"), ["supplier_org_id"], unique=False)

    op.create_table(
        "change_proposals",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("based_on_revision", sa.Integer(), nullable=False),
        sa.Column("proposed_by", sa.Uuid(), nullable=False),
        sa.Column(
            "state", sa.Enum("open", "accepted", "declined", name="proposal_state", native_enum=False, create_constraint=True, length=32), nullable=False
        ),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_change_proposals_decided_by_users")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_change_proposals_order_id_purchase_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["proposed_by"], ["users.id"], name=op.f("fk_change_proposals_proposed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_proposals")),
    )
    with op.batch_alter_table("change_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_proposals_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("unit_of_measure", sa.String(length=3), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("requested_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("confirmed_quantity", sa.Numeric(precision=18, scale=3), nullable=True),
        sa.Column("confirmed_date", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "confirmed_quantity IS NULL OR (confirmed_quantity >= 0 AND confirmed_quantity <= quantity)", name=op.f("ck_order_lines_confirmed_within_ordered")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_order_lines_unit_price_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_order_lines_order_id_purchase_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_order_lines_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint("order_id", "line_no", name=op.f("uq_order_lines_order_id_line_no")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_revisions",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_order_revisions_created_by_users")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_order_revisions_order_id_purchase_orders"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_revisions")),
        sa.UniqueConstraint("order_id", "number", name=op.f("uq_order_revisions_order_id_number")),
    )
    with op.batch_alter_table("order_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_revisions_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_revisions_order_id"))

    op.drop_table("order_revisions")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("change_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_proposals_order_id"))

    op.drop_table("change_proposals")
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_orders_supplier_org_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_orders_state"))
        batch_op.drop_index(batch_op.f("ix_purchase_orders_buyer_org_id"))

    op.drop_table("purchase_orders")
