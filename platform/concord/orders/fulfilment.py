"""Fulfilment of an acknowledged order, each step checked here, audited, and mirrored on
the order's escrow by the key of the party who took it:

- the supplier ships all or part of the confirmed lines (lots and quantities) with a
  carrier partner; the first shipment names the escrow's carrier (`assignCarrier`);
- the carrier, and only it, records milestones and the proof of delivery; each proof is
  anchored on ProvenanceAnchor, and the one that completes the order is attested on the
  escrow (`attestDelivery`), which opens the buyer's dispute window;
- the buyer confirms receipt line by line (`confirmReceipt` with the accepted value): all
  accepted, the payment is released at once; anything rejected, the supplier accepts the
  receipt (releasing the accepted value and refunding the rest) or disputes it;
- a buyer silent for the window after delivery, or a supplier silent after a partial
  receipt, lets the escrow be released (the worker does it: `release_overdue`);
- either party may open a dispute; the arbiter (the operator) resolves it with a split.

The order closes when the chain confirms the escrow's release or resolution; the payee and
the buyer then withdraw what the escrow credited them.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import commit_or_conflict, database
from concord.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from concord.ledger import outbox, runtime
from concord.ledger import service as ledger
from concord.ledger.models import OPEN_STATES, ChainIntent, IntentState
from concord.orders.models import (
    Dispute,
    DisputeState,
    Milestone,
    OrderLine,
    OrderState,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
    Shipment,
    ShipmentLine,
    ShipmentState,
)
from concord.orders.service import CENT, QUANTITY_STEP, audit_step, check, line_value, tell
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, Organization, OrgStatus, Relation

log = logging.getLogger(__name__)
#: How far ahead of the server's clock a reported time may be (clocks drift).
CLOCK_SKEW = timedelta(minutes=5)
#: The buyer's last moment to confirm or dispute ends this much before the escrow's window
#: (at most a quarter of the window): a step recorded in time must still be mined in time.
BUYER_MARGIN = timedelta(minutes=30)
#: Release waits this long past the window's end as the worker saw it (node clock skew).
RELEASE_MARGIN = timedelta(minutes=2)
#: A release the chain refused is tried again after this long, at most this many times.
RELEASE_RETRY = timedelta(hours=1)
MAX_RELEASE_ATTEMPTS = 3


def dispute_window(session: Session, order: PurchaseOrder) -> timedelta:
    """The window the order's escrow was funded with (the contract fixes it per escrow);
    the configured one until the funding is indexed. Looked up once per loaded order."""
    window = getattr(order, "_escrow_window", None)
    if window is None:
        funded = ledger.escrow_event(session, order.id, "EscrowFunded")
        window = timedelta(seconds=int(funded.args["disputeWindow"])) if funded is not None else timedelta(hours=int(current_app.config["DISPUTE_WINDOW_HOURS"]))
        order._escrow_window = window
    return window


def buyer_deadline(session: Session, order: PurchaseOrder) -> datetime:
    """Until when the buyer may confirm receipt or dispute a delivered order."""
    window = dispute_window(session, order)
    return order.delivered_at + window - min(BUYER_MARGIN, window / 4)


def _window_end(session: Session, order: PurchaseOrder, function: str) -> datetime | None:
    """When the escrow's window after its step `function` is over for certain: counted from
    the worker's confirmation, which comes after the block (None: not on the chain yet)."""
    confirmed = ledger.escrow_step_confirmed_at(session, order.id, function)
    return None if confirmed is None else confirmed + dispute_window(session, order) + RELEASE_MARGIN


def not_yet(session: Session, order: PurchaseOrder, side: str, action: str) -> str | None:
    """Why the escrow's timing does not allow `action` now (None when it does)."""
    if order.settlement_queued_at is not None and action in ("receive", "open_dispute", "release"):
        return "its escrow is already being settled"
    now = clock.utcnow()
    if order.state == OrderState.DELIVERED:
        deadline = buyer_deadline(session, order)
        if (action == "receive" or (action == "open_dispute" and side == "buyer")) and now >= deadline:
            return f"the buyer's dispute window closed at {deadline.isoformat()}"
        if action == "release":
            end = _window_end(session, order, "attestDelivery")
            if end is None:
                return "the carrier's proof of delivery is not on the ledger yet"
            if now < end:
                return f"the buyer may confirm receipt or dispute until {end.isoformat()}"
    if order.state == OrderState.PARTIALLY_RECEIVED and action == "release" and side == "buyer":
        end = _window_end(session, order, "confirmReceipt")
        if end is None or now < end:
            return "the supplier may accept the receipt or dispute it first" + (f" (until {end.isoformat()})" if end else "")
    return None


