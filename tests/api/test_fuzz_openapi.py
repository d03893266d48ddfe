"""Property-based fuzzing of the whole API, driven by its own OpenAPI document.

Schemathesis reads the document the platform serves at /api/v1/openapi.json and
generates requests for every operation it lists: valid and invalid bodies, query strings
and path parameters, wrong methods and missing credentials. Each operation is one test
with a fresh small consortium; every generated request is sent as the operator, as a
member organization's admin or as its viewer, with path parameters and some body fields
sometimes replaced by the ids of objects that really exist, so that the fuzzing reaches
the services and not only the 404 of an unknown id.

What must hold for every request: no 5xx; the status, content type, headers and body of
every response match what the document says; invalid input is refused; an operation that
declares bearer authentication refuses a request without it.
"""

from __future__ import annotations

import base64
import json
import tempfile
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from concord import files
from concord.app import create_app
from concord.catalog import service as catalog
from concord.disputes import service as disputes
from concord.notifications import service as notifications
from concord.notifications.models import Notification
from concord.orders import changes
from concord.provenance import service as provenance
from concord.tenancy import service as tenancy
from concord.tenancy import users
from concord.tenancy.models import Relation, Role
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests import factories, orders_factory
from tests.provenance import examples as provenance_examples

OPENAPI_PATH = "/api/v1/openapi.json"
# Examples per operation in the fuzzing phase (the coverage phase adds its own boundary cases).
MAX_EXAMPLES = 40

# The checks every response must pass. Left out on purpose: `positive_data_acceptance`
# (a schema-valid request may still break a business rule the schema cannot express, such
# as a cursor the API never issued or a common password), the stateful checks that need a
# multi-step scenario, and cross-tenant authorization (tests/security covers it).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]


class _TestApp:
    """A WSGI app that forwards to the test session's app once the `app` fixture exists.

    Schemathesis loads the schema at import time, before any fixture runs; the document it
    loads is the one this platform serves, rendered by an app built only for that."""

    def __init__(self) -> None:
        self.target = create_app({"SQLALCHEMY_DATABASE_URL": "sqlite://", "SECRET_KEY": "openapi-only", "INSTANCE_DIR": tempfile.mkdtemp(), "TESTING": True})

    def __call__(self, environ, start_response):
        return self.target(environ, start_response)


_app = _TestApp()
schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, _app)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
DOCUMENT = schema.raw_schema


@pytest.fixture
def fuzz_target(app, session):
    """A small consortium in every state the API knows, and the fuzzer pointed at `app`."""
    _app.target = app
    op = factories.operator(session)
    buyer = factories.member(session, op, "buyer", name="Fuzz Buyer")
    supplier = factories.member(session, op, "supplier", "financier", name="Fuzz Supplier")
    carrier = factories.member(session, op, "carrier", name="Fuzz Carrier")
    pending = factories.member(session, None, "auditor", name="Fuzz Pending", approve=False)
    suspended = factories.member(session, op, "buyer", name="Fuzz Suspended")
    tenancy.transition_organization(session, op.principal, suspended.org.id, "suspend")
    viewer, viewer_token = factories.add_user(session, buyer, Role.VIEWER)
    requested = factories.partner(session, Relation.BUYER_SUPPLIER, buyer, supplier, accept=False)
    active = factories.partner(session, Relation.SHIPPER_CARRIER, supplier, carrier)
    invitation, invitation_token = users.invite_user(session, buyer.principal, email="fuzz-invitee@example.test", role=Role.MEMBER)
    import sqlalchemy as sa
    from concord.audit.models import AuditEntry
    from concord.auth.models import ApiToken

    product = catalog.create_product(session, buyer.principal, {"sku": "FZ-1", "name": "Fuzz bolt", "unit_of_measure": "H87"})
    location = catalog.create_location(
        session, buyer.principal, {"name": "Fuzz dock", "address_line1": "Road 1", "postal_code": "1000", "city": "Brussels", "country": "BE"}
    )
    trading = factories.member(session, op, "supplier", name="Fuzz Trading Partner")
    factories.partner(session, Relation.BUYER_SUPPLIER, buyer, trading)
    order = orders_factory.issued_order(session, buyer, trading)
    proposal = changes.propose_change(session, trading.principal, order.id, {"note": None, "lines": [{"line_no": 1, "quantity": Decimal("2")}]})
    factories.partner(session, Relation.SHIPPER_CARRIER, trading, carrier)
    shipment, dispute = orders_factory.shipped_and_disputed(session, buyer, trading, carrier, op)
    evidence = disputes.add_evidence(session, buyer.principal, dispute.id, "Fuzz evidence", files.Upload("fuzz.txt", b"fuzz", "text/plain"))
    webhook, _secret = notifications.create_subscription(session, buyer.principal, {"url": "https://erp.example.com/fuzz", "events": ["*"]})
    notifications.notify(
        session, "order.issued", org_ids=[buyer.org.id, trading.org.id], object_type="purchase_order", object_id=order.id, summary="Fuzz order issued"
    )
    epcis_document = provenance_examples.load("Example_9.6.1-ObjectEvent.jsonld")
    capture_job = provenance.capture(session, buyer.principal, epcis_document)
    session.commit()
    notification_ids = [str(i) for i in session.execute(sa.select(Notification.id)).scalars()]
    audit_ids = [str(i) for i in session.execute(sa.select(AuditEntry.id).order_by(AuditEntry.seq.desc()).limit(5)).scalars()]
    token_ids = [str(i) for i in session.execute(sa.select(ApiToken.id)).scalars()]
    target = {
        "identities": {
            "operator": factories.bearer(op.token),
            "buyer_admin": buyer.headers,
            "buyer_viewer": factories.bearer(viewer_token),
        },
        "ids": {
            "org_id": [str(m.org.id) for m in (op, buyer, supplier, pending, suspended)],
            "user_id": [str(buyer.admin.id), str(viewer.id), str(supplier.admin.id)],
            "invitation_id": [str(invitation.id)],
            "partnership_id": [str(requested.id), str(active.id)],
            "token_id": token_ids,
            "entry_id": audit_ids,
            "order_id": [str(order.id)],
            "proposal_id": [str(proposal.id)],
            "product_id": [str(product.id)],
            "location_id": [str(location.id)],
            "shipment_id": [str(shipment.id)],
            "dispute_id": [str(dispute.id)],
            "evidence_id": [str(evidence.id)],
            "webhook_id": [str(webhook.id)],
            "notification_id": notification_ids,
            "capture_id": [str(capture_job.id)],
            # Percent-encoded whole, as a client sends them (schemathesis puts path values in as given).
            "event_id": [quote(event["eventID"], safe="") for event in provenance_examples.events_of(epcis_document)],
        },
        "body_values": {
            "counterparty_id": [str(m.org.id) for m in (buyer, supplier, carrier, pending, suspended)],
            "carrier_id": [str(carrier.org.id)],
            "token": [invitation_token],
        },
    }
    session.rollback()  # end the read: SQLite transactions here hold the write lock
    yield target


