"""Settlement of an order's escrow: from the buyer's receipt to the release of the escrow,
and the order's closing once the chain confirms it.

- the buyer confirms receipt line by line with the accepted value: all accepted, the
  payment is released at once; anything rejected, the supplier accepts the receipt
  (releasing the accepted value and refunding the rest) or disputes it;
- a buyer silent for the window after delivery, or a supplier silent after a partial
  receipt, lets the escrow be released (the worker does it: `release_overdue`);
- the order closes when the chain confirms the escrow's release or resolution; the payee
  and the buyer then withdraw what the escrow credited them.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from concord import clock, policy, wiring
from concord.audit.service import Action, record
from concord.db import commit_or_conflict, database, get_or_raise, locked
from concord.disputes import service as disputes
from concord.errors import DomainError, ValidationFailed
from concord.ledger import escrow, escrow_state
from concord.logistics.service import shipments_of, shipped_quantities, step_lines_by_id
from concord.orders import lifecycle
from concord.orders.lifecycle import RELEASE_MARGIN, dispute_window
from concord.orders.models import (
    OrderLine,
    OrderState,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
    Settlement,
)
from concord.orders.service import QUANTITY_STEP, audit_step, check, line_value, tell
from concord.policy import Principal
from concord.tenancy import service as tenancy

#: A release the chain refused is tried again after this long, at most this many times.
RELEASE_RETRY = timedelta(hours=1)
MAX_RELEASE_ATTEMPTS = 3


def _readable_quantity(value: Any) -> Decimal | None:
    """A quantity as the schema loads it (finite, within its bounds), or None."""
    return value if isinstance(value, Decimal) and value.is_finite() and value >= 0 else None


def receipt_mistakes(session: Session, order: PurchaseOrder, data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The receipt's mistakes the schema cannot see: lines not shipped or answered twice,
    accepted and rejected quantities not adding up to what was shipped, rejections without a
    reason, shipped lines left unanswered. `data` is what the schema loaded or, `partial`, the
    part of it it could read (lines by their position; a field missing there could not be
    read): what could not be read is passed over, so that a form with other mistakes is told
    about these in the same pass."""
    shipped = shipped_quantities(session, order.id)
    lines_by_no: dict[int, OrderLine] = {line.line_no: line for line in order.lines if shipped.get(line.id)}
    answered: set[int] = set()
    line_errors: dict[int, Any] = {}
    every_line_read = True
    items = data.get("lines")
    for index, answer in enumerate(items if isinstance(items, list) else []):
        line_no = answer.get("line_no") if isinstance(answer, dict) else None
        if not isinstance(line_no, int) or isinstance(line_no, bool):
            every_line_read = False
            continue
        line = lines_by_no.get(line_no)
        if line is None:
            line_errors[index] = {"line_no": [f"Lines shipped on this order: {sorted(lines_by_no)}."]}
            continue
        if line_no in answered:
            line_errors[index] = {"line_no": ["Answer each line once."]}
            continue
        answered.add(line_no)
        accepted = _readable_quantity(answer.get("accepted_quantity"))
        rejected = _readable_quantity(answer.get("rejected_quantity", None if partial else Decimal(0)))
        problems: dict[str, list[str]] = {}
        if accepted is not None and rejected is not None and accepted + rejected != shipped[line.id]:
            problems["accepted_quantity"] = [
                f"Accepted and rejected together must be the shipped {shipped[line.id]} (count missing goods as rejected, with a reason)."
            ]
        if rejected is not None and rejected > 0 and ("rejection_reason" in answer or not partial) and not (answer["rejection_reason"] or "").strip():
            problems["rejection_reason"] = ["Say why the goods are rejected."]
        if problems:
            line_errors[index] = problems
    errors: dict[str, Any] = {"lines": line_errors} if line_errors else {}
    missing = sorted(lines_by_no.keys() - answered)
    if missing and every_line_read and not errors:
        errors["lines"] = [f"Answer every shipped line (missing: {missing})."]
    return errors


def receipt_form_mistakes(session: Session, principal: Principal, order_id: uuid.UUID, readable: dict[str, Any]) -> dict[str, Any]:
    """`receipt_mistakes` of what the schema could read of a refused receipt, when the
    principal may receive the order now; {} otherwise (the refusal is told when the request
    is taken)."""
    try:
        order = policy.get_visible(session, PurchaseOrder, order_id, principal)
        check(session, order, principal, "receive")
    except DomainError:
        return {}
    return receipt_mistakes(session, order, readable, partial=True)


