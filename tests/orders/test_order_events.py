"""Each physical step of an order records its EPCIS 2.0 event in the step's own transaction:
the shipment (shipping, in_transit, PO and ASN), each carrier milestone, the proof of
delivery and the buyer's receipt (accepted and rejected quantities), owned by the
organization that took the step and seen by the order's parties only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from concord import clock
from concord.catalog import service as catalog
from concord.db import database
from concord.orders import service as orders
from concord.provenance.models import EpcisEvent

from tests.ledger_helpers import settle

GTINS = ("4006381333931", "5901234123457")
GLN, HUB = "4012345000009", "4012345000016"
CBV = "https://ref.gs1.org/cbv/"


def _order(app, client, session, world, chain_worker) -> str:
    """An order of two GTIN products to a location with a GLN, confirmed and funded."""
    with app.test_request_context():
        products = [
            catalog.create_product(session, world.buyer.principal, {"sku": f"G-{gtin}", "name": f"Part {gtin}", "unit_of_measure": "H87", "gtin": gtin})
            for gtin in GTINS
        ]
        location = catalog.create_location(
            session,
            world.buyer.principal,
            {"name": "Plant GLN", "address_line1": "Werkstrasse 7", "postal_code": "70565", "city": "Stuttgart", "country": "DE", "gln": GLN},
        )
        order = orders.create_order(
            session,
            world.buyer.principal,
            {
                "number": "PO-EPCIS-1",
                "supplier_id": world.supplier.org.id,
                "currency": "EUR",
                "ship_to_location_id": location.id,
                "incoterm": "DAP",
                "payment_terms": "Escrow",
                "lines": [
                    {"product_id": p.id, "quantity": Decimal(q), "unit_price": Decimal("2.50"), "requested_date": date.today() + timedelta(days=9)}
                    for p, q in zip(products, ("10", "4"), strict=True)
                ],
            },
        )
        orders.issue(session, world.buyer.principal, order.id)
    session.commit()
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    assert client.post(f"/api/v1/orders/{order.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    return str(order.id)


def _iso(**delta) -> str:
    return (clock.utcnow() + timedelta(**delta)).isoformat()


def _events(client, headers, **filters) -> list[dict]:
    answer = client.get("/api/v1/epcis/events", query_string={"perPage": 100, **filters}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def _count(app) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(EpcisEvent)).scalar_one()


def _ship(client, world, oid, lines):
    body = {"carrier_id": str(world.carrier.org.id), "tracking_number": "TRK-9", "shipped_at": _iso(hours=-3), "lines": lines}
    return client.post(f"/api/v1/orders/{oid}/shipments", json=body, headers=world.supplier.headers)


def test_every_physical_step_records_its_event_with_cbv_values_and_transactions(app, client, session, world, chain_worker):
    oid = _order(app, client, session, world, chain_worker)
    shipped = _ship(client, world, oid, [{"line_no": 1, "quantity": "10", "lot_number": "LOT A1"}, {"line_no": 2, "quantity": "4"}])
    assert shipped.status_code == 201, shipped.get_json()
    sid = shipped.get_json()["id"]
    po, asn = f"urn:uuid:{oid}", f"urn:uuid:{sid}"

    (shipping,) = _events(client, world.supplier.headers, EQ_bizStep="shipping")
    assert (shipping["type"], shipping["action"], shipping["disposition"]) == ("ObjectEvent", "OBSERVE", "in_transit")
    assert shipping["eventID"].startswith("ni:///sha-256;") and shipping["eventTimeZoneOffset"] == "+00:00"
    assert shipping["bizTransactionList"] == [{"type": "po", "bizTransaction": po}, {"type": "desadv", "bizTransaction": asn}]
    assert shipping["quantityList"] == [
        {"epcClass": f"https://id.gs1.org/01/0{GTINS[0]}/10/LOT%20A1", "quantity": 10},
        {"epcClass": f"https://id.gs1.org/01/0{GTINS[1]}", "quantity": 4},
    ]
    assert shipping["sourceList"] == [{"type": "owning_party", "source": f"urn:uuid:{world.supplier.org.id}"}]
    assert shipping["destinationList"] == [
        {"type": "owning_party", "destination": f"urn:uuid:{world.buyer.org.id}"},
        {"type": "location", "destination": f"https://id.gs1.org/414/{GLN}"},
    ]

    carrier = world.carrier.headers
    with app.test_request_context():  # the carrier's hub, by name in a milestone: its GLN is the read point
        hub = {"name": "Leeds hub", "address_line1": "Dock Road 1", "postal_code": "LS1 1AA", "city": "Leeds", "country": "GB", "gln": HUB}
        catalog.create_location(session, world.carrier.principal, hub)
    for kind, where in (("picked_up", "Leeds dock"), ("departed", "Leeds hub"), ("customs_cleared", GLN), ("out_for_delivery", "Stuttgart")):
        answer = client.post(f"/api/v1/shipments/{sid}/milestones", json={"kind": kind, "occurred_at": _iso(hours=-2), "location": where}, headers=carrier)
        assert answer.status_code == 201, answer.get_json()
    by_step = {e["bizStep"]: e for e in _events(client, carrier, EQ_disposition="in_transit") if e["bizStep"] != "shipping"}
    assert set(by_step) == {"loading", "departing", "inspecting", "transporting"}
    assert by_step["inspecting"]["readPoint"] == {"id": f"https://id.gs1.org/414/{GLN}"} and "readPoint" not in by_step["loading"]
    assert by_step["departing"]["readPoint"] == {"id": f"https://id.gs1.org/414/{HUB}"}
    assert all(e["bizTransactionList"] == shipping["bizTransactionList"] for e in by_step.values())

    pod = client.post(f"/api/v1/shipments/{sid}/proof-of-delivery", json={"receiver_name": "Gate 3", "delivered_at": _iso(minutes=-5)}, headers=carrier)
    assert pod.status_code == 201, pod.get_json()
    (arriving,) = _events(client, carrier, EQ_bizStep="arriving")
    assert arriving["disposition"] == "in_progress" and arriving["bizLocation"] == {"id": f"https://id.gs1.org/414/{GLN}"}
    assert arriving["destinationList"] == [{"type": "possessing_party", "destination": f"urn:uuid:{world.buyer.org.id}"}]
    settle(app, chain_worker)

    receipt = client.post(
        f"/api/v1/orders/{oid}/receipts",
        json={
            "lines": [
                {"line_no": 1, "accepted_quantity": "7", "rejected_quantity": "3", "rejection_reason": "Crushed"},
                {"line_no": 2, "accepted_quantity": "4"},
            ]
        },
        headers=world.buyer.headers,
    )
    assert receipt.status_code == 201, receipt.get_json()
    received = {e["disposition"]: e for e in _events(client, world.buyer.headers, EQ_bizStep="receiving")}
    assert set(received) == {"in_progress", "non_conformant"}
    assert received["in_progress"]["quantityList"] == [
        {"epcClass": f"https://id.gs1.org/01/0{GTINS[0]}/10/LOT%20A1", "quantity": 7},
        {"epcClass": f"https://id.gs1.org/01/0{GTINS[1]}", "quantity": 4},
    ]
    assert received["non_conformant"]["quantityList"] == [{"epcClass": f"https://id.gs1.org/01/0{GTINS[0]}/10/LOT%20A1", "quantity": 3}]
    recadv = {"type": "recadv", "bizTransaction": f"urn:uuid:{receipt.get_json()['id']}"}
    assert received["in_progress"]["bizTransactionList"] == [{"type": "po", "bizTransaction": po}, recadv]
    # The query finds them by the PO and by the lot, in CBV's URN spelling too.
    assert len(_events(client, world.buyer.headers, **{"EQ_bizTransaction_urn:epcglobal:cbv:btt:po": po})) == 8
    assert len(_events(client, world.buyer.headers, MATCH_epcClass="urn:epc:class:lgtin:4006381.033393.LOT%20A1")) == 8

    # Each event is owned by the organization that took the step.
    with database(app).sessionmaker() as s:
        owners = {(str(e.biz_step).removeprefix(CBV + "BizStep-"), e.organization_id) for e in s.execute(sa.select(EpcisEvent)).scalars()}
    assert owners == {
        ("shipping", world.supplier.org.id),
        *((step, world.carrier.org.id) for step in ("loading", "departing", "inspecting", "transporting", "arriving")),
        ("receiving", world.buyer.org.id),
    }


def test_the_parties_see_a_steps_event_and_no_one_else(app, client, session, world, chain_worker):
    oid = _order(app, client, session, world, chain_worker)
    assert _ship(client, world, oid, [{"line_no": 1, "quantity": "5", "lot_number": "L1"}]).status_code == 201
    for member in (world.buyer, world.supplier, world.carrier):
        assert [e["bizStep"] for e in _events(client, member.headers)] == ["shipping"]
    (event,) = _events(client, world.buyer.headers)
    for stranger in (world.buyer2, world.supplier2, world.financier, world.auditor):
        assert _events(client, stranger.headers) == []
        assert client.get(f"/api/v1/epcis/events/{event['eventID'].replace('/', '%2F')}", headers=stranger.headers).status_code == 404


def test_a_refused_step_records_no_event(app, client, session, world, chain_worker):
    oid = _order(app, client, session, world, chain_worker)
    assert _ship(client, world, oid, [{"line_no": 1, "quantity": "11", "lot_number": "L1"}]).status_code == 422  # more than confirmed
    assert _count(app) == 0
    sid = _ship(client, world, oid, [{"line_no": 1, "quantity": "10", "lot_number": "L1"}, {"line_no": 2, "quantity": "4"}]).get_json()["id"]
    assert _count(app) == 1
    late = client.post(
        f"/api/v1/shipments/{sid}/milestones", json={"kind": "departed", "occurred_at": _iso(days=2), "location": "Leeds"}, headers=world.carrier.headers
    )
    assert late.status_code == 422
    assert client.post(
        f"/api/v1/shipments/{sid}/milestones", json={"kind": "departed", "occurred_at": _iso(), "location": "Leeds"}, headers=world.supplier.headers
    ).status_code in (403, 404)
    assert _count(app) == 1
    carrier = world.carrier.headers
    early = client.post(f"/api/v1/shipments/{sid}/proof-of-delivery", json={"receiver_name": "Gate 3", "delivered_at": _iso(hours=-5)}, headers=carrier)
    assert early.status_code == 422  # before the shipment left
    assert _count(app) == 1
    assert (
        client.post(f"/api/v1/shipments/{sid}/proof-of-delivery", json={"receiver_name": "Gate 3", "delivered_at": _iso()}, headers=carrier).status_code == 201
    )
    settle(app, chain_worker)
    assert _count(app) == 2
    short = {"lines": [{"line_no": 1, "accepted_quantity": "9"}, {"line_no": 2, "accepted_quantity": "4"}]}  # 9 + 0 is not the shipped 10
    assert client.post(f"/api/v1/orders/{oid}/receipts", json=short, headers=world.buyer.headers).status_code == 422
    assert _count(app) == 2


def test_a_failing_event_fails_the_step_and_nothing_of_it_is_written(app, client, session, world, chain_worker, monkeypatch):
    """The event is written in the step's transaction: when recording it fails, the shipment
    is not written either."""
    from concord.provenance import steps

    oid = _order(app, client, session, world, chain_worker)

    def broken(step, gln=None):
        return [{"type": "ObjectEvent", "eventTime": "not a time", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "epcList": []}]

    monkeypatch.setattr(steps, "events_of", broken)
    refused = _ship(client, world, oid, [{"line_no": 1, "quantity": "10", "lot_number": "L1"}])
    assert refused.status_code == 422
    assert client.get(f"/api/v1/orders/{oid}", headers=world.buyer.headers).get_json()["state"] == "acknowledged"
    assert client.get("/api/v1/shipments", headers=world.supplier.headers).get_json()["items"] == []
    assert _count(app) == 0
