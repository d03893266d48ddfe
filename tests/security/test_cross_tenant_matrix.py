"""The cross-tenant matrix: every route that takes an object id, called by another
organization's admin with ids of objects it does not own, answers 404 and changes nothing.

The routes come from the app's URL map, not from a list kept by hand: a new endpoint whose
id argument this file does not know makes the suite fail until it is added to TARGETS.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from concord import files
from concord.audit.models import AuditEntry
from concord.auth.models import ApiToken
from concord.catalog import service as catalog
from concord.catalog.models import Location, Product
from concord.db import database
from concord.disputes import service as disputes
from concord.documents.models import Document
from concord.engagements import service as engagements
from concord.engagements.models import Engagement, EngagementRead
from concord.finance import invoices
from concord.finance.models import (
    ExposureLimit,
    FinancingOffer,
    FinancingProgramme,
    Invoice,
    InvoiceLine,
    OfferState,
    PaymentTerms,
    ProgrammeState,
    Receivable,
    SettlementRecord,
)
from concord.ledger import outbox
from concord.notifications import service as notifications
from concord.notifications.models import Notification, WebhookDelivery, WebhookSubscription
from concord.orders import changes
from concord.orders.models import ChangeProposal, Dispute, DisputeEvidence, OrderLine, PurchaseOrder
from concord.provenance import service as provenance
from concord.provenance.models import CaptureJob, EpcisEvent
from concord.tenancy import service as tenancy
from concord.tenancy import users
from concord.tenancy.models import Invitation, Organization, OrgStatus, Partnership, PartnershipStatus, Relation, Role, User, UserStatus
from concord.vmi import agreements as vmi_agreements
from concord.vmi import review as vmi_review
from concord.vmi.models import StockRecord, UploadState, VmiAgreement, VmiAgreementItem, VmiAgreementVersion, VmiConsignmentBilling, VmiProposal, VmiUpload
from werkzeug.routing import Map, Rule
from werkzeug.routing.converters import UUIDConverter

from tests import factories, orders_factory
from tests.documents import helpers as documents_helpers
from tests.factories import PASSWORD, bearer
from tests.finance import financing_factory, invoice_factory
from tests.provenance import examples as provenance_examples
from tests.security.helpers import audit_entries, audit_head, portal_login
from tests.url_map import TEXT_IDS, expand, object_rules, unknown_arguments
from tests.vmi import vmi_factory

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# The uuid arguments the scene has objects for (its `targets` keys).
TARGET_ARGUMENTS = frozenset(
    {
        "org_id",
        "user_id",
        "token_id",
        "invitation_id",
        "partnership_id",
        "entry_id",
        "transaction_id",
        "product_id",
        "location_id",
        "order_id",
        "proposal_id",
        "shipment_id",
        "dispute_id",
        "evidence_id",
        "webhook_id",
        "notification_id",
        "capture_id",
        "event_id",
        "engagement_id",
        "lot",
        "document_id",
        "invoice_id",
        "receivable_id",
        "offer_id",
        "programme_id",
        "agreement_id",
        "vmi_proposal_id",
        "upload_id",
    }
)

# What an attacker would send to each endpoint: bodies valid enough to get past input
# validation, so that a 404 is the access decision and not a 422. Keyed by endpoint.
API_BODIES: dict[tuple[str, str], dict] = {
    ("organizations.OrganizationItem", "PATCH"): {"legal_name": "Taken Over Ltd", "contact_email": "attacker@example.test"},
    ("users.UserItem", "PATCH"): {"role": "admin"},
    ("orders.OrderItem", "PATCH"): {"payment_terms": "Pay me first"},
    ("orders.OrderAcknowledge", "POST"): {"lines": [{"line_no": 1, "confirmed_quantity": "1", "confirmed_date": "2027-01-04"}]},
    ("orders.OrderReject", "POST"): {"reason": "cross-tenant attempt"},
    ("orders.OrderCancel", "POST"): {"reason": "cross-tenant attempt"},
    ("orders.OrderChangeProposals", "POST"): {"lines": [{"line_no": 1, "quantity": "1"}]},
    ("orders.OrderShipments", "POST"): {"carrier_id": str(uuid.uuid4()), "lines": [{"line_no": 1, "quantity": "1"}]},
    ("orders.OrderReceipts", "POST"): {"lines": [{"line_no": 1, "accepted_quantity": "1"}]},
    ("orders.OrderDisputes", "POST"): {"reason": "cross-tenant attempt"},
    ("shipments.ShipmentMilestones", "POST"): {"kind": "departed", "occurred_at": "2026-01-05T10:00:00+00:00", "location": "Nowhere"},
    ("shipments.ShipmentProofOfDelivery", "POST"): {"receiver_name": "Mallory", "delivered_at": "2026-01-05T10:00:00+00:00"},
    ("disputes.DisputeResolve", "POST"): {"payee_amount": "1.00", "resolution": "cross-tenant attempt"},
    ("disputes.DisputeEvidenceList", "POST"): {"comment": "cross-tenant attempt"},
    ("products.ProductItem", "PATCH"): {"name": "Taken Over", "active": False},
    ("locations.LocationItem", "PATCH"): {"name": "Taken Over", "active": False},
    ("webhooks.WebhookItem", "PATCH"): {"active": False, "events": ["*"]},
    **{(f"organizations.organization_{action}", "POST"): {"reason": "cross-tenant attempt"} for action in ("approve", "reject", "suspend", "reactivate")},
    ("payment_terms.PaymentTermsItem", "PUT"): {
        "settlement": "open_account",
        "net_days": 365,
        "quantity_tolerance": "100",
        "price_tolerance": "100",
        "amount_tolerance": "1000.00",
    },
    ("invoices.InvoiceReject", "POST"): {"reason": "cross-tenant attempt"},
    ("invoices.InvoiceCreditNotes", "POST"): {
        "number": "CN-X",
        "issue_date": date.today().isoformat(),
        "reason": "cross-tenant attempt",
        "lines": [{"invoice_line_no": 1, "quantity": "1"}],
    },
    ("financing.ReceivableOffers", "POST"): {"financier_ids": [str(uuid.uuid4())]},
    ("financing.OfferAnswer", "POST"): {"advance_rate": "90", "discount_rate": "5", "valid_until": "2099-01-01T00:00:00+00:00"},
    ("financing.ProgrammeOpen", "POST"): {"discount_rate": "4", "limit_amount": "1.00"},
    ("vmi_agreements.AgreementVersions", "POST"): {
        "starts_on": date.today().isoformat(),
        "items": [
            {
                "product_id": str(uuid.uuid4()),
                "location_id": str(uuid.uuid4()),
                "unit_price": "1",
                "level_basis": "quantity",
                "min_level": "0",
                "max_level": "1000",
                "review_period_days": 7,
                "lead_time_days": 1,
                "service_level": "99",
            }
        ],
    },
}
PORTAL_FORMS: dict[str, dict] = {
    "admin.change_role": {"role": "admin"},
    "admin.organization_action": {"reason": "cross-tenant attempt"},
    "catalog_portal.product": {"sku": "A-1", "name": "Taken Over", "unit_of_measure": "H87"},
    "catalog_portal.location": {"name": "Taken Over", "address_line1": "Quay 1", "postal_code": "20457", "city": "Hamburg", "country": "DE"},
    "orders_portal.edit": {"number": "PO-TAKEN", "currency": "EUR", "incoterm": "DAP", "payment_terms": "Pay me first"},
    "orders_portal.acknowledge": {"ack-1-confirmed_quantity": "1", "ack-1-confirmed_date": "2027-01-04"},
    "orders_portal.reject": {"reason": "cross-tenant attempt"},
    "orders_portal.cancel": {"reason": "cross-tenant attempt"},
    "orders_portal.propose_change": {"change-1-quantity": "1", "note": "cross-tenant attempt"},
    "orders_portal.decide_change": {"reason": "cross-tenant attempt"},
    "orders_portal.ship": {"carrier_id": str(uuid.uuid4()), "ship-1-quantity": "1", "ship-1-lot_number": "L-1"},
    "orders_portal.receive": {"receipt-1-accepted_quantity": "1"},
    "orders_portal.open_dispute": {"reason": "cross-tenant attempt"},
    "orders_portal.release": {},
    "shipments_portal.record_milestone": {"kind": "departed", "occurred_at": "2026-01-05T10:00", "occurred_at_offset": "+00:00", "location": "Nowhere"},
    "shipments_portal.prove_delivery": {"receiver_name": "Mallory", "delivered_at": "2026-01-05T10:00", "delivered_at_offset": "+01:00"},
    "disputes_portal.resolve": {"payee_amount": "1.00", "resolution": "cross-tenant attempt"},
    "disputes_portal.add_evidence": {"comment": "cross-tenant attempt"},
    "notifications_portal.mark_read": {"show": "unread"},
    "notifications_portal.set_active": {"back": "list"},
    "notifications_portal.send_test": {"back": "list"},
    "notifications_portal.delete_webhook": {},
    "engagements_portal.open_engagement": {"kind": "orders"},
    "invoices_portal.reject": {"reason": "cross-tenant attempt"},
    "invoices_portal.cancel": {"reason": "cross-tenant attempt"},
    "invoices_portal.credit": {"number": "CN-X", "issue_date": date.today().isoformat(), "reason": "cross-tenant attempt", "credit-1-quantity": "1"},
    "invoices_portal.invoice_order": {
        "number": "INV-X",
        "issue_date": date.today().isoformat(),
        **{"line-0-order_line_no": "1", "line-0-quantity": "1", "line-0-unit_price": "1", "line-0-tax_rate": "0"},
    },
    "vmi_portal.agreement_action": {"reason": "cross-tenant attempt"},
    "vmi_portal.review_now": {},
    "vmi_portal.amend_terms": {
        "item_rows": "1",
        "starts_on": date.today().isoformat(),
        **{f"items-0-{k}": v for k, v in {"unit_price": "1", "level_basis": "quantity", "min_level": "1", "max_level": "9", "review_period_days": "7"}.items()},
        **{
            f"items-0-{k}": v
            for k, v in {"lead_time_days": "1", "service_level": "95", "product_id": str(uuid.uuid4()), "location_id": str(uuid.uuid4())}.items()
        },
    },
    "vmi_portal.confirm": {"quantity": "1", "delivery_date": (date.today() + timedelta(days=7)).isoformat()},
    "vmi_portal.decide": {"reason": "cross-tenant attempt"},
    "invoices_portal.payment_terms": {
        "settlement": "open_account",
        "net_days": "365",
        "quantity_tolerance": "100",
        "price_tolerance": "100",
        "amount_tolerance": "1000",
    },
}


@dataclass
class Scene:
    world: factories.World
    owner: factories.Member  # A: owns every targeted object
    attacker: factories.Member  # B: an admin of another organization (and a partner of A)
    targets: dict[str, list[tuple[str, uuid.UUID]]]
    pending_org: Organization
    member: User
    viewer: User
    member_token: str
    viewer_token: str
    invitation: Invitation
    active_partnership: Partnership  # A–C
    incoming_request: Partnership  # D asked A
    outgoing_request: Partnership  # A asked E


@pytest.fixture
def scene(app, session, world) -> Scene:
    with app.test_request_context():
        built = _build_scene(session, world)
    session.commit()  # end the read transaction (SQLite would keep its write lock)
    return built


def _build_scene(session, world) -> Scene:
    owner, attacker = world.supplier, world.buyer  # the buyer is the supplier's partner, yet no partner of its users or tokens
    member, member_token = factories.add_user(session, owner, Role.MEMBER)
    viewer, viewer_token = factories.add_user(session, owner, Role.VIEWER)
    invitation, _ = users.invite_user(session, owner.principal, email="newcomer@example.test", role=Role.MEMBER)
    active = (
        session.execute(
            sa.select(Partnership).where(
                Partnership.relation == Relation.SHIPPER_CARRIER, Partnership.org_a_id == owner.org.id, Partnership.org_b_id == world.carrier.org.id
            )
        )
        .unique()
        .scalar_one()
    )
    assert active.status == PartnershipStatus.ACTIVE
    incoming = tenancy.request_partnership(
        session, world.financier.principal, relation=Relation.SUPPLIER_FINANCIER, counterparty_id=owner.org.id, my_side="financier", message=None
    )
    outgoing = tenancy.request_partnership(
        session, owner.principal, relation=Relation.PARTY_AUDITOR, counterparty_id=world.auditor.org.id, my_side="party", message=None
    )
    admin_token_id = session.execute(sa.select(ApiToken.id).where(ApiToken.user_id == owner.admin.id)).scalar_one()
    member_token_id = session.execute(sa.select(ApiToken.id).where(ApiToken.user_id == member.id)).scalar_one()
    entry_id = session.execute(sa.select(AuditEntry.id).where(AuditEntry.action == "token:created", AuditEntry.object_id == str(admin_token_id))).scalar_one()
    pending_org, _ = tenancy.register_organization(
        session,
        organization={
            "legal_name": "Pending Applicant KG",
            "registration_number": "PEND-1",
            "country": "AT",
            "contact_name": "P",
            "contact_email": "p@example.test",
            "capabilities": ["supplier"],
        },
        admin={"full_name": "Pending Admin", "email": "pending-admin@example.test", "password": PASSWORD},
    )
    anchor = outbox.enqueue(
        session,
        organization_id=owner.org.id,
        contract="ProvenanceAnchor",
        function="anchor",
        args=[b"\x01" * 32, b"\x02" * 32, 3],
        purpose="Anchor a batch",
        subject=("batch", "b-1"),
    )
    product = catalog.create_product(session, owner.principal, {"sku": "A-1", "name": "A's bracket", "unit_of_measure": "H87", "gtin": "4006381333931"})
    location = catalog.create_location(
        session, owner.principal, {"name": "A's dock", "address_line1": "Quay 1", "postal_code": "20457", "city": "Hamburg", "country": "DE"}
    )
    # An order between A (the supplier) and another buyer, with a change proposal open:
    # the attacker is A's partner too, but no party to this order.
    factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, owner)
    order = orders_factory.issued_order(session, world.buyer2, owner)
    proposal = changes.propose_change(session, owner.principal, order.id, {"note": None, "lines": [{"line_no": 1, "quantity": Decimal("5")}]})
    shipment, dispute = orders_factory.shipped_and_disputed(session, world.buyer2, owner, world.carrier, world.operator)
    evidence = disputes.add_evidence(session, owner.principal, dispute.id, "A's delivery note", files.Upload("note.txt", b"Delivered in full", "text/plain"))
    webhook, _secret = notifications.create_subscription(session, owner.principal, {"url": "https://erp.example.com/a", "events": ["*"]})
    notice_about = uuid.uuid4()
    notifications.notify(session, "order.issued", org_ids=[owner.org.id], object_type="purchase_order", object_id=notice_about, summary="For A only")
    notification = session.execute(sa.select(Notification).where(Notification.object_id == str(notice_about))).scalar_one()
    # A's EPCIS events: their ids are URIs (a hash ID holds slashes, a semicolon and a query mark).
    epcis_document = provenance_examples.load("Example_9.6.1-ObjectEvent.jsonld")
    capture_job = provenance.capture(session, owner.principal, epcis_document)
    event_ids = [event["eventID"] for event in provenance_examples.events_of(epcis_document)]
    # A's engagement to an auditor partner of its own (the attacker is a stranger to it).
    auditor = factories.member(session, world.operator, "auditor", name="A's Auditor SAS")
    factories.partner(session, Relation.PARTY_AUDITOR, owner, auditor)
    today = date.today()
    engagement = engagements.grant(
        session,
        owner.principal,
        {
            "auditor_id": auditor.org.id,
            "kinds": ["orders", "events"],
            "period_from": today.replace(month=1, day=1),
            "period_to": today.replace(month=12, day=31),
            "valid_until": datetime.now(UTC) + timedelta(days=30),
        },
    )
    document = documents_helpers.certificate_without_chain(session, owner)
    # A's receivable on that other buyer, offered to a financier, and a programme of that buyer.
    receivable = financing_factory.verified_receivable(session, world.buyer2, owner)
    offer = financing_factory.offer_row(session, receivable, owner, world.financier, state=OfferState.OFFERED, advance="50.00")
    programme = FinancingProgramme(
        buyer_org_id=world.buyer2.org.id,
        financier_org_id=world.financier.org.id,
        currency="EUR",
        state=ProgrammeState.REQUESTED,
        requested_by=world.buyer2.admin.id,
    )
    session.add(programme)
    session.flush()
    # A's invoice of a received order to the other buyer, and a credit note of it.
    a_invoice = invoice_factory.invoice(session, owner, invoice_factory.received_order(session, world.buyer2, owner))
    a_credit_note = invoices.create_credit_note(
        session,
        owner.principal,
        a_invoice.id,
        {"number": "CN-A", "issue_date": date.today(), "reason": "Returned", "lines": [{"invoice_line_no": 1, "quantity": Decimal(1)}]},
    )
    # A VMI agreement the other buyer proposed to A, for its product at its location.
    agreement = vmi_agreements.propose(session, world.buyer2.principal, vmi_factory.agreement_input(session, world.buyer2, owner, products=1))
    vmi_agreements.accept(session, owner.principal, agreement.id)
    item = agreement.versions[0].items[0]
    vmi_factory.share_history(session, world.buyer2, item.product_id, item.location_id, [70] * 20, on_hand=10)
    (vmi_proposal,) = vmi_review.review(session, owner.principal, agreement.id)
    # A's CSV upload of stock data, with its report (A stands in for a buyer: only the row matters here).
    upload = VmiUpload(
        buyer_org_id=owner.org.id,
        filename="a-stock.csv",
        size_bytes=10,
        state=UploadState.DONE,
        rows_total=1,
        rows_read=1,
        rows_rejected=1,
        report=[{"row": 2, "record_id": "A-1", "errors": {"sku": ["Not an active product of your organization."]}}],
        created_by=owner.admin.id,
        created_at=datetime.now(UTC),
    )
    session.add(upload)
    session.flush()
    targets = {
        "org_id": [("A's organization", owner.org.id), ("a pending applicant", pending_org.id)],
        "user_id": [("A's member", member.id), ("A's admin", owner.admin.id)],
        "token_id": [("A's admin's token", admin_token_id), ("A's member's token", member_token_id)],
        "invitation_id": [("A's pending invitation", invitation.id)],
        "partnership_id": [
            ("A–C active partnership", active.id),
            ("request from D to A", incoming.id),
            ("request from A to E", outgoing.id),
        ],
        "entry_id": [("A's audit entry", entry_id)],
        "transaction_id": [("A's chain transaction", anchor.uid)],
        "product_id": [("A's product", product.id)],
        "location_id": [("A's location", location.id)],
        "order_id": [("an order A receives", order.id)],
        "proposal_id": [("A's change proposal", proposal.id)],
        "shipment_id": [("A's shipment", shipment.id)],
        "dispute_id": [("a dispute on an order A supplies", dispute.id)],
        "evidence_id": [("A's evidence on that dispute", evidence.id)],
        "webhook_id": [("A's webhook", webhook.id)],
        "notification_id": [("A's notification", notification.id)],
        "capture_id": [("A's EPCIS capture job", capture_job.id)],
        "event_id": [("A's EPCIS event", event_ids[0])],
        "engagement_id": [("A's engagement to its auditor", engagement.id)],
        "lot": [("a lot of A's product", "L-2026/01")],
        "document_id": [("A's certificate", document.id)],
        "invoice_id": [
            ("A's invoice to another buyer", a_invoice.id),
            ("A's credit note of it", a_credit_note.id),
            ("A's receivable's invoice", receivable.invoice_id),
        ],
        "receivable_id": [("A's receivable", receivable.id)],
        "offer_id": [("a financing offer on A's receivable", offer.id)],
        "programme_id": [("a programme of A's other buyer", programme.id)],
        "agreement_id": [("a VMI agreement A supplies", agreement.id)],
        "vmi_proposal_id": [("a replenishment proposal A received", vmi_proposal.id)],
        "upload_id": [("A's stock data upload", upload.id)],
    }
    assert targets.keys() == TARGET_ARGUMENTS
    return Scene(
        world=world,
        owner=owner,
        attacker=attacker,
        targets=targets,
        pending_org=pending_org,
        member=member,
        viewer=viewer,
        member_token=member_token,
        viewer_token=viewer_token,
        invitation=invitation,
        active_partnership=active,
        incoming_request=incoming,
        outgoing_request=outgoing,
    )


def test_every_object_route_argument_is_known_to_the_matrix(app):
    """A new endpoint with an id argument fails here until the matrix covers it."""
    known = TARGET_ARGUMENTS
    rules = object_rules(app)
    assert rules, "the URL map has no object routes at all"
    problems = [problem for rule in rules for problem in unknown_arguments(rule, known)]
    assert not problems, "\n".join(problems)
    # An id smuggled in as a plain string would escape the matrix: ids are uuid-typed.
    loose = [
        f"{rule.rule}: <{name}>"
        for rule in app.url_map.iter_rules()
        for name, converter in rule._converters.items()
        if (name == "id" or name.endswith("_id")) and not isinstance(converter, UUIDConverter) and name not in TEXT_IDS
    ]
    assert not loose, "id arguments without the uuid converter: " + ", ".join(loose)


def test_matrix_guard_rejects_a_route_whose_id_it_does_not_know(app):
    """The guard itself must bite: a route with an unknown id argument is reported."""
    rule = Rule("/api/v1/widgets/<uuid:widget_id>/<any(a, b):verb>", endpoint="widgets")
    Map([rule])  # binding compiles the rule's converters
    assert unknown_arguments(rule, {"org_id"}) == ["/api/v1/widgets/<uuid:widget_id>/<any(a, b):verb>: no fixture object for <uuid:widget_id>"]
    loose = Rule("/api/v1/widgets/<widget_id>", endpoint="loose")
    Map([loose])
    assert unknown_arguments(loose, {"widget_id"}) == ["/api/v1/widgets/<widget_id>: argument <widget_id> is neither a uuid nor a fixed choice"]


# --- the matrix ----------------------------------------------------------------------------


def _snapshot(app, excluded_org_id: uuid.UUID) -> dict[str, list[tuple]]:
    """Every row of the tenancy, catalog and order tables except the attacker's own tokens (which record their
    use). Timestamps included: nothing at all may move."""
    with database(app).sessionmaker() as s:
        out = {}
        for model in (
            Organization,
            User,
            Invitation,
            Partnership,
            Product,
            Location,
            PurchaseOrder,
            OrderLine,
            ChangeProposal,
            Dispute,
            DisputeEvidence,
            files.StoredFile,
            WebhookSubscription,
            WebhookDelivery,
            Notification,
            CaptureJob,
            EpcisEvent,
            Engagement,
            EngagementRead,
            Document,
            Invoice,
            InvoiceLine,
            PaymentTerms,
            Receivable,
            FinancingOffer,
            FinancingProgramme,
            ExposureLimit,
            SettlementRecord,
            VmiAgreement,
            VmiAgreementVersion,
            VmiAgreementItem,
            VmiProposal,
            VmiUpload,
            StockRecord,
            VmiConsignmentBilling,
        ):
            table = model.__table__
            out[table.name] = [tuple(row) for row in s.execute(sa.select(table).order_by(*table.primary_key.columns))]
        tokens = ApiToken.__table__
        attacker_users = sa.select(User.id).where(User.organization_id == excluded_org_id)
        out["api_tokens"] = [tuple(row) for row in s.execute(sa.select(tokens).where(tokens.c.user_id.not_in(attacker_users)).order_by(tokens.c.id))]
        return out


_VOLATILE = re.compile(r'(name="csrf_token" value=")[^"]+"')


def _comparable(response) -> tuple[int, object]:
    """A response minus what legitimately differs between two ids (the path, the form token)."""
    if response.mimetype == "application/problem+json":
        body = dict(response.get_json())
        body.pop("instance", None)
        return response.status_code, body
    return response.status_code, _VOLATILE.sub(r"\1…", response.get_data(as_text=True))


def _attempt(client, rule: Rule, method: str, url: str, *, headers=None, csrf: str | None = None):
    if rule.rule.startswith("/api/"):
        body = API_BODIES.get((rule.endpoint, method), {})
        return client.open(url, method=method, headers=headers, json=body)
    form = {**PORTAL_FORMS.get(rule.endpoint, {}), "csrf_token": csrf}
    return client.open(url, method=method, data=form)


def _made_up(name: str, converter) -> str | None:
    """An id of the argument's kind that names nothing."""
    if isinstance(converter, UUIDConverter):
        return str(uuid.uuid4())
    return f"urn:uuid:{uuid.uuid4()}" if name in TEXT_IDS else None


