"""Shipments of an acknowledged order, each step checked here, audited, and mirrored on the
order's escrow by the key of the party who took it:

- the supplier ships all or part of the confirmed lines (lots and quantities) with a
  carrier partner; the first shipment names the escrow's carrier;
- the carrier, and only it, records milestones and the proof of delivery; each proof is
  anchored on the ledger, and the one that completes the order is attested on the escrow,
  which opens the buyer's dispute window.

No shipment leaves and no delivery is proven while the order's escrow is not funded on
chain (concord.orders.lifecycle.escrow_funded).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy, wiring
from concord.audit.service import Action, record
from concord.db import get_or_raise, locked
from concord.errors import DomainError, InvalidTransition, ValidationFailed
from concord.fingerprints import fingerprint
from concord.ledger import escrow
from concord.ledger import service as ledger
from concord.logistics import lifecycle as shipment_lifecycle
from concord.orders import lifecycle
from concord.orders.models import (
    Milestone,
    OrderState,
    PurchaseOrder,
    Shipment,
    ShipmentLine,
    ShipmentState,
)
from concord.orders.service import QUANTITY_STEP, audit_step, check, tell
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, Organization, OrgStatus, Relation

CLOCK_SKEW = lifecycle.CLOCK_SKEW


def shipments_of(session: Session, order_id: uuid.UUID) -> list[Shipment]:
    return list(session.execute(sa.select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.number)).scalars())


def _proof_hash(shipment: Shipment) -> str:
    """The proof of a delivered shipment (every delivered one has it)."""
    if shipment.pod_proof_hash is None:
        raise LookupError(f"Shipment {shipment.id} has no proof of delivery")
    return shipment.pod_proof_hash


def shipped_quantities(session: Session, order_id: uuid.UUID) -> dict[uuid.UUID, Decimal]:
    """Quantity shipped so far per order line."""
    rows = session.execute(
        sa.select(ShipmentLine.order_line_id, sa.func.sum(ShipmentLine.quantity))
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.order_id == order_id)
        .group_by(ShipmentLine.order_line_id)
    ).all()
    return {line_id: Decimal(total) for line_id, total in rows}


def step_lines_by_id(order: PurchaseOrder, lines: list[ShipmentLine]) -> list[tuple[uuid.UUID, wiring.StepLine]]:
    """The goods of shipment lines as a physical step tells them (class and quantity), each
    beside the id of its order line."""
    by_id = {line.id: line for line in order.lines}
    return [
        (
            sl.order_line_id,
            wiring.StepLine(gtin=by_id[sl.order_line_id].gtin, lot=sl.lot_number, quantity=sl.quantity, unit=by_id[sl.order_line_id].unit_of_measure),
        )
        for sl in lines
    ]


def step_lines(order: PurchaseOrder, lines: list[ShipmentLine]) -> tuple[wiring.StepLine, ...]:
    return tuple(goods for _, goods in step_lines_by_id(order, lines))


def tell_step(session: Session, principal: Principal, kind: str, order: PurchaseOrder, shipment: Shipment, **details: Any) -> None:
    """Tell a physical step of a shipment to its reactions (its EPCIS event), in its transaction."""
    wiring.physical_step(
        session,
        wiring.PhysicalStep(
            kind=kind,
            organization_id=principal.org.id,
            user_id=principal.user.id,
            order_id=order.id,
            supplier_org_id=order.supplier_org_id,
            buyer_org_id=order.buyer_org_id,
            parties=frozenset({shipment.buyer_org_id, shipment.supplier_org_id, shipment.carrier_org_id}),
            lines=step_lines(order, shipment.lines),
            ship_to_gln=order.ship_to.get("gln"),
            shipment_id=shipment.id,
            **details,
        ),
    )


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
    arbiter_id = order.arbiter_org_id or tenancy.operator_id(session)
    if carrier_id in (order.buyer_org_id, order.supplier_org_id, arbiter_id):
        # The escrow's separation of duties: no party may prove its own delivery.
        return ["The carrier must be neither the buyer, the supplier nor the arbiter of the order."]
    if earlier and earlier[0].carrier_org_id != carrier_id:
        return [
            f"The order's escrow names {tenancy.legal_name(session, earlier[0].carrier_org_id)} as its carrier (the first shipment's); ship every part of this order with it."
        ]
    return []


def _readable_quantity(value: Any) -> Decimal | None:
    """A quantity the checks below can add up: a positive finite decimal as the schema
    loads it (within its bounds), or None (the schema reports anything else)."""
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        return None
    return value


def shipment_mistakes(session: Session, order: PurchaseOrder, data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The shipment's mistakes the schema cannot see: a carrier that may not carry the order,
    a time in the future, lots listed twice, lines beyond what is left to ship. `data` is
    what the schema loaded or, `partial`, the part of it it could read (lines by their
    position; a field missing there could not be read): what could not be read is passed
    over, so that a form with other mistakes is told about these in the same pass."""
    earlier = shipments_of(session, order.id)
    errors: dict[str, Any] = {}
    carrier_id = data.get("carrier_id")
    if isinstance(carrier_id, uuid.UUID) and (carrier_errors := _carrier_errors(session, order, carrier_id, earlier)):
        errors["carrier_id"] = carrier_errors
    if (moment_errors := _moment_errors(data.get("shipped_at"), earliest=None)) is not None:
        errors["shipped_at"] = moment_errors
    by_line_no = {line.line_no: line for line in order.lines}
    shipped = shipped_quantities(session, order.id)
    adding: dict[uuid.UUID, Decimal] = {}
    line_errors: dict[int, Any] = {}
    lots_seen: set[tuple[int, str | None]] = set()
    items = data.get("lines")
    for index, item in enumerate(items if isinstance(items, list) else []):
        line_no = item.get("line_no") if isinstance(item, dict) else None
        if not isinstance(line_no, int) or isinstance(line_no, bool):
            continue
        line = by_line_no.get(line_no)
        if line is None:
            line_errors[index] = {"line_no": [f"The order has lines {sorted(by_line_no)}."]}
            continue
        if "lot_number" in item or not partial:
            lot = (item.get("lot_number") or "").strip() or None
            if (line.line_no, lot) in lots_seen:
                line_errors[index] = {"lot_number": ["List each lot of a line once."]}
                continue
            lots_seen.add((line.line_no, lot))
        quantity = _readable_quantity(item.get("quantity"))
        if quantity is None:
            continue
        adding[line.id] = adding.get(line.id, Decimal(0)) + quantity
        open_quantity = (line.confirmed_quantity or Decimal(0)) - shipped.get(line.id, Decimal(0))
        if adding[line.id] > open_quantity:
            line_errors[index] = {
                "quantity": [
                    f"At most {open_quantity} more of line {line.line_no} can be shipped (confirmed {line.confirmed_quantity}, shipped {shipped.get(line.id, Decimal(0))})."
                ]
            }
    if line_errors:
        errors["lines"] = line_errors
    return errors


