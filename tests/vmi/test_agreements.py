"""VMI agreements through the API: a buyer proposes version 1 to a supplier partner, every
later change of terms is a version the other side accepts or declines, the agreed terms
hold until then; suspend/resume/end by the right side only, from the lifecycle table;
bad terms are refused field by field with nothing written."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.audit.models import AuditEntry
from concord.notifications.models import Notification
from concord.tenancy.models import Relation, Role
from concord.vmi import agreements
from concord.vmi.models import AgreementState, RecordKind, RecordSource, StockRecord, VersionState, VmiAgreement, VmiAgreementItem, VmiAgreementVersion

from tests import factories, orders_factory
from tests.api.helpers import assert_problem, fetch, row_counts, select_all
from tests.vmi import vmi_factory

URL = "/api/v1/vmi-agreements"


def _json(data: dict) -> dict:
    """Service-shaped input as the JSON a client sends (decimals and dates as strings)."""
    return json.loads(json.dumps(data, default=str))


@pytest.fixture
def proposal(app, session, world):
    data = vmi_factory.agreement_input(session, world.buyer, world.supplier)
    session.commit()
    return _json(data)


def _propose(client, world, body):
    response = client.post(URL, json=body, headers=world.buyer.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_buyer_proposes_the_supplier_accepts_and_the_terms_are_in_force(app, client, world, proposal):
    made = _propose(client, world, proposal)
    assert (made["state"], made["number"], made["current_version"], made["pending_version"]) == ("proposed", "VMI-0001", 0, 1)
    assert made["terms"] is None and made["allowed_actions"] == ["withdraw"]
    terms = made["proposed_terms"]
    assert (terms["state"], terms["max_order_value"], terms["items"][0]["min_level"], terms["items"][0]["unit_price"]) == (
        "proposed",
        "5000.00",
        "100.000",
        "2.5000",
    )
    assert {i["sku"] for i in terms["items"]} and all(i["location_name"].startswith("Plant") for i in terms["items"])
    url = f"{URL}/{made['id']}"
    seen = client.get(url, headers=world.supplier.headers).get_json()
    assert seen["allowed_actions"] == ["accept", "decline"]
    assert_problem(client.post(url + "/accept", json={}, headers=world.buyer.headers), 403)
    accepted = client.post(url + "/accept", json={"reason": "Agreed at the kick-off"}, headers=world.supplier.headers)
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert (body["state"], body["current_version"], body["pending_version"], body["proposed_terms"]) == ("active", 1, None, None)
    assert body["terms"]["state"] == "agreed" and body["terms"]["note"] == "Agreed at the kick-off"
    assert body["allowed_actions"] == ["amend", "suspend", "end"]
    # Both sides list it; nobody else does.
    assert [a["id"] for a in client.get(URL, headers=world.buyer.headers).get_json()["items"]] == [made["id"]]
    assert [a["id"] for a in client.get(URL + "?role=supplier", headers=world.supplier.headers).get_json()["items"]] == [made["id"]]
    assert client.get(URL + "?role=buyer", headers=world.supplier.headers).get_json()["items"] == []
    assert client.get(URL, headers=world.buyer2.headers).get_json()["items"] == []
    assert_problem(client.get(url, headers=world.supplier2.headers), 404)
    events = [n.event for n in select_all(app, sa.select(Notification).where(Notification.object_id == made["id"]))]
    assert {"vmi.proposed", "vmi.accepted"} <= set(events)
    actions = [e.action for e in select_all(app, sa.select(AuditEntry).where(AuditEntry.object_id == made["id"]).order_by(AuditEntry.seq))]
    assert actions == ["vmi_agreement:proposed", "vmi_agreement:accepted", "access:denied"]  # the last: supplier2's probe


def test_an_amendment_holds_until_accepted_and_a_supplier_only_re_terms_covered_items(app, client, session, world, proposal):
    made = _propose(client, world, proposal)
    url = f"{URL}/{made['id']}"
    client.post(url + "/accept", json={}, headers=world.supplier.headers)
    agreed = fetch(app, VmiAgreement, uuid.UUID(made["id"]))
    with app.test_request_context():
        amended = _json(vmi_factory.terms_of(fetch(app, VmiAgreementVersion, agreed.versions[0].id)))
    amended["items"][0]["max_level"] = "600"
    # A supplier cannot slip in another of the buyer's products.
    other, location = orders_factory.catalog_of(session, world.buyer, 1)
    session.commit()
    sneaky = {**amended, "items": [*amended["items"], _json(vmi_factory.item(other[0].id, location.id))]}
    refused = assert_problem(client.post(url + "/versions", json=sneaky, headers=world.supplier.headers), 422)
    assert set(refused["errors"]["items"]) == {"2"} and "product_id" in refused["errors"]["items"]["2"]
    proposed = client.post(url + "/versions", json=amended, headers=world.supplier.headers)
    assert proposed.status_code == 201, proposed.get_json()
    body = proposed.get_json()
    assert (body["state"], body["current_version"], body["pending_version"]) == ("active", 1, 2)
    assert body["terms"]["items"][0]["max_level"] == "400.000" and body["proposed_terms"]["items"][0]["max_level"] == "600.000"
    # One version waits at a time; its proposer cannot accept it.
    assert_problem(client.post(url + "/versions", json=amended, headers=world.buyer.headers), 409, current_state="active")
    assert_problem(client.post(url + "/accept", json={}, headers=world.supplier.headers), 403)
    client.post(url + "/accept", json={}, headers=world.buyer.headers)
    versions = client.get(url + "/versions", headers=world.supplier.headers).get_json()
    assert [(v["version"], v["state"]) for v in versions] == [(1, "superseded"), (2, "agreed")]
    # A buyer's amendment that is declined leaves version 2 in force.
    client.post(url + "/versions", json={**amended, "max_order_value": "100.00"}, headers=world.buyer.headers)
    declined = client.post(url + "/decline", json={"reason": "Too small an order"}, headers=world.supplier.headers).get_json()
    assert (declined["current_version"], declined["pending_version"], declined["terms"]["max_order_value"]) == (2, None, "5000.00")
    assert [v.state for v in fetch(app, VmiAgreement, uuid.UUID(made["id"])).versions] == [VersionState.SUPERSEDED, VersionState.AGREED, VersionState.DECLINED]


def test_bad_terms_are_refused_field_by_field_and_nothing_is_written(app, client, session, world, proposal):
    foreign, foreign_location = orders_factory.catalog_of(session, world.buyer2, 1)
    factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, world.supplier2)
    session.commit()
    first = proposal["items"][0]
    bad = {
        **proposal,
        "supplier_id": str(world.supplier2.org.id),  # not Buyer One's partner
        "currency": "XXX",
        "ends_on": proposal["starts_on"],
        "baseline_inventory_value": "10000.00",  # without the rate and the share
        "max_order_value": "30000.00",  # above the period's limit
        "items": [
            first,
            {**first, "max_level": "50"},  # the same product and location again, and max below min
            {**first, "product_id": str(foreign[0].id), "location_id": str(foreign_location.id)},
            {**first, "product_id": proposal["items"][1]["product_id"], "service_level": "100", "level_basis": "days_of_supply", "max_level": "400"},
        ],
    }
    before = row_counts(app)
    response = assert_problem(client.post(URL, json=bad, headers=world.buyer.headers), 422)
    assert set(response["errors"]) == {"currency", "supplier_id"}  # who and what currency first
    response = assert_problem(client.post(URL, json={**bad, "supplier_id": proposal["supplier_id"], "currency": "EUR"}, headers=world.buyer.headers), 422)
    errors = response["errors"]
    assert {"ends_on", "holding_cost_rate", "supplier_share", "max_order_value", "items"} <= set(errors)
    assert set(errors["items"]) == {"1", "2", "3"}
    assert set(errors["items"]["1"]) == {"location_id", "max_level"}
    assert set(errors["items"]["2"]) == {"product_id", "location_id"}
    assert set(errors["items"]["3"]) == {"service_level", "max_level"}
    schema = assert_problem(
        client.post(URL, json={**proposal, "items": [{**first, "min_level": "-1", "lead_time_days": 400}]}, headers=world.buyer.headers), 422
    )
    assert set(schema["errors"]["items"]["0"]) == {"min_level", "lead_time_days"}
    assert_problem(client.post(URL, json={**proposal, "items": []}, headers=world.buyer.headers), 422)
    assert_problem(client.post(URL, json=proposal, headers=world.supplier.headers), 403)  # suppliers do not propose the buyer's items
    viewer_headers = factories.bearer(factories.add_user(session, world.buyer, Role.VIEWER)[1])
    session.commit()
    assert_problem(client.post(URL, json=proposal, headers=viewer_headers), 403)
    after = row_counts(app)
    assert {t: after[t] - before[t] for t in after if after[t] != before[t] and t.startswith("vmi")} == {}


def test_suspend_resume_and_end_by_the_right_side(app, client, world, proposal):
    made = _propose(client, world, proposal)
    url = f"{URL}/{made['id']}"
    assert_problem(client.post(url + "/suspend", json={}, headers=world.buyer.headers), 409, current_state="proposed", allowed_actions=["withdraw"])
    client.post(url + "/accept", json={}, headers=world.supplier.headers)
    suspended = client.post(url + "/suspend", json={"reason": "Stocktake"}, headers=world.supplier.headers).get_json()
    assert (suspended["state"], suspended["suspended_by_org_id"], suspended["state_reason"]) == ("suspended", str(world.supplier.org.id), "Stocktake")
    assert "resume" not in client.get(url, headers=world.buyer.headers).get_json()["allowed_actions"]
    assert_problem(client.post(url + "/resume", json={}, headers=world.buyer.headers), 403)
    resumed = client.post(url + "/resume", json={}, headers=world.supplier.headers).get_json()
    assert (resumed["state"], resumed["suspended_by_org_id"]) == ("active", None)
    # Ending withdraws a version still waiting for an answer.
    body = {k: v for k, v in proposal.items() if k not in ("supplier_id", "currency")}
    client.post(url + "/versions", json={**body, "max_order_value": "4000.00"}, headers=world.buyer.headers)
    ended = client.post(url + "/end", json={"reason": "Moving to kanban"}, headers=world.supplier.headers).get_json()
    assert (ended["state"], ended["pending_version"], ended["allowed_actions"], ended["current_version"]) == ("ended", None, [], 1)
    assert [v.state for v in fetch(app, VmiAgreement, uuid.UUID(made["id"])).versions] == [VersionState.AGREED, VersionState.WITHDRAWN]
    for action in ("suspend", "resume", "end", "accept"):
        assert_problem(client.post(url + f"/{action}", json={}, headers=world.buyer.headers), 409, current_state="ended", allowed_actions=[])


def test_each_table_entry_is_taken_by_its_side_only(app, session, world):
    """Iterate the lifecycle table: from each state, each side may take exactly the actions
    the table gives it (with a pending version proposed by the buyer where answers need one)."""
    data = vmi_factory.agreement_input(session, world.buyer, world.supplier)
    agreement = agreements.propose(session, world.buyer.principal, data)
    sides = {"buyer": world.buyer.principal, "supplier": world.supplier.principal}
    for state in AgreementState:
        agreement.state = state
        agreement.suspended_by_org_id = world.supplier.org.id
        for pending in (1, None):
            agreement.pending_version = pending
            for side, principal in sides.items():
                expected = []
                for (from_state, action), (_, actor) in agreements.TRANSITIONS.items():
                    answers = action in ("accept", "decline", "withdraw")
                    if from_state != state or (answers and pending is None) or (action == "amend" and pending is not None):
                        continue
                    takes = {
                        agreements.EITHER: True,
                        agreements.PROPOSER: side == "buyer",
                        agreements.COUNTERPARTY: side == "supplier",
                        agreements.SUSPENDER: side == "supplier",
                    }[actor]
                    if takes:
                        expected.append(action)
                assert agreements.allowed_actions(agreement, principal) == expected, (state, pending, side)
    session.rollback()


def test_an_agreement_past_its_end_date_ends_by_itself(app, client, session, world, proposal):
    made = _propose(client, world, {**proposal, "ends_on": (date.today() + timedelta(days=10)).isoformat()})
    client.post(f"{URL}/{made['id']}/accept", json={}, headers=world.supplier.headers)
    assert agreements.end_due(app, today=date.today() + timedelta(days=9)) == 0
    assert agreements.end_due(app, today=date.today() + timedelta(days=10)) == 1
    ended = fetch(app, VmiAgreement, uuid.UUID(made["id"]))
    assert ended.state == AgreementState.ENDED and "end date" in ended.state_reason
    assert agreements.end_due(app, today=date.today() + timedelta(days=11)) == 0


def test_amounts_and_levels_are_stored_exactly(app, client, world, proposal):
    proposal["items"][0].update({"min_level": "0.125", "max_level": "999999999.999", "unit_price": "0.0001", "service_level": "99.9999"})
    made = _propose(client, world, {**proposal, "holding_cost_rate": "18.5", "supplier_share": "50", "baseline_inventory_value": "125000.10"})
    rows = select_all(app, sa.select(VmiAgreementItem).join(VmiAgreementVersion).where(VmiAgreementVersion.agreement_id == uuid.UUID(made["id"])))
    first = next(r for r in rows if str(r.product_id) == proposal["items"][0]["product_id"])
    assert (first.min_level, first.max_level, first.unit_price, first.service_level) == (
        Decimal("0.125"),
        Decimal("999999999.999"),
        Decimal("0.0001"),
        Decimal("99.9999"),
    )
    terms = made["proposed_terms"]
    assert (terms["holding_cost_rate"], terms["supplier_share"], terms["baseline_inventory_value"]) == ("18.5000", "50.0000", "125000.10")


def test_profit_sharing_shares_the_holding_cost_saving_per_period(app, client, session, world, proposal):
    start = date.today() - timedelta(days=20)
    terms = {
        **proposal,
        "starts_on": start.isoformat(),
        "period_days": 10,
        "baseline_inventory_value": "1000.00",
        "holding_cost_rate": "20",
        "supplier_share": "50",
        "items": [{**proposal["items"][0], "unit_price": "2.00"}],
    }
    made = _propose(client, world, terms)
    client.post(f"{URL}/{made['id']}/accept", json={}, headers=world.supplier.headers)
    item = proposal["items"][0]
    session.add(
        StockRecord(
            buyer_org_id=world.buyer.org.id,
            record_id="count-1",
            product_id=uuid.UUID(item["product_id"]),
            location_id=uuid.UUID(item["location_id"]),
            kind=RecordKind.ON_HAND,
            occurred_on=start - timedelta(days=1),
            quantity=Decimal(100),
            source=RecordSource.API,
            created_by=world.buyer.admin.id,
            created_at=clock.utcnow(),
        )
    )
    session.commit()
    shown = client.get(f"{URL}/{made['id']}/profit-sharing", headers=world.supplier.headers).get_json()
    # 100 units at 2.00 all along: 800.00 below the baseline, at 20 % a year for 10 days.
    assert [(p["period_start"], p["closed"], p["average_inventory_value"], p["saving"], p["supplier_share"]) for p in shown] == [
        ((start + timedelta(days=10)).isoformat(), True, "200.00", "4.38", "2.19"),
        (start.isoformat(), True, "200.00", "4.38", "2.19"),
    ]
    assert client.get(f"{URL}/{made['id']}/profit-sharing", headers=world.buyer.headers).get_json() == shown
    assert_problem(client.get(f"{URL}/{made['id']}/profit-sharing", headers=world.buyer2.headers), 404)
