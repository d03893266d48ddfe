"""Invoices: a supplier invoices what the buyer accepted of an order, and each line is
matched three ways (order, receipt, invoice) within the partnership's tolerances.

- `proposal`: the lines of the receipt's accepted quantities not yet invoiced, at the unit
  prices of the order's current revision (what the portal pre-fills);
- `create_invoice`: the supplier's lines (from the proposal, part of it, or its own), each
  with its tax rate; the number is unique per supplier; the due date is the issue date plus
  the order's net days; the match decides the state (matched or exception);
- the buyer approves an exception (or, on open account, a matched invoice: an approved
  payable) or rejects the invoice; the supplier cancels it before any receivable or payment
  (`approve`, `reject`, `cancel`); credit notes for rejected or returned goods; the payment
  recorded when it is mined (`mark_paid`); overdue payables told once (`notify_overdue`).

Who may take which step in which state is the table of concord.finance.lifecycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import database, locked
from concord.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from concord.finance import lifecycle, matching, terms
from concord.finance.matching import HUNDRED, OrderSide, Tolerances, money
from concord.finance.models import Invoice, InvoiceKind, InvoiceLine, InvoiceState, MatchStatus, Settlement
from concord.finance.queries import credit_notes_of, get_visible, is_overdue, left_to_credit, order_sides, overdue_condition, receipt_of
from concord.notifications.service import notify
from concord.orders.models import OrderLine, PurchaseOrder, Receipt
from concord.orders.service import MAX_AMOUNT, PRICE_STEP, QUANTITY_STEP, line_value
from concord.policy import Principal

RATE_STEP = Decimal("0.0001")
ZERO = Decimal("0.00")
NUMBER_TAKEN = "Your organization already issued an invoice or credit note with this number."
#: Invoice dates may be a day ahead of the server's (time zones).
DATE_SKEW = timedelta(days=1)
REASON_MAX = 500
CONSIGNED = "goods on consignment are invoiced by self-billing as they are consumed"


# -- reading an order for invoicing -----------------------------------------------------------


def describe(line: OrderLine) -> str:
    return f"{line.sku} {line.product_name}"[:200]


@dataclass(frozen=True)
class ProposedLine:
    order_line_no: int
    description: str
    quantity: Decimal
    unit_of_measure: str
    unit_price: Decimal


def _invoiceable_order(session: Session, principal: Principal, order_id: uuid.UUID, *, for_update: bool = False) -> tuple[PurchaseOrder, Receipt]:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=for_update)
    if order.supplier_org_id != principal.org.id:
        raise Forbidden("Only the order's supplier invoices it.")
    if order.consignment:
        raise Conflict(f"Order {order.number}: {CONSIGNED}.", current_state=str(order.state))
    receipt = receipt_of(session, order.id)
    if receipt is None:
        raise Conflict(
            f"Order {order.number} has no goods receipt yet: it is invoiced for what the buyer accepted, once the buyer confirms receipt.",
            current_state=str(order.state),
        )
    return order, receipt


@dataclass(frozen=True)
class Proposal:
    order: PurchaseOrder
    lines: list[ProposedLine]
    why_not: str | None  # why nothing can be invoiced (no receipt yet, everything invoiced)


def proposal(session: Session, principal: Principal, order_id: uuid.UUID) -> Proposal:
    """The lines the supplier may invoice: per order line, the receipt's accepted quantity
    less what standing invoices already invoice, at the current revision's unit price. Whoever
    reads the order reads it (the buyer sees what is still to be invoiced)."""
    order = policy.get_visible(session, PurchaseOrder, order_id, principal)
    if order.consignment:
        return Proposal(order, [], f"Order {order.number}: {CONSIGNED}.")
    receipt = receipt_of(session, order.id)
    if receipt is None:
        return Proposal(order, [], f"Order {order.number} has no goods receipt yet: it is invoiced for what the buyer accepts.")
    sides = order_sides(session, order, receipt)
    lines = []
    for line in order.lines:
        side = sides[line.line_no]
        left = side.accepted_quantity - side.previously_invoiced
        if left > 0:
            lines.append(ProposedLine(line.line_no, describe(line), left, line.unit_of_measure, line.unit_price))
    return Proposal(order, lines, None if lines else "Everything the buyer accepted of this order is invoiced already.")


# -- entering an invoice ---------------------------------------------------------------------


def line_amounts(quantity: Decimal, unit_price: Decimal, tax_rate: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(net, tax, total) of a line, each rounded half to even to the cent."""
    net = line_value(quantity, unit_price)
    tax = money(net * tax_rate / HUNDRED)
    return net, tax, net + tax