def shipment_form_mistakes(session: Session, principal: Principal, order_id: uuid.UUID, readable: dict[str, Any]) -> dict[str, Any]:
    """`shipment_mistakes` of what the schema could read of a refused shipment, when the
    principal may ship the order now; {} otherwise (the refusal is told when the request is
    taken, and nothing of the order is shown to those who may not ship it)."""
    try:
        order = policy.get_visible(session, PurchaseOrder, order_id, principal)
        check(session, order, principal, "ship")
    except DomainError:
        return {}
    return shipment_mistakes(session, order, readable, partial=True)


def create_shipment(session: Session, principal: Principal, order_id: uuid.UUID, data: dict[str, Any]) -> Shipment:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "ship")
    errors = shipment_mistakes(session, order, data)
    if errors:
        raise ValidationFailed(errors)
    earlier = shipments_of(session, order.id)
    by_line_no = {line.line_no: line for line in order.lines}
    shipped = shipped_quantities(session, order.id)
    adding: dict[uuid.UUID, Decimal] = {}
    for item in data["lines"]:
        line_id = by_line_no[item["line_no"]].id
        adding[line_id] = adding.get(line_id, Decimal(0)) + item["quantity"]

    now = clock.utcnow()
    shipment = Shipment(
        order_id=order.id,
        number=len(earlier) + 1,
        buyer_org_id=order.buyer_org_id,
        supplier_org_id=order.supplier_org_id,
        carrier_org_id=data["carrier_id"],
        state=ShipmentState.IN_TRANSIT,
        tracking_number=(data.get("tracking_number") or "").strip() or None,
        shipped_at=data.get("shipped_at") or now,
        created_by=principal.user.id,
        lines=[
            ShipmentLine(
                position=position,
                order_line_id=by_line_no[item["line_no"]].id,
                line_no=item["line_no"],
                lot_number=(item.get("lot_number") or "").strip() or None,
                quantity=item["quantity"].quantize(QUANTITY_STEP),
            )
            for position, item in enumerate(data["lines"], start=1)
        ],
    )
    session.add(shipment)
    session.flush()
    complete = all(shipped.get(line.id, Decimal(0)) + adding.get(line.id, Decimal(0)) >= (line.confirmed_quantity or Decimal(0)) for line in order.lines)
    before = lifecycle.enter(order, "ship", OrderState.SHIPPED if complete else OrderState.PARTIALLY_SHIPPED)
    intents = []
    if not earlier and not lifecycle.on_open_account(order):  # an open-account order has no escrow to name its carrier
        intents.append(
            escrow.assign_carrier(
                session,
                order,
                shipment.carrier_org_id,
                f"{tenancy.legal_name(session, order.supplier_org_id)} names {tenancy.legal_name(session, shipment.carrier_org_id)} the carrier of order {order.number}",
            )
        )
    session.flush()
    audit_step(
        session,
        principal,
        order,
        "ship",
        before,
        shipment_id=str(shipment.id),
        carrier_org_id=str(shipment.carrier_org_id),
        lines=[{"line_no": sl.line_no, "lot_number": sl.lot_number, "quantity": str(sl.quantity)} for sl in shipment.lines],
        escrow_transactions=[str(i.uid) for i in intents],
    )
    tell(
        session,
        "shipment.created",
        order,
        {order.buyer_org_id, shipment.carrier_org_id},
        f"Shipment {shipment.number} of order {order.number} is on its way.",
        shipment_id=str(shipment.id),
    )
    tell_step(session, principal, "shipped", order, shipment, occurred_at=shipment.shipped_at)
    session.commit()
    return shipment