def test_admin_of_another_org_gets_404_on_every_object_endpoint_and_changes_nothing(app, scene):
    attacker_portal = app.test_client()
    csrf = portal_login(attacker_portal, scene.attacker.admin.email, PASSWORD)
    api_client = app.test_client()
    before = _snapshot(app, scene.attacker.org.id)
    secrets = [scene.owner.org.legal_name, scene.member.email, scene.owner.admin.email, scene.invitation.email, scene.pending_org.legal_name]

    failures: list[str] = []
    attempts = 0
    tried = {"api": 0, "portal": 0}
    for rule in object_rules(app):
        assert not unknown_arguments(rule, set(scene.targets)), rule.rule
        portal = not rule.rule.startswith("/api/")
        client = attacker_portal if portal else api_client
        for method in sorted(rule.methods - SKIPPED_METHODS):
            for url, values, label in expand(rule, scene.targets):
                head = audit_head(app)
                response = _attempt(client, rule, method, url, headers=scene.attacker.headers, csrf=csrf)
                attempts += 1
                tried["portal" if portal else "api"] += 1
                where = f"{method} {url} ({label})"
                if response.status_code != 404:
                    failures.append(f"{where}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                    continue
                if not portal and response.mimetype != "application/problem+json":
                    failures.append(f"{where}: 404 is not problem+json")
                text = response.get_data(as_text=True)
                leaked = [s for s in secrets if s in text]
                if leaked:
                    failures.append(f"{where}: 404 body reveals {leaked}")
                # The refusal is in the audit trail: who tried, what, and how.
                new = audit_entries(app, after_seq=head)
                target_ids = {v for k, v in values.items() if k in scene.targets}
                if len(new) != 1 or new[0].action != "access:denied":
                    failures.append(f"{where}: expected one access:denied entry, got {[e.action for e in new]}")
                else:
                    entry = new[0]
                    if (entry.actor_org_id, entry.actor_user_id) != (scene.attacker.org.id, scene.attacker.admin.id):
                        failures.append(f"{where}: access:denied names the wrong actor")
                    if entry.object_id not in target_ids or entry.summary.get("path") != unquote(url) or entry.summary.get("method") != method:
                        failures.append(f"{where}: access:denied entry {entry.object_id} {entry.summary} does not describe the attempt")
                # The same request for an id that does not exist answers the same: no probing.
                fake_values = {k: _made_up(k, rule._converters[k]) or v for k, v in values.items()}
                fake_url = rule.build(fake_values, append_unknown=False)[1]
                unknown = _attempt(client, rule, method, fake_url, headers=scene.attacker.headers, csrf=csrf)
                if _comparable(unknown) != _comparable(response):
                    failures.append(f"{where}: answers differently for an existing foreign object than for a missing one")
    assert tried["api"] >= 30 and tried["portal"] >= 15, f"only {tried} attempts: the matrix lost its routes"
    assert not failures, f"{len(failures)} of {attempts} cross-tenant attempts misbehaved:\n" + "\n".join(failures)
    assert _snapshot(app, scene.attacker.org.id) == before, "a refused cross-tenant attempt changed A's data"
    # Spot checks in plain words, should the snapshot comparison ever be loosened.
    with database(app).sessionmaker() as s:
        assert s.get(Organization, scene.owner.org.id).status == OrgStatus.ACTIVE
        assert s.get(Organization, scene.owner.org.id).legal_name == "Supplier One Ltd"
        assert s.get(Organization, scene.pending_org.id).status == OrgStatus.PENDING
        assert s.get(User, scene.member.id).role == Role.MEMBER
        assert s.get(User, scene.member.id).status == UserStatus.ACTIVE
        assert s.get(Invitation, scene.invitation.id).state == "pending"
        assert s.get(Partnership, scene.active_partnership.id).status == PartnershipStatus.ACTIVE
        assert s.get(Partnership, scene.incoming_request.id).status == PartnershipStatus.REQUESTED
        assert s.get(Partnership, scene.outgoing_request.id).status == PartnershipStatus.REQUESTED
        assert s.execute(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_not(None))).scalar_one() == 0
    # A's credentials still work after all this.
    assert api_client.get("/api/v1/me", headers=scene.owner.headers).status_code == 200
    assert api_client.get("/api/v1/me", headers=bearer(scene.member_token)).status_code == 200