def _issue_date_errors(issue_date: date) -> list[str]:
    latest = clock.utcnow().date() + DATE_SKEW
    return [f"An invoice is dated at the latest {latest.isoformat()}."] if issue_date > latest else []


def number_taken(session: Session, supplier_org_id: uuid.UUID, number: str) -> bool:
    query = sa.select(Invoice.id).where(Invoice.supplier_org_id == supplier_org_id, Invoice.number == number)
    return session.execute(query).first() is not None


def numbered(session: Session, step: Callable[[], None]) -> None:
    """Write (flush or commit) a numbered invoice or credit note: a concurrent one that took
    the same number first is the number field's error (PostgreSQL tells it at the insert,
    SQLite at the commit)."""
    try:
        step()
    except IntegrityError as error:
        session.rollback()
        if "number" in str(error.orig):
            raise ValidationFailed({"number": [NUMBER_TAKEN]}) from None
        raise


def _total_errors(lines: list[InvoiceLine], what: str) -> dict[str, Any]:
    too_large = {
        i: {"quantity": [f"Quantity times unit price makes {line.total}; a line is worth at most {MAX_AMOUNT}."]}
        for i, line in enumerate(lines)
        if line.total > MAX_AMOUNT
    }
    if too_large:
        return {"lines": too_large}
    total = sum((line.total for line in lines), ZERO)
    if total > MAX_AMOUNT:
        return {"lines": [f"The {what} would be worth {total}; at most {MAX_AMOUNT}."]}
    if total < matching.CENT:
        return {"lines": [f"The {what} would be worth {total}: it must ask for at least {matching.CENT}."]}
    return {}


def snapshot(invoice: Invoice) -> dict[str, Any]:
    return {
        "kind": str(invoice.kind),
        "number": invoice.number,
        "state": str(invoice.state),
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": invoice.currency,
        "subtotal": str(invoice.subtotal),
        "tax_total": str(invoice.tax_total),
        "total": str(invoice.total),
        "credited_total": str(invoice.credited_total),
        "lines": [
            {
                "line_no": line.line_no,
                "order_line_id": None if line.order_line_id is None else str(line.order_line_id),
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "tax_rate": str(line.tax_rate),
                "total": str(line.total),
                "match": str(line.match_status),
            }
            for line in invoice.lines
        ],
    }


def tell(session: Session, event: str, invoice: Invoice, summary: str, **data: Any) -> None:
    """Notify both parties of an invoice step (in-app, and their webhooks), in the caller's transaction."""
    notify(
        session,
        event,
        org_ids=[invoice.buyer_org_id, invoice.supplier_org_id],
        object_type="invoice",
        object_id=invoice.id,
        summary=summary,
        data={
            "invoice_id": str(invoice.id),
            "invoice_number": invoice.number,
            "kind": str(invoice.kind),
            "order_id": str(invoice.order_id),
            "state": str(invoice.state),
            "total": str(invoice.total),
            "currency": invoice.currency,
            **data,
        },
    )


def audit(session: Session, action: Action, invoice: Invoice, principal: Principal | None, before: dict[str, Any] | None, **details: Any) -> None:
    record(
        session,
        action,
        actor=principal.actor if principal else None,
        subject_org_id=invoice.supplier_org_id,
        related_org_id=invoice.buyer_org_id,
        object_type="invoice",
        object_id=invoice.id,
        before=before,
        after=snapshot(invoice),
        **details,
    )


