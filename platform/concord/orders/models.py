"""Purchase orders, their lines, revisions and change proposals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from concord.db import Base, ExactDecimal, IdMixin, TimestampMixin
from concord.tenancy.models import str_enum

QUANTITY = ExactDecimal(18, 3)
PRICE = ExactDecimal(18, 4)
AMOUNT = ExactDecimal(18, 2)


class OrderState(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    DISPUTED = "disputed"


class Settlement(StrEnum):
    """How the buyer pays a partner's orders (the partnership's payment terms, fixed on the
    order when it is issued)."""

    ESCROW = "escrow"  # locked at acknowledgement, released on verified delivery (DeliveryEscrow)
    OPEN_ACCOUNT = "open_account"  # nothing escrowed: the approved invoice is paid at its due date


class ProposalState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class PurchaseOrder(IdMixin, TimestampMixin, Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        sa.UniqueConstraint("buyer_org_id", "number"),
        sa.CheckConstraint("buyer_org_id <> supplier_org_id", name="distinct_parties"),
        sa.CheckConstraint("total >= 0", name="total_not_negative"),
        # Each side's list, newest first (see orders.service.order_list_queries).
        sa.Index("ix_purchase_orders_buyer_listing", "buyer_org_id", "created_at", "id"),
        sa.Index("ix_purchase_orders_supplier_listing", "supplier_org_id", "created_at", "id"),
        sa.Index("ix_purchase_orders_updated_at", "updated_at"),  # what `ledger verify` checks again
    )

    number: Mapped[str] = mapped_column(sa.String(40))
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    ship_to_location_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("locations.id"))
    # What the supplier and carrier need of the buyer's location, copied when the order is
    # written (the buyer's location book stays its own).
    ship_to: Mapped[dict] = mapped_column(sa.JSON)
    incoterm: Mapped[str] = mapped_column(sa.String(3))
    payment_terms: Mapped[str] = mapped_column(sa.String(100))
    settlement: Mapped[Settlement] = mapped_column(str_enum(Settlement, "settlement"), default=Settlement.ESCROW, server_default="escrow")
    net_days: Mapped[int | None]  # open account: the invoice's due date is its date + net days
    state: Mapped[OrderState] = mapped_column(str_enum(OrderState, "order_state"), index=True)
    revision: Mapped[int] = mapped_column(default=0)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    # The value the supplier confirmed line by line (what the escrow will hold).
    confirmed_total: Mapped[Decimal | None] = mapped_column(AMOUNT)
    # Who the escrow names to decide disputes, fixed when it is funded.
    arbiter_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # When the last proof of delivery completed the order (the buyer's dispute window opens).
    delivered_at: Mapped[datetime | None]
    # When the escrow's settlement (release or dispute resolution) was queued: once only.
    settlement_queued_at: Mapped[datetime | None]
    state_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # What wrote the order on the buyer's behalf (a VMI agreement's proposal); None: the buyer itself.
    origin: Mapped[str | None] = mapped_column(sa.String(200))
    # Goods on consignment (a VMI agreement's consignment item): they stay the supplier's at
    # the buyer's site until consumed, and are invoiced by the buyer's self-billing.
    consignment: Mapped[bool] = mapped_column(default=False, server_default="0")

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class OrderLine(IdMixin, Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "line_no"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price > 0", name="unit_price_positive"),
        sa.CheckConstraint("confirmed_quantity IS NULL OR (confirmed_quantity >= 0 AND confirmed_quantity <= quantity)", name="confirmed_within_ordered"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int]
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(sa.String(64))
    product_name: Mapped[str] = mapped_column(sa.String(200))
    unit_of_measure: Mapped[str] = mapped_column(sa.String(3))
    gtin: Mapped[str | None] = mapped_column(sa.String(14))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(PRICE)
    requested_date: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    confirmed_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    confirmed_date: Mapped[date | None]


class OrderRevision(IdMixin, Base):
    """What the parties agreed, as it stood at each revision (1 = as issued)."""

    __tablename__ = "order_revisions"
    __table_args__ = (sa.UniqueConstraint("order_id", "number"),)

    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(200))
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))


class ChangeProposal(IdMixin, TimestampMixin, Base):
    """The supplier's answer to an issued order asking for other quantities, prices or dates."""

    __tablename__ = "change_proposals"

    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    based_on_revision: Mapped[int]
    proposed_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    state: Mapped[ProposalState] = mapped_column(str_enum(ProposalState, "proposal_state"))
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    changes: Mapped[list] = mapped_column(sa.JSON)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.String(500))


# -- fulfilment: shipments, milestones, proof of delivery, receipts, disputes ----------------


class ShipmentState(StrEnum):
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"


class MilestoneKind(StrEnum):
    PICKED_UP = "picked_up"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    CUSTOMS_CLEARED = "customs_cleared"
    OUT_FOR_DELIVERY = "out_for_delivery"