def create_receipt(session: Session, principal: Principal, order_id: uuid.UUID, data: dict[str, Any]) -> Receipt:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "receive")
    errors = receipt_mistakes(session, order, data)
    if errors:
        raise ValidationFailed(errors)
    shipped = shipped_quantities(session, order.id)
    lines_by_no: dict[int, OrderLine] = {line.line_no: line for line in order.lines if shipped.get(line.id)}
    answers: dict[int, dict[str, Any]] = {answer["line_no"]: answer for answer in data["lines"]}

    receipt_lines = []
    for line_no, answer in sorted(answers.items()):
        line = lines_by_no[line_no]
        accepted = answer["accepted_quantity"].quantize(QUANTITY_STEP)
        receipt_lines.append(
            ReceiptLine(
                order_line_id=line.id,
                line_no=line_no,
                shipped_quantity=shipped[line.id],
                accepted_quantity=accepted,
                rejected_quantity=answer.get("rejected_quantity", Decimal(0)).quantize(QUANTITY_STEP),
                rejection_reason=(answer.get("rejection_reason") or "").strip() or None,
                accepted_value=line_value(accepted, line.unit_price),
            )
        )
    accepted_value = sum((rl.accepted_value for rl in receipt_lines), Decimal("0.00"))
    if order.confirmed_total is None:
        raise LookupError(f"Order {order.number} has no confirmed total to receive against")
    now = clock.utcnow()
    receipt = Receipt(
        order_id=order.id,
        accepted_value=accepted_value,
        refund_value=order.confirmed_total - accepted_value,
        note=(data.get("note") or "").strip() or None,
        created_by=principal.user.id,
        created_at=now,
        lines=receipt_lines,
    )
    session.add(receipt)
    in_full = accepted_value == order.confirmed_total
    before = lifecycle.enter(order, "receive", OrderState.RECEIVED if in_full else OrderState.PARTIALLY_RECEIVED)
    if lifecycle.on_open_account(order):
        return _closed_on_receipt(session, principal, order, receipt, before)
    buyer_name = tenancy.legal_name(session, order.buyer_org_id)
    intents = [
        escrow.confirm_receipt(
            session, order, accepted_value, f"{buyer_name} confirms receipt of order {order.number}, accepting {accepted_value} {order.currency}"
        )
    ]
    if in_full:
        order.settlement_queued_at = now
        intents.append(escrow.release(session, order, order.buyer_org_id, f"{buyer_name} releases the escrow of order {order.number}"))
    session.flush()
    audit_step(
        session,
        principal,
        order,
        "receive",
        before,
        receipt_id=str(receipt.id),
        accepted_value=str(accepted_value),
        refund_value=str(receipt.refund_value),
        escrow_transactions=[str(i.uid) for i in intents],
    )
    summary = (
        f"Order {order.number} was received in full; {accepted_value} {order.currency} is released to the supplier."
        if in_full
        else f"Order {order.number} was received with rejections: {accepted_value} of {order.confirmed_total} {order.currency} accepted; the supplier may accept the receipt or dispute it."
    )
    tell(
        session,
        "order.received",
        order,
        {order.buyer_org_id, order.supplier_org_id},
        summary,
        accepted_value=str(accepted_value),
        refund_value=str(receipt.refund_value),
    )
    _tell_receipt(session, principal, order, receipt)
    commit_or_conflict(session, "This order's receipt was just confirmed by another request.")
    return receipt


def _closed_on_receipt(session: Session, principal: Principal, order: PurchaseOrder, receipt: Receipt, before: OrderState) -> Receipt:
    """An open-account order closes on its receipt: nothing is escrowed, the supplier invoices
    what was accepted and the buyer pays the approved invoice (concord.finance)."""
    lifecycle.enter(order, "close_on_receipt")
    order.closed_at = receipt.created_at
    session.flush()
    audit_step(
        session, principal, order, "receive", before, receipt_id=str(receipt.id), accepted_value=str(receipt.accepted_value), settlement=str(order.settlement)
    )
    rejected = f"; {receipt.refund_value} {order.currency} of it was rejected" if receipt.refund_value else ""
    tell(
        session,
        "order.received",
        order,
        {order.buyer_org_id, order.supplier_org_id},
        f"Order {order.number} was received and is closed: {receipt.accepted_value} {order.currency} accepted{rejected}; the supplier invoices it (open account, net {order.net_days} days).",
        accepted_value=str(receipt.accepted_value),
        refund_value=str(receipt.refund_value),
    )
    _tell_receipt(session, principal, order, receipt)
    commit_or_conflict(session, "This order's receipt was just confirmed by another request.")
    return receipt