def test_lists_never_show_another_orgs_users_tokens_invitations_or_partnerships(app, client, scene):
    headers = scene.attacker.headers
    assert client.post("/api/v1/invitations", headers=headers, json={"email": "b-hire@example.test"}).status_code == 201
    owner_ids = {str(object_id) for ids in scene.targets.values() for _, object_id in ids}
    attacker_org = str(scene.attacker.org.id)
    for path in ("/api/v1/users", "/api/v1/tokens", "/api/v1/invitations", "/api/v1/partnerships", "/api/v1/organizations"):
        response = client.get(path + "?limit=200", headers=headers)
        assert response.status_code == 200, (path, response.get_json())
        items = response.get_json()["items"]
        assert items, f"{path} is empty for the attacker: the check would prove nothing"
        assert not {item["id"] for item in items} & owner_ids, f"{path} lists A's objects to B"
    for item in client.get("/api/v1/users?limit=200", headers=headers).get_json()["items"]:
        assert item["organization_id"] == attacker_org
    for item in client.get("/api/v1/partnerships?limit=200", headers=headers).get_json()["items"]:
        assert attacker_org in (item["org_a"]["id"], item["org_b"]["id"])
    audit = client.get("/api/v1/audit?limit=200", headers=headers).get_json()["items"]
    assert audit
    for entry in audit:
        assert attacker_org in (entry["actor_org_id"], entry["subject_org_id"], entry["related_org_id"]), entry
    entry_id = scene.targets["entry_id"][0][1]
    assert str(entry_id) not in {entry["id"] for entry in audit}
    token_id = str(scene.targets["token_id"][0][1])
    assert client.get(f"/api/v1/audit?object_id={token_id}", headers=headers).get_json()["items"] == []


