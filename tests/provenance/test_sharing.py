"""Each organization chooses how its EPCIS events are shared in the consortium: private (the
default), with the parties of the transactions an event names, or with every organization
that handles the same lot. The query endpoints and the event item honour it, and a private
event stays private whatever else is shared."""

from __future__ import annotations

import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.db import database
from concord.provenance.models import EpcisEvent, EventParty
from concord.tenancy.models import Relation, Role

from tests import factories, orders_factory
from tests.provenance.helpers import EVENTS, capture, document, event, event_url, ids

LOT = "urn:epc:class:lgtin:4012345.012345.{}"
LOT_DL = "https://id.gs1.org/01/04012345123456/10/{}"  # the same class, as a Digital Link URI


def _capture(client, member, *events, sharing: str | None = None):
    response = client.post(
        "/api/v1/epcis/capture" + (f"?sharing={sharing}" if sharing else ""),
        json=document(*events),
        headers=member.headers,
    )
    assert response.status_code == 202, response.get_json()
    return response


def _lot_event(event_id: str, lot: str, **fields):
    return event(event_id, "2024-03-01T10:00:00Z", quantityList=[{"epcClass": LOT.format(lot), "quantity": 5, "uom": "KGM"}], **fields)


def _sees(client, member, event_id: str) -> bool:
    """Whether the member finds the event both in the list and by its id (never one without the other)."""
    listed = event_id in ids(client.get(f"{EVENTS}?perPage=200", headers=member.headers))
    item = client.get(event_url(event_id), headers=member.headers).status_code
    assert item in (200, 404)
    assert listed == (item == 200), (event_id, listed, item)
    return listed


def _order(app, session, world):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    return order


def test_events_are_private_by_default_even_when_they_name_an_order(app, client, session, world):
    order = _order(app, session, world)
    po = [{"type": "po", "bizTransaction": f"urn:uuid:{order.id}"}]
    _capture(client, world.supplier, _lot_event("urn:uuid:00000000-5a5e-4000-8000-000000000001", "P1", bizTransactionList=po))
    _capture(client, world.buyer, _lot_event("urn:uuid:00000000-5a5e-4000-8000-000000000002", "P1"))
    assert _sees(client, world.supplier, "urn:uuid:00000000-5a5e-4000-8000-000000000001")
    for other in (world.buyer, world.buyer2, world.carrier, world.auditor):
        assert not _sees(client, other, "urn:uuid:00000000-5a5e-4000-8000-000000000001")
    assert not _sees(client, world.supplier, "urn:uuid:00000000-5a5e-4000-8000-000000000002")


