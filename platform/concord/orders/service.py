"""Purchase orders: every transition is checked here, against one table, and audited.

A buyer writes a draft (visible only to itself), issues it to a supplier partner, and the
supplier acknowledges it line by line (a confirmed quantity and date per line, so part of
an order can be confirmed), rejects it, or proposes changes, which the buyer accepts (a new
revision; older revisions stay readable) or declines. The buyer may cancel until the
supplier has acknowledged, and after that only while the escrow's funding is refused by
the ledger or still queued (the funding is then voided). Which party may take which step
in which state is the table of concord.orders.lifecycle.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.catalog.models import Location, Product
from concord.db import commit_or_conflict
from concord.errors import Conflict, DomainError, Forbidden, ValidationFailed
from concord.finance import terms as payment_terms
from concord.ledger import escrow
from concord.notifications.service import notify
from concord.orders import lifecycle
from concord.orders.lifecycle import check
from concord.orders.models import (
    AMOUNT,
    ChangeProposal,
    OrderLine,
    OrderRevision,
    OrderState,
    ProposalState,
    PurchaseOrder,
    Settlement,
)
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, Relation

INCOTERMS = ("EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF")
CENT = Decimal("0.01")
#: The largest amount an AMOUNT column holds; every line value and order total stays within it.
MAX_AMOUNT = AMOUNT.limit - CENT
QUANTITY_STEP = Decimal("0.001")
PRICE_STEP = Decimal("0.0001")

_ACTIONS = {
    "edit": Action.ORDER_UPDATED,
    "issue": Action.ORDER_ISSUED,
    "cancel": Action.ORDER_CANCELLED,
    "acknowledge": Action.ORDER_ACKNOWLEDGED,
    "reject": Action.ORDER_REJECTED,
    "propose_change": Action.CHANGE_PROPOSED,
    "accept_change": Action.CHANGE_ACCEPTED,
    "decline_change": Action.CHANGE_DECLINED,
    "ship": Action.SHIPMENT_CREATED,
    "receive": Action.RECEIPT_CONFIRMED,
    "open_dispute": Action.DISPUTE_OPENED,
    "release": Action.RELEASE_REQUESTED,
}


def _open_proposal(session: Session, order: PurchaseOrder) -> ChangeProposal | None:
    return session.execute(
        sa.select(ChangeProposal).where(ChangeProposal.order_id == order.id, ChangeProposal.state == ProposalState.OPEN)
    ).scalar_one_or_none()


# -- writing a draft ------------------------------------------------------------------------


def line_value(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """A line's value in the currency's minor units (rounded half to even, as invoices are)."""
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_EVEN)


def value_errors(amounts: list[Decimal], *, what: str = "order") -> dict[str, Any]:
    """Field errors for lines worth `amounts`: each line and their total must fit the amount
    columns (and so the settlement token's units), and the total must be at least one minor
    unit, since an escrow cannot hold nothing."""
    errors: dict[str, Any] = {}
    too_large = {
        index: {"amount": [f"Quantity times unit price is {amount}; a line may be worth at most {MAX_AMOUNT}."]}
        for index, amount in enumerate(amounts)
        if amount > MAX_AMOUNT
    }
    if too_large:
        errors["lines"] = too_large
        return errors
    total = sum(amounts, Decimal("0.00"))
    if total > MAX_AMOUNT:
        errors["total"] = [f"The {what} would be worth {total}; an order may be worth at most {MAX_AMOUNT}."]
    elif total < CENT:
        errors["total"] = [f"The {what} would be worth {total}: it must be worth at least {CENT} to be paid through escrow."]
    return errors


def _resolve_header(session: Session, principal: Principal, data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "supplier_id" in data:
        if not tenancy.are_partners(session, Relation.BUYER_SUPPLIER, principal.org.id, data["supplier_id"]):
            errors["supplier_id"] = ["Not an active supplier partner of your organization."]
        values["supplier_org_id"] = data["supplier_id"]
    if "currency" in data:
        currency = data["currency"].upper()
        if currency not in current_app.config["SETTLEMENT_CURRENCIES"]:
            errors["currency"] = [f"Orders settle in {', '.join(current_app.config['SETTLEMENT_CURRENCIES'])}."]
        values["currency"] = currency
    if "ship_to_location_id" in data:
        location = session.execute(
            sa.select(Location).where(Location.id == data["ship_to_location_id"], policy.visible(principal, Location), Location.active.is_(True))
        ).scalar_one_or_none()
        if location is None:
            errors["ship_to_location_id"] = ["Not an active location of your organization."]
        else:
            values["ship_to_location_id"] = location.id
            values["ship_to"] = {
                "name": location.name,
                "address_line1": location.address_line1,
                "address_line2": location.address_line2,
                "postal_code": location.postal_code,
                "city": location.city,
                "country": location.country,
                "gln": location.gln,
            }
    for key in ("number", "incoterm", "payment_terms"):
        if key in data:
            values[key] = data[key].strip() if key != "incoterm" else data[key].upper()
    return values


def _build_lines(session: Session, principal: Principal, lines: list[dict[str, Any]], errors: dict[str, Any]) -> list[OrderLine]:
    built, line_errors = [], {}
    product_ids = {line["product_id"] for line in lines}
    products = {
        p.id: p
        for p in session.execute(sa.select(Product).where(Product.id.in_(product_ids), policy.visible(principal, Product), Product.active.is_(True))).scalars()
    }
    for index, line in enumerate(lines):
        product = products.get(line["product_id"])
        if product is None:
            line_errors[index] = {"product_id": ["Not an active product of your organization."]}
            continue
        built.append(
            OrderLine(
                line_no=index + 1,
                product_id=product.id,
                sku=product.sku,
                product_name=product.name,
                unit_of_measure=product.unit_of_measure,
                gtin=product.gtin,
                quantity=line["quantity"].quantize(QUANTITY_STEP),
                unit_price=line["unit_price"].quantize(PRICE_STEP),
                requested_date=line["requested_date"],
                amount=line_value(line["quantity"], line["unit_price"]),
            )
        )
    if line_errors:
        errors["lines"] = line_errors
    elif built:
        errors.update(value_errors([line.amount for line in built]))
    return built


def _number_taken(session: Session, buyer_id: uuid.UUID, number: str, exclude: uuid.UUID | None = None) -> bool:
    query = sa.select(PurchaseOrder.id).where(PurchaseOrder.buyer_org_id == buyer_id, PurchaseOrder.number == number)
    if exclude is not None:
        query = query.where(PurchaseOrder.id != exclude)
    return session.execute(query).first() is not None


def _draft(session: Session, principal: Principal, data: dict[str, Any]) -> PurchaseOrder:
    policy.require_writer(principal)
    if Capability.BUYER not in principal.org.capabilities:
        raise Forbidden("Only organizations admitted as buyers issue purchase orders.")
    errors: dict[str, Any] = {}
    values = _resolve_header(session, principal, data, errors)
    lines = _build_lines(session, principal, data["lines"], errors)
    if errors:
        raise ValidationFailed(errors)
    if _number_taken(session, principal.org.id, values["number"]):
        raise Conflict("Your organization already has an order with this number.", errors={"number": ["Already used."]})
    order = PurchaseOrder(
        buyer_org_id=principal.org.id,
        state=OrderState.DRAFT,
        revision=0,
        created_by=principal.user.id,
        total=sum((line.amount for line in lines), Decimal("0.00")),
        lines=lines,
        **values,
    )
    session.add(order)
    session.flush()
    record(
        session, Action.ORDER_CREATED, actor=principal.actor, subject_org_id=order.buyer_org_id, object_type="order", object_id=order.id, after=snapshot(order)
    )
    return order


def create_order(session: Session, principal: Principal, data: dict[str, Any]) -> PurchaseOrder:
    order = _draft(session, principal, data)
    commit_or_conflict(session, "Your organization already has an order with this number.", {"number": ["Already used."]})
    return order


def update_draft(session: Session, principal: Principal, order_id: uuid.UUID, changes: dict[str, Any]) -> PurchaseOrder:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "edit")
    before = snapshot(order)
    errors: dict[str, Any] = {}
    values = _resolve_header(session, principal, changes, errors)
    lines = _build_lines(session, principal, changes["lines"], errors) if "lines" in changes else None
    if errors:
        raise ValidationFailed(errors)
    if "number" in values and _number_taken(session, order.buyer_org_id, values["number"], exclude=order.id):
        raise Conflict("Your organization already has an order with this number.", errors={"number": ["Already used."]})
    for key, value in values.items():
        setattr(order, key, value)
    if lines is not None:
        order.lines = []
        session.flush()  # the old lines go before the new ones take their numbers
        order.lines = lines
        order.total = sum((line.amount for line in lines), Decimal("0.00"))
    record(
        session,
        Action.ORDER_UPDATED,
        actor=principal.actor,
        subject_org_id=order.buyer_org_id,
        object_type="order",
        object_id=order.id,
        before=before,
        after=snapshot(order),
    )
    commit_or_conflict(session, "Your organization already has an order with this number.", {"number": ["Already used."]})
    return order


# -- transitions ----------------------------------------------------------------------------


def snapshot(order: PurchaseOrder) -> dict[str, Any]:
    """The order as the parties see it, with exact decimals as strings."""
    return {
        "number": order.number,
        "supplier_org_id": str(order.supplier_org_id),
        "currency": order.currency,
        "ship_to": order.ship_to,
        "incoterm": order.incoterm,
        "payment_terms": order.payment_terms,
        "total": str(order.total),
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "product_name": line.product_name,
                "unit_of_measure": line.unit_of_measure,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "requested_date": line.requested_date.isoformat(),
                "amount": str(line.amount),
            }
            for line in order.lines
        ],
    }


def _new_revision(session: Session, order: PurchaseOrder, principal: Principal, reason: str) -> None:
    order.revision += 1
    session.add(
        OrderRevision(
            order_id=order.id, number=order.revision, reason=reason, snapshot=snapshot(order), created_at=clock.utcnow(), created_by=principal.user.id
        )
    )


def audit_step(session: Session, principal: Principal, order: PurchaseOrder, action: str, before_state: OrderState, **details: Any) -> None:
    record(
        session,
        _ACTIONS[action],
        actor=principal.actor,
        subject_org_id=order.buyer_org_id,
        related_org_id=order.supplier_org_id,
        object_type="order",
        object_id=order.id,
        before={"state": str(before_state)},
        after={"state": str(order.state), "revision": order.revision},
        **details,
    )


def tell(session: Session, event: str, order: PurchaseOrder, org_ids, summary: str, **data: Any) -> None:
    """Notify the organizations of an order step (in-app, and their webhooks), in the caller's transaction."""
    notify(
        session,
        event,
        org_ids=org_ids,
        object_type="order",
        object_id=order.id,
        summary=summary,
        data={"order_id": str(order.id), "order_number": order.number, "state": str(order.state), **data},
    )


def issue(session: Session, principal: Principal, order_id: uuid.UUID) -> PurchaseOrder:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    _issue(session, principal, order)
    session.commit()
    return order


def issue_generated(session: Session, principal: Principal, data: dict[str, Any], origin: str, *, consignment: bool = False) -> PurchaseOrder:
    """Write and issue an order in the caller's transaction (the caller commits), for a
    process that orders on the buyer's behalf within terms the buyer agreed (a VMI
    agreement): `origin` says which, on the order, for both sides. Goods on `consignment`
    are paid as they are consumed, so the order must settle on open account (409 else)."""
    if consignment and payment_terms.applying(session, principal.org.id, data["supplier_id"]).settlement != Settlement.OPEN_ACCOUNT:
        raise Conflict("Goods on consignment are paid as they are consumed: the partnership's payment terms must be open account, not escrow.")
    order = _draft(session, principal, data)
    order.origin, order.consignment = origin, consignment
    _issue(session, principal, order)
    return order


def _issue(session: Session, principal: Principal, order: PurchaseOrder) -> None:
    check(session, order, principal, "issue")
    if errors := value_errors([line.amount for line in order.lines]):
        raise ValidationFailed(errors)
    if not tenancy.are_partners(session, Relation.BUYER_SUPPLIER, order.buyer_org_id, order.supplier_org_id):
        raise Conflict("The supplier is no longer an active partner of your organization.", errors={"supplier_id": ["Not an active supplier partner."]})
    before = lifecycle.enter(order, "issue")
    order.issued_at = clock.utcnow()
    # The partnership's payment terms as they stand now are the order's (later changes do not move it).
    agreed = payment_terms.applying(session, order.buyer_org_id, order.supplier_org_id)
    order.settlement, order.net_days = agreed.settlement, agreed.net_days
    _new_revision(session, order, principal, "issued")
    audit_step(session, principal, order, "issue", before)
    paid_by = "escrow" if order.settlement == Settlement.ESCROW else f"open account, net {order.net_days} days"
    tell(
        session,
        "order.issued",
        order,
        {order.supplier_org_id},
        f"{principal.org.legal_name} issued order {order.number}: {order.total} {order.currency}, paid by {paid_by}.",
        settlement=str(order.settlement),
        net_days=order.net_days,
    )


def over_ordered(order: PurchaseOrder, answers: list[dict[str, Any]]) -> dict[int, dict[str, list[str]]]:
    """The answers (by position) confirming more than the line ordered. Answers whose line or
    quantity is not readable yet are passed over, so that a form with other mistakes can
    still be told about this one in the same pass."""
    ordered = {line.line_no: line.quantity for line in order.lines}
    errors: dict[int, dict[str, list[str]]] = {}
    for index, answer in enumerate(answers):
        try:
            quantity = Decimal(str(answer.get("confirmed_quantity", "")).strip())
        except ArithmeticError:
            continue
        limit = ordered.get(answer.get("line_no"))  # type: ignore[arg-type]
        if limit is not None and quantity.is_finite() and quantity > limit:
            errors[index] = {"confirmed_quantity": [f"At most the ordered {limit}."]}
    return errors


def acknowledgement_form_mistakes(session: Session, principal: Principal, order_id: uuid.UUID, readable: dict[str, Any]) -> dict[str, Any]:
    """`over_ordered` of what the schema could read of a refused acknowledgement, when the
    principal may acknowledge the order now; {} otherwise."""
    try:
        order = policy.get_visible(session, PurchaseOrder, order_id, principal)
        check(session, order, principal, "acknowledge")
    except DomainError:
        return {}
    answers = readable.get("lines")
    over = over_ordered(order, [a if isinstance(a, dict) else {} for a in answers]) if isinstance(answers, list) else {}
    return {"lines": over} if over else {}


def acknowledge(session: Session, principal: Principal, order_id: uuid.UUID, answers: list[dict[str, Any]]) -> PurchaseOrder:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "acknowledge")
    if not tenancy.are_partners(session, Relation.BUYER_SUPPLIER, order.buyer_org_id, order.supplier_org_id):
        # The partnership names the escrow's arbiter: it must still stand.
        raise Conflict("Your organization is no longer an active supplier partner of this buyer.", current_state=str(order.state))
    by_line = {answer["line_no"]: answer for answer in answers}
    errors: dict[str, Any] = {}
    if len(by_line) != len(answers):
        errors["lines"] = ["Answer each line once."]
    missing = sorted({line.line_no for line in order.lines} - by_line.keys())
    unknown = sorted(by_line.keys() - {line.line_no for line in order.lines})
    if missing or unknown:
        errors["lines"] = [f"Answer every line of the order exactly once (missing: {missing or 'none'}, unknown: {unknown or 'none'})."]
    else:
        line_errors = over_ordered(order, answers)
        if line_errors:
            errors["lines"] = line_errors
        elif all(answer["confirmed_quantity"] == 0 for answer in answers):
            errors["lines"] = ["Confirm at least one line, or reject the order."]
        else:
            confirmed = [line_value(by_line[line.line_no]["confirmed_quantity"].quantize(QUANTITY_STEP), line.unit_price) for line in order.lines]
            errors.update(value_errors(confirmed, what="confirmed part of the order"))
    if errors:
        raise ValidationFailed(errors)
    confirmed_total = Decimal("0.00")
    partial = False
    for line in order.lines:
        answer = by_line[line.line_no]
        confirmed_quantity: Decimal = answer["confirmed_quantity"].quantize(QUANTITY_STEP)
        line.confirmed_quantity = confirmed_quantity
        line.confirmed_date = answer["confirmed_date"]
        confirmed_total += line_value(confirmed_quantity, line.unit_price)
        partial = partial or confirmed_quantity < line.quantity
    order.confirmed_total = confirmed_total
    order.arbiter_org_id = tenancy.arbiter_of(session, order.buyer_org_id, order.supplier_org_id)
    # The confirmed total goes into escrow from the buyer's settlement tokens, queued in this
    # same transaction (a 409 here leaves the order as it was). On open account nothing is
    # escrowed: the buyer pays the supplier's approved invoice at its due date.
    fundings = [] if lifecycle.on_open_account(order) else escrow.fund(session, order)
    before = lifecycle.enter(order, "acknowledge")
    order.acknowledged_at = clock.utcnow()
    session.flush()
    audit_step(
        session,
        principal,
        order,
        "acknowledge",
        before,
        confirmed_total=str(confirmed_total),
        partial=partial,
        escrow_transactions=[str(i.uid) for i in fundings],
    )
    tell(
        session,
        "order.acknowledged",
        order,
        {order.buyer_org_id},
        f"{principal.org.legal_name} confirmed order {order.number}{' in part' if partial else ''}: {confirmed_total} {order.currency}, "
        + (f"on open account (net {order.net_days} days)." if not fundings else "locked in escrow from your settlement tokens."),
        confirmed_total=str(confirmed_total),
    )
    session.commit()
    return order


