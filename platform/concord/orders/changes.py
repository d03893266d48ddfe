"""Change proposals: the supplier proposes new quantities, prices or dates for an issued
order's lines; the buyer accepts them (a new revision of the order) or declines them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.errors import InvalidTransition, NotFound, ValidationFailed
from concord.orders.lifecycle import check
from concord.orders.models import ChangeProposal, ProposalState, PurchaseOrder
from concord.orders.service import PRICE_STEP, QUANTITY_STEP, _new_revision, audit_step, line_value, tell, value_errors
from concord.policy import Principal


def proposals(session: Session, order: PurchaseOrder) -> list[ChangeProposal]:
    return list(session.execute(sa.select(ChangeProposal).where(ChangeProposal.order_id == order.id).order_by(ChangeProposal.created_at)).scalars())


def propose_change(session: Session, principal: Principal, order_id: uuid.UUID, data: dict[str, Any]) -> ChangeProposal:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "propose_change")
    line_numbers = {line.line_no for line in order.lines}
    errors, seen = {}, set()
    for index, change in enumerate(data["lines"]):
        if change["line_no"] not in line_numbers:
            errors[index] = {"line_no": [f"The order has lines {sorted(line_numbers)}."]}
        elif change["line_no"] in seen:
            errors[index] = {"line_no": ["Each line once."]}
        elif not {"quantity", "unit_price", "requested_date"} & change.keys():
            errors[index] = {"_schema": ["Propose a quantity, a unit price or a requested date."]}
        seen.add(change["line_no"])
    if errors:
        raise ValidationFailed({"lines": errors})
    if proposed_errors := value_errors(_values_after(order, data["lines"]), what="order as proposed"):
        raise ValidationFailed(proposed_errors)
    changes = [
        {key: (value.isoformat() if key == "requested_date" else str(value) if key != "line_no" else value) for key, value in change.items()}
        for change in data["lines"]
    ]
    proposal = ChangeProposal(
        order_id=order.id,
        based_on_revision=order.revision,
        proposed_by=principal.user.id,
        state=ProposalState.OPEN,
        note=(data.get("note") or "").strip() or None,
        changes=changes,
    )
    session.add(proposal)
    session.flush()
    audit_step(session, principal, order, "propose_change", order.state, proposal_id=str(proposal.id), changes=changes)
    tell(
        session,
        "order.change_proposed",
        order,
        {order.buyer_org_id},
        f"{principal.org.legal_name} proposes changes to order {order.number}.",
        proposal_id=str(proposal.id),
    )
    session.commit()
    return proposal


def _values_after(order: PurchaseOrder, changes: list[dict[str, Any]]) -> list[Decimal]:
    """Each line's value once `changes` (line_no with a new quantity and/or unit price) apply."""
    by_line = {change["line_no"]: change for change in changes}
    values = []
    for line in order.lines:
        change = by_line.get(line.line_no, {})
        quantity = Decimal(change.get("quantity", line.quantity)).quantize(QUANTITY_STEP)
        unit_price = Decimal(change.get("unit_price", line.unit_price)).quantize(PRICE_STEP)
        values.append(line_value(quantity, unit_price))
    return values


def decide_change(
    session: Session, principal: Principal, order_id: uuid.UUID, proposal_id: uuid.UUID, action: str, reason: str | None = None
) -> ChangeProposal:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    proposal = policy.get_visible(session, ChangeProposal, proposal_id, principal, for_update=True)
    if proposal.order_id != order.id:
        raise NotFound("No such change proposal on this order.")
    if proposal.state != ProposalState.OPEN:
        raise InvalidTransition("change proposal", str(proposal.state), action.removesuffix("_change"), [])
    check(session, order, principal, action)
    now = clock.utcnow()
    proposal.decided_by, proposal.decided_at, proposal.decision_reason = principal.user.id, now, (reason or "").strip() or None
    if action == "accept_change":
        if errors := value_errors(_values_after(order, proposal.changes), what="order as proposed"):
            raise ValidationFailed(errors)
        by_line = {line.line_no: line for line in order.lines}
        for change in proposal.changes:
            line = by_line[change["line_no"]]
            if "quantity" in change:
                line.quantity = Decimal(change["quantity"]).quantize(QUANTITY_STEP)
            if "unit_price" in change:
                line.unit_price = Decimal(change["unit_price"]).quantize(PRICE_STEP)
            if "requested_date" in change:
                line.requested_date = date.fromisoformat(change["requested_date"])
            line.amount = line_value(line.quantity, line.unit_price)
        order.total = sum((line.amount for line in order.lines), Decimal("0.00"))
        proposal.state = ProposalState.ACCEPTED
        _new_revision(session, order, principal, "the supplier's change proposal accepted")
    else:
        proposal.state = ProposalState.DECLINED
    audit_step(session, principal, order, action, order.state, proposal_id=str(proposal.id), reason=proposal.decision_reason)
    tell(
        session,
        f"order.change_{proposal.state}",
        order,
        {order.supplier_org_id},
        f"{principal.org.legal_name} {proposal.state} your change proposal on order {order.number}.",
        proposal_id=str(proposal.id),
    )
    session.commit()
    return proposal
