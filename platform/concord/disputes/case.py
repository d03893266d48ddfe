"""A dispute's case: everything the arbiter decides on, in one place for the API and the
portal. The order's lines, its shipments with their lots, milestones and proofs of
delivery, the receipt with what was rejected and why, the escrow and its transactions, the
evidence the parties added, and the order's timeline.

A carrier of the order reads its own shipments and the evidence (and adds to it); the
prices, the receipt's values, the escrow and the timeline are the buyer's, the supplier's
and the arbiter's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from concord import policy
from concord.db import get_or_raise
from concord.disputes import service
from concord.ledger import escrow_state
from concord.logistics.service import milestones_of, shipments_of
from concord.orders import timeline
from concord.orders.models import Dispute, DisputeEvidence, Milestone, PurchaseOrder, Receipt, Shipment
from concord.orders.settlement import receipt_of
from concord.policy import Principal
from concord.tenancy.service import legal_names


@dataclass
class Case:
    dispute: Dispute
    order: PurchaseOrder
    party: str | None  # buyer, supplier, arbiter or carrier: the viewer's part in it
    sees_money: bool
    shipments: list[Shipment]
    milestones: dict[uuid.UUID, list[Milestone]]
    evidence: list[DisputeEvidence]
    names: dict[uuid.UUID, str]
    allowed_actions: list[str]
    evidence_refusal: str | None
    receipt: Receipt | None = None
    settlement: escrow_state.Settlement | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)


def case(session: Session, principal: Principal, dispute_id: uuid.UUID) -> Case:
    dispute = policy.get_visible(session, Dispute, dispute_id, principal)
    order = get_or_raise(session, PurchaseOrder, dispute.order_id)
    money = service.sees_money(dispute, principal)
    shipments = [s for s in shipments_of(session, order.id) if money or s.carrier_org_id == principal.org.id]
    evidence = service.evidence_of(session, dispute.id)
    refusal = service.evidence_refusal(dispute, principal)
    allowed = service.allowed_actions(session, dispute, principal) + ([] if refusal else ["add_evidence"])
    org_ids = {dispute.buyer_org_id, dispute.supplier_org_id, dispute.arbiter_org_id, dispute.opened_by_org_id}
    org_ids |= {s.carrier_org_id for s in shipments} | {e.organization_id for e in evidence}
    found = Case(
        dispute=dispute,
        order=order,
        party=service.party_of(session, dispute, principal.org.id),
        sees_money=money,
        shipments=shipments,
        milestones={s.id: milestones_of(session, s.id) for s in shipments},
        evidence=evidence,
        names=legal_names(session, org_ids),
        allowed_actions=sorted(allowed),
        evidence_refusal=refusal,
    )
    if money:
        found.receipt = receipt_of(session, order.id)
        found.settlement = escrow_state.settlement(session, order)
        found.timeline = timeline.timeline(session, order)
    return found