def _tell_receipt(session: Session, principal: Principal, order: PurchaseOrder, receipt: Receipt) -> None:
    """The receipt as a physical step (its EPCIS events): per order line, the accepted
    quantity counted against its shipped lots in the order they were shipped, the rest of
    each lot rejected."""
    shipments = shipments_of(session, order.id)
    answers = {rl.order_line_id: rl for rl in receipt.lines}
    accepted: list[wiring.StepLine] = []
    rejected: list[wiring.StepLine] = []
    left = {line_id: rl.accepted_quantity for line_id, rl in answers.items()}
    for shipment in shipments:
        for line_id, goods in step_lines_by_id(order, shipment.lines):
            taking = min(goods.quantity, left.get(line_id, Decimal(0)))
            left[line_id] = left.get(line_id, Decimal(0)) - taking
            if taking > 0:
                accepted.append(dataclasses.replace(goods, quantity=taking))
            if goods.quantity - taking > 0:
                rejected.append(dataclasses.replace(goods, quantity=goods.quantity - taking))
    wiring.physical_step(
        session,
        wiring.PhysicalStep(
            kind="received",
            organization_id=principal.org.id,
            user_id=principal.user.id,
            occurred_at=receipt.created_at,
            order_id=order.id,
            supplier_org_id=order.supplier_org_id,
            buyer_org_id=order.buyer_org_id,
            parties=frozenset({order.buyer_org_id, order.supplier_org_id, *(s.carrier_org_id for s in shipments)}),
            lines=tuple(accepted),
            rejected=tuple(rejected),
            ship_to_gln=order.ship_to.get("gln"),
            receipt_id=receipt.id,
        ),
    )


def _queue_release(session: Session, order: PurchaseOrder, organization_id: uuid.UUID, why: str, action: str):
    lifecycle.enter(order, action)  # the state stays until the chain settles the escrow
    order.settlement_queued_at = clock.utcnow()
    return escrow.release(
        session, order, organization_id, f"{tenancy.legal_name(session, organization_id)} releases the escrow of order {order.number} ({why})"
    )


def release(session: Session, principal: Principal, order_id: uuid.UUID) -> PurchaseOrder:
    """The supplier accepts a partial receipt, or either party releases after the window."""
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "release")
    why = (
        "the supplier accepts the receipt"
        if order.state == OrderState.PARTIALLY_RECEIVED and side_is_supplier(order, principal)
        else "the dispute window has passed"
    )
    intent = _queue_release(session, order, principal.org.id, why, "release")
    session.flush()
    audit_step(session, principal, order, "release", order.state, why=why, escrow_transactions=[str(intent.uid)])
    tell(
        session, "escrow.release_requested", order, {order.buyer_org_id, order.supplier_org_id}, f"The escrow of order {order.number} is being released: {why}."
    )
    session.commit()
    return order


def side_is_supplier(order: PurchaseOrder, principal: Principal) -> bool:
    return order.supplier_org_id == principal.org.id


def overdue(session: Session, order: PurchaseOrder) -> str | None:
    """Why anyone may release the order's escrow now, by its confirmed steps on the chain
    (None when not): its window passed after delivery or after a partial receipt, with no
    dispute open on chain. This also frees an order whose receipt or dispute the chain
    refused (sent too late): the escrow stays where the chain left it."""
    steps = escrow_state.progress(session, order.id)
    if steps.in_flight or steps.settled:
        return None  # a step is on its way, or the escrow is settled
    refused = steps.refused_releases
    if len(refused) >= MAX_RELEASE_ATTEMPTS or (refused and clock.utcnow() < refused[-1] + RELEASE_RETRY):
        return None  # the chain refused it: try again later, and at most a few times (failed_steps shows it)
    if steps.last_step in (None, escrow.Step.OPEN_DISPUTE) or steps.last_step_at is None:
        return None
    if clock.utcnow() < steps.last_step_at + dispute_window(session, order) + RELEASE_MARGIN:
        return None
    return "the buyer stayed silent after delivery" if steps.last_step == escrow.Step.ATTEST_DELIVERY else "the supplier did not answer the partial receipt"


