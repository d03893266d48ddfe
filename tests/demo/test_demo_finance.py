"""The README's financing walk-through on a demo instance as `concord run` prepares it,
through the API as each demo user would take it: Acme invoices Northwind's partially
received order, sees it matched and verified, offers it to Harbor; Harbor reads the
evidence and offers; Acme accepts and the receivable is Harbor's on chain, the advance
paid; Acme accepts Northwind's receipt, the escrow releases to Harbor, and the exchange's
waterfall returns what exceeds Harbor's claim to Acme, to the cent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.demo_orders import ORDERS
from concord.ledger import runtime
from concord.tenancy.models import Organization

from tests.demo_instance import bearer, prepared

TO_FINANCE = ORDERS[1].number(clock.utcnow().date())


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    app = prepared(tmp_path_factory.mktemp("demo-finance"), "http://127.0.0.1:5000")
    yield app
    runtime.close(app)


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _euros(client, headers) -> Decimal:
    balances = _ok(client.get("/api/v1/ledger/balances", headers=headers))
    return next(Decimal(b["balance"]) for b in balances if b["currency"] == "EUR")


def _org_id(app, legal_name: str) -> str:
    with app.app_context(), database(app).sessionmaker() as session:
        return str(session.execute(sa.select(Organization.id).where(Organization.legal_name == legal_name)).scalar_one())


def _work(app, rounds: int = 3) -> None:
    for _ in range(rounds):
        runtime.work_round(app)


def test_acme_finances_its_invoice_with_harbor_and_the_escrow_pays_the_waterfall(demo):
    client = demo.test_client()
    acme, harbor, northwind = (bearer(demo, email) for email in ("supplier@acme.example", "finance@harbor.example", "buyer@northwind.example"))
    order = next(
        o for o in _ok(client.get("/api/v1/orders", query_string={"role": "supplier", "limit": 100}, headers=acme))["items"] if o["number"] == TO_FINANCE
    )

    # Acme invoices what Northwind accepted, as the portal proposes it (no tax: intra-EU reverse charge).
    proposal = _ok(client.get(f"/api/v1/orders/{order['id']}/invoice-proposal", headers=acme))
    assert (proposal["settlement"], proposal["net_days"], proposal["why_not"]) == ("escrow", 30, None)
    lines = [
        {"order_line_no": line["order_line_no"], "quantity": line["quantity"], "unit_price": line["unit_price"], "tax_rate": "0"} for line in proposal["lines"]
    ]
    invoice = _ok(
        client.post(
            "/api/v1/invoices",
            json={"order_id": order["id"], "number": "ACME-INV-0051", "issue_date": clock.utcnow().date().isoformat(), "lines": lines},
            headers=acme,
        ),
        201,
    )
    assert (invoice["state"], invoice["total"]) == ("matched", "7442.00")
    assert invoice["due_date"] == (clock.utcnow().date() + timedelta(days=30)).isoformat()

    registered = _ok(client.post(f"/api/v1/invoices/{invoice['id']}/receivable", headers=acme), 201)
    _work(demo)
    receivable = _ok(client.get(f"/api/v1/receivables/{registered['id']}", headers=acme))
    assert receivable["state"] == "verified", receivable
    assert {t["step"] for t in receivable["evidence"]["transactions"]} >= {"fund", "attestDelivery", "confirmReceipt"}

    harbor_id = _org_id(demo, "Harbor Trade Finance plc")
    requested = _ok(client.post(f"/api/v1/receivables/{receivable['id']}/offers", json={"financier_ids": [harbor_id]}, headers=acme), 201)
    offer_id = requested[0]["id"] if isinstance(requested, list) else requested["items"][0]["id"]

    # Harbor sees the evidence and Northwind's record, and offers 90 % at 6.5 % a year and 25.00 of fees.
    seen = _ok(client.get(f"/api/v1/receivables/{receivable['id']}", headers=harbor))
    assert seen["evidence"]["registry"]["fingerprint"] == receivable["fingerprint"] and seen["buyer_record"]["orders"] >= 3
    valid_until = (clock.utcnow() + timedelta(days=2)).isoformat()
    offered = _ok(
        client.post(
            f"/api/v1/financing-offers/{offer_id}/offer",
            json={"advance_rate": "90", "discount_rate": "6.5", "fees": "25.00", "valid_until": valid_until},
            headers=harbor,
        )
    )
    advance, claim = Decimal(offered["advance"]), Decimal(offered["claim"])
    assert advance == Decimal("6697.80") and claim > advance
    _work(demo)

    acme_before, harbor_before = _euros(client, acme), _euros(client, harbor)
    assert _ok(client.post(f"/api/v1/financing-offers/{offer_id}/accept", headers=acme))["state"] == "accepted"
    _work(demo)
    financed = _ok(client.get(f"/api/v1/receivables/{receivable['id']}", headers=harbor))
    assert (financed["state"], financed["holder_org_id"]) == ("financed", harbor_id)
    assert _euros(client, acme) - acme_before == advance == harbor_before - _euros(client, harbor)

    # Acme accepts Northwind's receipt: the escrow releases 7,442.00 to Harbor, who keeps its claim.
    _ok(client.post(f"/api/v1/orders/{order['id']}/release", headers=acme))
    _work(demo, 5)
    paid = _ok(client.get(f"/api/v1/receivables/{receivable['id']}", headers=harbor))
    assert paid["state"] == "settled" and paid["settlement"]["tx_hash"], paid
    waterfall = {k: Decimal(paid["settlement"][k]) for k in ("amount_paid", "financier_share", "supplier_share")}
    assert waterfall == {"amount_paid": Decimal("7442.00"), "financier_share": claim, "supplier_share": Decimal("7442.00") - claim}
    assert _euros(client, harbor) - harbor_before == claim - advance
    assert _euros(client, acme) - acme_before == Decimal("7442.00") - claim + advance
    assert _ok(client.get(f"/api/v1/invoices/{invoice['id']}", headers=northwind))["state"] == "paid"