def _build_lines(
    order: PurchaseOrder, sides: dict[int, OrderSide], tolerances: Tolerances, lines: list[dict[str, Any]], errors: dict[str, Any]
) -> list[InvoiceLine]:
    by_no = {line.line_no: line for line in order.lines}
    invoiced_here: dict[int, Decimal] = {}
    built: list[InvoiceLine] = []
    line_errors: dict[int, Any] = {}
    for index, data in enumerate(lines):
        order_line = by_no.get(data["order_line_no"]) if data.get("order_line_no") is not None else None
        problems: dict[str, list[str]] = {}
        if data.get("order_line_no") is not None and order_line is None:
            problems["order_line_no"] = [f"Lines of order {order.number}: {sorted(by_no)}."]
        description = (data.get("description") or "").strip() or (describe(order_line) if order_line else "")
        if not description and data.get("order_line_no") is None:
            problems["description"] = ["Describe a line that names no line of the order."]
        if problems:
            line_errors[index] = problems
            continue
        quantity = data["quantity"].quantize(QUANTITY_STEP)
        unit_price = data["unit_price"].quantize(PRICE_STEP)
        tax_rate = data["tax_rate"].quantize(RATE_STEP)
        net, tax, total = line_amounts(quantity, unit_price, tax_rate)
        side = None
        if order_line is not None:
            base = sides[order_line.line_no]
            earlier = base.previously_invoiced + invoiced_here.get(order_line.line_no, Decimal(0))
            side = OrderSide(base.line_no, base.unit_price, base.accepted_quantity, earlier)
            invoiced_here[order_line.line_no] = invoiced_here.get(order_line.line_no, Decimal(0)) + quantity
        verdict = matching.match_line(quantity, unit_price, net, side, tolerances)
        built.append(
            InvoiceLine(
                line_no=index + 1,
                order_line_id=order_line.id if order_line else None,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                tax_rate=tax_rate,
                net=net,
                tax=tax,
                total=total,
                match_status=verdict.status,
                match_reason=None if verdict.reason is None else verdict.reason[:REASON_MAX],
                ordered_unit_price=side.unit_price if side else None,
                accepted_quantity=side.accepted_quantity if side else None,
                previously_invoiced=side.previously_invoiced if side else None,
            )
        )
    if line_errors:
        errors["lines"] = line_errors
    return built


def create_invoice(session: Session, principal: Principal, data: dict[str, Any]) -> Invoice:
    """The supplier's invoice for a received order: its lines matched, its state from the match."""
    policy.require_writer(principal)
    order, receipt = _invoiceable_order(session, principal, data["order_id"], for_update=True)  # one invoice of the order at a time
    number = data["number"].strip()
    errors: dict[str, Any] = {}
    if not number:
        errors["number"] = ["Give the invoice's number."]
    elif number_taken(session, principal.org.id, number):
        errors["number"] = [NUMBER_TAKEN]
    if date_errors := _issue_date_errors(data["issue_date"]):
        errors["issue_date"] = date_errors
    applying = terms.applying(session, order.buyer_org_id, order.supplier_org_id)
    lines = _build_lines(order, order_sides(session, order, receipt), applying.tolerances, data["lines"], errors)
    if not errors:
        errors.update(_total_errors(lines, "invoice"))
    if errors:
        raise ValidationFailed(errors)
    status = matching.invoice_status([matching.Verdict(line.match_status, line.match_reason) for line in lines])
    net_days = order.net_days or 0
    invoice = Invoice(
        kind=InvoiceKind.INVOICE,
        number=number,
        supplier_org_id=order.supplier_org_id,
        buyer_org_id=order.buyer_org_id,
        order_id=order.id,
        currency=order.currency,
        issue_date=data["issue_date"],
        due_date=data["issue_date"] + timedelta(days=net_days),
        settlement=order.settlement,
        net_days=net_days,
        subtotal=sum((line.net for line in lines), ZERO),
        tax_total=sum((line.tax for line in lines), ZERO),
        total=sum((line.total for line in lines), ZERO),
        credited_total=ZERO,
        state=InvoiceState.MATCHED if status == MatchStatus.MATCHED else InvoiceState.EXCEPTION,
        note=(data.get("note") or "").strip() or None,
        created_by=principal.user.id,
        lines=lines,
    )
    session.add(invoice)
    numbered(session, session.flush)
    audit(session, Action.INVOICE_CREATED, invoice, principal, None, order_id=str(order.id), tolerances=terms.snapshot_of(applying))
    exceptions = [line for line in lines if line.match_status == MatchStatus.EXCEPTION]
    tell(
        session,
        "invoice.created",
        invoice,
        f"{principal.org.legal_name} invoiced order {order.number}: invoice {invoice.number}, {invoice.total} {invoice.currency}, due {invoice.due_date.isoformat()}.",
    )
    if exceptions:
        tell(
            session,
            "invoice.exception",
            invoice,
            f"Invoice {invoice.number} does not match order {order.number} on {len(exceptions)} line(s): the buyer approves the exception or rejects the invoice.",
            exceptions=[{"line_no": line.line_no, "reason": line.match_reason} for line in exceptions],
        )
    else:
        settles = "the buyer approves it as a payable" if order.settlement == Settlement.OPEN_ACCOUNT else "the escrow pays it"
        tell(session, "invoice.matched", invoice, f"Invoice {invoice.number} matches order {order.number} and its receipt: {settles}.")
    _paid_if_escrow_released(session, order)
    numbered(session, session.commit)
    return invoice