def _locked(session: Session, model: type, object_id: uuid.UUID):
    """The row, locked, and read afresh (an object loaded earlier in this session keeps its
    old values unless told otherwise, which would hide a concurrent change)."""
    return session.execute(
        sa.select(model).where(model.id == object_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def _locked_order(session: Session, order_id: uuid.UUID) -> PurchaseOrder:
    return _locked(session, PurchaseOrder, order_id)


def _org_name(session: Session, organization_id: uuid.UUID) -> str:
    return session.get(Organization, organization_id).legal_name


def _fingerprint(record_: dict[str, Any]) -> str:
    """A record's SHA-256 over its canonical JSON, as the 0x-hex a bytes32 takes."""
    canonical = json.dumps(record_, sort_keys=True, separators=(",", ":"), default=str)
    return "0x" + hashlib.sha256(canonical.encode()).hexdigest()


# -- shipments ------------------------------------------------------------------------------


def shipments_of(session: Session, order_id: uuid.UUID) -> list[Shipment]:
    return list(session.execute(sa.select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.number)).scalars())


def shipped_quantities(session: Session, order_id: uuid.UUID) -> dict[uuid.UUID, Decimal]:
    """Quantity shipped so far per order line."""
    rows = session.execute(
        sa.select(ShipmentLine.order_line_id, sa.func.sum(ShipmentLine.quantity))
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.order_id == order_id)
        .group_by(ShipmentLine.order_line_id)
    ).all()
    return {line_id: Decimal(total) for line_id, total in rows}


def _carrier_errors(session: Session, order: PurchaseOrder, carrier_id: uuid.UUID, earlier: list[Shipment]) -> list[str]:
    carrier = session.get(Organization, carrier_id)
    if (
        carrier is None
        or carrier.status != OrgStatus.ACTIVE
        or Capability.CARRIER not in carrier.capabilities
        or not tenancy.are_partners(session, Relation.SHIPPER_CARRIER, order.supplier_org_id, carrier_id)
        or ledger.address_of(session, carrier_id) is None
    ):
        return ["Not an active carrier partner of your organization."]
    arbiter_id = order.arbiter_org_id or session.execute(sa.select(Organization.id).where(Organization.is_operator.is_(True))).scalar_one()
    if carrier_id in (order.buyer_org_id, order.supplier_org_id, arbiter_id):
        # The escrow's separation of duties: no party may prove its own delivery.
        return ["The carrier must be neither the buyer, the supplier nor the arbiter of the order."]
    if earlier and earlier[0].carrier_org_id != carrier_id:
        return [f"The order's escrow names {_org_name(session, earlier[0].carrier_org_id)} as its carrier (the first shipment's); ship every part of this order with it."]
    return []


def create_shipment(session: Session, principal: Principal, order_id: uuid.UUID, data: dict[str, Any]) -> Shipment:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "ship")
    earlier = shipments_of(session, order.id)
    errors: dict[str, Any] = {}
    carrier_errors = _carrier_errors(session, order, data["carrier_id"], earlier)
    if carrier_errors:
        errors["carrier_id"] = carrier_errors
    if data.get("shipped_at") and data["shipped_at"] > clock.utcnow() + CLOCK_SKEW:
        errors["shipped_at"] = ["Cannot be in the future."]
    by_line_no = {line.line_no: line for line in order.lines}
    shipped = shipped_quantities(session, order.id)
    adding: dict[uuid.UUID, Decimal] = {}
    line_errors: dict[int, Any] = {}
    lots_seen: set[tuple[int, str | None]] = set()
    for index, item in enumerate(data["lines"]):
        line = by_line_no.get(item["line_no"])
        lot = (item.get("lot_number") or "").strip() or None
        if line is None:
            line_errors[index] = {"line_no": [f"The order has lines {sorted(by_line_no)}."]}
            continue
        if (line.line_no, lot) in lots_seen:
            line_errors[index] = {"lot_number": ["List each lot of a line once."]}
            continue
        lots_seen.add((line.line_no, lot))
        adding[line.id] = adding.get(line.id, Decimal(0)) + item["quantity"]
        open_quantity = (line.confirmed_quantity or Decimal(0)) - shipped.get(line.id, Decimal(0))
        if adding[line.id] > open_quantity:
            line_errors[index] = {
                "quantity": [f"At most {open_quantity} more of line {line.line_no} can be shipped (confirmed {line.confirmed_quantity}, shipped {shipped.get(line.id, Decimal(0))})."]
            }
    if line_errors:
        errors["lines"] = line_errors
    if errors:
        raise ValidationFailed(errors)

    now = clock.utcnow()
    shipment = Shipment(
        order_id=order.id, number=len(earlier) + 1, buyer_org_id=order.buyer_org_id, supplier_org_id=order.supplier_org_id,
        carrier_org_id=data["carrier_id"], state=ShipmentState.IN_TRANSIT, tracking_number=(data.get("tracking_number") or "").strip() or None,
        shipped_at=data.get("shipped_at") or now, created_by=principal.user.id,
        lines=[
            ShipmentLine(
                position=position, order_line_id=by_line_no[item["line_no"]].id, line_no=item["line_no"],
                lot_number=(item.get("lot_number") or "").strip() or None, quantity=item["quantity"].quantize(QUANTITY_STEP),
            )
            for position, item in enumerate(data["lines"], start=1)
        ],
    )
    session.add(shipment)
    session.flush()
    before = order.state
    complete = all(shipped.get(line.id, Decimal(0)) + adding.get(line.id, Decimal(0)) >= (line.confirmed_quantity or Decimal(0)) for line in order.lines)
    order.state = OrderState.SHIPPED if complete else OrderState.PARTIALLY_SHIPPED
    intents = []
    if not earlier:
        carrier_address = ledger.address_of(session, shipment.carrier_org_id)
        intents.append(
            ledger.escrow_step(
                session, order, order.supplier_org_id, "assignCarrier", [carrier_address],
                f"{_org_name(session, order.supplier_org_id)} names {_org_name(session, shipment.carrier_org_id)} the carrier of order {order.number}",
            )
        )
    session.flush()
    audit_step(
        session, principal, order, "ship", before, shipment_id=str(shipment.id), carrier_org_id=str(shipment.carrier_org_id),
        lines=[{"line_no": sl.line_no, "lot_number": sl.lot_number, "quantity": str(sl.quantity)} for sl in shipment.lines],
        escrow_transactions=[str(i.uid) for i in intents],
    )
    tell(session, "shipment.created", order, {order.buyer_org_id, shipment.carrier_org_id}, f"Shipment {shipment.number} of order {order.number} is on its way.", shipment_id=str(shipment.id))
    session.commit()
    return shipment