def test_access_denied_entry_records_a_portal_probe_of_an_existing_object(app, scene):
    browser = app.test_client()
    csrf = portal_login(browser, scene.attacker.admin.email, PASSWORD)
    head = audit_head(app)
    response = browser.post(f"/organization/users/{scene.member.id}/disable", data={"csrf_token": csrf})
    assert response.status_code == 404
    (entry,) = audit_entries(app, after_seq=head)
    assert entry.action == "access:denied"
    assert entry.actor_user_id == scene.attacker.admin.id
    assert entry.object_type == "users" and entry.object_id == str(scene.member.id)
    assert entry.summary == {"method": "POST", "path": f"/organization/users/{scene.member.id}/disable"}
    # A probe for an id that exists nowhere is a plain 404 with nothing to record.
    head = audit_head(app)
    assert browser.post(f"/organization/users/{uuid.uuid4()}/disable", data={"csrf_token": csrf}).status_code == 404
    assert audit_entries(app, after_seq=head) == []
    from concord.audit.service import verify

    with database(app).sessionmaker() as s:
        assert verify(s) == []


# --- the operator ----------------------------------------------------------------------


def test_operator_sees_every_organization_but_not_their_users_tokens_invitations_or_partnerships(app, client, scene):
    op = scene.world.operator
    assert client.get(f"/api/v1/organizations/{scene.owner.org.id}", headers=op.headers).status_code == 200
    assert client.get(f"/api/v1/organizations/{scene.pending_org.id}", headers=op.headers).status_code == 200
    denied = [
        ("GET", f"/api/v1/users/{scene.member.id}", None),
        ("PATCH", f"/api/v1/users/{scene.member.id}", {"role": "admin"}),
        ("POST", f"/api/v1/users/{scene.member.id}/disable", None),
        ("GET", f"/api/v1/tokens/{scene.targets['token_id'][0][1]}", None),
        ("POST", f"/api/v1/tokens/{scene.targets['token_id'][0][1]}/revoke", None),
        ("GET", f"/api/v1/invitations/{scene.invitation.id}", None),
        ("POST", f"/api/v1/invitations/{scene.invitation.id}/revoke", None),
        ("GET", f"/api/v1/partnerships/{scene.active_partnership.id}", None),
        ("POST", f"/api/v1/partnerships/{scene.active_partnership.id}/end", None),
        ("POST", f"/api/v1/partnerships/{scene.incoming_request.id}/accept", None),
    ]
    for method, url, body in denied:
        response = client.open(url, method=method, headers=op.headers, json=body or {})
        assert response.status_code == 404, (method, url, response.status_code)
    users = client.get("/api/v1/users?limit=200", headers=op.headers).get_json()["items"]
    assert {u["organization_id"] for u in users} == {str(op.org.id)}
    assert client.get("/api/v1/invitations", headers=op.headers).get_json()["items"] == []
    # The portal's forms are no way around it either.
    browser = app.test_client()
    csrf = portal_login(browser, op.admin.email, PASSWORD)
    assert browser.post(f"/organization/users/{scene.member.id}/disable", data={"csrf_token": csrf}).status_code == 404
    assert browser.post(f"/account/tokens/{scene.targets['token_id'][0][1]}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert browser.post(f"/organization/invitations/{scene.invitation.id}/revoke", data={"csrf_token": csrf}).status_code == 404
    with database(app).sessionmaker() as s:
        assert s.get(User, scene.member.id).status == UserStatus.ACTIVE
        assert s.get(Invitation, scene.invitation.id).state == "pending"
        assert s.get(Partnership, scene.active_partnership.id).status == PartnershipStatus.ACTIVE


# --- the role grid on one's own organization ---------------------------------------------


def _admin_only_actions(scene: Scene) -> list[tuple[str, str, dict | None, str]]:
    """(method, url, body, what) of every admin-only action, aimed at A's own objects."""
    return [
        ("POST", "/api/v1/invitations", {"email": "someone-new@example.test", "role": "member"}, "invite a user"),
        ("PATCH", f"/api/v1/users/{scene.viewer.id}", {"role": "admin"}, "promote the viewer"),
        ("PATCH", f"/api/v1/users/{scene.member.id}", {"role": "admin"}, "promote the member"),
        ("PATCH", f"/api/v1/users/{scene.owner.admin.id}", {"role": "viewer"}, "demote the admin"),
        ("POST", f"/api/v1/users/{scene.owner.admin.id}/disable", None, "disable the admin"),
        ("POST", f"/api/v1/users/{scene.viewer.id}/disable", None, "disable the viewer"),
        ("POST", f"/api/v1/invitations/{scene.invitation.id}/revoke", None, "revoke an invitation"),
        ("POST", "/api/v1/partnerships", {"relation": "buyer_supplier", "counterparty_id": str(scene.world.buyer2.org.id)}, "request a partnership"),
        ("POST", f"/api/v1/partnerships/{scene.incoming_request.id}/accept", None, "accept a partnership"),
        ("POST", f"/api/v1/partnerships/{scene.incoming_request.id}/decline", None, "decline a partnership"),
        ("POST", f"/api/v1/partnerships/{scene.outgoing_request.id}/withdraw", None, "withdraw a request"),
        ("POST", f"/api/v1/partnerships/{scene.active_partnership.id}/end", None, "end a partnership"),
        ("PATCH", f"/api/v1/organizations/{scene.owner.org.id}", {"legal_name": "Renamed GmbH"}, "edit the organization"),
        ("POST", "/api/v1/webhooks", {"url": "https://erp.example.com/b", "events": ["*"]}, "subscribe a webhook"),
        ("PATCH", f"/api/v1/webhooks/{scene.targets['webhook_id'][0][1]}", {"active": False}, "pause a webhook"),
        ("DELETE", f"/api/v1/webhooks/{scene.targets['webhook_id'][0][1]}", None, "delete a webhook"),
        ("POST", f"/api/v1/webhooks/{scene.targets['webhook_id'][0][1]}/test", None, "test a webhook"),
    ]


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_member_and_viewer_get_403_on_every_admin_only_action_in_their_own_org(app, client, scene, role):
    headers = bearer(scene.member_token if role == "member" else scene.viewer_token)
    assert client.get("/api/v1/users", headers=headers).status_code == 200  # the token works: a 403 below is the role
    before = _snapshot(app, uuid.uuid4())
    head = audit_head(app)
    for method, url, body, what in _admin_only_actions(scene):
        response = client.open(url, method=method, headers=headers, json=body or {})
        assert response.status_code == 403, (role, what, response.status_code, response.get_json())
        assert "admin" in response.get_json()["detail"], (what, response.get_json())
    after = _snapshot(app, uuid.uuid4())
    # Only the caller's own token moved (its last_used_at); nothing else did.
    strip = lambda snap: {k: v for k, v in snap.items() if k != "api_tokens"}  # noqa: E731
    assert strip(after) == strip(before)
    assert [e.action for e in audit_entries(app, after_seq=head)] == []


def test_portal_refuses_admin_actions_to_a_member_and_changes_nothing(app, scene):
    browser = app.test_client()
    csrf = portal_login(browser, scene.member.email, PASSWORD)
    forms = [
        (f"/organization/users/{scene.viewer.id}/role", {"role": "admin"}),
        (f"/organization/users/{scene.owner.admin.id}/disable", {}),
        (f"/organization/invitations/{scene.invitation.id}/revoke", {}),
        (f"/organization/partnerships/{scene.incoming_request.id}/accept", {}),
        (f"/organization/partnerships/{scene.active_partnership.id}/end", {}),
        ("/organization/users", {"email": "portal-invite@example.test", "role": "admin"}),
    ]
    before = _snapshot(app, uuid.uuid4())
    for url, form in forms:
        response = browser.post(url, data={**form, "csrf_token": csrf}, follow_redirects=True)
        assert response.status_code in (200, 403), (url, response.status_code)
        assert "This action needs the admin role" in response.get_data(as_text=True), url
    strip = lambda snap: {k: v for k, v in snap.items() if k != "api_tokens"}  # noqa: E731
    assert strip(_snapshot(app, uuid.uuid4())) == strip(before)


def test_non_operators_cannot_run_operator_actions(app, client, session, scene):
    """A member admin gets 403 on its own organization and 404 on any other; an operator
    user who is not an admin gets 403; the operator pages are 404 to members."""
    pending = scene.pending_org.id
    for action in ("approve", "reject", "suspend", "reactivate"):
        own = client.post(f"/api/v1/organizations/{scene.owner.org.id}/{action}", headers=scene.owner.headers, json={})
        assert own.status_code == 403, (action, own.get_json())
        foreign = client.post(f"/api/v1/organizations/{pending}/{action}", headers=scene.owner.headers, json={})
        assert foreign.status_code == 404, (action, foreign.get_json())
    with app.test_request_context():
        op_member, op_member_token = factories.add_user(session, scene.world.operator, Role.MEMBER)
    session.commit()
    for action in ("approve", "reject"):
        response = client.post(f"/api/v1/organizations/{pending}/{action}", headers=bearer(op_member_token), json={})
        assert response.status_code == 403, response.get_json()
    response = client.post(f"/api/v1/organizations/{scene.owner.org.id}/suspend", headers=bearer(op_member_token), json={})
    assert response.status_code == 403
    browser = app.test_client()
    csrf = portal_login(browser, scene.owner.admin.email, PASSWORD)
    assert browser.get("/operator/organizations").status_code == 404
    assert browser.post(f"/operator/organizations/{pending}/approve", data={"csrf_token": csrf}).status_code == 404
    assert browser.post(f"/operator/organizations/{scene.owner.org.id}/suspend", data={"csrf_token": csrf}).status_code == 403
    with database(app).sessionmaker() as s:
        assert s.get(Organization, pending).status == OrgStatus.PENDING
        assert s.get(Organization, scene.owner.org.id).status == OrgStatus.ACTIVE
    # The operator's admin can: the refusals above are about who asks.
    assert client.post(f"/api/v1/organizations/{pending}/approve", headers=scene.world.operator.headers, json={}).status_code == 200
