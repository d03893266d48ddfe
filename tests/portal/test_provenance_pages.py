"""Provenance in the portal: a supplier records production (a TransformationEvent) and
packing (an AggregationEvent) through forms that name each mistake on its field and write
nothing when refused; the events page lists them; the trace page draws a lot's graph and
lists who holds it."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.provenance.models import EpcisEvent
from concord.tenancy.models import Role

from tests import factories
from tests.portal.helpers import field_error, text
from tests.provenance.helpers import capture
from tests.provenance.helpers import document as provenance_document
from tests.provenance.helpers import event as provenance_event

STEEL, BRACKET = "4006381333931", "5901234123457"
SSCC = "037612345000000014"


def _events(app) -> list[EpcisEvent]:
    with database(app).sessionmaker() as s:
        return list(s.execute(sa.select(EpcisEvent).order_by(EpcisEvent.event_time)).scalars())


def _products(app, browser) -> dict[str, str]:
    """The supplier's steel (bought) and brackets (made), with GTINs: GTIN -> product id."""
    for sku, gtin in (("STEEL", STEEL), ("BRACKET", BRACKET)):
        assert browser.post("/catalog/products", {"sku": sku, "name": sku.title(), "unit_of_measure": "H87", "gtin": gtin}).status_code == 302
    page = browser.get("/provenance/production").get_data(as_text=True)
    return {gtin: re.search(rf'<option value="([0-9a-f-]+)" >[^<]*GTIN {gtin}', page).group(1) for gtin in (STEEL, BRACKET)}


def _production(ids, **overrides) -> dict[str, str]:
    form = {
        "inputs-0-product_id": ids[STEEL],
        "inputs-0-lot": "S-77",
        "inputs-0-quantity": "12.5",
        "output-0-product_id": ids[BRACKET],
        "output-0-lot": "B-1",
        "output-0-quantity": "100",
    }
    return {**form, **overrides}


def test_a_supplier_records_production_and_sees_it_listed(app, world, signed_in):
    supplier = signed_in(world.supplier)
    ids = _products(app, supplier)
    answer = supplier.post("/provenance/production", _production(ids))
    assert answer.status_code == 302, text(answer)
    (event,) = _events(app)
    assert (event.organization_id, event.event_type, event.hash_id) == (world.supplier.org.id, "TransformationEvent", event.event_id)
    assert event.document["inputQuantityList"] == [{"epcClass": f"https://id.gs1.org/01/0{STEEL}/10/S-77", "quantity": 12.5}]
    assert event.document["outputQuantityList"] == [{"epcClass": f"https://id.gs1.org/01/0{BRACKET}/10/B-1", "quantity": 100}]
    assert (event.document["bizStep"], event.document["disposition"]) == ("commissioning", "active")
    listed = text(supplier.get("/provenance/events"))
    assert "Production recorded as an EPCIS TransformationEvent." in listed and f"https://id.gs1.org/01/0{BRACKET}/10/B-1" in listed
    assert "No events yet" in text(signed_in(world.buyer).get("/provenance/events"))  # another organization's production stays its own


