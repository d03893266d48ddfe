"""Tracing a lot by GTIN and lot: upstream through transformations to the input lots, their
makers and suppliers; downstream through shipments and receipts to every holder; only
through the events the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from concord import wiring
from concord.provenance import service, steps

from tests.factories import World

ORE, INGOT, PART = "4006381333931", "5901234123457", "7612345678900"
GLN = "4012345000009"
TRACE = "/api/v1/trace"
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def lot(gtin: str, number: str) -> str:
    return steps.product_class(gtin, number)


def _moment(hours: int) -> str:
    return (START + timedelta(hours=hours)).isoformat(timespec="milliseconds")


def _transform(session, who, hours: int, inputs: dict[str, int], outputs: dict[str, int]) -> None:
    event = {
        "type": "TransformationEvent",
        "eventTime": _moment(hours),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": "commissioning",
        "disposition": "active",
        "inputQuantityList": [{"epcClass": c, "quantity": q} for c, q in inputs.items()],
        "outputQuantityList": [{"epcClass": c, "quantity": q} for c, q in outputs.items()],
    }
    service.record_events(session, who.org.id, who.admin.id, [event], source="test:production")


def _order_steps(session, seller, buyer, carrier, gtin: str, number: str, shipped: int, accepted: int, hours: int) -> None:
    """A shipment and its receipt, as the order steps record them (shared with the parties)."""
    common = {
        "order_id": __import__("uuid").uuid4(),
        "supplier_org_id": seller.org.id,
        "buyer_org_id": buyer.org.id,
        "parties": frozenset({seller.org.id, buyer.org.id, carrier.org.id}),
        "ship_to_gln": GLN,
    }
    goods = (wiring.StepLine(gtin, number, Decimal(shipped), "H87"),)
    shipping = wiring.PhysicalStep(
        kind="shipped", organization_id=seller.org.id, user_id=seller.admin.id, occurred_at=START + timedelta(hours=hours), lines=goods, **common
    )
    steps.on_physical_step(session, shipping)
    receipt = wiring.PhysicalStep(
        kind="received",
        organization_id=buyer.org.id,
        user_id=buyer.admin.id,
        occurred_at=START + timedelta(hours=hours + 20),
        lines=(wiring.StepLine(gtin, number, Decimal(accepted), "H87"),),
        rejected=(wiring.StepLine(gtin, number, Decimal(shipped - accepted), "H87"),),
        **common,
    )
    steps.on_physical_step(session, receipt)


@pytest.fixture
def chain(session, world: World):
    """supplier2 smelts ore lot O-1 into ingot lot I-7, ships 50 to supplier (all accepted);
    supplier makes part lot P-1 of 40 ingots, ships 8 to buyer (6 accepted, 2 rejected)."""
    _transform(session, world.supplier2, 0, {lot(ORE, "O-1"): 100}, {lot(INGOT, "I-7"): 60})
    _order_steps(session, world.supplier2, world.supplier, world.carrier, INGOT, "I-7", 50, 50, 2)
    _transform(session, world.supplier, 30, {lot(INGOT, "I-7"): 40}, {lot(PART, "P-1"): 10})
    _order_steps(session, world.supplier, world.buyer, world.carrier, PART, "P-1", 8, 6, 40)
    session.commit()


def _trace(client, member, gtin, number) -> dict:
    answer = client.get(TRACE, query_string={"gtin": gtin, "lot": number}, headers=member.headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _recall(body) -> dict[tuple[str | None, str], dict[str, str]]:
    return {
        (entry["holder"]["name"], entry["epc_class"]): {
            k: v for k, v in entry.items() if k in ("produced", "shipped", "in_transit_to", "received", "rejected") and v != "0"
        }
        for entry in body["recall"]
    }


def test_the_maker_traces_its_lot_up_to_the_ore_and_down_to_the_buyer(client, world, chain):
    body = _trace(client, world.supplier, PART, "P-1")
    lots = {(entry["direction"], entry["depth"], entry["gtin"], entry["lot"]) for entry in body["lots"]}
    assert lots == {("start", 0, "0" + PART, "P-1"), ("upstream", 1, "0" + INGOT, "I-7")}  # supplier2's smelting is not the supplier's to see
    ingot = next(entry for entry in body["lots"] if entry["lot"] == "I-7")
    assert [s["name"] for s in ingot["supplied_by"]] == ["Supplier Two BV"]
    start = next(entry for entry in body["lots"] if entry["direction"] == "start")
    assert [p["name"] for p in start["produced_by"]] == ["Supplier One Ltd"]
    assert _recall(body) == {
        ("Supplier One Ltd", lot(PART, "P-1")): {"produced": "10", "shipped": "8"},
        ("Buyer One GmbH", lot(PART, "P-1")): {"in_transit_to": "8", "received": "6", "rejected": "2"},
    }
    assert {(m["biz_step"], m["disposition"]) for m in body["movements"] if m["epc_class"] == lot(PART, "P-1")} == {
        ("shipping", "in_transit"),
        ("receiving", "in_progress"),
        ("receiving", "non_conformant"),
    }
    located = {entry["location"] for entry in body["recall"] if entry["holder"]["name"] == "Buyer One GmbH"}
    assert located == {f"https://id.gs1.org/414/{GLN}"}


def test_a_recall_of_the_ingot_lot_reaches_every_holder_of_what_was_made_of_it(client, world, chain):
    body = _trace(client, world.supplier, INGOT, "I-7")
    assert {(e["direction"], e["lot"]) for e in body["lots"]} == {("start", "I-7"), ("downstream", "P-1")}
    recall = _recall(body)
    assert recall[("Supplier One Ltd", lot(INGOT, "I-7"))] == {"in_transit_to": "50", "received": "50"}
    assert recall[("Buyer One GmbH", lot(PART, "P-1"))] == {"in_transit_to": "8", "received": "6", "rejected": "2"}
    # Supplier Two made it and shipped it: the supplier sees the shipment, not the smelting.
    assert recall[("Supplier Two BV", lot(INGOT, "I-7"))] == {"shipped": "50"}


def test_each_organization_traces_only_through_the_events_it_may_see(client, world, chain):
    smelter = _trace(client, world.supplier2, INGOT, "I-7")
    assert {(e["direction"], e["lot"]) for e in smelter["lots"]} == {("start", "I-7"), ("upstream", "O-1")}  # its own smelting
    assert {name for name, _ in _recall(smelter)} == {"Supplier Two BV", "Supplier One Ltd"}  # not what the supplier made of it
    buyer = _trace(client, world.buyer, PART, "P-1")
    assert [e["direction"] for e in buyer["lots"]] == ["start"] and buyer["transformations"] == []
    assert _recall(buyer)[("Buyer One GmbH", lot(PART, "P-1"))] == {"in_transit_to": "8", "received": "6", "rejected": "2"}
    for stranger in (world.buyer2, world.financier, world.auditor):
        nothing = _trace(client, stranger, PART, "P-1")
        assert (nothing["transformations"], nothing["movements"], nothing["recall"]) == ([], [], [])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"gtin": "7612345678901", "lot": "P-1"}, "gtin"),
        ({"gtin": "76123456789", "lot": "P-1"}, "gtin"),
        ({"gtin": "abc", "lot": "P-1"}, "gtin"),
        ({"gtin": PART, "lot": "  "}, "lot"),
        ({"gtin": PART, "lot": "x" * 65}, "lot"),
        ({"lot": "P-1"}, "gtin"),
        ({"gtin": PART}, "lot"),
    ],
)
def test_a_trace_needs_a_valid_gtin_and_a_lot(client, world, query, field):
    answer = client.get(TRACE, query_string=query, headers=world.buyer.headers)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]


def test_a_lot_packed_into_an_sscc_is_followed_where_the_unit_goes(client, session, world, chain):
    sscc = "https://id.gs1.org/00/037612345000000014"
    moment = {"eventTimeZoneOffset": "+00:00"}
    packing = {
        "type": "AggregationEvent",
        "eventTime": _moment(50),
        **moment,
        "parentID": sscc,
        "childEPCs": [],
        "action": "ADD",
        "bizStep": "packing",
        "disposition": "container_closed",
        "childQuantityList": [{"epcClass": lot(PART, "P-1"), "quantity": 2}],
    }
    service.record_events(session, world.supplier.org.id, world.supplier.admin.id, [packing], source="test:packing")
    shipping = {
        "type": "ObjectEvent",
        "eventTime": _moment(51),
        **moment,
        "epcList": ["urn:epc:id:sscc:3761234.0500000001"],  # the same unit, in its EPC URI
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "sourceList": [{"type": "owning_party", "source": steps.party(world.supplier.org.id)}],
        "destinationList": [{"type": "owning_party", "destination": steps.party(world.buyer2.org.id)}],
    }
    parties = {world.supplier.org.id, world.buyer2.org.id}
    service.record_events(session, world.supplier.org.id, world.supplier.admin.id, [shipping], source="test:shipping", parties=parties)
    session.commit()
    body = _trace(client, world.supplier, PART, "P-1")
    assert _recall(body)[("Buyer Two SA", lot(PART, "P-1"))] == {"in_transit_to": "2"}
    assert [m["container"] for m in body["movements"] if m["to"] and m["to"]["name"] == "Buyer Two SA"] == [sscc]
    # Buyer Two sees the unit's shipment, not the packing: for it, the unit holds nothing it can name.
    assert _recall(_trace(client, world.buyer2, PART, "P-1")) == {}