def _carrier_shipment(session: Session, principal: Principal, shipment_id: uuid.UUID, doing: str) -> Shipment:
    shipment = policy.get_visible(session, Shipment, shipment_id, principal)
    policy.require_writer(principal)
    if shipment.carrier_org_id != principal.org.id:
        raise Forbidden(f"Only the shipment's carrier may {doing}.")
    return shipment


def record_milestone(session: Session, principal: Principal, shipment_id: uuid.UUID, data: dict[str, Any]) -> Milestone:
    shipment = _carrier_shipment(session, principal, shipment_id, "record its milestones")
    shipment = _locked(session, Shipment, shipment.id)
    if shipment.state != ShipmentState.IN_TRANSIT:
        raise InvalidTransition("shipment", str(shipment.state), "record a milestone on", [])
    if data["occurred_at"] > clock.utcnow() + CLOCK_SKEW:
        raise ValidationFailed({"occurred_at": ["Cannot be in the future."]})
    if data["occurred_at"] < shipment.shipped_at - CLOCK_SKEW:
        raise ValidationFailed({"occurred_at": [f"Cannot be before the shipment left ({shipment.shipped_at.isoformat()})."]})
    milestone = Milestone(
        shipment_id=shipment.id, kind=data["kind"], occurred_at=data["occurred_at"], location=data["location"].strip(),
        note=(data.get("note") or "").strip() or None, recorded_by=principal.user.id, created_at=clock.utcnow(),
    )
    session.add(milestone)
    session.flush()
    record(
        session, Action.MILESTONE_RECORDED, actor=principal.actor, subject_org_id=shipment.buyer_org_id, related_org_id=shipment.supplier_org_id,
        object_type="shipment", object_id=shipment.id, after={"kind": str(milestone.kind), "occurred_at": milestone.occurred_at.isoformat(), "location": milestone.location},
    )
    order = session.get(PurchaseOrder, shipment.order_id)
    tell(session, "shipment.milestone", order, {shipment.buyer_org_id, shipment.supplier_org_id}, f"Shipment {shipment.number} of order {order.number}: {str(milestone.kind).replace('_', ' ')} at {milestone.location}.", shipment_id=str(shipment.id), kind=str(milestone.kind))
    session.commit()
    return milestone


