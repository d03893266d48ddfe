"""Cross-domain wiring is registered per app at start-up, never on import: two apps in one
process each hold their own registries, filled by concord.bootstrap."""

from __future__ import annotations

from concord import policy, wiring
from concord.app import create_app
from concord.audit import anchoring
from concord.catalog.models import Product
from concord.documents import service as documents
from concord.documents.models import Document
from concord.engagements.models import Engagement, EngagementRead
from concord.finance import financing, invoices, receivables
from concord.finance import verification as finance_verification
from concord.finance.models import ExposureLimit, FinancingOffer, FinancingProgramme, Invoice, Receivable, SettlementRecord
from concord.ledger import indexer, outbox, runtime
from concord.notifications import service as notifications
from concord.notifications.models import Notification, WebhookSubscription
from concord.orders import settlement, verification
from concord.orders.models import PurchaseOrder, Shipment
from concord.provenance import batches as provenance_batches
from concord.provenance.models import CaptureJob, EpcisEvent
from concord.vmi import agreements as vmi_agreements
from concord.vmi import consignment as vmi_consignment
from concord.vmi import review as vmi_review
from concord.vmi import stock_uploads
from concord.vmi.models import StockRecord, VmiAgreement, VmiProposal, VmiUpload
from flask import Flask


def _app(tmp_path, name: str):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
            "SECRET_KEY": "test-secret-key-not-for-production",
            "INSTANCE_DIR": str(tmp_path / name),
            "TESTING": True,
        }
    )


def test_each_app_holds_its_own_wiring_filled_at_start_up(tmp_path):
    first, second = _app(tmp_path, "first"), _app(tmp_path, "second")
    one, two = wiring.of(first), wiring.of(second)
    assert one is not two
    for registry in (one, two):
        assert [job.__name__ for job in registry.round_jobs] == [
            settlement.release_overdue.__name__,
            documents.remind_expiring.__name__,
            anchoring.anchor_head.__name__,
            provenance_batches.close_due.__name__,
            notifications.deliver_due.__name__,
            invoices.notify_overdue.__name__,
            receivables.register_due.__name__,
            financing.expire_due.__name__,
            financing.settle_due.__name__,
            stock_uploads.process_due.__name__,
            vmi_agreements.end_due.__name__,
            vmi_consignment.bill_due.__name__,
            vmi_review.review_due.__name__,
        ]
        assert registry.verify_checks == [verification.verify_escrows, finance_verification.verify_receivables]
        finance = {Invoice, Receivable, FinancingOffer, SettlementRecord, ExposureLimit, FinancingProgramme}
        vmi = {VmiAgreement, VmiProposal, StockRecord, VmiUpload}
        assert set(registry.visibility) == {Notification, WebhookSubscription, CaptureJob, EpcisEvent, Engagement, EngagementRead, Document} | finance | vmi
        assert set(registry.engaged_visibility) == {PurchaseOrder, Shipment, Product, EpcisEvent, Document}
        assert registry.on_confirmed[1] == provenance_batches.on_confirmed and len(registry.on_denied_probe) == 1
        # Receivables and their financing move on the chain's answers and the escrow's settlement.
        assert [react.__name__ for react in registry.on_confirmed[2:]] == ["on_step(on_chain_step)", "on_settled(on_escrow_settled)", "verify_on_receipt"]
        assert [react.__name__ for react in registry.on_failed] == ["on_refused(on_chain_refusal)"]
    one.round_jobs.clear()  # what one app changes, the other does not see
    assert len(two.round_jobs) == 13


def test_no_registry_lives_in_a_module():
    """Nothing can register itself on import: the registries exist only on apps."""
    assert not hasattr(outbox, "CONFIRMATION_HANDLERS") and not hasattr(outbox, "when_confirmed")
    assert not hasattr(runtime, "ROUND_JOBS")
    assert not hasattr(indexer, "register_check")
    assert not hasattr(policy, "register_visibility")
    bare = Flask("bare")  # an app create_app did not wire has empty registries
    assert wiring.of(bare) == wiring.Wiring()
