"""Self-billing: the buyer issues the invoice on the supplier's behalf for consignment goods
it consumed (agreed in a VMI agreement's consignment terms). The invoice is the supplier's
(its number is unique among the supplier's invoices) and is approved as it is issued: the
buyer, who would approve it, wrote it. From there it is an approved open-account payable
like any other: registered as a receivable, acknowledged, and paid by the buyer on chain
at its due date (concord.finance.receivables, concord.finance.settlement).

The supplier cannot cancel a self-billed invoice (concord.finance.lifecycle); it may credit
part of it, as it would any invoice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock
from concord.audit.service import Action
from concord.finance.invoices import ZERO, audit, describe, line_amounts, tell
from concord.finance.models import Invoice, InvoiceKind, InvoiceLine, InvoiceState, MatchStatus, Settlement
from concord.orders.models import OrderLine, PurchaseOrder
from concord.policy import Principal

NUMBER_PREFIX = "SB"


@dataclass(frozen=True)
class Consumed:
    """Consumed quantity of one order line to bill, with what the order and receipt say."""

    line: OrderLine
    quantity: Decimal
    accepted: Decimal  # on the order's receipt
    billed_before: Decimal  # by earlier self-billing invoices of the line


def next_number(session: Session, supplier_org_id: uuid.UUID, reference: str) -> str:
    """SB-<reference>-0001, -0002, ...: the next free number of the series among the supplier's
    invoices (two buyers' agreements may share a reference: they share the series)."""
    prefix = f"{NUMBER_PREFIX}-{reference}-"
    taken = session.execute(
        sa.select(sa.func.count()).select_from(Invoice).where(Invoice.supplier_org_id == supplier_org_id, Invoice.number.startswith(prefix, autoescape=True))
    ).scalar_one()
    return f"{prefix}{taken + 1:04d}"


def value_of(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """The net value of billing `quantity` at `unit_price`."""
    return line_amounts(quantity, unit_price, ZERO)[0]


def issue(
    session: Session,
    order: PurchaseOrder,
    consumed: list[Consumed],
    *,
    tax_rate: Decimal,
    reference: str,
    issued_by: uuid.UUID,
    actor: Principal | None,
    note: str,
) -> Invoice:
    """The buyer's self-billing invoice of `order` for `consumed`, at the order's prices, dated
    today and due after the order's net days; approved. In the caller's transaction (flushed,
    not committed: a concurrent run that took the same number fails at the insert or commit)."""
    if order.settlement != Settlement.OPEN_ACCOUNT:
        raise ValueError(f"Order {order.number} settles by {order.settlement}: self-billing pays on open account")
    today = clock.utcnow().date()
    lines = []
    for index, item in enumerate(consumed):
        net, tax, total = line_amounts(item.quantity, item.line.unit_price, tax_rate)
        lines.append(
            InvoiceLine(
                line_no=index + 1,
                order_line_id=item.line.id,
                description=describe(item.line),
                quantity=item.quantity,
                unit_price=item.line.unit_price,
                tax_rate=tax_rate,
                net=net,
                tax=tax,
                total=total,
                match_status=MatchStatus.MATCHED,
                match_reason=None,
                ordered_unit_price=item.line.unit_price,
                accepted_quantity=item.accepted,
                previously_invoiced=item.billed_before,
            )
        )
    now = clock.utcnow()
    invoice = Invoice(
        kind=InvoiceKind.INVOICE,
        number=next_number(session, order.supplier_org_id, reference),
        supplier_org_id=order.supplier_org_id,
        buyer_org_id=order.buyer_org_id,
        order_id=order.id,
        currency=order.currency,
        issue_date=today,
        due_date=today + timedelta(days=order.net_days or 0),
        settlement=order.settlement,
        net_days=order.net_days or 0,
        subtotal=sum((line.net for line in lines), ZERO),
        tax_total=sum((line.tax for line in lines), ZERO),
        total=sum((line.total for line in lines), ZERO),
        credited_total=ZERO,
        state=InvoiceState.APPROVED,
        self_billed=True,
        note=note[:1000],
        created_by=issued_by,
        decided_by=issued_by,
        decided_at=now,
        decision_reason="self-billed by the buyer",
        lines=lines,
    )
    session.add(invoice)
    session.flush()
    audit(session, Action.INVOICE_SELF_BILLED, invoice, actor, None, order_id=str(order.id), reference=reference)
    tell(
        session,
        "invoice.self_billed",
        invoice,
        f"Self-billing invoice {invoice.number} of order {order.number} for consumed consignment goods: "
        f"{invoice.total} {invoice.currency}, an approved payable due {invoice.due_date.isoformat()}.",
        self_billed=True,
    )
    return invoice
