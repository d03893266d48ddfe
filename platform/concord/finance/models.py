"""Supply-chain finance: payment terms per partnership, invoices and their three-way match,
credit notes, receivables registered on chain, financing offers and their settlement,
exposure limits and buyer-led (reverse factoring) programmes.

Amounts are exact decimals in the invoice's currency (`AMOUNT`, two places, as the
settlement tokens); rates are percentages with four places (`RATE`: 2.5 means 2.5 %).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from concord.db import Base, ExactDecimal, IdMixin, TimestampMixin
from concord.orders.models import AMOUNT, PRICE, QUANTITY
from concord.orders.models import Settlement as Settlement
from concord.tenancy.models import str_enum

#: A percentage, four places (a tolerance, a tax rate, an advance rate, an annual rate).
RATE = ExactDecimal(9, 4)


class PaymentTerms(Base):
    """A buyer–supplier partnership's payment terms and match tolerances (one row per
    partnership; a partnership without one pays by escrow with no tolerance)."""

    __tablename__ = "payment_terms"
    __table_args__ = (
        sa.CheckConstraint("net_days >= 0 AND net_days <= 365", name="net_days_in_range"),
        sa.CheckConstraint("quantity_tolerance >= 0 AND price_tolerance >= 0 AND amount_tolerance >= 0", name="tolerances_not_negative"),
    )

    partnership_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("partnerships.id", ondelete="CASCADE"), primary_key=True)
    settlement: Mapped[Settlement] = mapped_column(str_enum(Settlement, "settlement"))
    net_days: Mapped[int] = mapped_column(default=30)  # due date = invoice date + net days
    quantity_tolerance: Mapped[Decimal] = mapped_column(RATE)  # % of the received quantity
    price_tolerance: Mapped[Decimal] = mapped_column(RATE)  # % of the order's unit price
    amount_tolerance: Mapped[Decimal] = mapped_column(AMOUNT)  # absolute, per line, invoice currency
    updated_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"  # for rejected or returned goods; reduces what the invoice it credits asks


class InvoiceState(StrEnum):
    MATCHED = "matched"  # every line within the partnership's tolerances
    EXCEPTION = "exception"  # some line is not: the buyer approves the exception or rejects the invoice
    APPROVED = "approved"  # the buyer approved it (an approved payable on open account)
    REJECTED = "rejected"
    PAID = "paid"  # the escrow's release or the buyer's payment is mined
    CANCELLED = "cancelled"  # withdrawn by the supplier before any receivable or payment


class MatchStatus(StrEnum):
    MATCHED = "matched"
    EXCEPTION = "exception"


class Invoice(IdMixin, TimestampMixin, Base):
    """A supplier's invoice (or credit note) for one purchase order."""

    __tablename__ = "invoices"
    __table_args__ = (
        sa.UniqueConstraint("supplier_org_id", "number", name="uq_invoices_supplier_number"),
        sa.CheckConstraint("subtotal >= 0 AND tax_total >= 0 AND total >= 0", name="amounts_not_negative"),
        sa.CheckConstraint("total = subtotal + tax_total", name="total_adds_up"),
        sa.CheckConstraint("due_date >= issue_date", name="due_after_issue"),
        sa.CheckConstraint("kind <> 'credit_note' OR credited_invoice_id IS NOT NULL", name="credit_note_names_invoice"),
        sa.CheckConstraint("credited_total >= 0 AND credited_total <= total", name="credited_within_total"),
        sa.Index("ix_invoices_buyer_state", "buyer_org_id", "state"),
        sa.Index("ix_invoices_supplier_state", "supplier_org_id", "state"),
    )

    kind: Mapped[InvoiceKind] = mapped_column(str_enum(InvoiceKind, "invoice_kind"))
    number: Mapped[str] = mapped_column(sa.String(40))  # as printed; unique per supplier
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    credited_invoice_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    issue_date: Mapped[date]
    due_date: Mapped[date] = mapped_column(index=True)
    # The partnership's terms when the invoice was entered (later changes do not move it).
    settlement: Mapped[Settlement] = mapped_column(str_enum(Settlement, "settlement"))
    net_days: Mapped[int]
    subtotal: Mapped[Decimal] = mapped_column(AMOUNT)
    tax_total: Mapped[Decimal] = mapped_column(AMOUNT)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    credited_total: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0.00"))  # by credit notes
    state: Mapped[InvoiceState] = mapped_column(str_enum(InvoiceState, "invoice_state"))
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.String(500))
    paid_amount: Mapped[Decimal | None] = mapped_column(AMOUNT)
    paid_at: Mapped[datetime | None]
    # When both parties were told an approved open-account invoice is overdue (once only).
    overdue_notified_at: Mapped[datetime | None]
    # Issued by the buyer on the supplier's behalf (self-billing of consumed consignment
    # stock): approved as it is issued.
    self_billed: Mapped[bool] = mapped_column(default=False, server_default="0")

    lines: Mapped[list[InvoiceLine]] = relationship(order_by="InvoiceLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class InvoiceLine(IdMixin, Base):
    """One invoiced line and its three-way match against the order line and the receipt."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "line_no"),
        sa.CheckConstraint("quantity > 0 AND unit_price >= 0", name="quantity_positive"),
        # Against zero only: SQLite keeps a RATE as whole ten-thousandths (db.ExactDecimal), so a
        # bound of 100 there would mean 0.01 %. The API bounds the rate to 100 %.
        sa.CheckConstraint("tax_rate >= 0", name="tax_rate_not_negative"),
        sa.CheckConstraint("total = net + tax", name="total_adds_up"),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int]
    order_line_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    description: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(PRICE)
    tax_rate: Mapped[Decimal] = mapped_column(RATE)
    net: Mapped[Decimal] = mapped_column(AMOUNT)
    tax: Mapped[Decimal] = mapped_column(AMOUNT)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    # The match: what the order and the receipt say for this line, and the verdict.
    match_status: Mapped[MatchStatus] = mapped_column(str_enum(MatchStatus, "match_status"))
    match_reason: Mapped[str | None] = mapped_column(sa.String(500))
    ordered_unit_price: Mapped[Decimal | None] = mapped_column(PRICE)
    accepted_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)  # on the receipt
    previously_invoiced: Mapped[Decimal | None] = mapped_column(QUANTITY)  # by earlier invoices of the line
    # A credit note's line: the line of the credited invoice it credits.
    credited_line_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("invoice_lines.id"), index=True)


class ReceivableState(StrEnum):
    REGISTERING = "registering"  # the registration is in the outbox
    REGISTERED = "registered"  # fingerprint on chain; the receipt (or the buyer's approval) is not yet
    VERIFIED = "verified"  # receipt confirmed on chain (or payable acknowledged) and invoice matched
    FINANCED = "financed"  # assigned to a financier on chain, advance paid
    SETTLED = "settled"  # the escrow released (or the buyer paid) to the holder
    REFUSED = "refused"  # the chain refused the registration (already registered elsewhere, ...)


class Receivable(IdMixin, TimestampMixin, Base):
    """A matched invoice registered in ReceivableRegistry: its fingerprint (EIP-712, bound to
    the chain and the registry) can be registered once on the chain, by any platform."""

    __tablename__ = "receivables"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", name="one_receivable_per_invoice"),
        sa.UniqueConstraint("fingerprint", name="uq_receivables_fingerprint"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index("ix_receivables_holder_state", "holder_org_id", "state"),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("invoices.id"))
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    holder_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    fingerprint: Mapped[str] = mapped_column(sa.String(66))
    chain_id: Mapped[int] = mapped_column(sa.BigInteger)
    registry_address: Mapped[str] = mapped_column(sa.String(42))  # the ReceivableRegistry it is registered in
    escrowed: Mapped[bool]  # paid by the order's escrow, or by the buyer on open account
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(sa.String(3))
    due_date: Mapped[date]
    state: Mapped[ReceivableState] = mapped_column(str_enum(ReceivableState, "receivable_state"), index=True)
    state_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # What proves it, as it stood when verified: order, shipment, proof of delivery and
    # receipt transactions (hashes, blocks) and the match result.
    evidence: Mapped[dict | None] = mapped_column(sa.JSON)
    registered_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    financed_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    amount_paid: Mapped[Decimal | None] = mapped_column(AMOUNT)  # what the holder received


class OfferState(StrEnum):
    REQUESTED = "requested"  # the supplier asked this financier; no answer yet
    OFFERED = "offered"  # the financier answered with terms (made on chain)
    DECLINED = "declined"  # the financier will not finance it
    ACCEPTED = "accepted"  # the supplier accepted: assignment + advance are on their way / mined
    FINANCED = "financed"  # the exchange's accept is mined
    WITHDRAWN = "withdrawn"  # by the supplier, the financier, or because another offer was accepted
    EXPIRED = "expired"
    REFUSED = "refused"  # the chain refused it (limit, balance, the receivable moved)
    SETTLED = "settled"  # the receivable was paid and the waterfall recorded


class FinancingOffer(IdMixin, TimestampMixin, Base):
    """One financier's answer to a supplier's request to finance one receivable."""

    __tablename__ = "financing_offers"
    __table_args__ = (
        sa.UniqueConstraint("receivable_id", "financier_org_id", name="one_offer_per_financier"),
        # Rates against zero only: SQLite keeps a RATE as whole ten-thousandths (db.ExactDecimal),
        # so a bound of 100 there would mean 0.01 %. The API bounds the rates to 100 %.
        sa.CheckConstraint("advance_rate IS NULL OR advance_rate > 0", name="advance_rate_positive"),
        sa.CheckConstraint("discount_rate IS NULL OR discount_rate >= 0", name="discount_rate_not_negative"),
        sa.CheckConstraint("fees IS NULL OR fees >= 0", name="fees_not_negative"),
        sa.Index("ix_financing_offers_financier_state", "financier_org_id", "state"),
    )

    receivable_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("receivables.id"), index=True)
    supplier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    financier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    programme_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("financing_programmes.id"), index=True)
    state: Mapped[OfferState] = mapped_column(str_enum(OfferState, "offer_state"))
    state_reason: Mapped[str | None] = mapped_column(sa.String(500))
    requested_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    # The financier's terms: advance rate (% of the receivable paid now), annual discount
    # rate (charged on the advance from funding to the due date), fees, and validity.
    advance_rate: Mapped[Decimal | None] = mapped_column(RATE)
    discount_rate: Mapped[Decimal | None] = mapped_column(RATE)
    fees: Mapped[Decimal | None] = mapped_column(AMOUNT)
    valid_until: Mapped[datetime | None]
    advance: Mapped[Decimal | None] = mapped_column(AMOUNT)  # paid to the supplier on acceptance
    discount: Mapped[Decimal | None] = mapped_column(AMOUNT)
    claim: Mapped[Decimal | None] = mapped_column(AMOUNT)  # advance + discount + fees: the financier's cap
    offered_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    offered_at: Mapped[datetime | None]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    financed_at: Mapped[datetime | None]


class SettlementRecord(IdMixin, Base):
    """The waterfall of a financed receivable's payment, to the token unit: what the holder
    received, the financier's share (at most its claim) and what went back to the supplier."""

    __tablename__ = "receivable_settlements"
    __table_args__ = (
        sa.UniqueConstraint("receivable_id", name="one_settlement_per_receivable"),
        sa.CheckConstraint("amount_paid = financier_share + supplier_share", name="waterfall_adds_up"),
        sa.CheckConstraint("financier_share >= 0 AND supplier_share >= 0", name="shares_not_negative"),
    )

    receivable_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("receivables.id"))
    offer_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("financing_offers.id"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_paid: Mapped[Decimal] = mapped_column(AMOUNT)  # by the escrow or the buyer, to the holder
    financier_share: Mapped[Decimal] = mapped_column(AMOUNT)
    supplier_share: Mapped[Decimal] = mapped_column(AMOUNT)  # returned to the supplier (all of it when unfinanced)
    shortfall: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0.00"))  # claim not covered by the payment
    recorded_at: Mapped[datetime]
    tx_hash: Mapped[str | None] = mapped_column(sa.String(66))  # the exchange's settle, when financed


class LimitSide(StrEnum):
    BUYER = "buyer"  # the debtor of the receivables
    SUPPLIER = "supplier"  # the seller of the receivables


class ExposureLimit(IdMixin, TimestampMixin, Base):
    """The most a financier will have outstanding (advances not yet repaid) on one buyer or
    one supplier, in one currency; an offer beyond it is refused."""

    __tablename__ = "exposure_limits"
    __table_args__ = (
        sa.UniqueConstraint("financier_org_id", "counterparty_org_id", "side", "currency", name="uq_exposure_limits_scope"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    financier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    counterparty_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"))
    side: Mapped[LimitSide] = mapped_column(str_enum(LimitSide, "limit_side"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    updated_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))


class ProgrammeState(StrEnum):
    REQUESTED = "requested"  # the buyer asked the financier for a rate
    OPEN = "open"  # the financier set its rate: the buyer's suppliers may take early payment
    DECLINED = "declined"
    CLOSED = "closed"


class FinancingProgramme(IdMixin, TimestampMixin, Base):
    """Buyer-led financing (reverse factoring): a financier pays the buyer's approved payables
    early at a rate it sets for that buyer; the buyer pays the financier at the due date."""

    __tablename__ = "financing_programmes"
    __table_args__ = (
        sa.UniqueConstraint("buyer_org_id", "financier_org_id", "currency", name="uq_financing_programmes_scope"),
        sa.CheckConstraint("discount_rate IS NULL OR discount_rate >= 0", name="discount_rate_not_negative"),  # see FinancingOffer
        sa.CheckConstraint("limit_amount IS NULL OR limit_amount >= 0", name="limit_not_negative"),
    )

    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    financier_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    state: Mapped[ProgrammeState] = mapped_column(str_enum(ProgrammeState, "programme_state"))
    discount_rate: Mapped[Decimal | None] = mapped_column(RATE)  # annual, set by the financier
    limit_amount: Mapped[Decimal | None] = mapped_column(AMOUNT)  # outstanding at most, set by the financier
    requested_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    state_reason: Mapped[str | None] = mapped_column(sa.String(500))