def reject(session: Session, principal: Principal, order_id: uuid.UUID, reason: str) -> PurchaseOrder:
    return _close(session, principal, order_id, "reject", reason)


def cancel(session: Session, principal: Principal, order_id: uuid.UUID, reason: str) -> PurchaseOrder:
    return _close(session, principal, order_id, "cancel", reason)


def _close(session: Session, principal: Principal, order_id: uuid.UUID, action: str, reason: str) -> PurchaseOrder:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, action)
    voided = escrow.void_funding(session, order) if order.confirmed_total is not None and not lifecycle.on_open_account(order) else None
    before = lifecycle.enter(order, action)
    order.state_reason = reason.strip()
    order.closed_at = clock.utcnow()
    proposal = _open_proposal(session, order)
    if proposal is not None:
        proposal.state = ProposalState.DECLINED
        proposal.decision_reason = f"Order {order.state}."
        proposal.decided_at = order.closed_at
    if before == OrderState.DRAFT:
        record(
            session,
            _ACTIONS[action],
            actor=principal.actor,
            subject_org_id=order.buyer_org_id,
            object_type="order",
            object_id=order.id,
            before={"state": str(before)},
            after={"state": str(order.state)},
            reason=order.state_reason,
        )
    else:
        extra = {"escrow_transactions": [str(voided.uid)]} if voided is not None else {}
        audit_step(session, principal, order, action, before, reason=order.state_reason, **extra)
        other = order.buyer_org_id if action == "reject" else order.supplier_org_id
        tell(
            session,
            f"order.{order.state}",
            order,
            {other},
            f"{principal.org.legal_name} {order.state} order {order.number}: {order.state_reason}",
            reason=order.state_reason,
        )
    session.commit()
    return order