def invoice_from_receipt(session: Session, principal: Principal, order_id: uuid.UUID, data: dict[str, Any]) -> Invoice:
    """An invoice of everything the proposal offers (the receipt's accepted quantities not yet
    invoiced, at the order's prices), every line at `data["tax_rate"]`."""
    _invoiceable_order(session, principal, order_id)
    offered = proposal(session, principal, order_id)
    if offered.why_not is not None:
        raise Conflict(offered.why_not, current_state=str(offered.order.state))
    lines = [
        {"order_line_no": p.order_line_no, "description": p.description, "quantity": p.quantity, "unit_price": p.unit_price, "tax_rate": data["tax_rate"]}
        for p in offered.lines
    ]
    return create_invoice(session, principal, {**data, "order_id": order_id, "lines": lines})


# -- the buyer's decision, the supplier's cancellation ----------------------------------------

_DECISIONS = {
    "approve": (Action.INVOICE_APPROVED, "invoice.approved"),
    "reject": (Action.INVOICE_REJECTED, "invoice.rejected"),
    "cancel": (Action.INVOICE_CANCELLED, "invoice.cancelled"),
}


def _decide(session: Session, principal: Principal, invoice_id: uuid.UUID, action: str, reason: str | None) -> Invoice:
    invoice = get_visible(session, principal, invoice_id, for_update=True)
    lifecycle.check(session, invoice, principal, action)
    before = snapshot(invoice)
    state_before = lifecycle.enter(invoice, action)
    invoice.decided_by = principal.user.id
    invoice.decided_at = clock.utcnow()
    invoice.decision_reason = reason
    audit_action, event = _DECISIONS[action]
    audit(session, audit_action, invoice, principal, before, reason=reason)
    what = {
        "approve": "approved" + (" as a payable due " + invoice.due_date.isoformat() if invoice.settlement == Settlement.OPEN_ACCOUNT else ""),
        "reject": f"rejected: {reason}",
        "cancel": "cancelled" + (f": {reason}" if reason else ""),
    }[action]
    tell(
        session,
        event,
        invoice,
        f"{principal.org.legal_name} {what} (invoice {invoice.number}, {invoice.total} {invoice.currency}).",
        state_before=str(state_before),
        reason=reason,
    )
    if action == "approve":
        _paid_if_escrow_released(session, session.get_one(PurchaseOrder, invoice.order_id))
    session.commit()
    return invoice


def _paid_if_escrow_released(session: Session, order: PurchaseOrder) -> None:
    """An escrowed invoice that becomes payable after the escrow released is paid at once,
    from what the escrow paid the supplier."""
    from concord.finance import escrow_payments  # it marks invoices paid through this module

    escrow_payments.settle_from_escrow(session, order)


def approve(session: Session, principal: Principal, invoice_id: uuid.UUID, note: str | None = None) -> Invoice:
    """The buyer approves an exception, or (open account) a matched invoice: an approved payable."""
    return _decide(session, principal, invoice_id, "approve", _reason(note))


