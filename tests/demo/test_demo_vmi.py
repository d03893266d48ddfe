"""The demo's VMI agreement as `concord run` prepares it: Northwind and Baltic agreed twelve
weeks ago on three items with a year of shared history; the first review has made
proposals; Baltic confirms one and Northwind finds the order issued by the agreement; the
bullwhip ratio fell since the agreement started and each forecast shows its accuracy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from concord.ledger import runtime

from tests.demo_instance import bearer, prepared

BALTIC, NORTHWIND = "supplier@baltic.example", "buyer@northwind.example"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    app = prepared(tmp_path_factory.mktemp("demo-vmi"), "http://127.0.0.1:5000")
    yield app
    runtime.close(app)


def test_baltic_finds_the_agreement_with_proposals_and_its_confirmation_issues_northwinds_order(demo):
    client, baltic, northwind = demo.test_client(), bearer(demo, BALTIC), bearer(demo, NORTHWIND)
    (agreement,) = client.get("/api/v1/vmi-agreements", headers=baltic).get_json()["items"]
    assert (agreement["state"], agreement["current_version"], len(agreement["terms"]["items"])) == ("active", 1, 3)
    proposals = client.get("/api/v1/vmi-proposals?state=open", headers=baltic).get_json()["items"]
    assert {p["sku"] for p in proposals} >= {"NW-BLT-M8", "NW-SHT-2MM"}, [(p["sku"], p["quantity"]) for p in proposals]
    bolts = next(p for p in proposals if p["sku"] == "NW-BLT-M8")
    assert bolts["allowed_actions"] == ["confirm", "dismiss"] and Decimal(bolts["value"]) <= Decimal("5000.00")
    confirmed = client.post(f"/api/v1/vmi-proposals/{bolts['id']}/confirm", json={}, headers=baltic)
    assert confirmed.status_code == 200, confirmed.get_json()
    order = client.get(f"/api/v1/orders/{confirmed.get_json()['order_id']}", headers=northwind).get_json()
    assert (order["state"], order["origin"], order["settlement"]) == ("issued", f"VMI agreement {agreement['number']}", "open_account")
    # The sheet's proposal is worth more than the limit per order: confirmed, it waits for Northwind.
    sheet = next(p for p in proposals if p["sku"] == "NW-SHT-2MM")
    assert Decimal(sheet["value"]) > Decimal("5000.00")
    referred = client.post(f"/api/v1/vmi-proposals/{sheet['id']}/confirm", json={}, headers=baltic).get_json()
    assert (referred["state"], referred["order_id"]) == ("awaiting_approval", None)
    assert client.get(f"/api/v1/vmi-proposals/{sheet['id']}", headers=northwind).get_json()["allowed_actions"] == ["approve", "reject"]


def test_the_agreement_shows_forecast_accuracy_and_a_bullwhip_that_fell_since_it_started(demo):
    client, northwind = demo.test_client(), bearer(demo, NORTHWIND)
    (agreement,) = client.get("/api/v1/vmi-agreements", headers=northwind).get_json()["items"]
    items = {i["item"]["sku"]: i for i in client.get(f"/api/v1/vmi-agreements/{agreement['id']}/items", headers=northwind).get_json()}
    assert set(items) == {"NW-BLT-M8", "NW-SHT-2MM", "NW-SEAL-K1"}
    for sku, item in items.items():
        assert len(item["stock"]) > 150 and item["forecast"]["model"], sku
        assert all(score["mase"] is not None for score in item["forecast"]["scores"] if score["chosen"]), sku
    # Monthly batches before, weekly replenishment since: orders vary far less now.
    for sku in ("NW-BLT-M8", "NW-SHT-2MM"):
        whip = items[sku]["bullwhip"]
        assert (whip["weeks_before"], whip["weeks_after"]) == (40, 12), sku
        assert whip["before"] > 2 and whip["after"] < whip["before"] / 2, (sku, whip["before"], whip["after"])
    assert items["NW-SEAL-K1"]["forecast"]["model"] in ("croston", "tsb"), items["NW-SEAL-K1"]["forecast"]["model"]
