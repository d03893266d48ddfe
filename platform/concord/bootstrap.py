"""Every reaction of one domain to another, registered for one app at start-up.

`create_app` calls `wire(app)` once; nothing registers itself as a side effect of being
imported. What is wired here:

- chain confirmations: an order closes when its escrow's settlement is mined;
- before signing: a withdrawal an earlier one made moot is not sent;
- chain confirmations: a provenance batch is anchored when its root is mined;
- the ledger worker's round jobs: escrows whose window passed are released, documents' owners
  reminded of expiry, the audit trail's head anchored on chain, provenance batches closed (by
  size or age) and their anchors queued, webhooks sent; overdue open-account invoices told;
- `concord ledger verify`: every order is compared with its escrow on chain;
- each physical step of an order (shipment, milestone, proof of delivery, receipt) records
  its EPCIS event in the step's transaction;
- visibility of the notification, provenance, engagement, document and invoice tables (policy.py knows every other
  table's rule), and what an engagement lets its auditor read of orders, shipments, products
  and events;
- the audit trail's record of an attempt to reach another organization's object (404);
- receivables and their financing (`_wire_financing`);
- VMI stock data: who reads shared records and CSV uploads; the worker reads long uploads on.
"""

from __future__ import annotations

from flask import Flask

from concord import wiring
from concord.audit import anchoring
from concord.audit import service as audit
from concord.documents import service as documents
from concord.engagements import service as engagements
from concord.finance import financing, invoices, limits, programmes, receivables
from concord.finance import queries as invoice_queries
from concord.finance import settlement as finance_settlement
from concord.finance import verification as finance_verification
from concord.ledger import escrow_state, withdrawals
from concord.ledger import receivables as receivables_gateway
from concord.notifications import service as notifications
from concord.orders import settlement, verification
from concord.provenance import batches as provenance_batches
from concord.provenance import service as provenance
from concord.provenance import steps as provenance_steps
from concord.vmi import agreements as vmi_agreements
from concord.vmi import consignment as vmi_consignment
from concord.vmi import proposals as vmi_proposals
from concord.vmi import review as vmi_review
from concord.vmi import stock as vmi_stock
from concord.vmi import stock_uploads as vmi_uploads


def wire(app: Flask) -> wiring.Wiring:
    registry = wiring.of(app)
    registry.on_confirmed.append(escrow_state.on_settled(settlement.close_on_settlement))
    registry.on_confirmed.append(provenance_batches.on_confirmed)
    registry.before_sign.append(wiring.SignCheck(withdrawals.is_withdrawal, withdrawals.nothing_left))
    registry.round_jobs.extend(
        [settlement.release_overdue, documents.remind_expiring, anchoring.anchor_head, provenance_batches.close_due, notifications.deliver_due]
    )
    registry.round_jobs.append(invoices.notify_overdue)
    registry.verify_checks.append(verification.verify_escrows)
    registry.visibility.update(notifications.visibility())
    registry.visibility.update(provenance.visibility())
    registry.visibility.update(engagements.visibility())
    registry.engaged_visibility.update(engagements.engaged_visibility())
    registry.visibility.update(documents.visibility())
    registry.visibility.update(invoice_queries.visibility())
    registry.on_denied_probe.append(audit.record_denied_access)
    registry.on_physical_step.append(provenance_steps.on_physical_step)
    _wire_financing(registry)
    _wire_vmi(registry)
    return registry


def _wire_financing(registry: wiring.Wiring) -> None:
    """Receivables and their financing: the chain's answers move them, the escrow's
    settlement pays their holder, the worker registers, expires and settles what is due."""
    registry.on_confirmed.append(receivables_gateway.on_step(finance_settlement.on_chain_step))
    registry.on_failed.append(receivables_gateway.on_refused(finance_settlement.on_chain_refusal))
    registry.on_confirmed.append(escrow_state.on_settled(finance_settlement.on_escrow_settled))
    registry.on_confirmed.append(receivables.verify_on_receipt)
    registry.round_jobs.extend([receivables.register_due, financing.expire_due, financing.settle_due])
    registry.verify_checks.append(finance_verification.verify_receivables)
    for rules in (receivables.visibility(), financing.visibility(), finance_settlement.visibility(), limits.visibility(), programmes.visibility()):
        registry.visibility.update(rules)


def _wire_vmi(registry: wiring.Wiring) -> None:
    """VMI: agreements and their proposals seen by their buyer and supplier, stock data and
    uploads by the buyer; the worker reads long uploads, ends agreements past their end date,
    bills consumed consignment goods once a day and reviews the items whose review period
    came round (after the uploads, so reviews see the data)."""
    registry.visibility.update(vmi_agreements.visibility())
    registry.visibility.update(vmi_proposals.visibility())
    registry.visibility.update(vmi_stock.visibility())
    registry.round_jobs.extend([vmi_uploads.process_due, vmi_agreements.end_due, vmi_consignment.bill_due, vmi_review.review_due])
