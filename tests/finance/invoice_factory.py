"""Invoicing's arrangements: payment terms through the real service, and received orders
written as rows (an issued order, its lines confirmed and its goods receipt) without the
escrow and the shipments behind them, for tests of invoices rather than of fulfilment."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from concord import clock
from concord.finance import invoices, terms
from concord.finance.models import Invoice, Settlement
from concord.orders.models import OrderState, PurchaseOrder, Receipt, ReceiptLine
from concord.orders.service import line_value
from concord.tenancy.models import Partnership, Relation
from sqlalchemy.orm import Session

from tests import orders_factory
from tests.factories import Member

_numbers = itertools.count(1)


def partnership_of(session: Session, buyer: Member, supplier: Member) -> Partnership:
    return session.execute(
        sa.select(Partnership).where(
            Partnership.relation == Relation.BUYER_SUPPLIER, Partnership.org_a_id == buyer.org.id, Partnership.org_b_id == supplier.org.id
        )
    ).scalar_one()


def set_terms(
    session: Session,
    buyer: Member,
    supplier: Member,
    *,
    settlement: Settlement = Settlement.ESCROW,
    net_days: int = 30,
    quantity: str = "0",
    price: str = "0",
    amount: str = "0",
):
    data = {
        "settlement": settlement,
        "net_days": net_days,
        "quantity_tolerance": Decimal(quantity),
        "price_tolerance": Decimal(price),
        "amount_tolerance": Decimal(amount),
    }
    return terms.set_terms(session, buyer.principal, partnership_of(session, buyer, supplier).id, data)


def received_order(session: Session, buyer: Member, supplier: Member, *, accepted=(Decimal("10"), Decimal("3")), **kwargs) -> PurchaseOrder:
    """An issued order (10 × 2.50 and 4 × 12.125 by default) received with `accepted` of
    each line (what was not accepted was rejected)."""
    return receive(session, buyer, orders_factory.issued_order(session, buyer, supplier, **kwargs), accepted)


def receive(session: Session, buyer: Member, order: PurchaseOrder, accepted) -> PurchaseOrder:
    """The issued `order`, its lines confirmed as ordered, received with `accepted` of each
    line (written as rows, the rest rejected); committed."""
    receipt_lines = []
    for line, quantity in zip(order.lines, accepted, strict=True):
        line.confirmed_quantity, line.confirmed_date = line.quantity, line.requested_date
        receipt_lines.append(
            ReceiptLine(
                order_line_id=line.id,
                line_no=line.line_no,
                shipped_quantity=line.quantity,
                accepted_quantity=quantity,
                rejected_quantity=line.quantity - quantity,
                rejection_reason="Damaged" if quantity < line.quantity else None,
                accepted_value=line_value(quantity, line.unit_price),
            )
        )
    accepted_value = sum((rl.accepted_value for rl in receipt_lines), Decimal("0.00"))
    order.confirmed_total = order.total
    order.state = OrderState.RECEIVED if accepted_value == order.total else OrderState.PARTIALLY_RECEIVED
    session.add(
        Receipt(
            order_id=order.id,
            accepted_value=accepted_value,
            refund_value=order.total - accepted_value,
            created_by=buyer.admin.id,
            created_at=clock.utcnow(),
            lines=receipt_lines,
        )
    )
    session.commit()
    return order


def invoice_lines(order: PurchaseOrder, *quantities_and_prices, tax_rate: str = "19") -> list[dict]:
    """Lines for each order line in turn: (quantity, unit price), None to leave a line out."""
    return [
        {"order_line_no": line.line_no, "quantity": Decimal(q), "unit_price": Decimal(p), "tax_rate": Decimal(tax_rate)}
        for line, pair in zip(order.lines, quantities_and_prices, strict=False)
        if pair is not None
        for q, p in [pair]
    ]


def invoice(session: Session, supplier: Member, order: PurchaseOrder, *quantities_and_prices, number: str | None = None, tax_rate: str = "19") -> Invoice:
    """The supplier's invoice of the order (by default everything accepted, at the order's prices)."""
    pairs = quantities_and_prices or (("10", "2.50"), ("3", "12.125"))
    data = {
        "order_id": order.id,
        "number": number or f"INV-{next(_numbers):05d}",
        "issue_date": date.today(),
        "lines": invoice_lines(order, *pairs, tax_rate=tax_rate),
    }
    return invoices.create_invoice(session, supplier.principal, data)
