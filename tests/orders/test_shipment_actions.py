"""A shipment's allowed actions are what its service accepts: the carrier's members and
admins may record milestones and prove delivery, its viewers may not, nor any party."""

from __future__ import annotations

from datetime import date

from concord.tenancy.models import Role

from tests import factories, orders_factory
from tests.ledger_helpers import settle


def test_only_the_carriers_writers_are_offered_the_shipment_actions(app, client, session, world, chain_worker):
    with app.test_request_context():
        issued = orders_factory.issued_order(session, world.buyer, world.supplier)
        _viewer, viewer_token = factories.add_user(session, world.carrier, Role.VIEWER)
    session.commit()
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    assert client.post(f"/api/v1/orders/{issued.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    shipped = client.post(
        f"/api/v1/orders/{issued.id}/shipments",
        headers=world.supplier.headers,
        json={"carrier_id": str(world.carrier.org.id), "lines": [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]},
    )
    assert shipped.status_code == 201
    shipment = shipped.get_json()["id"]
    viewer = {"Authorization": f"Bearer {viewer_token}"}
    assert client.get(f"/api/v1/shipments/{shipment}", headers=viewer).get_json()["allowed_actions"] == []
    milestone = {"kind": "picked_up", "occurred_at": date.today().isoformat() + "T00:00:00+00:00", "location": "Dock 4"}
    assert client.post(f"/api/v1/shipments/{shipment}/milestones", json=milestone, headers=viewer).status_code == 403
    for party in (world.buyer, world.supplier):
        assert client.get(f"/api/v1/shipments/{shipment}", headers=party.headers).get_json()["allowed_actions"] == []
    assert client.get(f"/api/v1/shipments/{shipment}", headers=world.carrier.headers).get_json()["allowed_actions"] == ["prove_delivery", "record_milestone"]