def test_transaction_sharing_shows_the_event_to_the_parties_of_the_order_it_names(app, client, session, world):
    order = _order(app, session, world)
    with app.test_request_context():
        factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, world.supplier2)
        foreign = orders_factory.issued_order(session, world.buyer2, world.supplier2)  # the supplier is no party to it
    session.commit()
    by_id = "urn:uuid:00000000-5a5e-4000-8000-000000000011"
    by_number = "urn:uuid:00000000-5a5e-4000-8000-000000000012"
    naming_foreign = "urn:uuid:00000000-5a5e-4000-8000-000000000013"
    _capture(
        client,
        world.supplier,
        event(by_id, "2024-03-01T10:00:00Z", bizTransactionList=[{"type": "po", "bizTransaction": f"urn:uuid:{order.id}"}]),
        event(by_number, "2024-03-01T11:00:00Z", bizTransactionList=[{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:0614141000005:{order.number}"}]),
        event(naming_foreign, "2024-03-01T12:00:00Z", bizTransactionList=[{"type": "po", "bizTransaction": f"urn:uuid:{foreign.id}"}]),
        sharing="transaction",
    )
    assert _sees(client, world.buyer, by_id) and _sees(client, world.buyer, by_number)
    assert not _sees(client, world.buyer, naming_foreign)
    for outsider in (world.buyer2, world.supplier2, world.carrier, world.auditor):
        assert not any(_sees(client, outsider, e) for e in (by_id, by_number, naming_foreign))
    # The buyer's query by business transaction finds them as the supplier's own would.
    answer = client.get(f"{EVENTS}?EQ_bizTransaction_po=urn:uuid:{order.id}", headers=world.buyer.headers)
    assert ids(answer) == {by_id}
    with database(app).sessionmaker() as s:
        shared = s.execute(sa.select(EventParty.organization_id).join(EpcisEvent, EpcisEvent.id == EventParty.event_pk).where(EpcisEvent.event_id == by_id))
        assert set(shared.scalars()) == {world.buyer.org.id}


def test_transaction_sharing_includes_the_carrier_of_a_shipment_it_names(app, client, session, world):
    with app.test_request_context():
        shipment, _dispute = orders_factory.shipped_and_disputed(session, world.buyer, world.supplier, world.carrier, world.operator)
    session.commit()
    shipped = "urn:uuid:00000000-5a5e-4000-8000-000000000021"
    _capture(
        client,
        world.supplier,
        event(shipped, "2024-03-01T10:00:00Z", bizStep="shipping", bizTransactionList=[{"type": "desadv", "bizTransaction": f"urn:uuid:{shipment.id}"}]),
        sharing="transaction",
    )
    assert _sees(client, world.carrier, shipped) and _sees(client, world.buyer, shipped)
    assert not _sees(client, world.buyer2, shipped)


def test_lot_sharing_shows_the_event_to_every_handler_of_the_same_lot(client, world):
    produced = "urn:uuid:00000000-5a5e-4000-8000-000000000031"
    other_lot = "urn:uuid:00000000-5a5e-4000-8000-000000000032"
    received = "urn:uuid:00000000-5a5e-4000-8000-000000000033"
    _capture(client, world.supplier, _lot_event(produced, "L7"), _lot_event(other_lot, "L8"), sharing="lot")
    # buyer2 handles lot L7 (it names the class as a Digital Link URI) and keeps its own event private.
    receipt = event(received, "2024-03-02T10:00:00Z", quantityList=[{"epcClass": LOT_DL.format("L7"), "quantity": 5, "uom": "KGM"}])
    _capture(client, world.buyer2, receipt)
    assert _sees(client, world.buyer2, produced)
    assert not _sees(client, world.buyer2, other_lot)
    assert not _sees(client, world.supplier, received), "a private event stays private"
    for stranger in (world.buyer, world.carrier, world.auditor):
        assert not _sees(client, stranger, produced)
    lot_query = client.get(f"{EVENTS}?MATCH_anyEPCClass={LOT.format('L7')}", headers=world.buyer2.headers)
    assert ids(lot_query) == {produced, received}


def test_the_organization_default_applies_unless_a_capture_says_otherwise(app, client, session, world):
    assert client.get("/api/v1/epcis/sharing", headers=world.supplier.headers).get_json() == {"sharing": "private"}
    with app.test_request_context():
        _member, member_token = factories.add_user(session, world.supplier, Role.MEMBER)
    session.commit()
    refused = client.put("/api/v1/epcis/sharing", json={"sharing": "lot"}, headers=factories.bearer(member_token))
    assert refused.status_code == 403
    bad = client.put("/api/v1/epcis/sharing", json={"sharing": "everyone"}, headers=world.supplier.headers)
    assert bad.status_code == 422 and "sharing" in bad.get_json()["errors"]
    changed = client.put("/api/v1/epcis/sharing", json={"sharing": "lot"}, headers=world.supplier.headers)
    assert changed.status_code == 200 and changed.get_json() == {"sharing": "lot"}
    with database(app).sessionmaker() as s:
        entry = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "epcis:sharing_set")).scalar_one()
        assert entry.actor_user_id == world.supplier.admin.id and entry.summary["after"] == {"sharing": "lot"}
    assert client.get("/api/v1/epcis/sharing", headers=world.buyer.headers).get_json() == {"sharing": "private"}, "one organization's choice"
    by_default = "urn:uuid:00000000-5a5e-4000-8000-000000000041"
    kept_private = "urn:uuid:00000000-5a5e-4000-8000-000000000042"
    _capture(client, world.supplier, _lot_event(by_default, "D1"))
    _capture(client, world.supplier, _lot_event(kept_private, "D1"), sharing="private")
    _capture(client, world.buyer, _lot_event("urn:uuid:00000000-5a5e-4000-8000-000000000043", "D1"))
    assert _sees(client, world.buyer, by_default)
    assert not _sees(client, world.buyer, kept_private)


def test_a_capture_refuses_an_unknown_sharing_level(client, world):
    response = capture(client, world.supplier.headers, document(_lot_event("urn:uuid:00000000-5a5e-4000-8000-000000000051", "X1")))
    assert response.status_code == 202
    refused = client.post("/api/v1/epcis/capture?sharing=public", json=document(), headers=world.supplier.headers)
    assert refused.status_code == 422 and "sharing" in str(refused.get_json())


def test_an_event_id_two_organizations_use_reads_as_ones_own(client, world):
    """eventIDs are unique per organization: where another's event of the same id is shared
    with it, an organization reads its own."""
    same = "urn:uuid:00000000-5a5e-4000-8000-000000000061"
    _capture(client, world.supplier, _lot_event(same, "S1", bizStep="shipping"), sharing="lot")
    _capture(client, world.buyer, _lot_event(same, "S1", bizStep="receiving"))
    mine = client.get(event_url(same), headers=world.buyer.headers).get_json()
    assert mine["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["bizStep"] == "receiving"
    theirs = client.get(event_url(same), headers=world.supplier.headers).get_json()
    assert theirs["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["bizStep"] == "shipping"


def test_the_handlers_of_a_lot_include_those_holding_what_was_made_of_it_through_shared_transformations(client, world):
    """A recall runs upstream: the buyer holding lot P (made by the supplier from lot M, made
    by supplier2 from lot R) sees supplier2's lot-shared events about M and R. A private
    transformation opens nothing, and neither does a lot the buyer's goods were not made of."""
    quantity = {"quantity": 5, "uom": "KGM"}

    def made(event_id: str, inputs: str, output: str):
        return event(
            event_id,
            "2024-03-01T09:00:00Z",
            "TransformationEvent",
            inputQuantityList=[{"epcClass": LOT.format(inputs), **quantity}],
            outputQuantityList=[{"epcClass": LOT.format(output), **quantity}],
        )

    raw, mid, other = (
        "urn:uuid:00000000-5a5e-4000-8000-000000000061",
        "urn:uuid:00000000-5a5e-4000-8000-000000000062",
        "urn:uuid:00000000-5a5e-4000-8000-000000000063",
    )
    _capture(client, world.supplier2, made(raw, "R", "M"), _lot_event(mid, "M"), _lot_event(other, "X"), sharing="lot")
    _capture(client, world.supplier, made("urn:uuid:00000000-5a5e-4000-8000-000000000064", "M", "P"), sharing="lot")
    _capture(client, world.buyer, _lot_event("urn:uuid:00000000-5a5e-4000-8000-000000000065", "P"))
    assert _sees(client, world.buyer, raw) and _sees(client, world.buyer, mid)
    assert not _sees(client, world.buyer, other)
    assert not _sees(client, world.carrier, raw)
    # The same story with the middle transformation private: the buyer's view stops at it.
    _capture(client, world.supplier2, made("urn:uuid:00000000-5a5e-4000-8000-000000000071", "S", "N"), sharing="lot")
    _capture(client, world.supplier, made("urn:uuid:00000000-5a5e-4000-8000-000000000072", "N", "Q"), sharing="private")
    _capture(client, world.buyer, _lot_event("urn:uuid:00000000-5a5e-4000-8000-000000000073", "Q"))
    assert not _sees(client, world.buyer, "urn:uuid:00000000-5a5e-4000-8000-000000000071")