def release_overdue(app: Flask) -> int:
    """Release every escrow whose window passed in silence (sent by the operator's key: the
    escrow lets any member release once the window is over). Returns how many were queued."""
    queued = 0
    with app.app_context(), database(app).sessionmaker() as session:
        shortest_window = timedelta(seconds=3600)  # DeliveryEscrow.MIN_DISPUTE_WINDOW
        candidates = (
            session.execute(
                sa.select(PurchaseOrder.id).where(
                    PurchaseOrder.state.in_((OrderState.DELIVERED, OrderState.PARTIALLY_RECEIVED, OrderState.RECEIVED, OrderState.DISPUTED)),
                    PurchaseOrder.settlement == Settlement.ESCROW,
                    PurchaseOrder.delivered_at <= clock.utcnow() - shortest_window,
                )
            )
            .scalars()
            .all()
        )
        operator_id = tenancy.operator_id(session)
        for order_id in candidates:
            if overdue(session, get_or_raise(session, PurchaseOrder, order_id)) is None:
                session.rollback()  # nothing to do: no row lock taken
                continue
            order = locked(session, PurchaseOrder, order_id)
            why = overdue(session, order)  # again, under the lock
            if why is None:
                session.rollback()
                continue
            intent = _queue_release(session, order, operator_id, why, "release_overdue")
            session.flush()
            record(
                session,
                Action.RELEASE_REQUESTED,
                actor=None,
                subject_org_id=order.buyer_org_id,
                related_org_id=order.supplier_org_id,
                object_type="order",
                object_id=order.id,
                before={"state": str(order.state)},
                after={"state": str(order.state)},
                why=why,
                escrow_transactions=[str(intent.uid)],
            )
            tell(
                session,
                "escrow.release_requested",
                order,
                {order.buyer_org_id, order.supplier_org_id},
                f"The escrow of order {order.number} is being released: {why}.",
            )
            session.commit()
            queued += 1
    return queued


def receipt_of(session: Session, order_id: uuid.UUID) -> Receipt | None:
    return session.execute(sa.select(Receipt).where(Receipt.order_id == order_id)).scalar_one_or_none()


def close_on_settlement(session: Session, order_id: uuid.UUID, intent) -> None:
    """The escrow's release or resolution is mined: the order closes, and the parties
    withdraw what the escrow credited them (wired by concord.bootstrap)."""
    order = session.execute(sa.select(PurchaseOrder).where(PurchaseOrder.id == order_id).with_for_update()).scalar_one_or_none()
    if order is None or order.state == OrderState.CLOSED:
        return
    split = escrow_state.settled_split(session, order, settled_by=intent)
    if split is None:
        raise LookupError(f"Order {order.number}: no settling step of its escrow")
    to_supplier, to_buyer = split
    before, order.closed_at = lifecycle.enter(order, "settle"), clock.utcnow()
    disputes.close_unresolved(session, order, to_supplier, to_buyer)
    withdrawals = [
        escrow.withdraw(session, order, organization_id, after=intent)
        for organization_id, amount in ((order.supplier_org_id, to_supplier), (order.buyer_org_id, to_buyer))
        if amount > 0
    ]
    session.flush()
    record(
        session,
        Action.ORDER_CLOSED,
        actor=None,
        subject_org_id=order.buyer_org_id,
        related_org_id=order.supplier_org_id,
        object_type="order",
        object_id=order.id,
        before={"state": str(before)},
        after={"state": str(order.state), "paid_to_supplier": str(to_supplier), "refunded_to_buyer": str(to_buyer)},
        settled_by=intent.tx_hash,
        withdrawals=[str(w.uid) for w in withdrawals if w is not None],
    )
    tell(
        session,
        "escrow.released",
        order,
        {order.buyer_org_id, order.supplier_org_id},
        f"Order {order.number} is closed: {to_supplier} {order.currency} paid to the supplier, {to_buyer} refunded to the buyer.",
        paid_to_supplier=str(to_supplier),
        refunded_to_buyer=str(to_buyer),
        tx_hash=intent.tx_hash,
    )
