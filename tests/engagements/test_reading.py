"""What an auditor reads under an engagement: the grantor's records the engagement covers,
read-only, in the API; nothing outside its kinds, its period, after it expired or was revoked."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import sqlalchemy as sa
from concord.catalog.models import Product
from concord.orders.models import PurchaseOrder, Shipment
from concord.tenancy import service as tenancy
from concord.tenancy.models import Partnership, Relation

from tests.engagements.conftest import ENGAGEMENTS, grant, under
from tests.security.test_cross_tenant_matrix import API_BODIES

ORDERS = "/api/v1/orders"


def _event_url(event_id: str) -> str:
    return f"/api/v1/epcis/events/{quote(event_id, safe='')}"


def test_auditor_reads_the_grantors_orders_shipments_products_and_events_within_the_engagement(client, scene):
    engagement = grant(client, scene.grantor, scene.auditor)
    headers = under(scene.auditor, engagement)
    a = scene.a
    order = client.get(f"{ORDERS}/{a.order.id}", headers=headers)
    assert order.status_code == 200, order.get_json()
    assert order.get_json()["allowed_actions"] == []
    for part in ("shipments", "receipts", "timeline", "revisions"):
        assert client.get(f"{ORDERS}/{a.order.id}/{part}", headers=headers).status_code == 200, part
    assert client.get(f"/api/v1/shipments/{a.shipment.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/products/{a.product.id}", headers=headers).status_code == 200
    assert client.get(_event_url(a.event_in), headers=headers).status_code == 200
    listed = client.get(ORDERS, headers=headers).get_json()["items"]
    assert [o["id"] for o in listed] == [str(a.order.id)]
    shipments = client.get("/api/v1/shipments", headers=headers).get_json()["items"]
    assert [s["id"] for s in shipments] == [str(a.shipment.id)]
    events = client.get("/api/v1/epcis/events", headers=headers).get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["eventID"] for e in events] == [a.event_in]  # the 2020 event is outside the period


def test_without_naming_the_engagement_the_auditor_reads_nothing_of_the_grantor(client, scene):
    grant(client, scene.grantor, scene.auditor)
    assert client.get(f"{ORDERS}/{scene.a.order.id}", headers=scene.auditor.headers).status_code == 404
    assert client.get(ORDERS, headers=scene.auditor.headers).get_json()["items"] == []


def test_kinds_outside_the_engagement_answer_404(client, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "products")
    headers = under(scene.auditor, engagement)
    assert client.get(f"/api/v1/products/{scene.a.product.id}", headers=headers).status_code == 200
    assert client.get(f"{ORDERS}/{scene.a.order.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/shipments/{scene.a.shipment.id}", headers=headers).status_code == 404
    assert client.get(_event_url(scene.a.event_in), headers=headers).status_code == 404
    assert client.get(ORDERS, headers=headers).get_json()["items"] == []


def test_records_dated_outside_the_period_answer_404(client, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "orders", "events", period_from="2020-01-01", period_to="2020-12-31")
    headers = under(scene.auditor, engagement)
    assert client.get(f"{ORDERS}/{scene.a.order.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/shipments/{scene.a.shipment.id}", headers=headers).status_code == 404
    assert client.get(_event_url(scene.a.event_in), headers=headers).status_code == 404
    assert client.get(_event_url(scene.a.event_old), headers=headers).status_code == 200


def test_after_revocation_the_auditor_reads_nothing(client, scene):
    engagement = grant(client, scene.grantor, scene.auditor)
    headers = under(scene.auditor, engagement)
    assert client.get(f"{ORDERS}/{scene.a.order.id}", headers=headers).status_code == 200
    assert client.post(f"{ENGAGEMENTS}/{engagement['id']}/revoke", headers=scene.grantor.headers).status_code == 200
    for url in (
        f"{ORDERS}/{scene.a.order.id}",
        f"/api/v1/shipments/{scene.a.shipment.id}",
        f"/api/v1/products/{scene.a.product.id}",
        _event_url(scene.a.event_in),
    ):
        assert client.get(url, headers=headers).status_code == 404, url
    assert client.get(ORDERS, headers=headers).get_json()["items"] == []


def test_after_expiry_the_auditor_reads_nothing(client, scene, frozen_clock):
    engagement = grant(client, scene.grantor, scene.auditor, valid_until=(frozen_clock.now + timedelta(hours=1)).isoformat())
    headers = under(scene.auditor, engagement)
    assert client.get(f"{ORDERS}/{scene.a.order.id}", headers=headers).status_code == 200
    frozen_clock.advance(hours=1)
    assert client.get(f"{ORDERS}/{scene.a.order.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/products/{scene.a.product.id}", headers=headers).status_code == 404
    shown = client.get(f"{ENGAGEMENTS}/{engagement['id']}", headers=scene.grantor.headers).get_json()
    assert (shown["state"], shown["allowed_actions"], shown["expired_at"]) == ("expired", [], shown["valid_until"])


def _write_routes(app):
    """Every API route that writes to an order, shipment, product or event (by its id)."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and WRITABLE_IDS.intersection(rule.arguments):
            for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
                yield rule, method


WRITABLE_IDS = {"order_id", "shipment_id", "product_id", "event_id"}


def test_the_auditor_writes_nothing_under_an_engagement(app, client, scene, session):
    engagement = grant(client, scene.grantor, scene.auditor, "orders", "products", "events")
    headers = under(scene.auditor, engagement)
    ids = {"order_id": scene.a.order.id, "shipment_id": scene.a.shipment.id, "product_id": scene.a.product.id, "event_id": scene.a.event_in}
    before = _state(session, scene)
    tried = []
    for rule, method in _write_routes(app):
        values = {name: ids[name] for name in rule.arguments if name in ids}
        if set(rule.arguments) - set(values):
            continue  # also names an object of another kind (a proposal): the matrix covers it
        url = rule.build(values, append_unknown=False)[1]
        response = client.open(url, method=method, headers=headers, json=API_BODIES.get((rule.endpoint, method), {}))
        assert response.status_code == 404, (method, url, response.get_json())
        tried.append(url)
    assert len(tried) >= 12
    assert _state(session, scene) == before


def _state(session, scene) -> tuple:
    session.expire_all()
    order = session.get(PurchaseOrder, scene.a.order.id)
    product = session.get(Product, scene.a.product.id)
    shipment = session.get(Shipment, scene.a.shipment.id)
    return (order.state, order.updated_at, order.revision, product.name, product.updated_at, shipment.state, shipment.updated_at)


def test_ending_the_auditor_partnership_ends_the_reads_under_its_engagements(app, client, session, scene):
    engagement = grant(client, scene.grantor, scene.auditor)
    headers = under(scene.auditor, engagement)
    assert client.get(f"{ORDERS}/{scene.a.order.id}", headers=headers).status_code == 200
    partnership = session.execute(
        sa.select(Partnership).where(Partnership.relation == Relation.PARTY_AUDITOR, Partnership.org_a_id == scene.grantor.org.id)
    ).scalar_one()
    with app.test_request_context():
        tenancy.transition_partnership(session, scene.grantor.principal, partnership.id, "end")
        session.commit()
    assert client.get(f"{ORDERS}/{scene.a.order.id}", headers=headers).status_code == 404
