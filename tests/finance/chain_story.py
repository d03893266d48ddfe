"""The steps of an order on the embedded chain that financing starts from, through the real
API and services: financiers admitted and funded, an escrowed order acknowledged, shipped,
delivered and received (in part), an open-account invoice approved; and token balances read
from the chain. Every step is settled on chain (`settle`) before the next."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from concord import clock
from concord.finance import invoices
from concord.finance.models import Invoice, InvoiceState, Settlement
from concord.ledger import service as ledger_service
from concord.tenancy.models import Relation

from tests import factories, orders_factory
from tests.finance.invoice_factory import invoice_lines, received_order, set_terms
from tests.ledger_helpers import contract, settle

UNIT = 10**6  # token units per currency unit


def units(amount: str | Decimal) -> int:
    return int(Decimal(amount) * UNIT)


def funded_financier(app, session, world, worker, supplier, *, name: str, funds: str = "1000") -> factories.Member:
    """A financier admitted on chain, a supplier–financier partner of `supplier`, holding `funds` EUR."""
    with app.test_request_context():
        financier = factories.member(session, world.operator, "financier", name=name)
        factories.partner(session, Relation.SUPPLIER_FINANCIER, supplier, financier)
    session.commit()
    settle(app, worker)
    with app.test_request_context():
        ledger_service.mint(session, world.operator.principal, financier.org.id, "EUR", Decimal(funds))
    session.commit()
    settle(app, worker)
    return financier


def received_in_part(app, client, session, world, worker) -> str:
    """An escrowed order (10 × 2.50 and 4 × 12.125 = 73.50) acknowledged, shipped, delivered
    and received with one of the four housings rejected: 61.38 accepted, 12.12 to refund;
    every step mined. Returns the order's id."""
    with app.test_request_context():
        issued = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    today = date.today().isoformat()
    acknowledged = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": today} for n, q in ((1, "10"), (2, "4"))]}
    assert client.post(f"/api/v1/orders/{issued.id}/acknowledge", json=acknowledged, headers=world.supplier.headers).status_code == 200
    settle(app, worker)
    moment = (clock.utcnow() - timedelta(hours=2)).isoformat()
    shipment = client.post(
        f"/api/v1/orders/{issued.id}/shipments",
        json={"carrier_id": str(world.carrier.org.id), "shipped_at": moment, "lines": [{"line_no": 1, "quantity": "10"}, {"line_no": 2, "quantity": "4"}]},
        headers=world.supplier.headers,
    )
    assert shipment.status_code == 201, shipment.get_json()
    delivered = {"receiver_name": "Goods-in, Gate 3", "delivered_at": (clock.utcnow() - timedelta(minutes=1)).isoformat(), "document_hash": "AB" * 32}
    assert client.post(f"/api/v1/shipments/{shipment.get_json()['id']}/proof-of-delivery", json=delivered, headers=world.carrier.headers).status_code == 201
    settle(app, worker)
    receipt = {
        "lines": [
            {"line_no": 1, "accepted_quantity": "10"},
            {"line_no": 2, "accepted_quantity": "3", "rejected_quantity": "1", "rejection_reason": "One housing cracked"},
        ]
    }
    assert client.post(f"/api/v1/orders/{issued.id}/receipts", json=receipt, headers=world.buyer.headers).status_code == 201
    settle(app, worker)
    return str(issued.id)


def split_by_the_arbiter(app, client, world, worker, order_id: str, payee_amount: str) -> None:
    """The supplier disputes the order's partial receipt; the operator, as arbiter, gives it
    `payee_amount` of what the escrow holds and the rest back to the buyer; every step mined."""
    opened = client.post(f"/api/v1/orders/{order_id}/disputes", json={"reason": "The housing was fine"}, headers=world.supplier.headers)
    assert opened.status_code == 201, opened.get_json()
    settle(app, worker)
    resolved = client.post(
        f"/api/v1/disputes/{opened.get_json()['id']}/resolve", json={"payee_amount": payee_amount, "resolution": "Split"}, headers=world.operator.headers
    )
    assert resolved.status_code == 200, resolved.get_json()
    settle(app, worker)


def invoice_of(app, session, world, order_id: str, *, number: str = "INV-2027-001") -> Invoice:
    """The supplier's invoice of what the buyer accepted, without tax (so that it asks what
    the escrow will pay: 61.38)."""
    with app.test_request_context():
        made = invoices.create_invoice(
            session,
            world.supplier.principal,
            {"order_id": uuid.UUID(order_id), "number": number, "issue_date": date.today(), "lines": _accepted_lines(session, order_id)},
        )
    session.commit()
    return made


def _accepted_lines(session, order_id: str) -> list[dict]:
    from concord.orders.models import PurchaseOrder

    order = session.get(PurchaseOrder, uuid.UUID(order_id))
    return invoice_lines(order, ("10", "2.50"), ("3", "12.125"), tax_rate="0")


def approved_open_account_invoice(app, session, world, *, number: str = "INV-OA-001") -> Invoice:
    """An open-account order received in full (rows, no escrow: nothing is escrowed on open
    account) and its invoice, approved by the buyer: 61.38 EUR due in 30 days."""
    with app.test_request_context():
        set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=30)
        order = received_order(session, world.buyer, world.supplier)
        order.settlement, order.net_days = Settlement.OPEN_ACCOUNT, 30
        session.commit()
        made = invoices.create_invoice(
            session,
            world.supplier.principal,
            {"order_id": order.id, "number": number, "issue_date": date.today(), "lines": invoice_lines(order, ("10", "2.50"), ("3", "12.125"), tax_rate="0")},
        )
        invoices.approve(session, world.buyer.principal, made.id)
    session.commit()
    return made


def balances(app, worker, **members: factories.Member) -> dict[str, int]:
    """EUR token units each member holds on chain, and what the escrow and the exchange hold."""
    token = contract(app, worker, "SettlementToken.EUR")
    held = {name: token.functions.balanceOf(member.signing_address(app)).call() for name, member in members.items()}
    held["escrow"] = token.functions.balanceOf(contract(app, worker, "DeliveryEscrow").address).call()
    held["exchange"] = token.functions.balanceOf(contract(app, worker, "ReceivableExchange").address).call()
    return held


def terms(advance_rate: str, discount_rate: str, fees: str, *, hours: int = 48) -> dict:
    return {"advance_rate": advance_rate, "discount_rate": discount_rate, "fees": fees, "valid_until": (clock.utcnow() + timedelta(hours=hours)).isoformat()}


def verified(app, client, session, world, worker) -> tuple[str, dict]:
    """An escrowed order received in part, its invoice registered and verified on chain."""
    order_id = received_in_part(app, client, session, world, worker)
    made = invoice_of(app, session, world, order_id)
    assert made.state == InvoiceState.MATCHED and made.total == Decimal("61.38")
    response = client.post(f"/api/v1/invoices/{made.id}/receivable", headers=world.supplier.headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["state"] == "registering"
    settle(app, worker)
    receivable = client.get(f"/api/v1/receivables/{response.get_json()['id']}", headers=world.supplier.headers).get_json()
    assert receivable["state"] == "verified", receivable
    return order_id, receivable
