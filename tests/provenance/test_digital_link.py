"""The GS1 Digital Link resolver: strict syntax (400), unknown or unpublished products (404),
the linkset and each linkType for machines, and the page for people showing what the brand
owner chose: nothing, the verified origin summary, or the chain of custody without private
business data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.db import database
from concord.provenance import digital_link
from concord.provenance.models import BatchState, EpcisEvent, ProvenanceBatch
from concord.tenancy.models import Role
from hypothesis import given
from hypothesis import strategies as st

from tests import factories
from tests.provenance.helpers import document, event, events_of_answer

GTIN13, GTIN14 = "4006381333931", "04006381333931"
LOT_CLASS = "urn:epc:class:lgtin:4006381.033393.{}"
SERIAL = "urn:epc:id:sgtin:4006381.033393.{}"
PLANT = "urn:epc:id:sgln:4006381.00000.0"
PO_NUMBER = "PO-SECRET-4711"
BASE = "http://concord.test"
LINKSET = "application/linkset+json"
JSON = {"Accept": "application/json"}


def _production(lot: str) -> dict:
    return event(
        "urn:uuid:00000000-d1d1-4000-8000-000000000001",
        "2024-04-01T08:00:00+02:00",
        "TransformationEvent",
        inputQuantityList=[{"epcClass": "urn:epc:class:lgtin:4006381.099999.RAW1", "quantity": 10, "uom": "KGM"}],
        outputQuantityList=[{"epcClass": LOT_CLASS.format(lot), "quantity": 100, "uom": "KGM"}],
        bizStep="commissioning",
        bizLocation={"id": PLANT},
        bizTransactionList=[{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:4006381000005:{PO_NUMBER}"}],
    )


def _shipping(lot: str, serial: str) -> dict:
    return event(
        "urn:uuid:00000000-d1d1-4000-8000-000000000002",
        "2024-04-02T09:00:00Z",
        epcList=[SERIAL.format(serial)],
        quantityList=[{"epcClass": LOT_CLASS.format(lot), "quantity": 40, "uom": "KGM"}],
        action="OBSERVE",
        bizStep="shipping",
        disposition="in_transit",
        readPoint={"id": PLANT},
        bizTransactionList=[{"type": "po", "bizTransaction": f"https://erp.example.com/po/{PO_NUMBER}"}],
    )


@pytest.fixture
def product(client, world):
    """The supplier's product, with its production and shipping of lot L1 captured."""
    created = client.post(
        "/api/v1/products", json={"sku": "BR-1", "name": "Steel bracket", "unit_of_measure": "H87", "gtin": GTIN13}, headers=world.supplier.headers
    )
    assert created.status_code == 201, created.get_json()
    captured = client.post("/api/v1/epcis/capture", json=document(_production("L1"), _shipping("L1", "S1")), headers=world.supplier.headers)
    assert captured.status_code == 202, captured.get_json()
    return created.get_json()


def _publish(client, member, product_id: str, view: str):
    return client.patch(f"/api/v1/products/{product_id}", json={"public_view": view}, headers=member.headers)


# --- syntax ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/01/4006381333932/10/L1", "gtin"),  # wrong check digit
        ("/01/400638133393/10/L1", "gtin"),  # 12 digits, wrong check digit
        ("/01/40063813339311", "gtin"),  # 14 digits, wrong check digit
        ("/01/400638133393123/10/L1", "gtin"),  # 15 digits
        ("/01/40O6381333931", "gtin"),  # a letter O
        ("/01/04006381333931/10/" + "L" * 21, "lot"),
        ("/01/04006381333931/10/L%201", "lot"),  # a space is not in set 82
        ("/01/04006381333931/10/L%C3%A91", "lot"),  # nor is é
        ("/01/04006381333931/21/S%7E1", "serial"),  # nor is ~
        ("/01/04006381333931/17/261231", "path"),  # an AI this resolver does not qualify a GTIN with
        ("/01/04006381333931/21/S1/10/L1", "path"),  # the lot comes before the serial
        ("/01/04006381333931/10", "path"),  # an AI without its value
    ],
)
def test_a_malformed_digital_link_answers_400_naming_the_field(client, path, field):
    response = client.get(path, headers=JSON)
    assert response.status_code == 400, (path, response.status_code)
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"], response.get_json()
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 400 and "text/html" in page.content_type