def reject(session: Session, principal: Principal, invoice_id: uuid.UUID, reason: str) -> Invoice:
    """The buyer rejects the invoice, saying why (its quantities may be invoiced again)."""
    return _decide(session, principal, invoice_id, "reject", check_reason(reason))


def cancel(session: Session, principal: Principal, invoice_id: uuid.UUID, reason: str | None = None) -> Invoice:
    """The supplier withdraws its invoice before any receivable or payment."""
    return _decide(session, principal, invoice_id, "cancel", _reason(reason))


def _reason(value: str | None) -> str | None:
    return (value or "").strip()[:REASON_MAX] or None


def check_reason(reason: str | None, field: str = "reason") -> str:
    text = _reason(reason)
    if text is None:
        raise ValidationFailed({field: ["Say why."]})
    return text


# -- credit notes ----------------------------------------------------------------------------


def create_credit_note(session: Session, principal: Principal, invoice_id: uuid.UUID, data: dict[str, Any]) -> Invoice:
    """The supplier credits part of an invoice (rejected or returned goods): each line credits
    a quantity of one of the invoice's lines, at its unit price and tax rate, never more than
    is left to credit of it; the invoice's `credited_total` rises by the note's total."""
    invoice = get_visible(session, principal, invoice_id, for_update=True)
    lifecycle.check(session, invoice, principal, "credit")
    errors: dict[str, Any] = {}
    number = data["number"].strip()
    if not number:
        errors["number"] = ["Give the credit note's number."]
    elif number_taken(session, invoice.supplier_org_id, number):
        errors["number"] = [NUMBER_TAKEN]
    if date_errors := _issue_date_errors(data["issue_date"]):
        errors["issue_date"] = date_errors
    elif data["issue_date"] < invoice.issue_date:
        errors["issue_date"] = [f"A credit note is dated on or after the invoice it credits ({invoice.issue_date.isoformat()})."]
    reason = _reason(data.get("reason"))
    if reason is None:
        errors["reason"] = ["Say what the credit is for (rejected or returned goods, ...)."]
    lines_by_no = {line.line_no: line for line in invoice.lines}
    left = left_to_credit(session, invoice)
    asked: dict[int, Decimal] = {}
    built: list[InvoiceLine] = []
    line_errors: dict[int, Any] = {}
    for index, item in enumerate(data["lines"]):
        line = lines_by_no.get(item["invoice_line_no"])
        if line is None:
            line_errors[index] = {"invoice_line_no": [f"Lines of invoice {invoice.number}: {sorted(lines_by_no)}."]}
            continue
        quantity = item["quantity"].quantize(QUANTITY_STEP)
        asked[line.line_no] = asked.get(line.line_no, Decimal(0)) + quantity
        if asked[line.line_no] > left[line.line_no]:
            line_errors[index] = {"quantity": [f"At most {left[line.line_no]} of line {line.line_no} is left to credit."]}
            continue
        net, tax, total = line_amounts(quantity, line.unit_price, line.tax_rate)
        built.append(
            InvoiceLine(
                line_no=index + 1,
                order_line_id=line.order_line_id,
                credited_line_id=line.id,
                description=line.description,
                quantity=quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                net=net,
                tax=tax,
                total=total,
                match_status=MatchStatus.MATCHED,
                match_reason=None,
            )
        )
    if line_errors:
        errors["lines"] = line_errors
    note_total = sum((line.total for line in built), ZERO)
    if not errors and note_total > invoice.total - invoice.credited_total:
        errors["lines"] = [f"The credit note would credit {note_total}; {invoice.total - invoice.credited_total} {invoice.currency} is left to credit."]
    if not errors:
        errors.update(_total_errors(built, "credit note"))
    if errors:
        raise ValidationFailed(errors)
    issue_date: date = data["issue_date"]
    note = Invoice(
        kind=InvoiceKind.CREDIT_NOTE,
        number=number,
        supplier_org_id=invoice.supplier_org_id,
        buyer_org_id=invoice.buyer_org_id,
        order_id=invoice.order_id,
        credited_invoice_id=invoice.id,
        currency=invoice.currency,
        issue_date=issue_date,
        due_date=issue_date,
        settlement=invoice.settlement,
        net_days=0,
        subtotal=sum((line.net for line in built), ZERO),
        tax_total=sum((line.tax for line in built), ZERO),
        total=note_total,
        credited_total=ZERO,
        state=InvoiceState.APPROVED,  # a credit note asks nothing: there is nothing to approve
        note=reason,
        created_by=principal.user.id,
        lines=built,
    )
    session.add(note)
    before = snapshot(invoice)
    lifecycle.enter(invoice, "credit")
    invoice.credited_total += note_total
    numbered(session, session.flush)
    audit(session, Action.CREDIT_NOTE_CREATED, note, principal, None, credited_invoice_id=str(invoice.id), reason=reason)
    audit(session, Action.CREDIT_NOTE_CREATED, invoice, principal, before, credit_note_id=str(note.id))
    tell(
        session,
        "credit_note.created",
        note,
        f"{principal.org.legal_name} credited {note_total} {invoice.currency} of invoice {invoice.number} (credit note {note.number}): {reason}.",
        credited_invoice_id=str(invoice.id),
        credited_invoice_number=invoice.number,
        left_to_pay=str(invoice.total - invoice.credited_total),
    )
    numbered(session, session.commit)
    return note