def record_delivery(session: Session, principal: Principal, shipment_id: uuid.UUID, data: dict[str, Any]) -> Shipment:
    """The carrier's proof of delivery; the one completing the order is attested on the escrow."""
    shipment = _carrier_shipment(session, principal, shipment_id, "prove its delivery")
    order = _locked_order(session, shipment.order_id)  # the order first, as every other step locks
    shipment = _locked(session, Shipment, shipment.id)
    if shipment.state != ShipmentState.IN_TRANSIT:
        raise InvalidTransition("shipment", str(shipment.state), "prove the delivery of", [])
    delivered_at = data["delivered_at"]
    if delivered_at > clock.utcnow() + CLOCK_SKEW:
        raise ValidationFailed({"delivered_at": ["Cannot be in the future."]})
    if delivered_at < shipment.shipped_at - CLOCK_SKEW:
        raise ValidationFailed({"delivered_at": [f"Cannot be before the shipment left ({shipment.shipped_at.isoformat()})."]})
    shipment.state = ShipmentState.DELIVERED
    shipment.pod_receiver_name = data["receiver_name"].strip()
    shipment.pod_delivered_at = delivered_at
    shipment.pod_document_hash = data.get("document_hash")
    shipment.pod_recorded_by = principal.user.id
    shipment.pod_proof_hash = _fingerprint(
        {"shipment_id": str(shipment.id), "order_id": str(order.id), "receiver_name": shipment.pod_receiver_name,
         "delivered_at": delivered_at.isoformat(), "document_hash": shipment.pod_document_hash}
    )
    carrier_name = _org_name(session, shipment.carrier_org_id)
    # Every intent is queued before anything is audited: the audit trail's lock comes last,
    # as in the worker, which records a confirmation under that lock.
    intents = [
        ledger.anchor_proof(
            session, shipment.carrier_org_id, shipment.id, shipment.pod_proof_hash,
            f"{carrier_name} anchors the proof of delivery of shipment {shipment.number} of order {order.number}", ("shipment", shipment.id),
        )
    ]
    completes = order.state == OrderState.SHIPPED and all(s.state == ShipmentState.DELIVERED for s in shipments_of(session, order.id))
    if completes:
        before, order.state, order.delivered_at = order.state, OrderState.DELIVERED, clock.utcnow()
        proofs = sorted(s.pod_proof_hash for s in shipments_of(session, order.id))
        order_proof = _fingerprint({"order_id": str(order.id), "deliveries": proofs})
        intents.append(
            ledger.escrow_step(
                session, order, shipment.carrier_org_id, "attestDelivery", [bytes.fromhex(order_proof[2:])],
                f"{carrier_name} attests delivery of order {order.number}",
            )
        )
    session.flush()
    record(
        session, Action.DELIVERY_PROVEN, actor=principal.actor, subject_org_id=shipment.buyer_org_id, related_org_id=shipment.supplier_org_id,
        object_type="shipment", object_id=shipment.id,
        after={"receiver_name": shipment.pod_receiver_name, "delivered_at": delivered_at.isoformat(), "proof_hash": shipment.pod_proof_hash},
        anchor_transaction=str(intents[0].uid),
    )
    if completes:
        record(
            session, Action.ORDER_DELIVERED, actor=principal.actor, subject_org_id=order.buyer_org_id, related_org_id=order.supplier_org_id,
            object_type="order", object_id=order.id, before={"state": str(before)}, after={"state": str(order.state), "delivery_proof": order_proof},
            escrow_transactions=[str(i.uid) for i in intents[1:]],
        )
        tell(
            session, "order.delivered", order, {order.buyer_org_id, order.supplier_org_id},
            f"Order {order.number} is delivered; the buyer may confirm receipt or dispute until {buyer_deadline(session, order).isoformat()}.",
        )
    tell(session, "shipment.delivered", order, {order.buyer_org_id, order.supplier_org_id}, f"Shipment {shipment.number} of order {order.number} was delivered to {shipment.pod_receiver_name}.", shipment_id=str(shipment.id))
    session.commit()
    return shipment


# -- receipt and release --------------------------------------------------------------------