# Values no generator of schemathesis produces (it draws only text it can encode as UTF-8):
# a lone surrogate spelled as a JSON escape, and cursors at the edges of the calendar.
LONE_SURROGATE = "\ud800"
EDGE_CURSORS = [
    base64.urlsafe_b64encode(json.dumps([{"dt": moment}, {"uuid": str(uuid.UUID(int=0))}]).encode()).decode().rstrip("=")
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
]


def _string_paths(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _string_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _string_paths(item, (*path, index))]
    return []


def _with_hostile_values(data: st.DataObject, case: Any) -> None:
    """Sometimes end one string of the body with a lone surrogate, and sometimes send a
    cursor at the edge of the calendar."""
    # JSON bodies only: a multipart form's text travels as UTF-8 bytes, which cannot hold one.
    json_body = isinstance(case.body, (dict, list)) and (case.media_type or "application/json") == "application/json"
    paths = _string_paths(case.body) if json_body else []
    if paths and data.draw(st.integers(0, 3), label="surrogate") == 0:
        *parents, last = data.draw(st.sampled_from(paths), label="surrogate path")
        target = case.body
        for key in parents:
            target = target[key]
        target[last] += LONE_SURROGATE
    declared = DOCUMENT["paths"][case.operation.path][case.method.lower()].get("parameters", [])
    takes_cursor = any(p.get("in") == "query" and p.get("name") == "cursor" for p in declared)
    if takes_cursor and data.draw(st.booleans(), label="edge cursor"):
        case.query = {**(case.query or {}), "cursor": data.draw(st.sampled_from(EDGE_CURSORS), label="cursor")}


def _maybe_real(data: st.DataObject, generated: Any, real: list[str]) -> Any:
    return data.draw(st.one_of(st.just(generated), st.sampled_from(real))) if real else generated


@schema.given(data=st.data())
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_every_generated_request_gets_a_documented_non_5xx_answer(case, data, fuzz_target):
    identity = data.draw(st.sampled_from(sorted(fuzz_target["identities"])), label="identity")
    meta = case._meta
    negative = meta is not None and meta.generation.mode.is_negative
    # A negative case must stay negative: real ids and credentials go only where they do
    # not replace the part schemathesis made invalid on purpose.
    if not negative:
        for name, value in list((case.path_parameters or {}).items()):
            case.path_parameters[name] = _maybe_real(data, value, fuzz_target["ids"].get(name, []))
        if isinstance(case.body, dict):
            for name, real in fuzz_target["body_values"].items():
                if name in case.body:
                    case.body[name] = _maybe_real(data, case.body[name], real)
        _with_hostile_values(data, case)
    headers = None if negative and meta.is_negative_at(ParameterLocation.HEADER) else fuzz_target["identities"][identity]
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_fuzzed_document_is_the_one_the_api_serves(client):
    response = client.get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.get_json() == DOCUMENT
    operations = [(method, path) for path, item in DOCUMENT["paths"].items() for method in item if method in ("get", "post", "put", "patch", "delete")]
    # Every API route of the app is in the document, so the fuzzing reaches all of it.
    assert len(operations) >= 30