def _carrier_shipment(session: Session, principal: Principal, shipment_id: uuid.UUID, action: str) -> Shipment:
    shipment = policy.get_visible(session, Shipment, shipment_id, principal)
    policy.require_writer(principal)
    if shipment_lifecycle.actor_of(shipment, principal) is None:
        shipment_lifecycle.check(shipment, principal, action)  # raises: only the carrier
    return shipment


def allowed_actions(session: Session, shipment: Shipment, principal: Principal) -> list[str]:
    """What the principal may do with the shipment now: the shipment's table, while the
    order's escrow is funded on chain (what `record_milestone`/`record_delivery` check)."""
    actions = shipment_lifecycle.allowed_actions(shipment, principal)
    if (
        "prove_delivery" in actions
        and lifecycle.escrow_funded(lifecycle.Facts(session, get_or_raise(session, PurchaseOrder, shipment.order_id)), "carrier") is not None
    ):
        actions.remove("prove_delivery")
    return actions


def _moment_errors(moment: Any, earliest: datetime | None) -> list[str] | None:
    """What is wrong with a point in time the schema read (None when it is fine, or was not
    read): in the future, or before `earliest` (when the shipment left)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        return None
    if moment > clock.utcnow() + CLOCK_SKEW:
        return ["Cannot be in the future."]
    if earliest is not None and moment < earliest - CLOCK_SKEW:
        return [f"Cannot be before the shipment left ({clock.shown(earliest)})."]
    return None


def milestone_mistakes(shipment: Shipment, data: dict[str, Any]) -> dict[str, Any]:
    """The milestone's mistakes the schema cannot see (its time against the clock and the
    shipment's departure), from what the schema loaded or could read (see `shipment_mistakes`)."""
    found = _moment_errors(data.get("occurred_at"), shipment.shipped_at)
    return {"occurred_at": found} if found else {}


def delivery_mistakes(shipment: Shipment, data: dict[str, Any]) -> dict[str, Any]:
    """The proof of delivery's mistakes the schema cannot see, as `milestone_mistakes`."""
    found = _moment_errors(data.get("delivered_at"), shipment.shipped_at)
    return {"delivered_at": found} if found else {}


