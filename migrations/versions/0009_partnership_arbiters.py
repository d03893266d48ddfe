"""tenancy: a buyer-supplier partnership may name the arbiter of its escrow disputes; indexes for order lists and an order's chain events

The operator arbitrates unless the partners agree on another member; each order keeps the
arbiter its escrow was funded with, since the contract fixes it then. Each side's order
list walks its own index, and an escrow's events are found by their order reference.

Revision ID: 0009_arbiters
Revises: 0008_notifications
Create Date: 2026-11-30 09:31:32.227082
"""

import json

import concord.db  # noqa: F401  (column types such as UTCDateTime)
import sqlalchemy as sa
from alembic import op

revision = "0009_arbiters"
down_revision = "0008_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_ref", sa.String(length=66), nullable=True))
        batch_op.create_index(batch_op.f("ix_chain_events_order_ref"), ["order_ref"], unique=False)
    # Events indexed before the column existed: their order reference, from their arguments.
    connection = op.get_bind()
    for row in connection.execute(sa.text("SELECT chain_id, tx_hash, log_index, args FROM chain_events WHERE contract = 'DeliveryEscrow'")).mappings().all():
        args = row["args"] if isinstance(row["args"], dict) else json.loads(row["args"])
        if args.get("orderId"):
            connection.execute(
                sa.text("UPDATE chain_events SET order_ref = :ref WHERE chain_id = :chain_id AND tx_hash = :tx_hash AND log_index = :log_index"),
                {"ref": args["orderId"], "chain_id": row["chain_id"], "tx_hash": row["tx_hash"], "log_index": row["log_index"]},
            )
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arbiter_org_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_partnerships_arbiter_org_id_organizations"), "organizations", ["arbiter_org_id"], ["id"])

    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arbiter_org_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_purchase_orders_arbiter_org_id_organizations"), "organizations", ["arbiter_org_id"], ["id"])
        # Each side's order list walks its own index, newest first, instead of sorting.
        batch_op.create_index("ix_purchase_orders_buyer_listing", ["buyer_org_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_purchase_orders_supplier_listing", ["supplier_org_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_events_order_ref"))
        batch_op.drop_column("order_ref")
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_orders_supplier_listing")
        batch_op.drop_index("ix_purchase_orders_buyer_listing")
        batch_op.drop_constraint(batch_op.f("fk_purchase_orders_arbiter_org_id_organizations"), type_="foreignkey")
        batch_op.drop_column("arbiter_org_id")

    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_partnerships_arbiter_org_id_organizations"), type_="foreignkey")
        batch_op.drop_column("arbiter_org_id")