# -- payment and overdue payables ------------------------------------------------------------


def mark_paid(session: Session, invoice_id: uuid.UUID, amount: Decimal, when: datetime) -> Invoice:
    """The escrow's release or the buyer's payment of the invoice is mined: it is paid
    (`amount`: what reached the holder). For the financing domain's chain reactions; runs in
    the caller's transaction (the caller commits). Marking a paid invoice again changes nothing."""
    invoice = locked(session, Invoice, invoice_id)
    if invoice.state == InvoiceState.PAID:
        return invoice
    if (invoice.state, "settle") not in lifecycle.TRANSITIONS or invoice.kind != InvoiceKind.INVOICE:
        raise InvalidTransition("invoice", str(invoice.state), "settle", [])
    if amount <= 0 or amount > invoice.total - invoice.credited_total:
        raise ValueError(f"Invoice {invoice.number}: a payment of {amount} is not within (0, {invoice.total - invoice.credited_total}]")
    before = snapshot(invoice)
    lifecycle.enter(invoice, "settle")
    invoice.paid_amount = amount
    invoice.paid_at = when
    session.flush()
    audit(session, Action.INVOICE_PAID, invoice, None, before, paid_amount=str(amount), paid_at=when.isoformat())
    late = f", {(when.date() - invoice.due_date).days} days after its due date" if when.date() > invoice.due_date else ""
    tell(
        session,
        "invoice.paid",
        invoice,
        f"Invoice {invoice.number} is paid: {amount} {invoice.currency}{late}.",
        paid_amount=str(amount),
        paid_at=when.isoformat(),
    )
    return invoice


def notify_overdue(app: Flask) -> int:
    """Tell both parties, once, of each approved open-account invoice past its due date
    unpaid (a round job of the ledger worker). Returns how many were told."""
    told = 0
    with app.app_context(), database(app).sessionmaker() as session:
        today = clock.utcnow().date()
        due = session.execute(sa.select(Invoice.id).where(overdue_condition(today), Invoice.overdue_notified_at.is_(None))).scalars().all()
        for invoice_id in due:
            invoice = locked(session, Invoice, invoice_id)
            if invoice.overdue_notified_at is not None or not is_overdue(invoice, today):
                session.rollback()
                continue
            invoice.overdue_notified_at = clock.utcnow()
            days = (today - invoice.due_date).days
            audit(session, Action.INVOICE_OVERDUE, invoice, None, None, due_date=invoice.due_date.isoformat(), days_late=days)
            tell(
                session,
                "invoice.overdue",
                invoice,
                f"Invoice {invoice.number} ({invoice.total - invoice.credited_total} {invoice.currency}) was due {invoice.due_date.isoformat()} and is unpaid.",
                due_date=invoice.due_date.isoformat(),
                days_late=days,
            )
            session.commit()
            told += 1
    return told


__all__ = ["credit_notes_of", "get_visible"]
