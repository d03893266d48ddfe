"""Reading invoices: who sees them, the lists, what an order has invoiced of each line and
what a credit note may still credit."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.finance import lifecycle
from concord.finance.matching import OrderSide
from concord.finance.models import FinancingOffer, Invoice, InvoiceKind, InvoiceLine, InvoiceState, OfferState, Receivable, Settlement
from concord.orders.models import PurchaseOrder, Receipt
from concord.policy import Principal

#: States of an invoice whose quantities count as invoiced (a rejected or cancelled one frees them).
STANDING = (InvoiceState.MATCHED, InvoiceState.EXCEPTION, InvoiceState.APPROVED, InvoiceState.PAID)


# -- who sees invoices -----------------------------------------------------------------------


def visibility() -> dict[type, Any]:
    """An invoice (or credit note) is its supplier's and its buyer's (registered with policy
    by concord.bootstrap). Financiers read invoices only through receivables: see
    `offered_to_financier`."""
    return {Invoice: lambda p: sa.or_(Invoice.supplier_org_id == p.org.id, Invoice.buyer_org_id == p.org.id)}


def offered_to_financier(financier_org_id: uuid.UUID) -> Any:
    """The SQL condition selecting the invoices a financier may read: those whose receivable
    it holds or was asked to finance (any offer of it, whatever its state), and the credit
    notes of those. For the financing domain's rules; the parties' rule is `visibility`."""
    asked = sa.select(Receivable.invoice_id).join(FinancingOffer, FinancingOffer.receivable_id == Receivable.id)
    asked = asked.where(FinancingOffer.financier_org_id == financier_org_id)
    held = sa.select(Receivable.invoice_id).where(Receivable.holder_org_id == financier_org_id)
    invoice_ids = sa.union(asked, held)
    return sa.or_(Invoice.id.in_(invoice_ids), Invoice.credited_invoice_id.in_(invoice_ids))


def get_visible(session: Session, principal: Principal, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice:
    return policy.get_visible(session, Invoice, invoice_id, principal, for_update=for_update)


def receipt_of(session: Session, order_id: uuid.UUID) -> Receipt | None:
    return session.execute(sa.select(Receipt).where(Receipt.order_id == order_id)).scalar_one_or_none()


def invoiced_quantities(session: Session, order_id: uuid.UUID, *, excluding: uuid.UUID | None = None) -> dict[uuid.UUID, Decimal]:
    """What the standing invoices of the order invoice of each order line."""
    query = (
        sa.select(InvoiceLine.order_line_id, InvoiceLine.quantity)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            Invoice.order_id == order_id,
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.state.in_(STANDING),
            InvoiceLine.order_line_id.is_not(None),
        )
    )
    if excluding is not None:
        query = query.where(Invoice.id != excluding)
    totals: dict[uuid.UUID, Decimal] = {}
    for line_id, quantity in session.execute(query):  # summed here: SQLite's SUM of text is a float
        totals[line_id] = totals.get(line_id, Decimal(0)) + quantity
    return totals


def order_sides(session: Session, order: PurchaseOrder, receipt: Receipt | None, *, excluding: uuid.UUID | None = None) -> dict[int, OrderSide]:
    """What the order and its receipt say of each order line, by line number."""
    accepted = {rl.order_line_id: rl.accepted_quantity for rl in receipt.lines} if receipt else {}
    invoiced = invoiced_quantities(session, order.id, excluding=excluding)
    return {
        line.line_no: OrderSide(line.line_no, line.unit_price, accepted.get(line.id, Decimal(0)), invoiced.get(line.id, Decimal(0))) for line in order.lines
    }


# -- lists -----------------------------------------------------------------------------------


def overdue_condition(today: date) -> Any:
    """An approved open-account invoice past its due date, unpaid."""
    return sa.and_(
        Invoice.kind == InvoiceKind.INVOICE,
        Invoice.settlement == Settlement.OPEN_ACCOUNT,
        Invoice.state == InvoiceState.APPROVED,
        Invoice.due_date < today,
    )


def is_overdue(invoice: Invoice, today: date | None = None) -> bool:
    today = today or clock.utcnow().date()
    return (
        invoice.kind == InvoiceKind.INVOICE
        and invoice.settlement == Settlement.OPEN_ACCOUNT
        and invoice.state == InvoiceState.APPROVED
        and invoice.due_date < today
    )


def invoices_query(
    principal: Principal,
    *,
    state: InvoiceState | None = None,
    side: str | None = None,
    overdue: bool | None = None,
    kind: InvoiceKind | None = None,
    order_id: uuid.UUID | None = None,
) -> sa.Select:
    """The invoices (and credit notes) the principal sees; `side` "supplier" those it issued,
    "buyer" those it owes."""
    query = sa.select(Invoice).where(policy.visible(principal, Invoice))
    if side == lifecycle.SUPPLIER:
        query = query.where(Invoice.supplier_org_id == principal.org.id)
    elif side == lifecycle.BUYER:
        query = query.where(Invoice.buyer_org_id == principal.org.id)
    if state is not None:
        query = query.where(Invoice.state == state)
    if kind is not None:
        query = query.where(Invoice.kind == kind)
    if order_id is not None:
        query = query.where(Invoice.order_id == order_id)
    if overdue is not None:
        condition = overdue_condition(clock.utcnow().date())
        query = query.where(condition if overdue else sa.not_(condition))
    return query


def credit_notes_of(session: Session, invoice: Invoice) -> list[Invoice]:
    query = sa.select(Invoice).where(Invoice.credited_invoice_id == invoice.id).order_by(Invoice.created_at, Invoice.id)
    return list(session.execute(query).scalars())


def open_balance(invoice: Invoice) -> Decimal:
    """What the invoice still asks: its total less its credit notes."""
    return invoice.total - invoice.credited_total


def left_to_credit(session: Session, invoice: Invoice) -> dict[int, Decimal]:
    """Per line of the invoice (by number), the quantity its credit notes have not credited."""
    credited: dict[uuid.UUID, Decimal] = {}
    for note in credit_notes_of(session, invoice):
        for line in note.lines:
            if line.credited_line_id is not None:
                credited[line.credited_line_id] = credited.get(line.credited_line_id, Decimal(0)) + line.quantity
    return {line.line_no: line.quantity - credited.get(line.id, Decimal(0)) for line in invoice.lines}


def committed_besides(session: Session, offer: FinancingOffer, currency: str) -> Decimal:
    """The advances of the offer's financier's other offers in `currency` that the exchange
    may still take (offered, or accepted and not yet financed): what its allowance to the
    exchange must keep covering beside this offer's. Summed here, exactly: SQLite would sum the stored decimals
    as floats."""
    advances = session.execute(
        sa.select(FinancingOffer.advance)
        .join(Receivable, Receivable.id == FinancingOffer.receivable_id)
        .where(
            FinancingOffer.financier_org_id == offer.financier_org_id,
            FinancingOffer.state.in_((OfferState.OFFERED, OfferState.ACCEPTED)),
            FinancingOffer.id != offer.id,
            FinancingOffer.advance.is_not(None),
            Receivable.currency == currency,
        )
    ).scalars()
    return sum((advance for advance in advances if advance is not None), Decimal(0))
