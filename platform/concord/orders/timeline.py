"""An order's history in one list, oldest first: revisions and proposals, shipments,
milestones, deliveries, receipt, dispute, and every chain transaction with its state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from concord.disputes.service import dispute_of, evidence_of
from concord.ledger import escrow_state
from concord.ledger.models import IntentState
from concord.logistics.service import milestones_of, shipments_of
from concord.orders import changes, service
from concord.orders.models import DisputeState, OrderState, PurchaseOrder, ShipmentState
from concord.orders.settlement import receipt_of
from concord.tenancy import service as tenancy


def timeline(session: Session, order: PurchaseOrder) -> list[dict[str, Any]]:
    """One history of the order, oldest first: its revisions and proposals, shipments,
    milestones, deliveries, receipt, dispute, and every chain transaction with its state."""
    entries: list[dict[str, Any]] = []

    def add(at: datetime | None, kind: str, summary: str, object_id: Any = None, transaction: Any = None) -> None:
        if at is not None:
            entries.append({"at": at, "kind": kind, "summary": summary, "object_id": str(object_id) if object_id else None, "transaction": transaction})

    # Each entry says what was true then: amounts come from the revision's own snapshot,
    # never from the order as it is now.
    add(order.created_at, "created", f"Order {order.number} drafted.", order.id)
    for revision in service.revisions(session, order):
        total = revision.snapshot.get("total")
        worth = f" ({total} {revision.snapshot.get('currency', order.currency)})" if total else ""
        add(revision.created_at, "revision", f"Revision {revision.number}: {revision.reason}{worth}.", order.id)
    for proposal in changes.proposals(session, order):
        add(proposal.created_at, "change_proposal", f"The supplier proposed changes to {len(proposal.changes)} line(s).", proposal.id)
        add(proposal.decided_at, "change_proposal_decided", f"The change proposal was {proposal.state}.", proposal.id)
    add(order.acknowledged_at, "acknowledged", f"The supplier confirmed {order.confirmed_total} {order.currency}; it goes into escrow.", order.id)
    shipment_ids = []
    for shipment in shipments_of(session, order.id):
        shipment_ids.append(str(shipment.id))
        lots = ", ".join(f"line {sl.line_no}: {sl.quantity}" + (f" (lot {sl.lot_number})" if sl.lot_number else "") for sl in shipment.lines)
        add(shipment.created_at, "shipment", f"Shipment {shipment.number} with {tenancy.legal_name(session, shipment.carrier_org_id)}: {lots}.", shipment.id)
        for milestone in milestones_of(session, shipment.id):
            add(
                milestone.occurred_at, "milestone", f"Shipment {shipment.number}: {str(milestone.kind).replace('_', ' ')} at {milestone.location}.", shipment.id
            )
        if shipment.state == ShipmentState.DELIVERED:
            add(
                shipment.pod_delivered_at,
                "proof_of_delivery",
                f"Shipment {shipment.number} delivered to {shipment.pod_receiver_name} (proof {shipment.pod_proof_hash}).",
                shipment.id,
            )
    receipt = receipt_of(session, order.id)
    if receipt is not None:
        add(receipt.created_at, "receipt", f"Receipt: {receipt.accepted_value} {order.currency} accepted, {receipt.refund_value} to be refunded.", receipt.id)
    dispute = dispute_of(session, order.id)
    if dispute is not None:
        add(dispute.created_at, "dispute_opened", f"{tenancy.legal_name(session, dispute.opened_by_org_id)} opened a dispute: {dispute.reason}", dispute.id)
        for evidence in evidence_of(session, dispute.id):
            given = [f"“{evidence.comment}”"] if evidence.comment else []
            if evidence.file_sha256:
                given.append(f"the file {evidence.file_name} (SHA-256 {evidence.file_sha256})")
            who = f"{tenancy.legal_name(session, evidence.organization_id)} ({evidence.party})"
            add(evidence.created_at, "dispute_evidence", f"{who} added evidence: {' and '.join(given)}.", evidence.id)
        if dispute.state == DisputeState.RESOLVED:
            add(
                dispute.resolved_at,
                "dispute_resolved",
                f"The arbiter decided {dispute.payee_amount} {order.currency} to the supplier, {dispute.buyer_amount} to the buyer: “{dispute.resolution}”.",
                dispute.id,
            )
    if order.state in (OrderState.CLOSED, OrderState.CANCELLED, OrderState.REJECTED):
        add(order.closed_at, str(order.state), f"Order {order.state}" + (f": {order.state_reason}." if order.state_reason else "."), order.id)
    for intent in escrow_state.transactions(session, order.id, shipment_ids):
        where = f" in block {intent.block_number}" if intent.block_number is not None else ""
        if intent.state == IntentState.SKIPPED and intent.last_error:
            where = f" ({intent.last_error.removeprefix('not sent: ')})"
        add(intent.finished_at or intent.created_at, "transaction", f"{intent.purpose}: {intent.state}{where}.", intent.uid, intent)
    entries.sort(key=lambda entry: entry["at"])
    return entries
