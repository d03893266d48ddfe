"""`concord ledger verify` compares every receivable the platform says is on chain with
ReceivableRegistry (amount, issuer, debtor, holder, settlement) and every financing with
ReceivableExchange (terms, financier, waterfall): a receivable financed and settled through
the escrow agrees, and a database changed behind the chain's back is named."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from concord.db import database
from concord.finance.models import FinancingOffer, Receivable, SettlementRecord
from concord.ledger import runtime, verification
from concord.orders.models import PurchaseOrder

from tests.finance.chain_story import funded_financier, terms, verified
from tests.ledger_helpers import settle


def disagreements(app) -> list[str]:
    with database(app).sessionmaker() as session:
        return [str(problem) for problem in verification.verify(session, runtime.chain(app))]


def financed(app, client, session, world, worker) -> tuple[str, str, str, object]:
    """A verified receivable offered to Harbor, accepted, assigned and advanced on chain."""
    harbor = funded_financier(app, session, world, worker, world.supplier, name="Harbor Trade Finance plc")
    order_id, receivable = verified(app, client, session, world, worker)
    (asked,) = client.post(
        f"/api/v1/receivables/{receivable['id']}/offers", json={"financier_ids": [str(harbor.org.id)]}, headers=world.supplier.headers
    ).get_json()
    assert client.post(f"/api/v1/financing-offers/{asked['id']}/offer", json=terms("90", "6.5", "1.50"), headers=harbor.headers).status_code == 200
    settle(app, worker)
    assert client.post(f"/api/v1/financing-offers/{asked['id']}/accept", headers=world.supplier.headers).status_code == 200
    settle(app, worker)
    return order_id, receivable["id"], asked["id"], harbor


def _change(app, model, object_id: str, **values) -> None:
    with database(app).sessionmaker() as s:
        s.execute(sa.update(model).where(model.id == uuid.UUID(object_id)).values(**values))
        s.commit()


def test_a_financed_receivable_agrees_until_its_holder_or_terms_are_changed_behind_the_chain(app, client, session, world, chain_worker):
    order_id, rid, offer_id, _harbor = financed(app, client, session, world, chain_worker)
    assert disagreements(app) == []
    row = session.get(Receivable, uuid.UUID(rid))
    _change(app, Receivable, rid, holder_org_id=world.supplier.org.id)
    _change(app, PurchaseOrder, order_id, confirmed_total=Decimal("99.00"))
    _change(app, FinancingOffer, offer_id, claim=Decimal("1.00"))
    problems = disagreements(app)
    subject = f"receivable {row.fingerprint} ({rid})"
    assert f"{subject} amount: database says 99.00 EUR; chain says 73.500000" in problems, problems
    assert any(p.startswith(f"{subject} holder: database says {world.supplier.signing_address(app)}") for p in problems), problems
    assert any(p.startswith(f"financing {offer_id} of receivable {row.fingerprint} terms") and "claim 1.00" in p for p in problems), problems


def test_a_settled_receivable_agrees_until_its_payment_or_waterfall_is_changed(app, client, session, world, chain_worker):
    order_id, rid, offer_id, _harbor = financed(app, client, session, world, chain_worker)
    assert client.post(f"/api/v1/orders/{order_id}/release", headers=world.supplier.headers).status_code == 200
    settle(app, chain_worker)
    settle(app, chain_worker)
    assert client.get(f"/api/v1/financing-offers/{offer_id}", headers=world.supplier.headers).get_json()["state"] == "settled"
    assert disagreements(app) == []
    _change(app, Receivable, rid, amount_paid=Decimal("70.00"))
    with database(app).sessionmaker() as s:
        s.execute(
            sa.update(SettlementRecord)
            .where(SettlementRecord.offer_id == uuid.UUID(offer_id))
            .values(financier_share=SettlementRecord.financier_share - Decimal("1.00"), supplier_share=SettlementRecord.supplier_share + Decimal("1.00"))
        )
        s.commit()
    problems = disagreements(app)
    assert any("amount paid: database says 70.00 EUR; chain says 61.38" in p for p in problems), problems
    assert any(p.startswith(f"financing {offer_id}") and "waterfall" in p for p in problems), problems


def test_a_receivable_the_registry_never_saw_is_named(app, client, session, world, chain_worker):
    _order_id, receivable = verified(app, client, session, world, chain_worker)
    _change(app, Receivable, receivable["id"], fingerprint="0x" + "ab" * 32)
    problems = disagreements(app)
    assert (
        f"receivable 0x{'ab' * 32} ({receivable['id']}): database says verified in the registry at {receivable['registry_address']}; chain says never registered"
        in problems
    )
