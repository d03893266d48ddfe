"""fulfilment: shipments, milestones, proof of delivery, receipts, disputes; outbox prerequisites

An order's escrow is moved by four parties in turn (buyer funds, supplier assigns the
carrier, carrier attests delivery, buyer confirms receipt, arbiter resolves), so an outbox
intent can now wait for another sender's intent (`after_seq`).

Revision ID: 0007_fulfilment
Revises: 0006_token_balances
Create Date: 2026-11-30 08:23:09.058803
"""

import concord.db
import sqlalchemy as sa
from alembic import op

revision = "0007_fulfilment"
down_revision = "0006_token_balances"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("arbiter_org_id", sa.Uuid(), nullable=False),
        sa.Column("opened_by_org_id", sa.Uuid(), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Enum("open", "resolved", name="dispute_state", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("order_state_before", sa.String(length=30), nullable=False),
        sa.Column("payee_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("buyer_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("resolution", sa.String(length=2000), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("payee_amount IS NULL OR (payee_amount >= 0 AND buyer_amount >= 0)", name=op.f("ck_disputes_split_not_negative")),
        sa.ForeignKeyConstraint(["arbiter_org_id"], ["organizations.id"], name=op.f("fk_disputes_arbiter_org_id_organizations")),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_disputes_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["opened_by"], ["users.id"], name=op.f("fk_disputes_opened_by_users")),
        sa.ForeignKeyConstraint(["opened_by_org_id"], ["organizations.id"], name=op.f("fk_disputes_opened_by_org_id_organizations")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_disputes_order_id_purchase_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name=op.f("fk_disputes_resolved_by_users")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_disputes_supplier_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("order_id", name="one_dispute_per_order"),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_arbiter_org_id"), ["arbiter_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_buyer_org_id"), ["buyer_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_supplier_org_id"), ["supplier_org_id"], unique=False)

    op.create_table(
        "receipts",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("accepted_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("refund_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("accepted_value >= 0 AND refund_value >= 0", name=op.f("ck_receipts_values_not_negative")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_receipts_created_by_users")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_receipts_order_id_purchase_orders"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("order_id", name="one_receipt_per_order"),
    )
    op.create_table(
        "shipments",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("buyer_org_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_org_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_org_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Enum("in_transit", "delivered", name="shipment_state", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("shipped_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("pod_receiver_name", sa.String(length=200), nullable=True),
        sa.Column("pod_delivered_at", concord.db.UTCDateTime(), nullable=True),
        sa.Column("pod_document_hash", sa.String(length=66), nullable=True),
        sa.Column("pod_proof_hash", sa.String(length=66), nullable=True),
        sa.Column("pod_recorded_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", concord.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["buyer_org_id"], ["organizations.id"], name=op.f("fk_shipments_buyer_org_id_organizations")),
        sa.ForeignKeyConstraint(["carrier_org_id"], ["organizations.id"], name=op.f("fk_shipments_carrier_org_id_organizations")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_shipments_created_by_users")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"], name=op.f("fk_shipments_order_id_purchase_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pod_recorded_by"], ["users.id"], name=op.f("fk_shipments_pod_recorded_by_users")),
        sa.ForeignKeyConstraint(["supplier_org_id"], ["organizations.id"], name=op.f("fk_shipments_supplier_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("order_id", "number", name=op.f("uq_shipments_order_id_number")),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipments_buyer_org_id"), ["buyer_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shipments_carrier_org_id"), ["carrier_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shipments_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shipments_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_shipments_supplier_org_id"), ["supplier_org_id"], unique=False)

    op.create_table(
        "receipt_lines",
        sa.Column("receipt_id", sa.Uuid(), nullable=False),
        sa.Column("order_line_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("shipped_quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("accepted_quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("rejected_quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        sa.Column("accepted_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("accepted_quantity + rejected_quantity = shipped_quantity", name=op.f("ck_receipt_lines_accounts_for_shipped")),
        sa.CheckConstraint("accepted_quantity >= 0 AND rejected_quantity >= 0", name=op.f("ck_receipt_lines_quantities_not_negative")),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"], name=op.f("fk_receipt_lines_order_line_id_order_lines")),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"], name=op.f("fk_receipt_lines_receipt_id_receipts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_lines")),
    )
    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipt_lines_receipt_id"), ["receipt_id"], unique=False)

    op.create_table(
        "shipment_lines",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("lot_number", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shipment_lines_quantity_positive")),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"], name=op.f("fk_shipment_lines_order_line_id_order_lines")),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_lines_shipment_id_shipments"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_lines")),
    )
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_lines_order_line_id"), ["order_line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shipment_lines_shipment_id"), ["shipment_id"], unique=False)

    op.create_table(
        "shipment_milestones",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "picked_up",
                "departed",
                "arrived",
                "customs_cleared",
                "out_for_delivery",
                name="milestone_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", concord.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_shipment_milestones_recorded_by_users")),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_milestones_shipment_id_shipments"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_milestones")),
    )
    with op.batch_alter_table("shipment_milestones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_milestones_shipment_id"), ["shipment_id"], unique=False)

    with op.batch_alter_table("chain_intents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("after_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_index(batch_op.f("ix_chain_intents_after_seq"), ["after_seq"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_chain_intents_after_seq_chain_intents"), "chain_intents", ["after_seq"], ["seq"])

    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered_at", concord.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("settlement_queued_at", concord.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_column("settlement_queued_at")
        batch_op.drop_column("delivered_at")

    with op.batch_alter_table("chain_intents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_chain_intents_after_seq_chain_intents"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_chain_intents_after_seq"))
        batch_op.drop_column("after_seq")

    with op.batch_alter_table("shipment_milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_milestones_shipment_id"))

    op.drop_table("shipment_milestones")
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_lines_shipment_id"))
        batch_op.drop_index(batch_op.f("ix_shipment_lines_order_line_id"))

    op.drop_table("shipment_lines")
    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_lines_receipt_id"))

    op.drop_table("receipt_lines")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_supplier_org_id"))
        batch_op.drop_index(batch_op.f("ix_shipments_state"))
        batch_op.drop_index(batch_op.f("ix_shipments_order_id"))
        batch_op.drop_index(batch_op.f("ix_shipments_carrier_org_id"))
        batch_op.drop_index(batch_op.f("ix_shipments_buyer_org_id"))

    op.drop_table("shipments")
    op.drop_table("receipts")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_supplier_org_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_state"))
        batch_op.drop_index(batch_op.f("ix_disputes_buyer_org_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_arbiter_org_id"))

    op.drop_table("disputes")