def test_every_gtin_length_names_the_same_product_as_fourteen_digits(client, world, product):
    assert _publish(client, world.supplier, product["id"], "origin").status_code == 200
    for written in (GTIN13, GTIN14):
        answer = client.get(f"/01/{written}/10/L1", headers=JSON)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["product"]["gtin"] == GTIN14
        assert f'<{BASE}/01/{GTIN14}/10/L1?linkType=linkset>; rel="linkset"' in answer.headers["Link"]
    gtin8 = client.post("/api/v1/products", json={"sku": "G8", "name": "Small", "unit_of_measure": "H87", "gtin": "96385074"}, headers=world.buyer.headers)
    assert _publish(client, world.buyer, gtin8.get_json()["id"], "origin").status_code == 200
    assert client.get("/01/00000096385074", headers=JSON).get_json()["product"]["name"] == "Small"
    assert client.get("/01/96385074", headers=JSON).get_json()["product"]["gtin"] == "00000096385074"


def test_a_lot_with_an_escaped_slash_is_read_whole(client, world, product):
    assert _publish(client, world.supplier, product["id"], "custody").status_code == 200
    captured = client.post(
        "/api/v1/epcis/capture",
        json=document(
            event(
                "urn:uuid:00000000-d1d1-4000-8000-000000000009", "2024-04-03T09:00:00Z", quantityList=[{"epcClass": LOT_CLASS.format("A%2FB"), "quantity": 1}]
            )
        ),
        headers=world.supplier.headers,
    )
    assert captured.status_code == 202, captured.get_json()
    answer = client.get(f"/01/{GTIN14}/10/A%2FB", headers=JSON).get_json()
    assert answer["lot"] == "A/B"
    assert answer["origin"]["eventCount"] == 1


# --- not found ---------------------------------------------------------------------------