def create_receipt(session: Session, principal: Principal, order_id: uuid.UUID, data: dict[str, Any]) -> Receipt:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "receive")
    shipped = shipped_quantities(session, order.id)
    lines_by_no: dict[int, OrderLine] = {line.line_no: line for line in order.lines if shipped.get(line.id)}
    answers: dict[int, dict[str, Any]] = {}
    line_errors: dict[int, Any] = {}
    for index, answer in enumerate(data["lines"]):
        line = lines_by_no.get(answer["line_no"])
        if line is None:
            line_errors[index] = {"line_no": [f"Lines shipped on this order: {sorted(lines_by_no)}."]}
        elif answer["line_no"] in answers:
            line_errors[index] = {"line_no": ["Answer each line once."]}
        else:
            answers[answer["line_no"]] = answer
            accepted, rejected = answer["accepted_quantity"], answer.get("rejected_quantity", Decimal(0))
            problems: dict[str, list[str]] = {}
            if accepted + rejected != shipped[line.id]:
                problems["accepted_quantity"] = [f"Accepted and rejected together must be the shipped {shipped[line.id]} (count missing goods as rejected, with a reason)."]
            if rejected > 0 and not (answer.get("rejection_reason") or "").strip():
                problems["rejection_reason"] = ["Say why the goods are rejected."]
            if problems:
                line_errors[index] = problems
    errors: dict[str, Any] = {"lines": line_errors} if line_errors else {}
    missing = sorted(lines_by_no.keys() - answers.keys())
    if missing and not errors:
        errors["lines"] = [f"Answer every shipped line (missing: {missing})."]
    if errors:
        raise ValidationFailed(errors)

    receipt_lines = []
    for line_no, answer in sorted(answers.items()):
        line = lines_by_no[line_no]
        accepted = answer["accepted_quantity"].quantize(QUANTITY_STEP)
        receipt_lines.append(
            ReceiptLine(
                order_line_id=line.id, line_no=line_no, shipped_quantity=shipped[line.id], accepted_quantity=accepted,
                rejected_quantity=answer.get("rejected_quantity", Decimal(0)).quantize(QUANTITY_STEP),
                rejection_reason=(answer.get("rejection_reason") or "").strip() or None, accepted_value=line_value(accepted, line.unit_price),
            )
        )
    accepted_value = sum((rl.accepted_value for rl in receipt_lines), Decimal("0.00"))
    now = clock.utcnow()
    receipt = Receipt(
        order_id=order.id, accepted_value=accepted_value, refund_value=order.confirmed_total - accepted_value,
        note=(data.get("note") or "").strip() or None, created_by=principal.user.id, created_at=now, lines=receipt_lines,
    )
    session.add(receipt)
    before = order.state
    in_full = accepted_value == order.confirmed_total
    order.state = OrderState.RECEIVED if in_full else OrderState.PARTIALLY_RECEIVED
    buyer_name = _org_name(session, order.buyer_org_id)
    intents = [
        ledger.escrow_step(
            session, order, order.buyer_org_id, "confirmReceipt", [ledger.token_units(accepted_value)],
            f"{buyer_name} confirms receipt of order {order.number}, accepting {accepted_value} {order.currency}",
        )
    ]
    if in_full:
        order.settlement_queued_at = now
        intents.append(ledger.escrow_step(session, order, order.buyer_org_id, "release", [], f"{buyer_name} releases the escrow of order {order.number}"))
    session.flush()
    audit_step(
        session, principal, order, "receive", before, receipt_id=str(receipt.id), accepted_value=str(accepted_value), refund_value=str(receipt.refund_value),
        escrow_transactions=[str(i.uid) for i in intents],
    )
    summary = (
        f"Order {order.number} was received in full; {accepted_value} {order.currency} is released to the supplier."
        if in_full
        else f"Order {order.number} was received with rejections: {accepted_value} of {order.confirmed_total} {order.currency} accepted; the supplier may accept the receipt or dispute it."
    )
    tell(session, "order.received", order, {order.buyer_org_id, order.supplier_org_id}, summary, accepted_value=str(accepted_value), refund_value=str(receipt.refund_value))
    commit_or_conflict(session, "This order's receipt was just confirmed by another request.")
    return receipt


def _queue_release(session: Session, order: PurchaseOrder, organization_id: uuid.UUID, why: str) -> ChainIntent:
    order.settlement_queued_at = clock.utcnow()
    return ledger.escrow_step(session, order, organization_id, "release", [], f"{_org_name(session, organization_id)} releases the escrow of order {order.number} ({why})")


def release(session: Session, principal: Principal, order_id: uuid.UUID) -> PurchaseOrder:
    """The supplier accepts a partial receipt, or either party releases after the window."""
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "release")
    why = "the supplier accepts the receipt" if order.state == OrderState.PARTIALLY_RECEIVED and side_is_supplier(order, principal) else "the dispute window has passed"
    intent = _queue_release(session, order, principal.org.id, why)
    session.flush()
    audit_step(session, principal, order, "release", order.state, why=why, escrow_transactions=[str(intent.uid)])
    tell(session, "escrow.release_requested", order, {order.buyer_org_id, order.supplier_org_id}, f"The escrow of order {order.number} is being released: {why}.")
    session.commit()
    return order


def side_is_supplier(order: PurchaseOrder, principal: Principal) -> bool:
    return order.supplier_org_id == principal.org.id


def overdue(session: Session, order: PurchaseOrder) -> str | None:
    """Why anyone may release the order's escrow now, by its confirmed steps on the chain
    (None when not): its window passed after delivery or after a partial receipt, with no
    dispute open on chain. This also frees an order whose receipt or dispute the chain
    refused (sent too late): the escrow stays where the chain left it."""
    intents = ledger.escrow_intents(session, order.id)
    if any(i.state in OPEN_STATES for i in intents):
        return None  # a step is on its way
    confirmed = [i for i in intents if i.state == IntentState.CONFIRMED]
    if any(i.function in _SETTLING for i in confirmed):
        return None
    refused = [i for i in intents if i.function == "release" and i.state == IntentState.FAILED]
    if len(refused) >= MAX_RELEASE_ATTEMPTS or (refused and clock.utcnow() < refused[-1].finished_at + RELEASE_RETRY):
        return None  # the chain refused it: try again later, and at most a few times (failed_steps shows it)
    last = next((i for i in reversed(confirmed) if i.function in ("attestDelivery", "confirmReceipt", "openDispute")), None)
    if last is None or last.function == "openDispute":
        return None
    if clock.utcnow() < last.finished_at + dispute_window(session, order) + RELEASE_MARGIN:
        return None
    return "the buyer stayed silent after delivery" if last.function == "attestDelivery" else "the supplier did not answer the partial receipt"


