"""The README's provenance walk-through on a fresh embedded instance, through the API: the
demo seeds the lot's story, Northwind's engagement of Veritas and the certificates; once
the worker has run, the auditor traces the lot under the engagement, and every event's
proof bundle and every certificate verifies with concord-verify's own checks."""

from __future__ import annotations

import urllib.parse

import pytest
from concord.ledger import runtime
from concord.ledger.rpc_api import InProcessClient
from concord_verify import checks

from tests.demo_instance import bearer, prepared

BRACKETS, LOT = "4006381333931", "BRK-2611-A"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    app = prepared(tmp_path_factory.mktemp("demo-instance"), "http://127.0.0.1:5000")  # as `concord run` sets it
    yield app
    runtime.close(app)


def test_the_auditor_traces_the_demo_lot_under_northwinds_engagement_and_every_bundle_verifies(demo):
    client = demo.test_client()
    auditor = bearer(demo, "audit@veritas.example")
    engagements = client.get("/api/v1/engagements", headers=auditor).get_json()["items"]
    assert [e["state"] for e in engagements] == ["granted"]
    under = auditor | {"Concord-Engagement": engagements[0]["id"]}

    assert client.get(f"/api/v1/trace?gtin={BRACKETS}&lot={LOT}", headers=auditor).status_code in (200, 404)
    trace = client.get(f"/api/v1/trace?gtin={BRACKETS}&lot={LOT}", headers=under)
    assert trace.status_code == 200, trace.get_json()
    body = trace.get_json()
    assert any(lot["lot"] == "COIL-2611-07" and lot["direction"] == "upstream" for lot in body["lots"])
    # Baltic shares its events with the lot's handlers; the holder of the brackets handles the
    # coil they were made from, so the trace runs up to Baltic's scrap.
    assert sorted(t["organization"]["name"] for t in body["transformations"]) == ["Acme Components Ltd", "Baltic Metals UAB"]
    coil = next(lot for lot in body["lots"] if lot["lot"] == "COIL-2611-07")
    assert [maker["name"] for maker in coil["produced_by"]] == ["Baltic Metals UAB"]
    assert any(lot["lot"] == "SCR-2611-02" and lot["depth"] == 2 for lot in body["lots"])
    received = {entry["holder"]["name"]: entry for entry in body["recall"] if entry["received"] != "0"}
    assert received["Northwind Manufacturing GmbH"]["received"] == "990" and received["Northwind Manufacturing GmbH"]["rejected"] == "10"

    event_ids = {m["event_id"] for m in body["movements"]} | {t["event_id"] for t in body["transformations"]}
    chain = runtime.chain(demo)
    assert len(event_ids) == 5  # two productions, shipping, receipt accepted and rejected
    for event_id in event_ids:
        bundle = client.get(f"/api/v1/epcis/events/{urllib.parse.quote(event_id, safe='')}/proof", headers=under)
        assert bundle.status_code == 200, bundle.get_json()
        _, results = checks.run(bundle.get_json(), InProcessClient(chain))
        assert [r for r in results if not r.ok] == [], event_id

    acme = bearer(demo, "supplier@acme.example")
    certificates = client.get("/api/v1/documents", headers=acme).get_json()["items"]
    assert {c["kind"] for c in certificates} == {"iso_9001", "iso_14001", "certificate_of_origin"}
    for certificate in certificates:
        verdict = client.get(f"/api/v1/documents/{certificate['id']}/verify", headers=acme).get_json()
        assert verdict["verdict"] == "verified", verdict
        bundle = client.get(f"/api/v1/documents/{certificate['id']}/proof", headers=acme)
        assert bundle.status_code == 200, bundle.get_json()
        _, results = checks.run(bundle.get_json(), InProcessClient(chain))
        assert [r.name for r in results] == ["format", "chain-id", "document-hash", "anchored", "member", "anchor-transaction"]
        assert [r for r in results if not r.ok] == [], certificate["kind"]
    # Under the engagement, Northwind's auditor reads Northwind's documents only (it has none).
    assert client.get("/api/v1/documents", headers=under).get_json()["items"] == []
    assert client.get(f"/api/v1/documents/{certificates[0]['id']}/proof", headers=under).status_code == 404


def test_the_public_sees_the_brand_owners_choice_through_the_digital_link(demo):
    client = demo.test_client()
    page = client.get(f"/01/0{BRACKETS}/10/{LOT}", headers={"Accept": "application/json"})
    assert page.status_code == 200, page.data[:300]
    custody = page.get_json()["chainOfCustody"]
    assert {e["recordedBy"] for e in custody} == {"Acme Components Ltd", "Northwind Manufacturing GmbH"}
    assert custody and all(e["anchored"] for e in custody)  # every event's batch is anchored by now
    assert "PO-NW-2611-0042" not in page.get_data(as_text=True)  # never the business transactions
    linkset = client.get(f"/01/0{BRACKETS}/10/{LOT}?linkType=linkset").get_json()
    assert "https://gs1.org/voc/traceability" in str(linkset)