def carrier_shipment(session: Session, principal: Principal, shipment_id: uuid.UUID, action: str) -> Shipment:
    """The shipment, when the principal's organization is its carrier and may take `action`
    on it now; otherwise the refusal (404, 403 or 409) is raised."""
    shipment = _carrier_shipment(session, principal, shipment_id, action)
    shipment_lifecycle.check(shipment, principal, action)
    return shipment


def milestone_form_mistakes(session: Session, principal: Principal, shipment_id: uuid.UUID, readable: dict[str, Any]) -> dict[str, Any]:
    """`milestone_mistakes` of what the schema could read of a refused milestone, when the
    principal's organization carries the shipment and may record one now; {} otherwise."""
    try:
        shipment = carrier_shipment(session, principal, shipment_id, "record_milestone")
    except DomainError:
        return {}
    return milestone_mistakes(shipment, readable)


def delivery_form_mistakes(session: Session, principal: Principal, shipment_id: uuid.UUID, readable: dict[str, Any]) -> dict[str, Any]:
    """`delivery_mistakes` of what the schema could read of a refused proof of delivery, as
    `milestone_form_mistakes`."""
    try:
        shipment = carrier_shipment(session, principal, shipment_id, "prove_delivery")
    except DomainError:
        return {}
    return delivery_mistakes(shipment, readable)


def record_milestone(session: Session, principal: Principal, shipment_id: uuid.UUID, data: dict[str, Any]) -> Milestone:
    shipment = _carrier_shipment(session, principal, shipment_id, "record_milestone")
    shipment = locked(session, Shipment, shipment.id)
    shipment_lifecycle.check(shipment, principal, "record_milestone")
    shipment_lifecycle.enter(shipment, "record_milestone")
    if errors := milestone_mistakes(shipment, data):
        raise ValidationFailed(errors)
    milestone = Milestone(
        shipment_id=shipment.id,
        kind=data["kind"],
        occurred_at=data["occurred_at"],
        location=data["location"].strip(),
        note=(data.get("note") or "").strip() or None,
        recorded_by=principal.user.id,
        created_at=clock.utcnow(),
    )
    session.add(milestone)
    session.flush()
    record(
        session,
        Action.MILESTONE_RECORDED,
        actor=principal.actor,
        subject_org_id=shipment.buyer_org_id,
        related_org_id=shipment.supplier_org_id,
        object_type="shipment",
        object_id=shipment.id,
        after={"kind": str(milestone.kind), "occurred_at": milestone.occurred_at.isoformat(), "location": milestone.location},
    )
    order = get_or_raise(session, PurchaseOrder, shipment.order_id)
    tell(
        session,
        "shipment.milestone",
        order,
        {shipment.buyer_org_id, shipment.supplier_org_id},
        f"Shipment {shipment.number} of order {order.number}: {str(milestone.kind).replace('_', ' ')} at {milestone.location}.",
        shipment_id=str(shipment.id),
        kind=str(milestone.kind),
    )
    tell_step(session, principal, "milestone", order, shipment, occurred_at=milestone.occurred_at, milestone=str(milestone.kind), place=milestone.location)
    session.commit()
    return milestone