def test_an_unknown_product_and_an_unpublished_one_answer_404(client, world, product):
    """Alike: the answer does not tell whether some organization's catalog holds the GTIN."""
    unknown = client.get("/01/09521234543213/10/L1", headers=JSON)
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    hidden = client.get(f"/01/{GTIN14}/10/L1", headers=JSON)
    assert hidden.status_code == 404 and "Nothing about this product is public" in hidden.get_json()["detail"]
    assert {**unknown.get_json(), "instance": None} == {**hidden.get_json(), "instance": None}
    page = client.get(f"/01/{GTIN14}/10/L1", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "Nothing about this product is public" in page.get_data(as_text=True)
    assert "Steel bracket" not in page.get_data(as_text=True)
    for link_type in ("linkset", "gs1:epcis"):
        assert client.get(f"/01/{GTIN14}/10/L1?linkType={link_type}").status_code == 404
    # Made public, then hidden again: nothing again.
    assert _publish(client, world.supplier, product["id"], "custody").status_code == 200
    assert _publish(client, world.supplier, product["id"], "none").status_code == 200
    assert client.get(f"/01/{GTIN14}/10/L1", headers=JSON).status_code == 404


# --- machines: linkset and link types ------------------------------------------------------


def test_the_linkset_lists_every_link_in_the_gs1_resolver_shape(client, world, product):
    assert _publish(client, world.supplier, product["id"], "origin").status_code == 200
    answers = [
        client.get(f"/01/{GTIN14}/10/L1?linkType=linkset"),
        client.get(f"/01/{GTIN14}/10/L1?linkType=all"),
        client.get(f"/01/{GTIN14}/10/L1", headers={"Accept": LINKSET}),
    ]
    bodies = [json.loads(a.get_data(as_text=True)) for a in answers]
    assert all(a.status_code == 200 and a.mimetype == LINKSET for a in answers)
    assert bodies[0] == bodies[1] == bodies[2]
    (entry,) = bodies[0]["linkset"]
    anchor = f"{BASE}/01/{GTIN14}/10/L1"
    assert entry["anchor"] == anchor
    assert entry["description"] == "Steel bracket, lot L1"
    voc = "https://gs1.org/voc/"
    assert set(entry) == {"anchor", "description", "itemDescription"} | {voc + n for n in ("defaultLink", "pip", "traceability", "certificationInfo", "epcis")}
    for key, links in entry.items():
        if key.startswith(voc):
            assert isinstance(links, list) and links and all(isinstance(link["href"], str) and link["href"].startswith(BASE) for link in links)
    assert entry[voc + "defaultLink"] == entry[voc + "pip"] == [{"href": anchor, "title": "Steel bracket, lot L1: product page", "type": "text/html"}]
    assert entry[voc + "traceability"][0]["href"] == f"{BASE}/api/v1/trace?gtin={GTIN14}&lot=L1"
    assert entry[voc + "certificationInfo"][0]["href"] == f"{BASE}/api/v1/documents?gtin={GTIN14}&lot=L1"
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in answers[0].headers["Link"]


def test_one_link_type_redirects_307_to_its_target(client, world, product):
    assert _publish(client, world.supplier, product["id"], "origin").status_code == 200
    lot = f"/01/{GTIN14}/10/L1"
    expected = {
        "gs1:traceability": f"{BASE}/api/v1/trace?gtin={GTIN14}&lot=L1",
        "https://gs1.org/voc/traceability": f"{BASE}/api/v1/trace?gtin={GTIN14}&lot=L1",
        "gs1:certificationInfo": f"{BASE}/api/v1/documents?gtin={GTIN14}&lot=L1",
        "gs1:recipeInfo": f"{BASE}{lot}",  # a link type this item has no link of: the default link
    }
    for link_type, target in expected.items():
        answer = client.get(f"{lot}?linkType={link_type}")
        assert answer.status_code == 307, (link_type, answer.status_code)
        assert answer.headers["Location"] == target, link_type
        assert 'rel="linkset"' in answer.headers["Link"]
    # gs1:epcis names the Simple Event Query of the lot, which answers with the lot's events.
    epcis = client.get(f"{lot}?linkType=gs1:epcis")
    assert epcis.status_code == 307
    parts = urlsplit(epcis.headers["Location"])
    assert parts.path == "/api/v1/epcis/events" and parse_qs(parts.query) == {"MATCH_anyEPCClass": [f"https://id.gs1.org/01/{GTIN14}/10/L1"]}
    events = events_of_answer(client.get(f"{parts.path}?{parts.query}", headers=world.supplier.headers))
    assert {e["eventID"] for e in events} == {"urn:uuid:00000000-d1d1-4000-8000-000000000001", "urn:uuid:00000000-d1d1-4000-8000-000000000002"}
    # A serialised item: its events by EPC, no trace by lot.
    serial = client.get(f"/01/{GTIN14}/21/S1?linkType=linkset").get_json()["linkset"][0]
    assert "https://gs1.org/voc/traceability" not in serial
    query = urlsplit(serial["https://gs1.org/voc/epcis"][0]["href"]).query
    assert parse_qs(query) == {"MATCH_anyEPC": [f"https://id.gs1.org/01/{GTIN14}/21/S1"]}
    found = events_of_answer(client.get(f"/api/v1/epcis/events?{query}", headers=world.supplier.headers))
    assert [e["eventID"] for e in found] == ["urn:uuid:00000000-d1d1-4000-8000-000000000002"]


# --- people: what the brand owner chose ----------------------------------------------------


def test_the_origin_summary_shows_product_owner_lot_production_and_anchoring(app, client, world, product):
    assert _publish(client, world.supplier, product["id"], "origin").status_code == 200
    body = client.get(f"/01/{GTIN14}/10/L1", headers=JSON).get_json()
    assert body["view"] == "origin" and body["brandOwner"] == "Supplier One Ltd" and body["lot"] == "L1"
    assert body["product"] == {"name": "Steel bracket", "gtin": GTIN14, "description": None}
    production = body["origin"]["production"]
    assert production["bizStep"] == "commissioning" and production["eventTime"] == "2024-04-01T06:00:00+00:00"
    assert production["bizLocation"] == "https://id.gs1.org/414/4006381000000"
    assert body["origin"]["eventCount"] == 2 and body["origin"]["anchoredEventCount"] == 0 and body["origin"]["allAnchored"] is False
    assert "chainOfCustody" not in body
    page = client.get(f"/01/{GTIN14}/10/L1", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Steel bracket" in page and "Supplier One Ltd" in page and "Verified origin" in page and "Chain of custody" not in page
    assert "<svg" in page  # the page carries its own QR code
    # An event whose Merkle batch is anchored on chain counts as such.
    with database(app).sessionmaker() as s:
        shipped = s.execute(sa.select(EpcisEvent).where(EpcisEvent.event_id == "urn:uuid:00000000-d1d1-4000-8000-000000000002")).scalar_one()
        now = datetime.now(UTC)
        batch = ProvenanceBatch(
            organization_id=world.supplier.org.id, state=BatchState.ANCHORING, chain_id=1, anchor="0x" + "11" * 20, root="0x" + "22" * 32, size=1, closed_at=now
        )
        s.add(batch)
        s.flush()
        shipped.batch_id = batch.id
        s.commit()
        assert client.get(f"/01/{GTIN14}/10/L1", headers=JSON).get_json()["origin"]["anchoredEventCount"] == 0  # on its way
        batch.state, batch.anchored_at, batch.tx_hash, batch.block_number = BatchState.ANCHORED, now, "0x" + "33" * 32, 7
        s.commit()
    assert client.get(f"/01/{GTIN14}/10/L1", headers=JSON).get_json()["origin"]["anchoredEventCount"] == 1


def test_the_chain_of_custody_lists_events_without_private_business_data(client, world, product):
    assert _publish(client, world.supplier, product["id"], "custody").status_code == 200
    answer = client.get(f"/01/{GTIN14}/10/L1", headers=JSON)
    body = answer.get_json()
    steps = [(e["type"], e["bizStep"], e["recordedBy"]) for e in body["chainOfCustody"]]
    assert steps == [("TransformationEvent", "commissioning", "Supplier One Ltd"), ("ObjectEvent", "shipping", "Supplier One Ltd")]
    assert all(e["eventHash"].startswith("ni:///sha-256;") for e in body["chainOfCustody"])
    page = client.get(f"/01/{GTIN14}/10/L1", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Chain of custody" in page and "shipping" in page
    for text in (answer.get_data(as_text=True), page):
        assert PO_NUMBER not in text and "bizTransaction" not in text and "RAW1" not in text


def test_the_public_sees_what_the_brand_owner_sees_and_no_more(client, world, product):
    """A handler's private event of the lot stays off the public page; shared with the lot's
    handlers, the brand owner sees it, and so does the public."""
    assert _publish(client, world.supplier, product["id"], "custody").status_code == 200
    receipt = event(
        "urn:uuid:00000000-d1d1-4000-8000-000000000003",
        "2024-04-05T10:00:00Z",
        quantityList=[{"epcClass": LOT_CLASS.format("L1"), "quantity": 40}],
        bizStep="receiving",
    )
    client.post("/api/v1/epcis/capture", json=document(receipt), headers=world.buyer.headers)
    assert len(client.get(f"/01/{GTIN14}/10/L1", headers=JSON).get_json()["chainOfCustody"]) == 2
    shared = dict(receipt, eventID="urn:uuid:00000000-d1d1-4000-8000-000000000004")
    assert client.post("/api/v1/epcis/capture?sharing=lot", json=document(shared), headers=world.buyer.headers).status_code == 202
    custody = client.get(f"/01/{GTIN14}/10/L1", headers=JSON).get_json()["chainOfCustody"]
    assert [(e["bizStep"], e["recordedBy"]) for e in custody][-1] == ("receiving", "Buyer One GmbH")
    assert len(custody) == 3


# --- the brand owner's choice --------------------------------------------------------------


def test_only_admins_choose_the_public_view_and_the_choice_is_audited(app, client, session, world, product):
    with app.test_request_context():
        _member, member_token = factories.add_user(session, world.supplier, Role.MEMBER)
    session.commit()
    refused = client.patch(f"/api/v1/products/{product['id']}", json={"public_view": "custody"}, headers=factories.bearer(member_token))
    assert refused.status_code == 403
    assert client.patch(f"/api/v1/products/{product['id']}", json={"name": "Steel bracket"}, headers=factories.bearer(member_token)).status_code == 200
    assert client.patch(f"/api/v1/products/{product['id']}", json={"public_view": "everything"}, headers=world.supplier.headers).status_code == 422
    changed = _publish(client, world.supplier, product["id"], "custody")
    assert changed.status_code == 200 and changed.get_json()["public_view"] == "custody"
    with database(app).sessionmaker() as s:
        entries = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "product:updated", AuditEntry.object_id == product["id"])).scalars().all()
        published = [e for e in entries if "public_view" in e.summary.get("after", {})]
        assert len(published) == 1 and published[0].summary["before"]["public_view"] == "none" and published[0].summary["after"]["public_view"] == "custody"
        assert published[0].actor_user_id == world.supplier.admin.id


def test_a_public_product_needs_a_gtin_no_other_brand_owner_publishes(client, world, product):
    bare = client.post("/api/v1/products", json={"sku": "NO-GTIN", "name": "Loose", "unit_of_measure": "H87"}, headers=world.supplier.headers).get_json()
    refused = _publish(client, world.supplier, bare["id"], "origin")
    assert refused.status_code == 409 and "public_view" in refused.get_json()["errors"]
    assert _publish(client, world.supplier, product["id"], "origin").status_code == 200
    copy = client.post(
        "/api/v1/products", json={"sku": "COPY", "name": "Copy", "unit_of_measure": "H87", "gtin": GTIN14}, headers=world.buyer.headers
    ).get_json()
    taken = _publish(client, world.buyer, copy["id"], "custody")
    assert taken.status_code == 409 and "gtin" in taken.get_json()["errors"]
    # The public product may not drop its GTIN either.
    dropped = client.patch(f"/api/v1/products/{product['id']}", json={"gtin": None}, headers=world.supplier.headers)
    assert dropped.status_code == 409
    assert client.get(f"/01/{GTIN14}", headers=JSON).get_json()["brandOwner"] == "Supplier One Ltd"


def test_the_resolver_describes_itself_at_the_well_known_address(client):
    answer = client.get("/.well-known/gs1resolver")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    body = answer.get_json()
    assert body["resolverRoot"] == BASE and body["supportedPrimaryKeys"] == ["01"]
    assert body["supportedLinkType"] == [{"namespace": "https://gs1.org/voc/", "prefix": "gs1:"}]


def test_a_client_that_accepts_anything_gets_the_page_and_a_browser_too(client, world, product):
    assert _publish(client, world.supplier, product["id"], "origin").status_code == 200
    for accept in ("*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"):
        answer = client.get(f"/01/{GTIN14}/10/L1", headers={"Accept": accept})
        assert answer.status_code == 200 and answer.mimetype == "text/html", accept
    assert client.get(f"/01/{GTIN14}/10/L1", headers={"Accept": "application/linkset+json, */*;q=0.1"}).mimetype == LINKSET


SET_82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


@given(lot=st.text(alphabet=SET_82, min_size=1, max_size=20), serial=st.text(alphabet=SET_82, min_size=1, max_size=20) | st.none())
def test_a_link_reads_back_from_the_path_it_writes(lot, serial):
    link = digital_link.Link(gtin=GTIN14, lot=lot, serial=serial)
    assert digital_link.parse(link.path) == link
    assert all(segment for segment in link.path.split("/")[1:]), "no value may open an empty segment"
