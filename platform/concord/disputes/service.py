"""Disputes over an order's escrow: either party opens one (the escrow freezes), the
arbiter the escrow names resolves it with a split (see concord.disputes.lifecycle)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import commit_or_conflict, get_or_raise, locked
from concord.disputes import lifecycle as dispute_lifecycle
from concord.errors import Forbidden, InvalidTransition, ValidationFailed
from concord.fingerprints import fingerprint
from concord.ledger import escrow
from concord.orders import lifecycle
from concord.orders.models import Dispute, DisputeState, PurchaseOrder
from concord.orders.service import audit_step, check, tell
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Role


def open_dispute(session: Session, principal: Principal, order_id: uuid.UUID, reason: str) -> Dispute:
    order = policy.get_visible(session, PurchaseOrder, order_id, principal, for_update=True)
    check(session, order, principal, "open_dispute")
    reason = reason.strip()
    arbiter_id = order.arbiter_org_id or tenancy.operator_id(session)
    dispute = Dispute(
        order_id=order.id,
        buyer_org_id=order.buyer_org_id,
        supplier_org_id=order.supplier_org_id,
        arbiter_org_id=arbiter_id,
        opened_by_org_id=principal.org.id,
        opened_by=principal.user.id,
        state=DisputeState.OPEN,
        reason=reason,
        order_state_before=str(order.state),
    )
    session.add(dispute)
    before = lifecycle.enter(order, "open_dispute")
    intent = escrow.dispute(
        session,
        order,
        principal.org.id,
        fingerprint({"order_id": str(order.id), "reason": reason}),
        f"{principal.org.legal_name} disputes order {order.number}",
    )
    session.flush()
    audit_step(session, principal, order, "open_dispute", before, dispute_id=str(dispute.id), reason=reason, escrow_transactions=[str(intent.uid)])
    tell(
        session,
        "dispute.opened",
        order,
        {order.buyer_org_id, order.supplier_org_id, arbiter_id},
        f"{principal.org.legal_name} opened a dispute on order {order.number}: {reason}",
        dispute_id=str(dispute.id),
    )
    commit_or_conflict(session, "A dispute on this order was just opened by another request.")
    return dispute


def resolve_dispute(session: Session, principal: Principal, dispute_id: uuid.UUID, payee_amount: Decimal, resolution: str) -> Dispute:
    """The arbiter decides: `payee_amount` to the supplier, the rest of the escrow back to the buyer."""
    dispute = policy.get_visible(session, Dispute, dispute_id, principal)
    policy.require_admin(principal)
    if dispute.arbiter_org_id != principal.org.id:
        raise Forbidden("Only the dispute's arbiter may resolve it.")
    order = locked(session, PurchaseOrder, dispute.order_id)
    dispute = locked(session, Dispute, dispute.id)
    # A resolution the chain refused leaves the escrow disputed: the arbiter decides again.
    if (why := dispute_lifecycle.refusal(session, dispute, order, "resolve")) is not None:
        raise InvalidTransition("dispute", str(dispute.state), "resolve", [], why)
    escrowed = order.confirmed_total
    if escrowed is None:
        raise LookupError(f"Order {order.number} has no confirmed total: nothing is escrowed")
    if payee_amount > escrowed:
        raise ValidationFailed({"payee_amount": [f"At most the escrowed {escrowed} {order.currency}."]})
    exponent = payee_amount.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -2:
        raise ValidationFailed({"payee_amount": ["At most two decimal places."]})
    now = clock.utcnow()
    dispute_lifecycle.enter(dispute, "resolve")
    lifecycle.enter(order, "resolve")  # the order stays disputed until the chain settles it
    dispute.payee_amount = payee_amount.quantize(Decimal("0.01"))
    dispute.buyer_amount = escrowed - dispute.payee_amount
    dispute.resolution, dispute.resolved_by, dispute.resolved_at = resolution.strip(), principal.user.id, now
    order.settlement_queued_at = now
    intent = escrow.resolve(
        session,
        order,
        principal.org.id,
        dispute.payee_amount,
        f"{principal.org.legal_name} resolves the dispute on order {order.number}: {dispute.payee_amount} to the supplier, {dispute.buyer_amount} back to the buyer",
    )
    session.flush()
    record(
        session,
        Action.DISPUTE_RESOLVED,
        actor=principal.actor,
        subject_org_id=order.buyer_org_id,
        related_org_id=order.supplier_org_id,
        object_type="dispute",
        object_id=dispute.id,
        before={"state": "open"},
        after={"state": "resolved", "payee_amount": str(dispute.payee_amount), "buyer_amount": str(dispute.buyer_amount)},
        resolution=dispute.resolution,
        escrow_transactions=[str(intent.uid)],
    )
    tell(
        session,
        "dispute.resolved",
        order,
        {order.buyer_org_id, order.supplier_org_id},
        f"The dispute on order {order.number} is resolved: {dispute.payee_amount} {order.currency} to the supplier, {dispute.buyer_amount} back to the buyer.",
        dispute_id=str(dispute.id),
        payee_amount=str(dispute.payee_amount),
        buyer_amount=str(dispute.buyer_amount),
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


def allowed_actions(session: Session, dispute: Dispute, principal: Principal) -> list[str]:
    """What the principal may do with the dispute now (its arbiter's admins resolve it)."""
    actor = dispute_lifecycle.ARBITER if dispute.arbiter_org_id == principal.org.id and principal.user.role == Role.ADMIN else None
    return dispute_lifecycle.allowed_actions(session, dispute, get_or_raise(session, PurchaseOrder, dispute.order_id), actor)


def close_unresolved(session: Session, order: PurchaseOrder, to_supplier: Decimal, to_buyer: Decimal) -> None:
    """The order's escrow settled while its dispute was open: the chain refused to open it
    (too late) and the escrow was released past its window."""
    dispute = dispute_of(session, order.id)
    if dispute is None or dispute.state != DisputeState.OPEN:
        return
    dispute_lifecycle.enter(dispute, "close_unresolved")
    dispute.payee_amount, dispute.buyer_amount = to_supplier, to_buyer
    dispute.resolution, dispute.resolved_at = "Closed without a decision: the escrow refused the dispute and released after its window.", order.closed_at


def open_to_arbitrate(session: Session, principal: Principal) -> int:
    """How many open disputes the principal's organization is the arbiter of."""
    return session.execute(
        sa.select(sa.func.count()).select_from(Dispute).where(Dispute.arbiter_org_id == principal.org.id, Dispute.state == DisputeState.OPEN)
    ).scalar_one()
