"""`concord ledger verify` compares every order with its escrow on chain: state, amount and
parties, so an order that moved on while its funding failed is reported."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from concord.db import database
from concord.ledger import runtime, verification
from concord.ledger.models import ChainIntent, IntentState
from concord.orders.models import OrderState, PurchaseOrder

from tests import orders_factory
from tests.ledger_helpers import settle


def acknowledged(app, client, session, world):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    body = {"lines": [{"line_no": line.line_no, "confirmed_quantity": str(line.quantity), "confirmed_date": date.today().isoformat()} for line in order.lines]}
    assert client.post(f"/api/v1/orders/{order.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    return order


def disagreements(app):
    with database(app).sessionmaker() as session:
        return [str(problem) for problem in verification.verify(session, runtime.chain(app))]


def test_verify_agrees_with_funded_orders_and_names_an_order_ahead_of_its_escrow(app, client, session, world, chain_worker):
    order = acknowledged(app, client, session, world)
    assert not any(str(order.id) in problem for problem in disagreements(app))  # funding in flight: the chain may lag
    settle(app, chain_worker)
    assert disagreements(app) == []
    with database(app).sessionmaker() as s:
        s.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == order.id).values(state=OrderState.RECEIVED, confirmed_total=Decimal("1.00")))
        s.commit()
    problems = disagreements(app)
    assert f"order {order.number} ({order.id}): database says received (escrow receipt_confirmed); chain says escrow funded" in problems
    assert any("escrow amount: database says 1.00 EUR; chain says 73.500000" in problem for problem in problems), problems


def test_verify_reports_an_order_that_went_on_after_its_funding_failed(app, client, session, world, chain_worker):
    order = acknowledged(app, client, session, world)
    with database(app).sessionmaker() as s:  # the buyer's allowance falls one unit short, as when another funding took it
        approve = s.execute(sa.select(ChainIntent).where(ChainIntent.function == "approve", ChainIntent.subject_id == str(order.id))).scalar_one()
        approve.args = [approve.args[0], int(approve.args[1]) - 1]
        s.commit()
    settle(app, chain_worker)
    with database(app).sessionmaker() as s:
        fund = s.execute(sa.select(ChainIntent).where(ChainIntent.function == "fund", ChainIntent.subject_id == str(order.id))).scalar_one()
        assert fund.state == IntentState.FAILED and "ERC20InsufficientAllowance" in (fund.revert_reason or "")
        s.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == order.id).values(state=OrderState.RECEIVED))
        s.commit()
    assert f"order {order.number} ({order.id}): database says received (escrow receipt_confirmed); chain says escrow none" in disagreements(app)
