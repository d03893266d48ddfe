"""Consignment: consignment items need open-account terms; their generated orders are
consignment orders, never invoiced by hand; accepted goods stay the supplier's until the
buyer reports consuming them, when the buyer's self-billing invoice bills them (first in,
first out across the orders, never beyond the consigned goods), once, and is paid like any
approved open-account payable; both sides see the stock by owner, and what is left
consigned when the agreement ends."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.audit.models import AuditEntry
from concord.db import database
from concord.errors import Conflict, ValidationFailed
from concord.finance import lifecycle, receivables
from concord.finance.models import Invoice, InvoiceState, Receivable, ReceivableState, Settlement
from concord.notifications.models import Notification
from concord.orders.models import PurchaseOrder
from concord.vmi import agreements, consignment, proposals, review
from concord.vmi.models import RecordKind, RecordSource, StockRecord, VmiAgreement, VmiConsignmentBilling

from tests.api.helpers import assert_problem
from tests.finance.invoice_factory import receive, set_terms
from tests.ledger_helpers import settle
from tests.vmi import vmi_factory

STEADY = [70] * 30
TODAY = date.today()
_records = itertools.count(1)


def _json(data):
    return json.loads(json.dumps(data, default=str))


def _agreement(session, world, *, price="2.50", **terms):
    """An agreed consignment agreement for one item (on open account, net 30) whose buyer shared
    thirty weeks of consumption (its own stock: nothing was on consignment then)."""
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=30)
    data = vmi_factory.agreement_input(session, world.buyer, world.supplier, products=1)
    data["items"][0].update(consignment=True, unit_price=Decimal(price))
    data.update(terms)
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


def test_consumption_is_self_billed_at_the_orders_price_once(app, client, session, world):
    made = _agreement(session, world, price="2.1250")
    order = _order(session, world, made, "100")
    receive(session, world.buyer, order, (Decimal("90"),))  # ten rejected: 90 on consignment
    (item,) = client.get(f"/api/v1/vmi-agreements/{made.id}/items", headers=world.supplier.headers).get_json()
    assert (item["consigned"], item["unbilled"], item["billings"]) == ("90.000", "0.000", [])
    _consume(session, world, made, "30.5")
    _consume(session, world, made, "7")
    url = f"/api/v1/vmi-agreements/{made.id}/self-billing"
    billed = client.post(url, json={"through": TODAY.isoformat()}, headers=world.supplier.headers)
    assert billed.status_code == 200, billed.get_json()
    (billing,) = billed.get_json()
    # 37.5 × 2.1250 = 79.6875 → 79.69 (half to even, to the cent)
    assert (billing["quantity"], billing["amount"], billing["invoice_number"], billing["order_number"]) == (
        "37.500",
        "79.69",
        f"SB-{made.number}-0001",
        order.number,
    )
    (invoice,) = _self_billed(session)
    assert (invoice.state, invoice.settlement, invoice.total, invoice.tax_total, invoice.order_id) == (
        InvoiceState.APPROVED,
        Settlement.OPEN_ACCOUNT,
        Decimal("79.69"),
        Decimal("0.00"),
        order.id,
    )
    assert (invoice.issue_date, invoice.due_date, invoice.created_by) == (TODAY, TODAY + timedelta(days=30), made.created_by)
    assert [(line.quantity, line.unit_price, line.accepted_quantity, line.previously_invoiced) for line in invoice.lines] == [
        (Decimal("37.500"), Decimal("2.1250"), Decimal("90.000"), Decimal("0"))
    ]
    # Both sides see it; the buyer pays it like any approved payable; the supplier cannot cancel it.
    shown = client.get(f"/api/v1/invoices/{invoice.id}", headers=world.buyer.headers).get_json()
    assert (shown["self_billed"], shown["state"], shown["allowed_actions"]) == (True, "approved", ["pay"])
    assert "cancel" not in client.get(f"/api/v1/invoices/{invoice.id}", headers=world.supplier.headers).get_json()["allowed_actions"]
    assert "self-billing" in lifecycle.refusal(session, invoice, "cancel")
    # Billing again (the same day, or by the worker) bills nothing more.
    assert client.post(url, json={"through": TODAY.isoformat()}, headers=world.buyer.headers).get_json() == []
    assert consignment.bill_due(app, TODAY + timedelta(days=1)) == 0
    session.expire_all()
    assert len(_self_billed(session)) == 1
    (item,) = client.get(f"/api/v1/vmi-agreements/{made.id}/items", headers=world.buyer.headers).get_json()
    assert (item["consigned"], item["unbilled"], item["returnable"]) == ("52.500", "0.000", None)
    assert [(b["quantity"], b["invoice_id"]) for b in item["billings"]] == [("37.500", str(invoice.id))]


def test_self_billing_charges_the_tax_rate_the_terms_in_force_agree(client, session, world):
    made = _agreement(session, world, price="2.1250", self_billing_tax_rate=Decimal("19"))
    order = _order(session, world, made, "100")
    receive(session, world.buyer, order, (Decimal("100"),))
    _consume(session, world, made, "37.5")
    url = f"/api/v1/vmi-agreements/{made.id}/self-billing"
    assert client.post(url, json={"through": TODAY.isoformat()}, headers=world.buyer.headers).status_code == 200
    (invoice,) = _self_billed(session)
    # 37.5 × 2.1250 = 79.6875 → 79.69 net; 19 % of it 15.1411 → 15.14
    assert (invoice.subtotal, invoice.tax_total, invoice.total, invoice.lines[0].tax_rate) == (
        Decimal("79.69"),
        Decimal("15.14"),
        Decimal("94.83"),
        Decimal("19"),
    )
    # New terms at 7 %, agreed: the next billing charges them; the first invoice keeps its 19 %.
    amended = vmi_factory.terms_of(agreements.current(made))
    agreements.amend(session, world.supplier.principal, made.id, {**amended, "self_billing_tax_rate": Decimal("7")})
    agreements.accept(session, world.buyer.principal, made.id)
    _consume(session, world, made, "10")
    assert client.post(url, json={"through": TODAY.isoformat()}, headers=world.supplier.headers).status_code == 200
    session.expire_all()
    first, second = _self_billed(session)
    assert (first.tax_total, second.subtotal, second.tax_total, second.total) == (Decimal("15.14"), Decimal("21.25"), Decimal("1.49"), Decimal("22.74"))
    shown = client.get(f"/api/v1/vmi-agreements/{made.id}", headers=world.buyer.headers).get_json()
    assert shown["terms"]["self_billing_tax_rate"] == "7.0000"


def test_a_negative_self_billing_tax_rate_is_refused_by_field(client, session, world):
    data = _json(vmi_factory.agreement_input(session, world.buyer, world.supplier, products=1, self_billing_tax_rate="-1"))
    refused = client.post("/api/v1/vmi-agreements", json=data, headers=world.buyer.headers)
    assert refused.status_code == 422 and "self_billing_tax_rate" in refused.get_json()["errors"]


def test_billing_allocates_first_in_first_out_and_never_beyond_the_consigned_goods(app, client, session, world, frozen_clock):
    made = _agreement(session, world)
    day0 = frozen_clock.now.date()
    _consume(session, world, made, "40", day0 - timedelta(days=1))  # before any consigned goods: the buyer's own stock
    first = _order(session, world, made, "50")
    receive(session, world.buyer, first, (Decimal("50"),))
    frozen_clock.advance(days=1)
    _consume(session, world, made, "20", day0 + timedelta(days=1))  # 20 of the first order's 50
    second = _order(session, world, made, "100")
    receive(session, world.buyer, second, (Decimal("100"),))
    frozen_clock.advance(days=1)
    _consume(session, world, made, "60", day0 + timedelta(days=2))  # the first's last 30, then 30 of the second
    frozen_clock.advance(days=1)
    # The worker bills through yesterday, once a day.
    assert consignment.bill_due(app) == 2
    assert consignment.bill_due(app) == 0
    session.expire_all()
    billed = {b.order_id: (b.quantity, b.billed_total, b.through_date) for b in _billings(session, made)}
    assert billed == {
        first.id: (Decimal("50.000"), Decimal("50.000"), day0 + timedelta(days=2)),
        second.id: (Decimal("30.000"), Decimal("30.000"), day0 + timedelta(days=2)),
    }
    assert [(i.number, i.total) for i in _self_billed(session)] == [(f"SB-{made.number}-0001", Decimal("125.00")), (f"SB-{made.number}-0002", Decimal("75.00"))]
    # More consumption than is consigned: only the 70 left are billed; the rest is the buyer's.
    _consume(session, world, made, "500", day0 + timedelta(days=3))
    frozen_clock.advance(days=1)
    assert consignment.bill_due(app) == 1
    session.expire_all()
    assert sum((b.quantity for b in _billings(session, made)), Decimal(0)) == Decimal("150")
    (item,) = client.get(f"/api/v1/vmi-agreements/{made.id}/items", headers=world.supplier.headers).get_json()
    assert (item["consigned"], item["unbilled"]) == ("0.000", "0.000")
    assert Decimal(item["owned"]) == max(Decimal(item["position"]), Decimal(0))  # all of it the buyer's


@pytest.mark.real_commits  # two connections, as two workers would have
def test_two_runs_racing_bill_the_consumption_once(app, session, world, monkeypatch):
    made = _agreement(session, world)
    receive(session, world.buyer, _order(session, world, made, "100"), (Decimal("100"),))
    _consume(session, world, made, "25")
    item = _item(made)
    first, second = database(app).sessionmaker(), database(app).sessionmaker()
    try:
        # The second run reads the unbilled consumption before the first commits its billing ...
        stale = consignment.position(second, second.get(VmiAgreement, made.id), item.product_id, item.location_id, TODAY)
        assert stale.unbilled == Decimal("25")
        second.commit()  # SQLite: end the read (its transactions take the write lock at once)
        assert len(consignment._bill(first, first.get(VmiAgreement, made.id), TODAY, None)) == 1
        first.commit()
        # ... and writes the same billing (same order, same billed total): the database refuses it.
        monkeypatch.setattr(consignment, "position", lambda *args: stale)
        with pytest.raises(sa.exc.IntegrityError):
            consignment._bill(second, second.get(VmiAgreement, made.id), TODAY, None)
        second.rollback()
    finally:
        first.close()
        second.close()
    monkeypatch.undo()
    session.expire_all()
    assert [b.quantity for b in _billings(session, made)] == [Decimal("25.000")]
    assert len(_self_billed(session)) == 1
    assert consignment.bill(session, world.supplier.principal, made.id, TODAY) == []


def test_an_ended_agreement_lists_the_consigned_remainder_and_bills_consumption_to_its_end(app, client, session, world, frozen_clock):
    made = _agreement(session, world)
    day0 = frozen_clock.now.date()
    receive(session, world.buyer, _order(session, world, made, "80"), (Decimal("80"),))
    _consume(session, world, made, "15", day0)
    suspended = client.post(f"/api/v1/vmi-agreements/{made.id}/suspend", json={"reason": "Stocktake"}, headers=world.buyer.headers)
    assert suspended.status_code == 200
    (item,) = client.get(f"/api/v1/vmi-agreements/{made.id}/items", headers=world.buyer.headers).get_json()
    assert (item["consigned"], item["unbilled"], item["returnable"]) == ("65.000", "15.000", None)  # still the supplier's while suspended
    assert client.post(f"/api/v1/vmi-agreements/{made.id}/end", json={"reason": "Moving on"}, headers=world.supplier.headers).status_code == 200
    frozen_clock.advance(days=2)
    _consume(session, world, made, "10", day0 + timedelta(days=1))  # after the end: not consigned goods any more
    assert consignment.bill_due(app) == 1  # the end day's consumption is billed after the end
    assert consignment.bill_due(app) == 0
    session.expire_all()
    assert [b.quantity for b in _billings(session, made)] == [Decimal("15.000")]
    for side in (world.buyer, world.supplier):
        (item,) = client.get(f"/api/v1/vmi-agreements/{made.id}/items", headers=side.headers).get_json()
        assert (item["consigned"], item["returnable"], item["unbilled"]) == ("65.000", "65.000", "0.000")
    assert_problem(client.post(f"/api/v1/vmi-agreements/{made.id}/self-billing", json={"through": "2999-01-01"}, headers=world.buyer.headers), 422)


def test_every_billing_is_audited_and_told_to_both_sides(app, client, session, world):
    made = _agreement(session, world)
    order = _order(session, world, made, "100")
    receive(session, world.buyer, order, (Decimal("100"),))
    _consume(session, world, made, "12")
    (billing,) = consignment.bill(session, world.buyer.principal, made.id, TODAY)
    invoice = session.get(Invoice, billing.invoice_id)
    assert invoice.created_by == world.buyer.admin.id  # the buyer's user who billed
    entries = session.execute(sa.select(AuditEntry).where(AuditEntry.action.in_(("vmi_agreement:consignment_billed", "invoice:self_billed")))).scalars().all()
    assert sorted((e.action, e.object_id, e.actor_org_id) for e in entries) == sorted(
        [("invoice:self_billed", str(invoice.id), world.buyer.org.id), ("vmi_agreement:consignment_billed", str(made.id), world.buyer.org.id)]
    )
    told = session.execute(sa.select(Notification.organization_id).where(Notification.event == "invoice.self_billed")).scalars().all()
    assert sorted(told) == sorted([world.buyer.org.id, world.supplier.org.id])
    with pytest.raises(ValidationFailed):
        consignment.bill(session, world.buyer.principal, made.id, TODAY + timedelta(days=1))


def test_other_organizations_cannot_bill_or_see_an_agreement(client, session, world):
    made = _agreement(session, world)
    for outsider in (world.buyer2, world.supplier2):
        assert_problem(client.post(f"/api/v1/vmi-agreements/{made.id}/self-billing", json={}, headers=outsider.headers), 404)


def test_a_self_billed_invoice_is_paid_through_the_ledger_like_any_approved_payable(app, client, session, world, funded):
    made = _agreement(session, world)
    receive(session, world.buyer, _order(session, world, made, "100"), (Decimal("100"),))
    _consume(session, world, made, "24.5")
    (billing,) = consignment.bill(session, world.supplier.principal, made.id, TODAY)
    invoice_id = billing.invoice_id
    # The worker registers it as a receivable (the buyer's approval is acknowledged on chain) ...
    assert receivables.register_due(app) == 1
    settle(app, funded)
    receivable = session.execute(sa.select(Receivable).where(Receivable.invoice_id == invoice_id)).scalar_one()
    assert (receivable.state, receivable.escrowed, receivable.amount) == (ReceivableState.VERIFIED, False, Decimal("61.25"))
    # ... and the buyer pays it on chain, at its due date or early.
    paying = client.post(f"/api/v1/invoices/{invoice_id}/pay", headers=world.buyer.headers)
    assert paying.status_code == 202, paying.get_json()
    settle(app, funded)
    paid = session.get(Invoice, invoice_id, populate_existing=True)
    assert (paid.state, paid.paid_amount) == (InvoiceState.PAID, Decimal("61.25"))
