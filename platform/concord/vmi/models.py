"""Vendor-managed inventory: agreements between a buyer and a supplier partner (versioned,
each version agreed by both, like an order's revisions), their items (a buyer's product at
one of its locations, with its band, review period, lead time and service level), and the
stock data the buyer shares (stock on hand, goods receipts, consumption).

Quantities are exact (`QUANTITY`, three places), values are `AMOUNT` in the agreement's
currency, percentages `RATE` (95 means 95 %).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from concord.db import Base, IdMixin, TimestampMixin
from concord.finance.models import RATE
from concord.orders.models import AMOUNT, PRICE, QUANTITY
from concord.tenancy.models import str_enum


class AgreementState(StrEnum):
    PROPOSED = "proposed"  # the first version awaits the counterparty
    ACTIVE = "active"  # a version is agreed: reviews run, proposals are made
    SUSPENDED = "suspended"  # paused by one side: no reviews, no new orders; resumed by that side
    ENDED = "ended"  # ended by either side: open proposals cancelled, consigned stock listed for return or billing
    DECLINED = "declined"  # the first version was declined
    WITHDRAWN = "withdrawn"  # the first version was withdrawn by its proposer


class VersionState(StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"  # the terms in force (one per agreement at a time)
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"  # a later version was agreed


class LevelBasis(StrEnum):
    QUANTITY = "quantity"  # min and max are quantities in the product's unit
    DAYS_OF_SUPPLY = "days_of_supply"  # min and max are days of forecast demand


class VmiAgreement(IdMixin, TimestampMixin, Base):
    __tablename__ = "vmi_agreements"
    __table_args__ = (
        sa.CheckConstraint("buyer_org_id <> supplier_org_id", name="distinct_parties"),
        sa.CheckConstraint("current_version >= 0", name="current_version_not_negative"),
        sa.UniqueConstraint("buyer_org_id", "number", name="uq_vmi_agreements_buyer_number"),
    )

    number: Mapped[str] = mapped_column(sa.String(40))  # VMI-2026-0001, per buyer
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    state: Mapped[AgreementState] = mapped_column(str_enum(AgreementState, "vmi_agreement_state"), index=True)
    # The agreed version in force (0 until the first is agreed) and the one awaiting an answer.
    current_version: Mapped[int] = mapped_column(default=0)
    pending_version: Mapped[int | None]
    # Who suspended it: only that side resumes.
    suspended_by_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"))
    state_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    ended_at: Mapped[datetime | None]
    # Consumed consignment stock is billed through this day (the worker's daily cursor).
    consignment_billed_through: Mapped[date | None]

    versions: Mapped[list[VmiAgreementVersion]] = relationship(order_by="VmiAgreementVersion.version", lazy="selectin", back_populates="agreement")


class VmiAgreementVersion(IdMixin, Base):
    """One set of terms: proposed by one side, agreed (or declined) by the other."""

    __tablename__ = "vmi_agreement_versions"
    __table_args__ = (
        sa.UniqueConstraint("agreement_id", "version", name="uq_vmi_agreement_versions_version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on > starts_on", name="ends_after_start"),
        sa.CheckConstraint("max_order_value IS NULL OR max_order_value > 0", name="max_order_value_positive"),
        sa.CheckConstraint("max_period_value IS NULL OR max_period_value > 0", name="max_period_value_positive"),
        sa.CheckConstraint("period_days >= 1 AND period_days <= 366", name="period_days_in_range"),
        sa.CheckConstraint("baseline_inventory_value IS NULL OR baseline_inventory_value >= 0", name="baseline_not_negative"),
        sa.CheckConstraint("holding_cost_rate IS NULL OR holding_cost_rate >= 0", name="holding_cost_rate_not_negative"),
        # SQLite keeps a RATE as whole ten-thousandths: checks compare rates with zero only,
        # the service bounds them (see migration 0027).
        sa.CheckConstraint("supplier_share IS NULL OR supplier_share >= 0", name="supplier_share_not_negative"),
        sa.CheckConstraint("self_billing_tax_rate >= 0", name="self_billing_tax_rate_not_negative"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("vmi_agreements.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    state: Mapped[VersionState] = mapped_column(str_enum(VersionState, "vmi_version_state"))
    proposed_by_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    proposed_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(sa.String(500))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    # Generated orders above either limit wait for the buyer's approval.
    max_order_value: Mapped[Decimal | None] = mapped_column(AMOUNT)
    max_period_value: Mapped[Decimal | None] = mapped_column(AMOUNT)
    period_days: Mapped[int] = mapped_column(default=30)  # the limit's and the profit sharing's period
    # Profit sharing: the supplier's share of the holding-cost saving against the baseline
    # inventory value, at an annual holding-cost rate, settled per period.
    baseline_inventory_value: Mapped[Decimal | None] = mapped_column(AMOUNT)
    holding_cost_rate: Mapped[Decimal | None] = mapped_column(RATE)
    supplier_share: Mapped[Decimal | None] = mapped_column(RATE)
    # The tax rate (%) the buyer's self-billing invoices for consumed consignment goods charge.
    self_billing_tax_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal(0), server_default="0")

    agreement: Mapped[VmiAgreement] = relationship(back_populates="versions")
    items: Mapped[list[VmiAgreementItem]] = relationship(
        order_by="(VmiAgreementItem.sku, VmiAgreementItem.location_name)", cascade="all, delete-orphan", lazy="selectin"
    )


class VmiAgreementItem(IdMixin, Base):
    """A buyer's product at one of its locations under one version. What the supplier needs
    of the buyer's catalogue is copied (the buyer's catalogue stays its own)."""

    __tablename__ = "vmi_agreement_items"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "product_id", "location_id", name="uq_vmi_agreement_items_scope"),
        sa.CheckConstraint("min_level >= 0 AND max_level > min_level", name="band_ordered"),
        sa.CheckConstraint("unit_price > 0", name="unit_price_positive"),
        sa.CheckConstraint("review_period_days >= 1 AND review_period_days <= 91", name="review_period_in_range"),
        sa.CheckConstraint("lead_time_days >= 0 AND lead_time_days <= 365", name="lead_time_in_range"),
        sa.CheckConstraint("service_level > 0", name="service_level_positive"),
    )

    version_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("vmi_agreement_versions.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("locations.id"))
    sku: Mapped[str] = mapped_column(sa.String(64))
    product_name: Mapped[str] = mapped_column(sa.String(200))
    unit_of_measure: Mapped[str] = mapped_column(sa.String(3))
    location_name: Mapped[str] = mapped_column(sa.String(200))
    unit_price: Mapped[Decimal] = mapped_column(PRICE)  # what a generated order pays per unit
    level_basis: Mapped[LevelBasis] = mapped_column(str_enum(LevelBasis, "vmi_level_basis"))
    min_level: Mapped[Decimal] = mapped_column(QUANTITY)
    max_level: Mapped[Decimal] = mapped_column(QUANTITY)
    review_period_days: Mapped[int]
    lead_time_days: Mapped[int]
    service_level: Mapped[Decimal] = mapped_column(RATE)
    consignment: Mapped[bool] = mapped_column(default=False)
    # The last review of the item under this version and what it found (forecast, safety
    # stock, reorder point, dynamic band, alerts), whether or not it proposed an order.
    reviewed_on: Mapped[date | None]
    last_review: Mapped[dict | None] = mapped_column(sa.JSON)


class RecordKind(StrEnum):
    ON_HAND = "on_hand"  # a count of the stock at the location on that day (replaces the running balance)
    RECEIPT = "receipt"  # goods received that day
    CONSUMPTION = "consumption"  # goods used or sold that day


class RecordSource(StrEnum):
    API = "api"
    CSV = "csv"


class StockRecord(IdMixin, Base):
    """One fact the buyer shares about a product at a location. `record_id` is the buyer's
    own identifier: sending the same record again changes nothing."""

    __tablename__ = "vmi_stock_records"
    __table_args__ = (
        sa.UniqueConstraint("buyer_org_id", "record_id", name="uq_vmi_stock_records_record"),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        sa.Index("ix_vmi_stock_records_series", "buyer_org_id", "product_id", "location_id", "occurred_on"),
    )

    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    record_id: Mapped[str] = mapped_column(sa.String(100))
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("locations.id"))
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind, "vmi_record_kind"))
    occurred_on: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    source: Mapped[RecordSource] = mapped_column(str_enum(RecordSource, "vmi_record_source"))
    upload_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("vmi_uploads.id"), index=True)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]


class UploadState(StrEnum):
    RUNNING = "running"
    DONE = "done"  # every row read: good rows kept, bad rows in the report
    FAILED = "failed"  # the file itself could not be read (encoding, header, size): nothing kept


class VmiUpload(IdMixin, Base):
    """One CSV file of stock records uploaded in the portal, with its row-by-row report."""

    __tablename__ = "vmi_uploads"
    __table_args__ = (sa.CheckConstraint("rows_read >= 0 AND rows_kept >= 0 AND rows_unchanged >= 0 AND rows_rejected >= 0", name="counts_not_negative"),)

    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    size_bytes: Mapped[int]
    state: Mapped[UploadState] = mapped_column(str_enum(UploadState, "vmi_upload_state"), index=True)
    # The file as uploaded (concord.files), read a chunk at a time by the worker.
    file_sha256: Mapped[str | None] = mapped_column(sa.ForeignKey("stored_files.sha256"))
    rows_total: Mapped[int | None]  # known once the file has been read
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_kept: Mapped[int] = mapped_column(default=0)
    rows_unchanged: Mapped[int] = mapped_column(default=0)  # already shared with the same content
    rows_rejected: Mapped[int] = mapped_column(default=0)
    # [{"row": 7, "record_id": "...", "errors": {"quantity": ["..."]}}, ...] and the file's own error.
    report: Mapped[list] = mapped_column(sa.JSON, default=list)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ProposalState(StrEnum):
    OPEN = "open"  # made by a review: the supplier confirms (perhaps edited) or dismisses it
    AWAITING_APPROVAL = "awaiting_approval"  # confirmed beyond the agreed limits: the buyer approves or rejects
    ORDERED = "ordered"  # its purchase order is issued
    DISMISSED = "dismissed"  # the supplier chose not to order
    REJECTED = "rejected"  # the buyer refused an order beyond the limits
    CANCELLED = "cancelled"  # a later review replaced it, or the agreement was suspended or ended


class VmiProposal(IdMixin, TimestampMixin, Base):
    """A replenishment proposal for one item of an agreement, made at a review from the
    stock the buyer shared and the forecast, with what the review saw."""

    __tablename__ = "vmi_proposals"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("confirmed_quantity IS NULL OR confirmed_quantity > 0", name="confirmed_quantity_positive"),
        sa.Index("ix_vmi_proposals_agreement_state", "agreement_id", "state"),
        sa.Index("ix_vmi_proposals_item_review", "agreement_id", "product_id", "location_id", "review_date"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("vmi_agreements.id", ondelete="CASCADE"))
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    version: Mapped[int]  # the agreed version it was reviewed under
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("locations.id"))
    state: Mapped[ProposalState] = mapped_column(str_enum(ProposalState, "vmi_proposal_state"), index=True)
    review_date: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)  # what the review proposed
    delivery_date: Mapped[date]  # when it should arrive to keep stock within the band
    confirmed_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    confirmed_delivery_date: Mapped[date | None]
    unit_price: Mapped[Decimal] = mapped_column(PRICE)
    # What the review saw: stock on hand and on order, the band it aimed at, the forecast's
    # model and accuracy, the projection with and without the order, and the alerts.
    on_hand: Mapped[Decimal] = mapped_column(QUANTITY)
    on_order: Mapped[Decimal] = mapped_column(QUANTITY)
    minimum: Mapped[Decimal] = mapped_column(QUANTITY)
    maximum: Mapped[Decimal] = mapped_column(QUANTITY)
    safety_stock: Mapped[Decimal | None] = mapped_column(QUANTITY)
    reorder_point: Mapped[Decimal | None] = mapped_column(QUANTITY)
    forecast_model: Mapped[str | None] = mapped_column(sa.String(40))
    forecast_mase: Mapped[Decimal | None] = mapped_column(RATE)
    forecast_bias: Mapped[Decimal | None] = mapped_column(RATE)
    review: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    order_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    state_reason: Mapped[str | None] = mapped_column(sa.String(500))


class VmiConsignmentBilling(IdMixin, Base):
    """Consumed consignment stock of one order billed by one self-billing invoice: what the
    buyer reported consuming through `through_date`, allocated first in, first out to the
    agreement's received consignment orders. `billed_total` is the order's billed quantity
    with this billing: a run that computed the same billing as another (a repeated or
    concurrent run) cannot write it twice."""

    __tablename__ = "vmi_consignment_billings"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "billed_total", name="uq_vmi_consignment_billings_order_total"),
        sa.CheckConstraint("quantity > 0 AND billed_total >= quantity", name="quantities_positive"),
        sa.Index("ix_vmi_consignment_billings_item", "agreement_id", "product_id", "location_id"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("vmi_agreements.id", ondelete="CASCADE"))
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("locations.id"))
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    billed_total: Mapped[Decimal] = mapped_column(QUANTITY)
    through_date: Mapped[date]
    created_at: Mapped[datetime]
