"""Reviews and replenishment proposals: a review reads the stock the buyer shared and the
forecast, proposes when projected stock would leave the band; the supplier confirms
(perhaps edited) and the buyer's order is issued at once inside the agreed limits, or waits
for the buyer's approval beyond them; the order runs the ordinary path and says the
agreement issued it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.notifications.models import Notification
from concord.orders.models import PurchaseOrder
from concord.tenancy.models import Role, User
from concord.vmi import agreements, review
from concord.vmi.models import ProposalState, VmiProposal

from tests.api.helpers import assert_problem, fetch, select_all
from tests.vmi import vmi_factory

STEADY = [70] * 30  # ten a day for thirty weeks


def _agreement(app, session, world, **overrides):
    data = vmi_factory.agreement_input(session, world.buyer, world.supplier, products=1, **overrides)
    made = agreements.propose(session, world.buyer.principal, data)
    agreements.accept(session, world.supplier.principal, made.id)
    return made


@pytest.fixture
def steady(app, session, world):
    """An active agreement for one item (band 100–400, lead time 5 days, review weekly) whose
    buyer has shared thirty weeks of steady consumption and 50 on hand yesterday."""
    made = _agreement(app, session, world)
    item = made.versions[0].items[0]
    vmi_factory.share_history(session, world.buyer, item.product_id, item.location_id, STEADY, on_hand=50)
    session.commit()
    return made


def _review(client, world, agreement_id, who="supplier"):
    response = client.post(f"/api/v1/vmi-agreements/{agreement_id}/review", json={}, headers=getattr(world, who).headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_review_proposes_what_brings_stock_back_into_the_band(app, client, world, steady):
    made = _review(client, world, steady.id)
    assert len(made) == 1
    proposal = made[0]
    assert (proposal["state"], proposal["on_hand"], proposal["on_order"], proposal["allowed_actions"]) == ("open", "50.000", "0.000", ["confirm", "dismiss"])
    assert proposal["forecast_model"] and proposal["forecast_mase"] is not None
    # 50 on hand at ten a day: gone on day 5, when an order placed today arrives at the earliest.
    assert proposal["delivery_date"] == (date.today() + timedelta(days=5)).isoformat()
    assert {a["kind"] for a in proposal["alerts"]} >= {"stock_out_within_lead_time"}
    # Enough to reach the maximum at the next review's earliest arrival, and no more than the band allows.
    assert Decimal("100") < Decimal(proposal["quantity"]) <= Decimal("400") + 7 * 10
    assert client.get(f"/api/v1/vmi-proposals/{proposal['id']}", headers=world.buyer.headers).get_json()["allowed_actions"] == []
    # The supplier asked for the review; the buyer is told of its proposal and alerts.
    events = {n.event for n in select_all(app, sa.select(Notification).where(Notification.organization_id == world.buyer.org.id))}
    assert {"vmi.proposal", "vmi.alert"} <= events
    # A second review replaces the open proposal rather than adding one.
    again = _review(client, world, steady.id)
    assert fetch(app, VmiProposal, uuid.UUID(proposal["id"])).state == ProposalState.CANCELLED
    assert [p["id"] for p in client.get("/api/v1/vmi-proposals?state=open", headers=world.supplier.headers).get_json()["items"]] == [again[0]["id"]]


def test_confirming_inside_the_limits_issues_the_buyers_order(app, client, world, steady):
    proposal = _review(client, world, steady.id)[0]
    url = f"/api/v1/vmi-proposals/{proposal['id']}"
    assert_problem(client.post(url + "/confirm", json={}, headers=world.buyer.headers), 403)
    confirmed = client.post(url + "/confirm", json={"quantity": "300"}, headers=world.supplier.headers)
    assert confirmed.status_code == 200, confirmed.get_json()
    body = confirmed.get_json()
    assert (body["state"], body["confirmed_quantity"], body["value"]) == ("ordered", "300.000", "750.00")
    order = client.get(f"/api/v1/orders/{body['order_id']}", headers=world.buyer.headers).get_json()
    assert (order["state"], order["origin"], order["number"], order["supplier_org_id"]) == (
        "issued",
        f"VMI agreement {steady.number}",
        f"{steady.number}-0001",
        str(world.supplier.org.id),
    )
    assert [(line["quantity"], line["unit_price"]) for line in order["lines"]] == [("300.000", "2.5000")]
    # The supplier sees it like any order to acknowledge; the next review counts it as on order.
    assert "acknowledge" in client.get(f"/api/v1/orders/{body['order_id']}", headers=world.supplier.headers).get_json()["allowed_actions"]
    again = _review(client, world, steady.id)
    assert again == [] or Decimal(again[0]["on_order"]) == Decimal("300")
    actions = [e.action for e in select_all(app, sa.select(AuditEntry).where(AuditEntry.object_id == proposal["id"]).order_by(AuditEntry.seq))]
    assert actions == ["vmi_proposal:made", "vmi_proposal:ordered"]


def test_beyond_the_limits_the_buyer_approves_first(app, client, session, world):
    made = _agreement(app, session, world, max_order_value=Decimal("100.00"), max_period_value=Decimal("2000.00"))
    item = made.versions[0].items[0]
    vmi_factory.share_history(session, world.buyer, item.product_id, item.location_id, STEADY, on_hand=50)
    session.commit()
    proposal = _review(client, world, made.id)[0]
    url = f"/api/v1/vmi-proposals/{proposal['id']}"
    referred = client.post(url + "/confirm", json={}, headers=world.supplier.headers).get_json()
    assert (referred["state"], referred["order_id"]) == ("awaiting_approval", None)
    assert "above the limit per order of 100.00" in referred["state_reason"]
    assert client.get(url, headers=world.buyer.headers).get_json()["allowed_actions"] == ["approve", "reject"]
    assert_problem(client.post(url + "/approve", json={}, headers=world.supplier.headers), 403)
    approved = client.post(url + "/approve", json={}, headers=world.buyer.headers).get_json()
    assert approved["state"] == "ordered" and approved["order_id"]
    assert fetch(app, PurchaseOrder, uuid.UUID(approved["order_id"])).created_by == world.buyer.admin.id
    # Another proposal beyond the limit per order, rejected by the buyer.
    second = _review(client, world, made.id)
    if second:
        client.post(f"/api/v1/vmi-proposals/{second[0]['id']}/confirm", json={"quantity": "500"}, headers=world.supplier.headers)
        rejected = client.post(f"/api/v1/vmi-proposals/{second[0]['id']}/reject", json={"reason": "Too much"}, headers=world.buyer.headers).get_json()
        assert (rejected["state"], rejected["state_reason"], rejected["order_id"]) == ("rejected", "Too much", None)


def test_the_period_limit_counts_what_was_ordered_this_period(app, client, session, world):
    made = _agreement(app, session, world, max_order_value=Decimal("1000.00"), max_period_value=Decimal("1000.00"))
    item = made.versions[0].items[0]
    vmi_factory.share_history(session, world.buyer, item.product_id, item.location_id, STEADY, on_hand=50)
    session.commit()
    first = _review(client, world, made.id)[0]
    small = client.post(f"/api/v1/vmi-proposals/{first['id']}/confirm", json={"quantity": "10"}, headers=world.supplier.headers).get_json()
    assert (small["state"], small["value"]) == ("ordered", "25.00")
    second = _review(client, world, made.id)[0]  # ten on order is far from enough
    assert Decimal(second["on_order"]) == Decimal("10")
    referred = client.post(f"/api/v1/vmi-proposals/{second['id']}/confirm", json={"quantity": "400"}, headers=world.supplier.headers).get_json()
    assert referred["state"] == "awaiting_approval", referred  # 1000.00 alone is within the limit per order
    assert "with the 25.00 EUR already ordered this period" in referred["state_reason"]


def test_suspending_cancels_open_proposals_and_nothing_is_confirmed_after(app, client, world, steady):
    proposal = _review(client, world, steady.id)[0]
    client.post(f"/api/v1/vmi-agreements/{steady.id}/suspend", json={"reason": "Stocktake"}, headers=world.buyer.headers)
    cancelled = client.get(f"/api/v1/vmi-proposals/{proposal['id']}", headers=world.supplier.headers).get_json()
    assert (cancelled["state"], cancelled["state_reason"], cancelled["allowed_actions"]) == ("cancelled", "the agreement was suspended", [])
    assert_problem(client.post(f"/api/v1/vmi-proposals/{proposal['id']}/confirm", json={}, headers=world.supplier.headers), 409)
    assert_problem(client.post(f"/api/v1/vmi-agreements/{steady.id}/review", json={}, headers=world.supplier.headers), 409)
    assert select_all(app, sa.select(PurchaseOrder)) == []


def test_dismissed_proposals_order_nothing_and_a_confirmed_date_must_be_plausible(app, client, world, steady):
    proposal = _review(client, world, steady.id)[0]
    url = f"/api/v1/vmi-proposals/{proposal['id']}"
    past = assert_problem(client.post(url + "/confirm", json={"delivery_date": "2020-01-01"}, headers=world.supplier.headers), 422)
    assert set(past["errors"]) == {"delivery_date"}
    assert_problem(client.post(url + "/confirm", json={"quantity": "0"}, headers=world.supplier.headers), 422)
    dismissed = client.post(url + "/dismiss", json={"reason": "Delivering with next week's truck"}, headers=world.supplier.headers).get_json()
    assert (dismissed["state"], dismissed["order_id"]) == ("dismissed", None)
    assert_problem(client.post(url + "/confirm", json={}, headers=world.supplier.headers), 409, current_state="dismissed")
    assert select_all(app, sa.select(PurchaseOrder)) == []


def test_without_enough_history_a_quantity_band_still_orders_up_to_the_maximum(app, client, session, world):
    made = _agreement(app, session, world)
    item = made.versions[0].items[0]
    vmi_factory.share_history(session, world.buyer, item.product_id, item.location_id, [70] * 5, on_hand=60)
    session.commit()
    proposal = _review(client, world, made.id)[0]
    assert (proposal["quantity"], proposal["forecast_model"], [a["kind"] for a in proposal["alerts"]]) == ("340.000", None, ["history_too_short"])


def test_the_worker_reviews_each_item_once_per_review_period(app, session, world, steady):
    today = date.today()
    assert review.review_due(app, today) == 1
    assert review.review_due(app, today + timedelta(days=6)) == 0  # weekly: not due yet
    assert review.review_due(app, today + timedelta(days=7)) == 1


def test_an_order_waits_for_approval_when_the_buyer_who_agreed_can_no_longer_order(app, client, session, world, steady):
    signer = session.get(User, world.buyer.admin.id)  # proposed version 1: the agreement's standing authority
    signer.role = Role.VIEWER
    session.commit()
    proposal = _review(client, world, steady.id)[0]
    referred = client.post(f"/api/v1/vmi-proposals/{proposal['id']}/confirm", json={}, headers=world.supplier.headers).get_json()
    assert referred["state"] == "awaiting_approval" and "can no longer order" in referred["state_reason"]
    assert select_all(app, sa.select(PurchaseOrder)) == []


def test_both_sides_see_the_stock_against_the_band_the_forecast_and_the_bullwhip(app, client, world, steady):
    _review(client, world, steady.id)
    for side in (world.buyer, world.supplier):
        (item,) = client.get(f"/api/v1/vmi-agreements/{steady.id}/items", headers=side.headers).get_json()
        assert item["stock"][-1] == {"day": (date.today() - timedelta(days=1)).isoformat(), "quantity": "50.000"}
        assert item["band"]["minimum"] is not None and item["forecast"]["model"] and len(item["forecast"]["point"]) == review.HORIZON_WEEKS
        assert sum(score["chosen"] for score in item["forecast"]["scores"]) == 1
        assert [p["state"] for p in item["proposals"]] == ["open"]
        # Steady consumption does not vary: no ratio can be computed, and none is made up.
        assert (item["bullwhip"]["before"], item["bullwhip"]["weeks_before"], item["bullwhip"]["weeks_after"]) == (None, 30, 0)
    assert_problem(client.get(f"/api/v1/vmi-agreements/{steady.id}/items", headers=world.buyer2.headers), 404)
