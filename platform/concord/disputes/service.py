"""Disputes over an order's escrow: either party opens one (the escrow freezes), the
arbiter the escrow names resolves it with a split (see concord.disputes.lifecycle)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import clock, files, policy
from concord.audit.service import Action, record
from concord.db import commit_or_conflict, get_or_raise, locked
from concord.disputes import lifecycle as dispute_lifecycle
from concord.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from concord.fingerprints import fingerprint
from concord.ledger import escrow
from concord.orders import lifecycle
from concord.orders.models import Dispute, DisputeEvidence, DisputeState, PurchaseOrder, Shipment
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
        {order.buyer_org_id, order.supplier_org_id, arbiter_id, *carriers_of(session, order.id)},
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


# -- the case: who takes part, and the evidence they add ------------------------------------

BUYER, SUPPLIER, ARBITER, CARRIER = "buyer", "supplier", "arbiter", "carrier"


def carriers_of(session: Session, order_id: uuid.UUID) -> set[uuid.UUID]:
    """The organizations carrying shipments of the order (each may add evidence to its dispute)."""
    return set(session.execute(sa.select(Shipment.carrier_org_id).where(Shipment.order_id == order_id)).scalars())


def party_of(session: Session, dispute: Dispute, org_id: uuid.UUID) -> str | None:
    """The part the organization takes in the dispute's case: buyer, supplier, arbiter,
    carrier (of one of the order's shipments), or None."""
    for party, party_org in ((BUYER, dispute.buyer_org_id), (SUPPLIER, dispute.supplier_org_id), (ARBITER, dispute.arbiter_org_id)):
        if party_org == org_id:
            return party
    return CARRIER if org_id in carriers_of(session, dispute.order_id) else None


def sees_money(dispute: Dispute, principal: Principal) -> bool:
    """The order's prices, the escrow and the split are for the buyer, the supplier and the
    arbiter; a carrier reads the rest of the case (its shipments and the evidence)."""
    return principal.org.id in (dispute.buyer_org_id, dispute.supplier_org_id, dispute.arbiter_org_id)


def evidence_refusal(dispute: Dispute, principal: Principal) -> str | None:
    """Why the principal may not add evidence to the dispute now, or None."""
    if dispute.state != DisputeState.OPEN:
        return f"The dispute is {dispute.state}: its case takes no more evidence."
    if principal.user.role not in (Role.ADMIN, Role.MEMBER):
        return "Viewers read the case; admins and members add evidence."
    return None


def add_evidence(session: Session, principal: Principal, dispute_id: uuid.UUID, comment: str | None, upload: files.Upload | None) -> DisputeEvidence:
    """A comment, a file, or both, added to the open dispute's case by one of its parties
    (buyer, supplier, a carrier of the order, or the arbiter)."""
    dispute = policy.get_visible(session, Dispute, dispute_id, principal)
    policy.require_writer(principal)
    dispute = locked(session, Dispute, dispute.id)  # a resolution and new evidence do not cross
    if dispute.state != DisputeState.OPEN:
        raise Conflict(f"The dispute is {dispute.state}: its case takes no more evidence.", current_state=str(dispute.state))
    comment = comment.strip() if comment else None
    if not comment and upload is None:
        raise ValidationFailed({"comment": ["Write a comment, attach a file, or both."]})
    if upload is not None:
        held = session.execute(
            sa.select(sa.func.count()).select_from(DisputeEvidence).where(DisputeEvidence.dispute_id == dispute.id, DisputeEvidence.file_sha256.is_not(None))
        ).scalar_one()
        if held >= current_app.config["EVIDENCE_MAX_FILES"]:
            raise ValidationFailed({"file": [f"This dispute already holds {held} files, the most one case may hold."]})
    party = party_of(session, dispute, principal.org.id)
    if party is None:  # visible, so a party: defensive only
        raise Forbidden("Only the parties to the dispute add evidence to it.")
    stored = files.store(session, upload) if upload is not None else None
    evidence = DisputeEvidence(
        dispute_id=dispute.id,
        organization_id=principal.org.id,
        added_by=principal.user.id,
        party=party,
        comment=comment,
        file_sha256=stored.sha256 if stored else None,
        file_name=upload.name if upload else None,
    )
    session.add(evidence)
    session.flush()
    order = get_or_raise(session, PurchaseOrder, dispute.order_id)
    described: dict[str, Any] = {"party": party, "comment": comment}
    if stored is not None and upload is not None:
        described.update(file_name=upload.name, sha256=stored.sha256, size=stored.size, media_type=stored.media_type)
    record(
        session,
        Action.DISPUTE_EVIDENCE_ADDED,
        actor=principal.actor,
        subject_org_id=dispute.buyer_org_id,
        related_org_id=dispute.supplier_org_id,
        object_type="dispute",
        object_id=dispute.id,
        after={"evidence_id": str(evidence.id), **{k: v for k, v in described.items() if v is not None}},
    )
    what = " and ".join(part for part in ("a comment" if comment else "", f"the file {upload.name}" if upload else "") if part)
    tell(
        session,
        "dispute.evidence_added",
        order,
        {dispute.buyer_org_id, dispute.supplier_org_id, dispute.arbiter_org_id, *carriers_of(session, order.id)},
        f"{principal.org.legal_name} ({party}) added {what} to the dispute on order {order.number}.",
        dispute_id=str(dispute.id),
        evidence_id=str(evidence.id),
    )
    session.commit()
    return evidence


def evidence_of(session: Session, dispute_id: uuid.UUID) -> list[DisputeEvidence]:
    """The dispute's evidence, oldest first."""
    query = sa.select(DisputeEvidence).where(DisputeEvidence.dispute_id == dispute_id).order_by(DisputeEvidence.created_at, DisputeEvidence.id)
    return list(session.execute(query).scalars())


def evidence_query(principal: Principal, dispute_id: uuid.UUID) -> sa.Select:
    return sa.select(DisputeEvidence).where(DisputeEvidence.dispute_id == dispute_id, policy.visible(principal, DisputeEvidence))


def evidence_file(session: Session, principal: Principal, dispute_id: uuid.UUID, evidence_id: uuid.UUID) -> tuple[DisputeEvidence, files.StoredFile]:
    """An evidence entry's file, for a party to its dispute (404 for anyone else, or when
    the entry is a comment without a file)."""
    policy.get_visible(session, Dispute, dispute_id, principal)
    evidence = policy.get_visible(session, DisputeEvidence, evidence_id, principal)
    if evidence.dispute_id != dispute_id or evidence.file_sha256 is None:
        raise NotFound()
    return evidence, get_or_raise(session, files.StoredFile, evidence.file_sha256)