# -- reading --------------------------------------------------------------------------------


def order_list_queries(
    principal: Principal, *, state: OrderState | None = None, partner_id: uuid.UUID | None = None, role: str | None = None
) -> list[sa.Select]:
    """orders_query split by side (orders placed, orders received) of each organization whose
    orders the caller reads (its own; under an engagement, the grantor's too): disjoint
    queries a list pages through together, each along its own index."""
    sides = [role] if role else ["buyer", "supplier"]
    return [orders_query(principal, state=state, partner_id=partner_id, role=side, owner=owner) for owner in policy.owners(principal) for side in sides]


def orders_query(
    principal: Principal,
    *,
    state: OrderState | None = None,
    partner_id: uuid.UUID | None = None,
    role: str | None = None,
    owner: uuid.UUID | None = None,
) -> sa.Select:
    """The orders the principal sees; with `role`, those `owner` (by default the principal's
    organization) places ("buyer") or receives ("supplier")."""
    me = principal.org.id
    owner = owner or me
    query = sa.select(PurchaseOrder).where(policy.visible(principal, PurchaseOrder))
    if state is not None:
        query = query.where(PurchaseOrder.state == state)
    if partner_id is not None:
        query = query.where(sa.or_(PurchaseOrder.buyer_org_id == partner_id, PurchaseOrder.supplier_org_id == partner_id))
    if role == "buyer":
        query = query.where(PurchaseOrder.buyer_org_id == owner)
    elif role == "supplier":
        query = query.where(PurchaseOrder.supplier_org_id == owner)
    if role is not None and owner != me:  # an order between the caller and the owner is in the caller's own branches
        query = query.where(PurchaseOrder.buyer_org_id != me, PurchaseOrder.supplier_org_id != me)
    return query


def revisions(session: Session, order: PurchaseOrder) -> list[OrderRevision]:
    return list(session.execute(sa.select(OrderRevision).where(OrderRevision.order_id == order.id).order_by(OrderRevision.number)).scalars())


def orders_of(session: Session, order_ids) -> dict[uuid.UUID, PurchaseOrder]:
    """The orders of these ids (for pages showing what a shipment or dispute shows of its order)."""
    ids = set(order_ids)
    if not ids:
        return {}
    return {order.id: order for order in session.execute(sa.select(PurchaseOrder).where(PurchaseOrder.id.in_(ids))).scalars()}


def counts_by_side(session: Session, principal: Principal) -> dict[str, dict[str, int]]:
    """Orders by state, as the buyer and as the supplier ({} for a side the org does not take)."""
    out: dict[str, dict[str, int]] = {}
    for side in ("buyer", "supplier"):
        if not principal.org.has(side):
            continue
        query = orders_query(principal, role=side).with_only_columns(PurchaseOrder.state, sa.func.count()).group_by(PurchaseOrder.state)
        out[side] = {str(state): n for state, n in session.execute(query)}
    return out