def release_overdue(app: Flask) -> int:
    """Release every escrow whose window passed in silence (sent by the operator's key: the
    escrow lets any member release once the window is over). Returns how many were queued."""
    queued = 0
    with app.app_context(), database(app).sessionmaker() as session:
        shortest_window = timedelta(seconds=3600)  # DeliveryEscrow.MIN_DISPUTE_WINDOW
        candidates = session.execute(
            sa.select(PurchaseOrder.id).where(
                PurchaseOrder.state.in_((OrderState.DELIVERED, OrderState.PARTIALLY_RECEIVED, OrderState.RECEIVED, OrderState.DISPUTED)),
                PurchaseOrder.delivered_at <= clock.utcnow() - shortest_window,
            )
        ).scalars().all()
        operator_id = session.execute(sa.select(Organization.id).where(Organization.is_operator.is_(True))).scalar_one_or_none()
        for order_id in candidates:
            if overdue(session, session.get(PurchaseOrder, order_id)) is None:
                session.rollback()  # nothing to do: no row lock taken
                continue
            order = _locked_order(session, order_id)
            why = overdue(session, order)  # again, under the lock
            if why is None:
                session.rollback()
                continue
            intent = _queue_release(session, order, operator_id, why)
            session.flush()
            record(
                session, Action.RELEASE_REQUESTED, actor=None, subject_org_id=order.buyer_org_id, related_org_id=order.supplier_org_id,
                object_type="order", object_id=order.id, before={"state": str(order.state)}, after={"state": str(order.state)},
                why=why, escrow_transactions=[str(intent.uid)],
            )
            tell(session, "escrow.release_requested", order, {order.buyer_org_id, order.supplier_org_id}, f"The escrow of order {order.number} is being released: {why}.")
            session.commit()
            queued += 1
    return queued


runtime.ROUND_JOBS.append(release_overdue)


# -- disputes -------------------------------------------------------------------------------


def open_dispute(session: Session, principal: Principal, order_id: uuid.UUID, reason: str) -> Dispute:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "open_dispute")
    reason = reason.strip()
    arbiter_id = order.arbiter_org_id or session.execute(sa.select(Organization.id).where(Organization.is_operator.is_(True))).scalar_one()
    dispute = Dispute(
        order_id=order.id, buyer_org_id=order.buyer_org_id, supplier_org_id=order.supplier_org_id, arbiter_org_id=arbiter_id,
        opened_by_org_id=principal.org.id, opened_by=principal.user.id, state=DisputeState.OPEN, reason=reason, order_state_before=str(order.state),
    )
    session.add(dispute)
    before, order.state = order.state, OrderState.DISPUTED
    intent = ledger.escrow_step(
        session, order, principal.org.id, "openDispute", [bytes.fromhex(_fingerprint({"order_id": str(order.id), "reason": reason})[2:])],
        f"{principal.org.legal_name} disputes order {order.number}",
    )
    session.flush()
    audit_step(session, principal, order, "open_dispute", before, dispute_id=str(dispute.id), reason=reason, escrow_transactions=[str(intent.uid)])
    tell(session, "dispute.opened", order, {order.buyer_org_id, order.supplier_org_id, arbiter_id}, f"{principal.org.legal_name} opened a dispute on order {order.number}: {reason}", dispute_id=str(dispute.id))
    commit_or_conflict(session, "A dispute on this order was just opened by another request.")
    return dispute


def resolve_dispute(session: Session, principal: Principal, dispute_id: uuid.UUID, payee_amount: Decimal, resolution: str) -> Dispute:
    """The arbiter decides: `payee_amount` to the supplier, the rest of the escrow back to the buyer."""
    dispute = policy.get_visible(session, Dispute, dispute_id, principal)
    policy.require_admin(principal)
    if dispute.arbiter_org_id != principal.org.id:
        raise Forbidden("Only the dispute's arbiter may resolve it.")
    order = _locked_order(session, dispute.order_id)
    dispute = _locked(session, Dispute, dispute.id)
    # A resolution the chain refused leaves the escrow disputed: the arbiter decides again.
    refused = dispute.state == DisputeState.RESOLVED and ledger.escrow_step_failed(session, order.id, "resolveDispute")
    if not refused and (dispute.state != DisputeState.OPEN or order.settlement_queued_at is not None):
        raise InvalidTransition("dispute", str(dispute.state), "resolve", [], "it is already decided" if dispute.state == DisputeState.OPEN else None)
    if ledger.escrow_step_failed(session, order.id, "openDispute"):
        raise InvalidTransition("dispute", str(dispute.state), "resolve", [], "the escrow refused to open it (see the order's escrow transactions)")
    if payee_amount > order.confirmed_total:
        raise ValidationFailed({"payee_amount": [f"At most the escrowed {order.confirmed_total} {order.currency}."]})
    if payee_amount.as_tuple().exponent < -2:
        raise ValidationFailed({"payee_amount": ["At most two decimal places."]})
    now = clock.utcnow()
    dispute.state, dispute.payee_amount = DisputeState.RESOLVED, payee_amount.quantize(Decimal("0.01"))
    dispute.buyer_amount = order.confirmed_total - dispute.payee_amount
    dispute.resolution, dispute.resolved_by, dispute.resolved_at = resolution.strip(), principal.user.id, now
    order.settlement_queued_at = now
    intent = ledger.escrow_step(
        session, order, principal.org.id, "resolveDispute", [ledger.token_units(dispute.payee_amount)],
        f"{principal.org.legal_name} resolves the dispute on order {order.number}: {dispute.payee_amount} to the supplier, {dispute.buyer_amount} back to the buyer",
    )
    session.flush()
    record(
        session, Action.DISPUTE_RESOLVED, actor=principal.actor, subject_org_id=order.buyer_org_id, related_org_id=order.supplier_org_id,
        object_type="dispute", object_id=dispute.id, before={"state": "open"},
        after={"state": "resolved", "payee_amount": str(dispute.payee_amount), "buyer_amount": str(dispute.buyer_amount)},
        resolution=dispute.resolution, escrow_transactions=[str(intent.uid)],
    )
    tell(
        session, "dispute.resolved", order, {order.buyer_org_id, order.supplier_org_id},
        f"The dispute on order {order.number} is resolved: {dispute.payee_amount} {order.currency} to the supplier, {dispute.buyer_amount} back to the buyer.",
        dispute_id=str(dispute.id), payee_amount=str(dispute.payee_amount), buyer_amount=str(dispute.buyer_amount),
    )
    session.commit()
    return dispute


