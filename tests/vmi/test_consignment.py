"""Consignment: consignment items need open-account terms; their generated orders are
consignment orders, never invoiced by hand."""

from __future__ import annotations

import itertools
import json
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.errors import Conflict, ValidationFailed
from concord.finance.models import Invoice, Settlement
from concord.orders.models import PurchaseOrder
from concord.vmi import agreements, proposals, review
from concord.vmi.models import RecordKind, RecordSource, StockRecord, VmiConsignmentBilling

from tests.api.helpers import assert_problem
from tests.finance.invoice_factory import receive, set_terms
from tests.vmi import vmi_factory

STEADY = [70] * 30
TODAY = date.today()
_records = itertools.count(1)


def _json(data):
    return json.loads(json.dumps(data, default=str))


def _agreement(session, world, *, price="2.50"):
    """An agreed consignment agreement for one item (on open account, net 30) whose buyer shared
    thirty weeks of consumption (its own stock: nothing was on consignment then)."""
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=30)
    data = vmi_factory.agreement_input(session, world.buyer, world.supplier, products=1)
    data["items"][0].update(consignment=True, unit_price=Decimal(price))
    made = agreements.propose(session, world.buyer.principal, data)
    agreements.accept(session, world.supplier.principal, made.id)
    item = made.versions[0].items[0]
    vmi_factory.share_history(session, world.buyer, item.product_id, item.location_id, STEADY, on_hand=50)
    session.commit()
    return made


def _item(agreement):
    return agreements.current(agreement).items[0]


def _order(session, world, agreement, quantity: str) -> PurchaseOrder:
    """The supplier confirms a review's proposal for `quantity`: the buyer's order is issued."""
    (proposal,) = review.review(session, world.supplier.principal, agreement.id)
    confirmed = proposals.confirm(session, world.supplier.principal, proposal.id, {"quantity": Decimal(quantity)})
    return session.get(PurchaseOrder, confirmed.order_id)


def _consume(session, world, agreement, quantity: str, day: date = TODAY) -> None:
    item = _item(agreement)
    session.add(
        StockRecord(
            buyer_org_id=world.buyer.org.id,
            record_id=f"use-{next(_records)}",
            product_id=item.product_id,
            location_id=item.location_id,
            kind=RecordKind.CONSUMPTION,
            occurred_on=day,
            quantity=Decimal(quantity),
            source=RecordSource.API,
            created_by=world.buyer.admin.id,
            created_at=clock.utcnow(),
        )
    )
    session.commit()


def _billings(session, agreement):
    return list(session.execute(sa.select(VmiConsignmentBilling).where(VmiConsignmentBilling.agreement_id == agreement.id)).scalars())


def _self_billed(session):
    return list(session.execute(sa.select(Invoice).where(Invoice.self_billed.is_(True)).order_by(Invoice.number)).scalars())


def test_consignment_needs_open_account_terms(client, session, world):
    data = vmi_factory.agreement_input(session, world.buyer, world.supplier, products=2)
    data["items"][1]["consignment"] = True
    with pytest.raises(ValidationFailed) as refused:  # escrow (no terms set) pays at receipt
        agreements.propose(session, world.buyer.principal, data)
    session.rollback()
    assert list(refused.value.errors) == ["items"] and refused.value.errors["items"] == {1: {"consignment": [agreements.CONSIGNMENT_NEEDS_OPEN_ACCOUNT]}}
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT)
    made = client.post("/api/v1/vmi-agreements", json=_json(data), headers=world.buyer.headers)
    assert made.status_code == 201, made.get_json()
    assert sorted(i["consignment"] for i in made.get_json()["proposed_terms"]["items"]) == [False, True]


def test_a_consignment_order_is_flagged_and_cannot_be_invoiced_by_hand(client, session, world):
    made = _agreement(session, world)
    order = _order(session, world, made, "100")
    shown = client.get(f"/api/v1/orders/{order.id}", headers=world.supplier.headers).get_json()
    assert (shown["consignment"], shown["settlement"], shown["origin"]) == (True, "open_account", f"VMI agreement {made.number}")
    receive(session, world.buyer, order, (Decimal("100"),))
    proposal = client.get(f"/api/v1/orders/{order.id}/invoice-proposal", headers=world.supplier.headers).get_json()
    assert proposal["lines"] == [] and "self-billing" in proposal["why_not"]
    body = {
        "order_id": str(order.id),
        "number": "INV-CONS",
        "issue_date": TODAY.isoformat(),
        "lines": [{"order_line_no": 1, "quantity": "100", "unit_price": "2.50", "tax_rate": "0"}],
    }
    refused = assert_problem(client.post("/api/v1/invoices", json=body, headers=world.supplier.headers), 409)
    assert "goods on consignment are invoiced by self-billing as they are consumed" in refused["detail"]
    # An ordinary order of the same partners is not a consignment order.
    ordinary = client.get("/api/v1/orders", headers=world.buyer.headers).get_json()["items"]
    assert [o["consignment"] for o in ordinary] == [True]


def test_a_consignment_order_is_not_issued_once_the_terms_moved_to_escrow(session, world):
    made = _agreement(session, world)
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.ESCROW)
    (proposal,) = review.review(session, world.supplier.principal, made.id)
    with pytest.raises(Conflict, match="must be open account"):
        proposals.confirm(session, world.supplier.principal, proposal.id, {"quantity": Decimal("100")})
    session.rollback()
    assert session.execute(sa.select(PurchaseOrder)).scalars().all() == []
