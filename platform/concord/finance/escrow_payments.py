"""Escrowed invoices paid by the escrow itself: when an order's escrow releases (or
resolves) to the supplier, the order's matched or approved invoices that no receivable
holds are paid from what the escrow paid the supplier, in the order they were issued; an
invoice that matches after the release is paid at once. What a receivable's holder was
paid counts first (concord.finance.settlement marks its invoice)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock
from concord.finance import invoices, lifecycle
from concord.finance.models import Invoice, InvoiceKind, InvoiceState, Settlement
from concord.ledger import escrow_state
from concord.orders.models import PurchaseOrder

ZERO = Decimal("0.00")


def settle_from_escrow(session: Session, order: PurchaseOrder, paid_to_supplier: Decimal | None = None) -> list[Invoice]:
    """Mark paid the order's payable escrowed invoices, as far as what the escrow paid the
    supplier reaches (`paid_to_supplier`, or read from the chain's settling step). Nothing
    happens while the escrow has not settled. Runs in the caller's transaction."""
    if order.settlement != Settlement.ESCROW:
        return []
    if paid_to_supplier is None:
        split = escrow_state.settled_split(session, order)
        if split is None:
            return []
        paid_to_supplier = split[0]
    of_order = (
        session.execute(
            sa.select(Invoice)
            .where(Invoice.order_id == order.id, Invoice.kind == InvoiceKind.INVOICE)
            .order_by(Invoice.issue_date, Invoice.number)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    left = paid_to_supplier - sum((i.paid_amount or ZERO for i in of_order if i.state == InvoiceState.PAID), ZERO)
    paid: list[Invoice] = []
    when = clock.utcnow()
    for invoice in of_order:
        if left <= 0:
            break
        if (invoice.state, "settle") not in lifecycle.TRANSITIONS or invoice.settlement != Settlement.ESCROW:
            continue
        amount = min(left, invoice.total - invoice.credited_total)
        if amount <= 0:
            continue
        paid.append(invoices.mark_paid(session, invoice.id, amount, when))
        left -= amount
    return paid