def dispute_of(session: Session, order_id: uuid.UUID) -> Dispute | None:
    return session.execute(sa.select(Dispute).where(Dispute.order_id == order_id)).scalar_one_or_none()


def disputes_query(principal: Principal, *, state: DisputeState | None = None, partner_id: uuid.UUID | None = None) -> sa.Select:
    query = sa.select(Dispute).where(policy.visible(principal, Dispute))
    if partner_id is not None:
        query = query.where(sa.or_(Dispute.buyer_org_id == partner_id, Dispute.supplier_org_id == partner_id))
    return query.where(Dispute.state == state) if state is not None else query


# -- closing, on the chain's word -----------------------------------------------------------


_SETTLING = ("release", "resolveDispute")


def settlement_split(session: Session, order: PurchaseOrder, settled_by: ChainIntent | None = None) -> tuple[Decimal, Decimal] | None:
    """(to the supplier, back to the buyer) as the escrow settled the order: from the
    confirmed transactions the chain executed, not from what the parties recorded (None
    while nothing settled it)."""
    confirmed = [i for i in ledger.escrow_intents(session, order.id) if i.state == IntentState.CONFIRMED]
    if settled_by is None:
        settled_by = next((i for i in reversed(confirmed) if i.function in _SETTLING), None)
    if settled_by is None:
        return None
    if settled_by.function == "resolveDispute":
        to_supplier = ledger.from_units(settled_by.args[1])
    else:
        receipt_step = next((i for i in reversed(confirmed) if i.function == "confirmReceipt"), None)
        to_supplier = ledger.from_units(receipt_step.args[1]) if receipt_step is not None else order.confirmed_total
    to_supplier = to_supplier.quantize(CENT)
    return to_supplier, order.confirmed_total - to_supplier


@outbox.when_confirmed
def _close_on_settlement(session: Session, intent: ChainIntent) -> None:
    """The escrow's release or resolution is mined: the order closes, and the parties
    withdraw what the escrow credited them."""
    if intent.subject_type != ledger.ESCROW_SUBJECT or intent.function not in ("release", "resolveDispute"):
        return
    order = session.execute(sa.select(PurchaseOrder).where(PurchaseOrder.id == uuid.UUID(intent.subject_id)).with_for_update()).scalar_one_or_none()
    if order is None or order.state == OrderState.CLOSED:
        return
    to_supplier, to_buyer = settlement_split(session, order, settled_by=intent)
    before, order.state, order.closed_at = order.state, OrderState.CLOSED, clock.utcnow()
    dispute = dispute_of(session, order.id)
    if dispute is not None and dispute.state == DisputeState.OPEN:
        # The chain refused to open it (too late) and the escrow was released past its window.
        dispute.state, dispute.payee_amount, dispute.buyer_amount = DisputeState.RESOLVED, to_supplier, to_buyer
        dispute.resolution, dispute.resolved_at = "Closed without a decision: the escrow refused the dispute and released after its window.", order.closed_at
    withdrawals = [
        ledger.withdraw(session, order, organization_id, after=intent)
        for organization_id, amount in ((order.supplier_org_id, to_supplier), (order.buyer_org_id, to_buyer))
        if amount > 0
    ]
    session.flush()
    record(
        session, Action.ORDER_CLOSED, actor=None, subject_org_id=order.buyer_org_id, related_org_id=order.supplier_org_id,
        object_type="order", object_id=order.id, before={"state": str(before)},
        after={"state": str(order.state), "paid_to_supplier": str(to_supplier), "refunded_to_buyer": str(to_buyer)},
        settled_by=intent.tx_hash, withdrawals=[str(w.uid) for w in withdrawals if w is not None],
    )
    tell(
        session, "escrow.released", order, {order.buyer_org_id, order.supplier_org_id},
        f"Order {order.number} is closed: {to_supplier} {order.currency} paid to the supplier, {to_buyer} refunded to the buyer.",
        paid_to_supplier=str(to_supplier), refunded_to_buyer=str(to_buyer), tx_hash=intent.tx_hash,
    )


