"""Limits and refusals once offers are on chain: the supplier's acceptance checks the
financier's limits again (another acceptance may have used them meanwhile); the financier
withdraws its own offer on chain; an acceptance the chain refuses (the financier cannot pay
the advance) refuses the offer and leaves the receivable verified, to be offered again."""

from __future__ import annotations

import uuid
from datetime import timedelta

from concord import clock

from tests.api.helpers import assert_problem
from tests.finance.chain_story import approved_open_account_invoice, funded_financier
from tests.ledger_helpers import contract, settle


def offered(app, client, session, world, worker, financier, *, number: str) -> tuple[str, str]:
    """An approved open-account invoice, verified on chain and offered by `financier` (80 %)."""
    made = approved_open_account_invoice(app, session, world, number=number)
    response = client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier.headers)
    assert response.status_code == 201, response.get_json()
    settle(app, worker)
    rid = response.get_json()["id"]
    (asked,) = client.post(f"/api/v1/receivables/{rid}/offers", json={"financier_ids": [str(financier.org.id)]}, headers=world.supplier.headers).get_json()
    body = {"advance_rate": "80", "discount_rate": "5", "fees": "0", "valid_until": (clock.utcnow() + timedelta(days=1)).isoformat()}
    answer = client.post(f"/api/v1/financing-offers/{asked['id']}/offer", json=body, headers=financier.headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["advance"] == "49.10"
    settle(app, worker)
    return rid, asked["id"]


def test_acceptance_checks_the_limits_again(app, client, session, world, chain_worker):
    harbor = funded_financier(app, session, world, chain_worker, world.supplier, name="Harbor Trade Finance plc")
    _rid, offer_id = offered(app, client, session, world, chain_worker, harbor, number="INV-LIM-1")
    body = {"counterparty_id": str(world.supplier.org.id), "side": "supplier", "currency": "EUR", "amount": "40.00"}
    assert client.put("/api/v1/exposure-limits", json=body, headers=harbor.headers).status_code == 200
    refused = client.post(f"/api/v1/financing-offers/{offer_id}/accept", headers=world.supplier.headers)
    assert "supplier limit on Supplier One Ltd" in assert_problem(refused, 409)["detail"]
    assert client.get(f"/api/v1/financing-offers/{offer_id}", headers=world.supplier.headers).get_json()["state"] == "offered"
    assert client.put("/api/v1/exposure-limits", json={**body, "amount": "49.10"}, headers=harbor.headers).status_code == 200
    assert client.post(f"/api/v1/financing-offers/{offer_id}/accept", headers=world.supplier.headers).status_code == 200
    (limit,) = client.get("/api/v1/exposure-limits", headers=harbor.headers).get_json()["items"]
    assert (limit["outstanding"], limit["available"]) == ("49.10", "0.00")


def test_the_financier_withdraws_its_offer_on_chain(app, client, session, world, chain_worker):
    harbor = funded_financier(app, session, world, chain_worker, world.supplier, name="Harbor Trade Finance plc")
    _rid, offer_id = offered(app, client, session, world, chain_worker, harbor, number="INV-WD-1")
    withdrawn = client.post(f"/api/v1/financing-offers/{offer_id}/withdraw", json={"reason": "Repriced"}, headers=harbor.headers)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["state"] == "withdrawn"
    settle(app, chain_worker)
    exchange = contract(app, chain_worker, "ReceivableExchange")
    assert exchange.functions.offerOf(uuid.UUID(offer_id).bytes.rjust(32, b"\0")).call()[4] == 2  # Withdrawn
    assert_problem(client.post(f"/api/v1/financing-offers/{offer_id}/accept", headers=world.supplier.headers), 409, current_state="withdrawn")


def test_an_acceptance_the_chain_refuses_refuses_the_offer(app, client, session, world, chain_worker):
    penniless = funded_financier(app, session, world, chain_worker, world.supplier, name="Penniless Factoring Ltd", funds="1")
    rid, offer_id = offered(app, client, session, world, chain_worker, penniless, number="INV-POOR-1")
    assert client.post(f"/api/v1/financing-offers/{offer_id}/accept", headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    offer = client.get(f"/api/v1/financing-offers/{offer_id}", headers=world.supplier.headers).get_json()
    assert offer["state"] == "refused" and offer["state_reason"]
    receivable = client.get(f"/api/v1/receivables/{rid}", headers=world.supplier.headers).get_json()
    assert (receivable["state"], receivable["holder_org_id"], receivable["allowed_actions"]) == (
        "verified",
        str(world.supplier.org.id),
        ["accept_offer", "request_offers"],
    )