def test_production_form_mistakes_are_named_by_field_and_nothing_is_written(app, world, signed_in):
    supplier = signed_in(world.supplier)
    ids = _products(app, supplier)
    late = (clock.utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    cases = [
        ({"inputs-0-product_id": "not-a-product"}, "inputs-0-product_id", "Choose one of your products with a GTIN."),
        ({"inputs-0-lot": "x" * 21}, "inputs-0-lot", "At most 20 characters (GS1's lot number)."),
        ({"inputs-0-quantity": "abc"}, "inputs-0-quantity", "A positive quantity up to 1000000000, with at most 3 decimals."),
        ({"inputs-0-quantity": "-4"}, "inputs-0-quantity", "A positive quantity up to 1000000000, with at most 3 decimals."),
        ({"inputs-0-quantity": "1e999999"}, "inputs-0-quantity", "A positive quantity up to 1000000000, with at most 3 decimals."),
        ({"output-0-lot": ""}, "output-lot", "Give the lot number."),
        ({"output-0-product_id": ids[STEEL], "output-0-lot": "S-77"}, "output-lot", "The output lot cannot be one of the inputs."),
        ({"occurred_at": late}, "occurred_at", "Cannot be in the future."),
        ({"occurred_at": "2026-01-01T10:00", "occurred_at_offset": "+99:00"}, "occurred_at_offset", "Choose a UTC offset from the list."),
        ({"location_id": "nowhere"}, "location_id", "Choose one of your locations with a GLN."),
    ]
    for change, field, message in cases:
        answer = supplier.post("/provenance/production", _production(ids, **change))
        assert answer.status_code == 422, (change, text(answer))
        assert field_error(answer, field) == [message], (change, field_error(answer, field))
    missing = supplier.post("/provenance/production", {k: v for k, v in _production(ids).items() if not k.startswith("inputs")})
    assert missing.status_code == 422 and field_error(missing, "inputs") == ["Give at least 1."]
    both = supplier.post("/provenance/production", _production(ids, **{"inputs-0-lot": "", "occurred_at": late}))  # every mistake in one pass
    assert field_error(both, "inputs-0-lot") == ["Give the lot number."] and field_error(both, "occurred_at") == ["Cannot be in the future."]
    another = signed_in(world.supplier2)  # another supplier's product is not one of its own
    assert another.post("/provenance/production", _production(ids)).status_code == 422
    assert _events(app) == []


def test_a_viewer_cannot_record_production(app, world, session, signed_in):
    supplier = signed_in(world.supplier)
    ids = _products(app, supplier)
    with app.test_request_context():
        viewer, _ = factories.add_user(session, world.supplier, Role.VIEWER)
    session.commit()
    browser = signed_in(viewer)
    assert "Record production" not in text(browser.get("/provenance/production"))
    answer = browser.post("/provenance/production", _production(ids))
    assert answer.status_code == 403 and "This action needs the admin or member role" in text(answer)
    assert _events(app) == []


def test_a_supplier_records_packing_into_an_sscc(app, world, signed_in):
    supplier = signed_in(world.supplier)
    ids = _products(app, supplier)
    form = {"sscc": SSCC, "contents-0-product_id": ids[BRACKET], "contents-0-lot": "B-1", "contents-0-quantity": "40"}
    wrong = supplier.post("/provenance/packing", {**form, "sscc": SSCC[:-1] + "5", "contents-0-quantity": "0"})
    assert wrong.status_code == 422
    assert field_error(wrong, "sscc") == ["The check digit of this SSCC should be 4."]
    assert field_error(wrong, "contents-0-quantity")
    assert supplier.post("/provenance/packing", {**form, "sscc": "12"}).status_code == 422
    assert _events(app) == []
    assert supplier.post("/provenance/packing", form).status_code == 302
    (event,) = _events(app)
    assert event.event_type == "AggregationEvent" and event.action == "ADD"
    assert event.document["parentID"] == f"https://id.gs1.org/00/{SSCC}"
    assert event.document["childQuantityList"] == [{"epcClass": f"https://id.gs1.org/01/0{BRACKET}/10/B-1", "quantity": 40}]
    assert (event.document["bizStep"], event.document["disposition"]) == ("packing", "container_closed")


def test_the_trace_page_draws_the_lot_and_its_inputs(app, world, signed_in):
    supplier = signed_in(world.supplier)
    ids = _products(app, supplier)
    assert supplier.post("/provenance/production", _production(ids)).status_code == 302
    page = supplier.get(f"/provenance/trace?gtin={BRACKET}&lot=B-1")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<svg" in body and "Lot S-77" in body and "Lot B-1" in body and "made by Supplier One Ltd" in body
    assert "Supplier One Ltd" in text(page)  # the maker, in the recall list
    bad = supplier.get("/provenance/trace?gtin=5901234123458&lot=B-1")
    assert bad.status_code == 422 and field_error(bad, "gtin") == ["The check digit of this GTIN should be 7."]
    assert supplier.get("/provenance/trace").status_code == 200
    stranger = signed_in(world.buyer2).get(f"/provenance/trace?gtin={BRACKET}&lot=B-1")
    assert stranger.status_code == 200 and "Lot S-77" not in stranger.get_data(as_text=True)


def test_the_trace_page_the_events_list_and_the_lot_page_lead_to_each_events_page(app, world, signed_in):
    supplier = signed_in(world.supplier)
    ids = _products(app, supplier)
    assert supplier.post("/provenance/production", _production(ids)).status_code == 302
    shipping = provenance_event(
        "urn:uuid:6a0e5a0c-1d1e-4d0a-9d5b-0000000000aa",
        "2024-01-05T12:00:00Z",
        quantityList=[{"epcClass": f"https://id.gs1.org/01/0{BRACKET}/10/B-1", "quantity": 40}],
        action="OBSERVE",
        bizStep="shipping",
    )
    assert capture(app.test_client(), world.supplier.headers, provenance_document(shipping)).status_code == 202
    kinds = {e.event_type: e.event_id for e in _events(app)}
    made, shipped = kinds["TransformationEvent"], kinds["ObjectEvent"]
    trace = supplier.get(f"/provenance/trace?gtin={BRACKET}&lot=B-1").get_data(as_text=True)
    transformations = trace.split('id="transformations-heading"', 1)[1].split("</section>", 1)[0]
    movements = trace.split('id="movements-heading"', 1)[1].split("</section>", 1)[0]
    assert f'href="/provenance/events/{quote(made, safe="")}"' in transformations
    assert f'href="/provenance/events/{quote(shipped, safe="")}"' in movements
    listed = supplier.get("/provenance/events").get_data(as_text=True)
    lot = supplier.get(f"/catalog/products/{ids[BRACKET]}/lots/B-1").get_data(as_text=True)
    for event_id in (made, shipped):
        assert f'href="/provenance/events/{quote(event_id, safe="")}"' in listed
        assert f'href="/provenance/events/{quote(event_id, safe="")}"' in lot
        page = supplier.get(f"/provenance/events/{quote(event_id, safe='')}")
        assert page.status_code == 200 and event_id in page.get_data(as_text=True)
