"""Buyer-led programmes through the API: a buyer asks a buyer–financier partner, the
financier opens it at its rate and limit (or declines), either side closes it, a closed or
declined one may be asked for again; each step by its side only, from the table.
(Early payment under an open programme runs on the chain: test_programmes_chain.py.)"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from concord.finance.models import FinancingProgramme, ProgrammeState
from concord.notifications.models import Notification
from concord.tenancy.models import Relation

from tests import factories
from tests.api.helpers import assert_problem, fetch, select_all


@pytest.fixture
def partners(app, detached_session, detached_world):
    with app.test_request_context():
        factories.partner(detached_session, Relation.BUYER_FINANCIER, detached_world.buyer, detached_world.financier)
    detached_session.commit()
    return detached_world


def test_a_buyer_financier_partnership_is_a_relation_of_its_own(app, detached_client, partners):
    listed = detached_client.get("/api/v1/partnerships?relation=buyer_financier", headers=partners.financier.headers).get_json()["items"]
    assert [(p["org_a"]["id"], p["org_b"]["id"], p["status"]) for p in listed] == [(str(partners.buyer.org.id), str(partners.financier.org.id), "active")]
    # The sides fit the capabilities: a supplier cannot be the buyer side.
    response = detached_client.post(
        "/api/v1/partnerships", json={"relation": "buyer_financier", "counterparty_id": str(partners.financier.org.id)}, headers=partners.supplier.headers
    )
    assert_problem(response, 422)


def test_the_buyer_asks_the_financier_opens_and_either_closes(app, detached_client, partners):
    client, world = detached_client, partners
    asked = client.post("/api/v1/financing-programmes", json={"financier_id": str(world.financier.org.id), "currency": "eur"}, headers=world.buyer.headers)
    assert asked.status_code == 201, asked.get_json()
    programme = asked.get_json()
    assert (programme["state"], programme["currency"], programme["allowed_actions"]) == ("requested", "EUR", ["close"])
    url = f"/api/v1/financing-programmes/{programme['id']}"
    assert client.get(url, headers=world.financier.headers).get_json()["allowed_actions"] == ["close", "decline", "open"]
    assert_problem(client.post(url + "/open", json={"discount_rate": "4.5", "limit_amount": "50000.00"}, headers=world.buyer.headers), 403)
    schema = client.post(url + "/open", json={"discount_rate": "140", "limit_amount": "-1"}, headers=world.financier.headers)
    assert set(assert_problem(schema, 422)["errors"]) == {"discount_rate", "limit_amount"}
    opened = client.post(url + "/open", json={"discount_rate": "4.5", "limit_amount": "50000.00"}, headers=world.financier.headers)
    assert opened.status_code == 200, opened.get_json()
    assert (opened.get_json()["state"], opened.get_json()["discount_rate"], opened.get_json()["outstanding"]) == ("open", "4.5000", "0.00")
    assert_problem(
        client.post(url + "/open", json={"discount_rate": "4", "limit_amount": "1.00"}, headers=world.financier.headers),
        409,
        current_state="open",
        allowed_actions=["close"],
    )
    duplicate = client.post("/api/v1/financing-programmes", json={"financier_id": str(world.financier.org.id), "currency": "EUR"}, headers=world.buyer.headers)
    assert_problem(duplicate, 409, current_state="open")
    closed = client.post(url + "/close", json={"reason": "Moving to another bank"}, headers=world.buyer.headers)
    assert closed.get_json()["state"] == "closed" and closed.get_json()["state_reason"] == "Moving to another bank"
    again = client.post("/api/v1/financing-programmes", json={"financier_id": str(world.financier.org.id), "currency": "EUR"}, headers=world.buyer.headers)
    assert again.status_code == 201 and again.get_json()["id"] == programme["id"] and again.get_json()["discount_rate"] is None
    declined = client.post(url + "/decline", json={}, headers=world.financier.headers)
    assert declined.get_json()["state"] == "declined"
    assert fetch(app, FinancingProgramme, uuid.UUID(programme["id"])).state == ProgrammeState.DECLINED
    events = [n.event for n in select_all(app, sa.select(Notification).where(Notification.object_id == programme["id"]).order_by(Notification.created_at))]
    assert {"programme.requested", "programme.opened", "programme.closed", "programme.declined"} <= set(events)


def test_only_a_buyer_with_a_financier_partner_asks_and_outsiders_see_nothing(app, detached_client, partners):
    client, world = detached_client, partners
    body = {"financier_id": str(world.financier.org.id), "currency": "EUR"}
    assert (
        "buyer_financier"
        in assert_problem(client.post("/api/v1/financing-programmes", json=body, headers=world.buyer2.headers), 422)["errors"]["financier_id"][0]
    )
    assert_problem(client.post("/api/v1/financing-programmes", json=body, headers=world.supplier.headers), 403)
    assert_problem(client.post("/api/v1/financing-programmes", json={**body, "currency": "EURO"}, headers=world.buyer.headers), 422)
    programme = client.post("/api/v1/financing-programmes", json=body, headers=world.buyer.headers).get_json()
    for outsider in (world.buyer2, world.supplier, world.auditor):
        assert_problem(client.get(f"/api/v1/financing-programmes/{programme['id']}", headers=outsider.headers), 404)
        assert_problem(client.post(f"/api/v1/financing-programmes/{programme['id']}/close", json={}, headers=outsider.headers), 404)
        assert client.get("/api/v1/financing-programmes", headers=outsider.headers).get_json()["items"] == []