def record_delivery(session: Session, principal: Principal, shipment_id: uuid.UUID, data: dict[str, Any]) -> Shipment:
    """The carrier's proof of delivery; the one completing the order is attested on the escrow."""
    shipment = _carrier_shipment(session, principal, shipment_id, "prove_delivery")
    order = locked(session, PurchaseOrder, shipment.order_id)  # the order first, as every other step locks
    shipment = locked(session, Shipment, shipment.id)
    shipment_lifecycle.check(shipment, principal, "prove_delivery")
    if (why := lifecycle.escrow_funded(lifecycle.Facts(session, order), "carrier")) is not None:
        raise InvalidTransition("shipment", str(shipment.state), "prove the delivery of", [], why)
    if errors := delivery_mistakes(shipment, data):
        raise ValidationFailed(errors)
    delivered_at = data["delivered_at"]
    shipment_lifecycle.enter(shipment, "prove_delivery")
    shipment.pod_receiver_name = data["receiver_name"].strip()
    shipment.pod_delivered_at = delivered_at
    shipment.pod_document_hash = data.get("document_hash")
    shipment.pod_recorded_by = principal.user.id
    shipment.pod_proof_hash = fingerprint(
        {
            "shipment_id": str(shipment.id),
            "order_id": str(order.id),
            "receiver_name": shipment.pod_receiver_name,
            "delivered_at": delivered_at.isoformat(),
            "document_hash": shipment.pod_document_hash,
        }
    )
    carrier_name = tenancy.legal_name(session, shipment.carrier_org_id)
    # Every intent is queued before anything is audited: the audit trail's lock comes last,
    # as in the worker, which records a confirmation under that lock.
    intents = [
        ledger.anchor_proof(
            session,
            shipment.carrier_org_id,
            shipment.id,
            shipment.pod_proof_hash,
            f"{carrier_name} anchors the proof of delivery of shipment {shipment.number} of order {order.number}",
            ("shipment", shipment.id),
        )
    ]
    completes = order.state == OrderState.SHIPPED and all(s.state == ShipmentState.DELIVERED for s in shipments_of(session, order.id))
    if completes:
        before, order.delivered_at = lifecycle.enter(order, "deliver"), clock.utcnow()
        proofs = sorted(_proof_hash(s) for s in shipments_of(session, order.id))
        order_proof = fingerprint({"order_id": str(order.id), "deliveries": proofs})
        if not lifecycle.on_open_account(order):  # an open-account order has no escrow to attest to
            intents.append(
                escrow.attest_delivery(session, order, shipment.carrier_org_id, order_proof, f"{carrier_name} attests delivery of order {order.number}")
            )
    session.flush()
    record(
        session,
        Action.DELIVERY_PROVEN,
        actor=principal.actor,
        subject_org_id=shipment.buyer_org_id,
        related_org_id=shipment.supplier_org_id,
        object_type="shipment",
        object_id=shipment.id,
        after={"receiver_name": shipment.pod_receiver_name, "delivered_at": delivered_at.isoformat(), "proof_hash": shipment.pod_proof_hash},
        anchor_transaction=str(intents[0].uid),
    )
    if completes:
        record(
            session,
            Action.ORDER_DELIVERED,
            actor=principal.actor,
            subject_org_id=order.buyer_org_id,
            related_org_id=order.supplier_org_id,
            object_type="order",
            object_id=order.id,
            before={"state": str(before)},
            after={"state": str(order.state), "delivery_proof": order_proof},
            escrow_transactions=[str(i.uid) for i in intents[1:]],
        )
        tell(
            session,
            "order.delivered",
            order,
            {order.buyer_org_id, order.supplier_org_id},
            f"Order {order.number} is delivered; the buyer may confirm receipt"
            + (" (open account)." if lifecycle.on_open_account(order) else f" or dispute until {lifecycle.buyer_deadline(session, order).isoformat()}."),
        )
    tell(
        session,
        "shipment.delivered",
        order,
        {order.buyer_org_id, order.supplier_org_id},
        f"Shipment {shipment.number} of order {order.number} was delivered to {shipment.pod_receiver_name}.",
        shipment_id=str(shipment.id),
    )
    tell_step(session, principal, "delivered", order, shipment, occurred_at=delivered_at)
    session.commit()
    return shipment


def milestones_of(session: Session, shipment_id: uuid.UUID) -> list[Milestone]:
    return list(
        session.execute(sa.select(Milestone).where(Milestone.shipment_id == shipment_id).order_by(Milestone.occurred_at, Milestone.created_at)).scalars()
    )


def shipments_query(
    principal: Principal, *, state: ShipmentState | None = None, order_id: uuid.UUID | None = None, partner_id: uuid.UUID | None = None
) -> sa.Select:
    """Shipments of the principal's orders, or assigned to it as their carrier."""
    query = sa.select(Shipment).where(policy.visible(principal, Shipment))
    if state is not None:
        query = query.where(Shipment.state == state)
    if order_id is not None:
        query = query.where(Shipment.order_id == order_id)
    if partner_id is not None:
        query = query.where(sa.or_(Shipment.buyer_org_id == partner_id, Shipment.supplier_org_id == partner_id, Shipment.carrier_org_id == partner_id))
    return query


def carried_by_state(session: Session, principal: Principal) -> dict[str, int]:
    """The shipments the principal's organization carries, by state."""
    query = sa.select(Shipment.state, sa.func.count()).where(Shipment.carrier_org_id == principal.org.id).group_by(Shipment.state)
    return {str(state): n for state, n in session.execute(query)}