class Shipment(IdMixin, TimestampMixin, Base):
    """An advance shipping notice: part or all of an order's confirmed lines, in the hands
    of one carrier partner of the supplier, until its proof of delivery."""

    __tablename__ = "shipments"
    __table_args__ = (sa.UniqueConstraint("order_id", "number"),)

    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  # 1, 2, ... within the order
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    carrier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    state: Mapped[ShipmentState] = mapped_column(str_enum(ShipmentState, "shipment_state"), index=True)
    tracking_number: Mapped[str | None] = mapped_column(sa.String(100))
    shipped_at: Mapped[datetime]
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    pod_receiver_name: Mapped[str | None] = mapped_column(sa.String(200))
    pod_delivered_at: Mapped[datetime | None]
    pod_document_hash: Mapped[str | None] = mapped_column(sa.String(66))
    pod_proof_hash: Mapped[str | None] = mapped_column(sa.String(66))  # what the carrier attests on chain
    pod_recorded_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))

    lines: Mapped[list[ShipmentLine]] = relationship(order_by="ShipmentLine.position", cascade="all, delete-orphan", lazy="selectin")


class ShipmentLine(IdMixin, Base):
    __tablename__ = "shipment_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    shipment_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]  # as the supplier listed it
    order_line_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    line_no: Mapped[int]
    lot_number: Mapped[str | None] = mapped_column(sa.String(64))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)


class Milestone(IdMixin, Base):
    __tablename__ = "shipment_milestones"

    shipment_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MilestoneKind] = mapped_column(str_enum(MilestoneKind, "milestone_kind"))
    occurred_at: Mapped[datetime]
    location: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    recorded_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Receipt(IdMixin, Base):
    """The buyer's one goods receipt for an order: accepted and rejected quantity per line."""

    __tablename__ = "receipts"
    __table_args__ = (
        sa.UniqueConstraint("order_id", name="one_receipt_per_order"),
        sa.CheckConstraint("accepted_value >= 0 AND refund_value >= 0", name="values_not_negative"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    accepted_value: Mapped[Decimal] = mapped_column(AMOUNT)
    refund_value: Mapped[Decimal] = mapped_column(AMOUNT)
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]

    lines: Mapped[list[ReceiptLine]] = relationship(order_by="ReceiptLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class ReceiptLine(IdMixin, Base):
    __tablename__ = "receipt_lines"
    __table_args__ = (
        sa.CheckConstraint("accepted_quantity >= 0 AND rejected_quantity >= 0", name="quantities_not_negative"),
        sa.CheckConstraint("accepted_quantity + rejected_quantity = shipped_quantity", name="accounts_for_shipped"),
    )

    receipt_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("receipts.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("order_lines.id"))
    line_no: Mapped[int]
    shipped_quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    accepted_quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    rejected_quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(500))
    accepted_value: Mapped[Decimal] = mapped_column(AMOUNT)


class DisputeState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Dispute(IdMixin, TimestampMixin, Base):
    """A buyer's or supplier's dispute over an order's escrow, decided by the arbiter with a split."""

    __tablename__ = "disputes"
    __table_args__ = (
        sa.UniqueConstraint("order_id", name="one_dispute_per_order"),  # the escrow allows one
        sa.CheckConstraint("payee_amount IS NULL OR (payee_amount >= 0 AND buyer_amount >= 0)", name="split_not_negative"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    arbiter_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    opened_by_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    opened_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    state: Mapped[DisputeState] = mapped_column(str_enum(DisputeState, "dispute_state"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(2000))
    order_state_before: Mapped[str] = mapped_column(sa.String(30))
    payee_amount: Mapped[Decimal | None] = mapped_column(AMOUNT)
    buyer_amount: Mapped[Decimal | None] = mapped_column(AMOUNT)
    resolution: Mapped[str | None] = mapped_column(sa.String(2000))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]


class DisputeEvidence(IdMixin, TimestampMixin, Base):
    """A comment or a file a party to a dispute (buyer, supplier, carrier, or the arbiter)
    adds to its case while it is open; a file is stored content-addressed (concord.files)."""

    __tablename__ = "dispute_evidence"
    __table_args__ = (
        sa.CheckConstraint("comment IS NOT NULL OR file_sha256 IS NOT NULL", name="comment_or_file"),
        sa.CheckConstraint("(file_sha256 IS NULL) = (file_name IS NULL)", name="file_has_name"),
        sa.Index("ix_dispute_evidence_dispute_created", "dispute_id", "created_at", "id"),
    )

    dispute_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("disputes.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    added_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    party: Mapped[str] = mapped_column(sa.String(20))  # buyer, supplier, carrier or arbiter
    comment: Mapped[str | None] = mapped_column(sa.String(4000))
    file_sha256: Mapped[str | None] = mapped_column(sa.ForeignKey("stored_files.sha256"))
    file_name: Mapped[str | None] = mapped_column(sa.String(200))