# -- reading --------------------------------------------------------------------------------


def milestones_of(session: Session, shipment_id: uuid.UUID) -> list[Milestone]:
    return list(session.execute(sa.select(Milestone).where(Milestone.shipment_id == shipment_id).order_by(Milestone.occurred_at, Milestone.created_at)).scalars())


def receipt_of(session: Session, order_id: uuid.UUID) -> Receipt | None:
    return session.execute(sa.select(Receipt).where(Receipt.order_id == order_id)).scalar_one_or_none()


def timeline(session: Session, order: PurchaseOrder) -> list[dict[str, Any]]:
    """One history of the order, oldest first: its revisions and proposals, shipments,
    milestones, deliveries, receipt, dispute, and every chain transaction with its state."""
    from concord.orders import service

    entries: list[dict[str, Any]] = []

    def add(at: datetime | None, kind: str, summary: str, object_id: Any = None, transaction: ChainIntent | None = None) -> None:
        if at is not None:
            entries.append({"at": at, "kind": kind, "summary": summary, "object_id": str(object_id) if object_id else None, "transaction": transaction})

    add(order.created_at, "created", f"Order {order.number} drafted: {order.total} {order.currency}.", order.id)
    for revision in service.revisions(session, order):
        add(revision.created_at, "revision", f"Revision {revision.number}: {revision.reason}.", order.id)
    for proposal in service.proposals(session, order):
        add(proposal.created_at, "change_proposal", f"The supplier proposed changes to {len(proposal.changes)} line(s).", proposal.id)
        add(proposal.decided_at, "change_proposal_decided", f"The change proposal was {proposal.state}.", proposal.id)
    add(order.acknowledged_at, "acknowledged", f"The supplier confirmed {order.confirmed_total} {order.currency}; it goes into escrow.", order.id)
    shipment_ids = []
    for shipment in shipments_of(session, order.id):
        shipment_ids.append(str(shipment.id))
        lots = ", ".join(f"line {sl.line_no}: {sl.quantity}" + (f" (lot {sl.lot_number})" if sl.lot_number else "") for sl in shipment.lines)
        add(shipment.created_at, "shipment", f"Shipment {shipment.number} with {_org_name(session, shipment.carrier_org_id)}: {lots}.", shipment.id)
        for milestone in milestones_of(session, shipment.id):
            add(milestone.occurred_at, "milestone", f"Shipment {shipment.number}: {str(milestone.kind).replace('_', ' ')} at {milestone.location}.", shipment.id)
        if shipment.state == ShipmentState.DELIVERED:
            add(shipment.pod_delivered_at, "proof_of_delivery", f"Shipment {shipment.number} delivered to {shipment.pod_receiver_name} (proof {shipment.pod_proof_hash}).", shipment.id)
    receipt = receipt_of(session, order.id)
    if receipt is not None:
        add(receipt.created_at, "receipt", f"Receipt: {receipt.accepted_value} {order.currency} accepted, {receipt.refund_value} to be refunded.", receipt.id)
    dispute = dispute_of(session, order.id)
    if dispute is not None:
        add(dispute.created_at, "dispute_opened", f"{_org_name(session, dispute.opened_by_org_id)} opened a dispute: {dispute.reason}", dispute.id)
        if dispute.state == DisputeState.RESOLVED:
            add(dispute.resolved_at, "dispute_resolved", f"The arbiter decided {dispute.payee_amount} {order.currency} to the supplier, {dispute.buyer_amount} to the buyer.", dispute.id)
    if order.state in (OrderState.CLOSED, OrderState.CANCELLED, OrderState.REJECTED):
        add(order.closed_at, str(order.state), f"Order {order.state}" + (f": {order.state_reason}." if order.state_reason else "."), order.id)
    intents = session.execute(
        sa.select(ChainIntent).where(
            sa.or_(
                sa.and_(ChainIntent.subject_type == ledger.ESCROW_SUBJECT, ChainIntent.subject_id == str(order.id)),
                sa.and_(ChainIntent.subject_type == "shipment", ChainIntent.subject_id.in_(shipment_ids)),
            )
        ).order_by(ChainIntent.seq)
    ).scalars()
    for intent in intents:
        where = f" in block {intent.block_number}" if intent.block_number is not None else ""
        add(intent.finished_at or intent.created_at, "transaction", f"{intent.purpose}: {intent.state}{where}.", intent.uid, intent)
    entries.sort(key=lambda entry: entry["at"])
    return entries
