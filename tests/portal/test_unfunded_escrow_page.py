"""The order page of an order whose escrow the ledger refused to fund: no shipment form, and
the buyer's way out (cancel, the funding voided) offered and working."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from concord.db import database
from concord.ledger.models import ChainIntent
from concord.orders import service as orders
from concord.orders.models import OrderState, PurchaseOrder

from tests import orders_factory
from tests.ledger_helpers import settle
from tests.portal.helpers import text


def _refused(app, session, world, worker) -> PurchaseOrder:
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
        answers = [{"line_no": line.line_no, "confirmed_quantity": line.quantity, "confirmed_date": date.today()} for line in order.lines]
        orders.acknowledge(session, world.supplier.principal, order.id, answers)
    session.commit()
    with database(app).sessionmaker() as s, s.begin():  # more than the buyer approved: the chain reverts it
        funding = s.execute(sa.select(ChainIntent).where(ChainIntent.subject_id == str(order.id), ChainIntent.function == "fund")).scalar_one()
        funding.args = [*funding.args[:5], int(funding.args[5]) + 1]
    settle(app, worker)
    return order


def test_the_buyer_is_offered_to_cancel_an_order_the_ledger_refused_to_fund(app, session, world, funded, signed_in):
    order = _refused(app, session, world, funded)
    supplier = signed_in(world.supplier)
    page = supplier.get(f"/orders/{order.id}")
    assert page.status_code == 200
    assert f'action="/orders/{order.id}/shipments"' not in page.get_data(as_text=True)

    buyer = signed_in(world.buyer)
    page = buyer.get(f"/orders/{order.id}")
    assert f'action="/orders/{order.id}/cancel"' in page.get_data(as_text=True)
    assert "The ledger refused to fund this order’s escrow" in text(page)

    done = buyer.post(f"/orders/{order.id}/cancel", {"reason": "The ledger refused the escrow"})
    assert done.status_code == 302
    with database(app).sessionmaker() as s:
        assert s.get(PurchaseOrder, order.id).state == OrderState.CANCELLED
