"""Double financing through the API: 50 requests at once to register one invoice make one
receivable, and 50 acceptances at once of offers on one receivable (each financier's offer
accepted by several requests) finance it once; what the chain then shows agrees. Each
request runs on its own thread and database connection (SQLite, or PostgreSQL when
CONCORD_TEST_DATABASE_URL names one)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.finance.models import FinancingOffer, OfferState, Receivable, ReceivableState
from concord.ledger import service as ledger_service
from concord.ledger.models import ChainIntent
from concord.tenancy.models import Relation

from tests import factories
from tests.finance.chain_story import approved_open_account_invoice
from tests.ledger_helpers import contract, settle

ATTEMPTS = 50
FINANCIERS = 10  # each one's offer is accepted by ATTEMPTS / FINANCIERS requests at once


def race(app, requests: list[tuple[str, dict | None, dict[str, str]]]) -> list[tuple[int, dict]]:
    """POSTs every request at the same moment, each from its own thread (and so its own
    database connection); returns each answer's status and body."""
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def send(path: str, body: dict | None, headers: dict[str, str]) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(path, json=body, headers=headers)
        with lock:
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == len(requests), "a request did not finish"
    return answers


def statuses(answers: list[tuple[int, dict]]) -> Counter:
    return Counter(status for status, _ in answers)


def intents(app, function: str, subject_ids) -> list[ChainIntent]:
    with database(app).sessionmaker() as session:
        query = sa.select(ChainIntent).where(ChainIntent.function == function, ChainIntent.subject_id.in_([str(i) for i in subject_ids]))
        return list(session.execute(query).scalars())


def registered(app, client, session, world, worker, *, number: str) -> dict:
    """An approved open-account invoice registered as a receivable and verified on chain."""
    invoice = approved_open_account_invoice(app, session, world, number=number)
    response = client.post(f"/api/v1/invoices/{invoice.id}/receivable", headers=world.supplier.headers)
    assert response.status_code == 201, response.get_json()
    settle(app, worker)
    shown = client.get(f"/api/v1/receivables/{response.get_json()['id']}", headers=world.supplier.headers).get_json()
    assert shown["state"] == "verified", shown
    return shown


@pytest.mark.real_commits  # concurrent requests, each committing on its own connection
def test_fifty_registrations_of_one_invoice_make_one_receivable(app, client, session, world, chain_worker):
    invoice = approved_open_account_invoice(app, session, world, number="INV-RACE-REGISTER")
    answers = race(app, [(f"/api/v1/invoices/{invoice.id}/receivable", None, world.supplier.headers)] * ATTEMPTS)
    assert statuses(answers) == {201: 1, 409: ATTEMPTS - 1}, statuses(answers)
    assert all(body["status"] == 409 and body["detail"] for status, body in answers if status == 409)
    (winner,) = [body for status, body in answers if status == 201]
    with database(app).sessionmaker() as check:
        rows = check.execute(sa.select(Receivable).where(Receivable.invoice_id == invoice.id)).scalars().all()
    assert [str(row.id) for row in rows] == [winner["id"]]
    assert len(intents(app, "registerOpenAccount", [winner["id"]])) == 1
    assert len(intents(app, "registerOpenAccount", [row.id for row in rows])) == 1
    settle(app, chain_worker)
    shown = client.get(f"/api/v1/receivables/{winner['id']}", headers=world.supplier.headers).get_json()
    assert shown["state"] == "verified", shown
    registry = contract(app, chain_worker, "ReceivableRegistry")
    on_chain = registry.functions.receivableOf(bytes.fromhex(winner["fingerprint"][2:])).call()
    assert on_chain[3] == world.supplier.signing_address(app)  # held by its supplier


def financier_partners(app, session, world, worker, count: int) -> list[factories.Member]:
    """`count` financiers, admitted on chain, partners of the supplier, each holding 1,000 EUR."""
    with app.test_request_context():
        made = [factories.member(session, world.operator, "financier", name=f"Race Finance {n} plc") for n in range(count)]
        for financier in made:
            factories.partner(session, Relation.SUPPLIER_FINANCIER, world.supplier, financier)
    session.commit()
    settle(app, worker)
    with app.test_request_context():
        for financier in made:
            ledger_service.mint(session, world.operator.principal, financier.org.id, "EUR", Decimal("1000"))
    session.commit()
    settle(app, worker)
    return made


@pytest.mark.real_commits  # concurrent requests, each committing on its own connection
def test_fifty_acceptances_of_offers_on_one_receivable_finance_it_once(app, client, session, world, chain_worker):
    receivable = registered(app, client, session, world, chain_worker, number="INV-RACE-ACCEPT")
    financiers = financier_partners(app, session, world, chain_worker, FINANCIERS)
    asked = client.post(
        f"/api/v1/receivables/{receivable['id']}/offers", json={"financier_ids": [str(f.org.id) for f in financiers]}, headers=world.supplier.headers
    )
    assert asked.status_code == 201, asked.get_json()
    offer_of = {offer["financier_org_id"]: offer["id"] for offer in asked.get_json()}
    valid_until = (clock.utcnow() + timedelta(days=2)).isoformat()
    for n, financier in enumerate(financiers):
        terms = {"advance_rate": str(80 + n), "discount_rate": "6", "fees": "1.00", "valid_until": valid_until}
        made = client.post(f"/api/v1/financing-offers/{offer_of[str(financier.org.id)]}/offer", json=terms, headers=financier.headers)
        assert made.status_code == 200, made.get_json()
    settle(app, chain_worker)  # every offer on chain

    offers = [offer_of[str(financier.org.id)] for financier in financiers]
    answers = race(app, [(f"/api/v1/financing-offers/{offers[n % FINANCIERS]}/accept", None, world.supplier.headers) for n in range(ATTEMPTS)])
    assert statuses(answers) == {200: 1, 409: ATTEMPTS - 1}, statuses(answers)
    (accepted,) = [body for status, body in answers if status == 200]
    with database(app).sessionmaker() as check:
        states = Counter(check.execute(sa.select(FinancingOffer.state).where(FinancingOffer.receivable_id == uuid.UUID(receivable["id"]))).scalars())
    assert states == {OfferState.ACCEPTED: 1, OfferState.WITHDRAWN: FINANCIERS - 1}, states
    assert len(intents(app, "accept", offers)) == 1

    settle(app, chain_worker)
    settle(app, chain_worker)
    winner = next(f for f in financiers if str(f.org.id) == accepted["financier_org_id"])
    with database(app).sessionmaker() as check:
        financed = check.get(Receivable, uuid.UUID(receivable["id"]))
        assert financed is not None and (financed.state, financed.holder_org_id) == (ReceivableState.FINANCED, winner.org.id)
    registry = contract(app, chain_worker, "ReceivableRegistry")
    assert registry.functions.receivableOf(bytes.fromhex(receivable["fingerprint"][2:])).call()[3] == winner.signing_address(app)
    exchange = contract(app, chain_worker, "ReceivableExchange")
    on_chain = Counter(exchange.functions.offerOf(uuid.UUID(offer).bytes.rjust(32, b"\0")).call()[4] for offer in offers)
    assert on_chain == {3: 1, 2: FINANCIERS - 1}  # one Accepted, the others Withdrawn
    token = contract(app, chain_worker, "SettlementToken.EUR")
    assert token.functions.balanceOf(winner.signing_address(app)).call() == (1000 - Decimal(accepted["advance"])) * 10**6
