"""Invoices and payment terms through the API: the happy paths, every field's mistake, the
refusals (409 with the allowed actions, 403 for the wrong party, 404 for strangers), lists and
their filters, and two invoices racing for one number."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.finance import invoices as invoices_service
from concord.finance.models import Invoice, Settlement
from concord.tenancy.models import Partnership, Relation, Role

from tests import factories, orders_factory
from tests.finance.invoice_factory import invoice, partnership_of, received_order, set_terms

TODAY = date.today().isoformat()


def body(order, *lines, number="INV-1", **extra) -> dict:
    pairs = lines or (("10", "2.50"), ("3", "12.125"))
    return {
        "order_id": str(order.id),
        "number": number,
        "issue_date": TODAY,
        "lines": [
            {"order_line_no": n, "quantity": q, "unit_price": p, "tax_rate": "19"}
            for n, pair in enumerate(pairs, start=1)
            if pair is not None
            for q, p in [pair]
        ],
        **extra,
    }


# -- payment terms ---------------------------------------------------------------------------


def test_the_buyer_sets_the_terms_and_the_supplier_reads_them(client, session, world):
    partnership = partnership_of(session, world.buyer, world.supplier)
    url = f"/api/v1/payment-terms/{partnership.id}"
    default = client.get(url, headers=world.supplier.headers).get_json()
    assert default["agreed"] is False and default["settlement"] == "escrow" and default["can_edit"] is False
    terms = {"settlement": "open_account", "net_days": 45, "quantity_tolerance": "5", "price_tolerance": "1.5", "amount_tolerance": "2.00"}
    put = client.put(url, json=terms, headers=world.buyer.headers)
    assert put.status_code == 200, put.get_json()
    read = client.get(url, headers=world.supplier.headers).get_json()
    assert read["agreed"] is True and (read["settlement"], read["net_days"], read["price_tolerance"]) == ("open_account", 45, "1.5000")
    assert client.put(url, json=terms, headers=world.supplier.headers).status_code == 403
    assert client.get(url, headers=world.buyer2.headers).status_code == 404
    assert client.put(url, json=terms, headers=world.carrier.headers).status_code == 404


@pytest.mark.parametrize(
    "field, value",
    [
        ("settlement", "cash"),
        ("net_days", 366),
        ("net_days", -1),
        ("quantity_tolerance", "100.5"),
        ("price_tolerance", "-1"),
        ("price_tolerance", "0.00001"),
        ("amount_tolerance", "1.001"),
        ("amount_tolerance", 5),
    ],
)
def test_terms_field_mistakes_are_named(client, session, world, field, value):
    partnership = partnership_of(session, world.buyer, world.supplier)
    terms = {"settlement": "escrow", "net_days": 30, "quantity_tolerance": "0", "price_tolerance": "0", "amount_tolerance": "0", field: value}
    answer = client.put(f"/api/v1/payment-terms/{partnership.id}", json=terms, headers=world.buyer.headers)
    assert answer.status_code == 422 and set(answer.get_json()["errors"]) == {field}


def test_other_relations_have_no_terms(client, session, world):
    carrier_partnership = session.execute(
        sa.select(Partnership).where(Partnership.org_a_id == world.supplier.org.id, Partnership.org_b_id == world.carrier.org.id)
    ).scalar_one()
    assert client.get(f"/api/v1/payment-terms/{carrier_partnership.id}", headers=world.supplier.headers).status_code == 404


# -- invoices --------------------------------------------------------------------------------


def test_a_supplier_invoices_from_the_proposal_and_the_buyer_sees_it(client, session, world):
    order = received_order(session, world.buyer, world.supplier, accepted=(Decimal("8"), Decimal("4")))
    proposal = client.get(f"/api/v1/orders/{order.id}/invoice-proposal", headers=world.supplier.headers).get_json()
    assert [(line["order_line_no"], line["quantity"], line["unit_price"]) for line in proposal["lines"]] == [(1, "8.000", "2.5000"), (2, "4.000", "12.1250")]
    lines = [
        {"order_line_no": line["order_line_no"], "quantity": line["quantity"], "unit_price": line["unit_price"], "tax_rate": "7"} for line in proposal["lines"]
    ]
    created = client.post(
        "/api/v1/invoices", json={"order_id": str(order.id), "number": "2026-001", "issue_date": TODAY, "lines": lines}, headers=world.supplier.headers
    )
    assert created.status_code == 201, created.get_json()
    shown = created.get_json()
    assert (shown["state"], shown["match_status"], shown["total"], shown["balance"]) == ("matched", "matched", "73.30", "73.30")
    assert shown["lines"][1]["accepted_quantity"] == "4.000" and shown["allowed_actions"] == ["cancel", "credit"]
    seen = client.get(f"/api/v1/invoices/{shown['id']}", headers=world.buyer.headers).get_json()
    assert seen["allowed_actions"] == ["reject"]  # escrow: a matched invoice is paid by the escrow
    assert client.get(f"/api/v1/invoices/{shown['id']}", headers=world.buyer2.headers).status_code == 404
    after = client.get(f"/api/v1/orders/{order.id}/invoice-proposal", headers=world.buyer.headers).get_json()
    assert after["lines"] == [] and "invoiced already" in after["why_not"]


def test_an_order_without_receipt_proposes_nothing_and_cannot_be_invoiced(client, session, world):
    order = orders_factory.issued_order(session, world.buyer, world.supplier)
    proposal = client.get(f"/api/v1/orders/{order.id}/invoice-proposal", headers=world.supplier.headers).get_json()
    assert proposal["lines"] == [] and "no goods receipt" in proposal["why_not"]
    refused = client.post("/api/v1/invoices", json=body(order), headers=world.supplier.headers)
    assert refused.status_code == 409 and "no goods receipt" in refused.get_json()["detail"]
    assert client.post("/api/v1/invoices", json=body(order), headers=world.buyer.headers).status_code == 403
    assert client.get(f"/api/v1/orders/{order.id}/invoice-proposal", headers=world.supplier2.headers).status_code == 404


@pytest.mark.parametrize(
    "change, field",
    [
        ({"number": ""}, "number"),
        ({"number": "N" * 41}, "number"),
        ({"issue_date": "2026-02-30"}, "issue_date"),
        ({"order_id": "not-a-uuid"}, "order_id"),
        ({"lines": []}, "lines"),
        ({"lines": [{"order_line_no": 1, "quantity": "0", "unit_price": "1", "tax_rate": "0"}]}, "lines"),
        ({"lines": [{"order_line_no": 1, "quantity": "1", "unit_price": "1", "tax_rate": "101"}]}, "lines"),
        ({"lines": [{"order_line_no": 1, "quantity": "1", "unit_price": 1.5, "tax_rate": "0"}]}, "lines"),
        ({"lines": [{"order_line_no": 7, "quantity": "1", "unit_price": "1", "tax_rate": "0"}]}, "lines"),
        ({"note": "x" * 1001}, "note"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invoice_field_mistakes_are_named_and_nothing_is_written(client, session, world, change, field):
    order = received_order(session, world.buyer, world.supplier)
    answer = client.post("/api/v1/invoices", json={**body(order), **change}, headers=world.supplier.headers)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]
    assert session.execute(sa.select(sa.func.count()).select_from(Invoice)).scalar_one() == 0


def test_a_number_is_used_once_per_supplier_but_another_supplier_may_use_it(client, session, world):
    factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer, world.supplier2)
    first, second = received_order(session, world.buyer, world.supplier), received_order(session, world.buyer, world.supplier)
    other = received_order(session, world.buyer, world.supplier2)
    assert client.post("/api/v1/invoices", json=body(first, number="A-1"), headers=world.supplier.headers).status_code == 201
    again = client.post("/api/v1/invoices", json=body(second, number="A-1"), headers=world.supplier.headers)
    assert again.status_code == 422 and again.get_json()["errors"] == {"number": [invoices_service.NUMBER_TAKEN]}
    assert client.post("/api/v1/invoices", json=body(other, number="A-1"), headers=world.supplier2.headers).status_code == 201


def test_the_buyer_decides_and_the_table_refuses_the_rest_with_409(client, session, world):
    order = received_order(session, world.buyer, world.supplier)
    created = client.post("/api/v1/invoices", json=body(order, ("10", "2.60")), headers=world.supplier.headers).get_json()
    assert created["state"] == "exception" and "differs from the order's 2.5" in created["lines"][0]["match_reason"]
    url = f"/api/v1/invoices/{created['id']}"
    assert client.post(f"{url}/reject", json={}, headers=world.buyer.headers).status_code == 422
    assert client.post(f"{url}/approve", json={}, headers=world.supplier.headers).status_code == 403
    approved = client.post(f"{url}/approve", json={"note": "Price rise agreed by phone"}, headers=world.buyer.headers)
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    refused = client.post(f"{url}/reject", json={"reason": "Too late"}, headers=world.buyer.headers)
    assert refused.status_code == 409
    assert refused.get_json()["current_state"] == "approved" and refused.get_json()["allowed_actions"] == []
    cancelled = client.post(f"{url}/cancel", json={"reason": "Wrong price"}, headers=world.supplier.headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["state"] == "cancelled"


def test_credit_notes_through_the_api(client, session, world):
    order = received_order(session, world.buyer, world.supplier)
    created = client.post("/api/v1/invoices", json=body(order), headers=world.supplier.headers).get_json()
    url = f"/api/v1/invoices/{created['id']}/credit-notes"
    note = {"number": "CN-1", "issue_date": TODAY, "reason": "Two returned", "lines": [{"invoice_line_no": 1, "quantity": "2"}]}
    made = client.post(url, json=note, headers=world.supplier.headers)
    assert made.status_code == 201, made.get_json()
    assert (made.get_json()["kind"], made.get_json()["total"], made.get_json()["credited_invoice_id"]) == ("credit_note", "5.95", created["id"])
    invoice_now = client.get(f"/api/v1/invoices/{created['id']}", headers=world.buyer.headers).get_json()
    assert (invoice_now["credited_total"], invoice_now["balance"]) == ("5.95", "67.09")
    assert [n["number"] for n in invoice_now["credit_notes"]] == ["CN-1"]
    for mistake, field in (({"lines": [{"invoice_line_no": 9, "quantity": "1"}]}, "lines"), ({"reason": ""}, "reason"), ({"number": "CN-1"}, "number")):
        answer = client.post(url, json={**note, "number": "CN-2", **mistake}, headers=world.supplier.headers)
        assert answer.status_code == 422 and field in answer.get_json()["errors"], (mistake, answer.get_json())
    assert client.post(url, json={**note, "number": "CN-3"}, headers=world.buyer.headers).status_code == 403
    assert client.post(url, json={**note, "number": "CN-4"}, headers=world.buyer2.headers).status_code == 404


def test_lists_filter_by_side_state_and_overdue(client, session, world, frozen_clock):
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=10)
    first, second = received_order(session, world.buyer, world.supplier), received_order(session, world.buyer, world.supplier)
    matched = invoice(session, world.supplier, first)
    exception = invoice(session, world.supplier, second, ("11", "2.50"))
    invoices_service.approve(session, world.buyer.principal, matched.id)

    def listed(headers, **query):
        answer = client.get("/api/v1/invoices", query_string=query, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return {item["number"] for item in answer.get_json()["items"]}

    assert listed(world.supplier.headers, side="supplier") == {matched.number, exception.number}
    assert listed(world.supplier.headers, side="buyer") == set()
    assert listed(world.buyer.headers, side="buyer", state="exception") == {exception.number}
    assert listed(world.buyer.headers, overdue="true") == set()
    assert listed(world.buyer2.headers) == set()
    frozen_clock.advance(days=11)
    assert listed(world.buyer.headers, overdue="true") == listed(world.supplier.headers, overdue="true") == {matched.number}
    assert client.get(f"/api/v1/invoices/{matched.id}", headers=world.supplier.headers).get_json()["overdue"] is True
    page = client.get("/api/v1/invoices", query_string={"limit": 1}, headers=world.supplier.headers).get_json()
    rest = client.get("/api/v1/invoices", query_string={"limit": 1, "cursor": page["next_cursor"]}, headers=world.supplier.headers).get_json()
    assert len(page["items"]) == len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert client.get("/api/v1/invoices", query_string={"side": "seller"}, headers=world.buyer.headers).status_code == 422


def test_viewers_read_but_take_no_step(client, session, world):
    _viewer, token = factories.add_user(session, world.buyer, Role.VIEWER)
    order = received_order(session, world.buyer, world.supplier)
    made = invoice(session, world.supplier, order, ("10", "2.60"))
    read = client.get(f"/api/v1/invoices/{made.id}", headers=factories.bearer(token))
    assert read.status_code == 200 and read.get_json()["allowed_actions"] == []
    assert client.post(f"/api/v1/invoices/{made.id}/approve", json={}, headers=factories.bearer(token)).status_code == 403


@pytest.mark.real_commits
def test_two_invoices_racing_for_one_number_one_wins_and_the_other_is_told_on_the_field(app, detached_session, detached_world, monkeypatch):
    world = detached_world
    with app.test_request_context():
        orders = [received_order(detached_session, world.buyer, world.supplier) for _ in range(3)]
    detached_session.commit()
    # Each request waits after finding the number free until the others have too (or a
    # second has passed: SQLite lets one writer in at a time, so there they queue).
    checked = threading.Barrier(len(orders))
    real_check = invoices_service.number_taken

    def check_and_wait(session_, supplier_org_id, number):
        taken = real_check(session_, supplier_org_id, number)
        try:
            checked.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass
        return taken

    monkeypatch.setattr(invoices_service, "number_taken", check_and_wait)
    answers = []

    def post(order):
        answer = app.test_client().post("/api/v1/invoices", json=body(order, number="RACE-1"), headers=world.supplier.headers)
        answers.append((answer.status_code, answer.get_json()))

    threads = [threading.Thread(target=post, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(status for status, _ in answers) == [201, 422, 422], answers
    assert all(answer["errors"] == {"number": [invoices_service.NUMBER_TAKEN]} for status, answer in answers if status == 422)
    with database(app).sessionmaker() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Invoice).where(Invoice.number == "RACE-1")).scalar_one() == 1


def test_terms_apply_to_orders_issued_afterwards(client, session, world):
    set_terms(session, world.buyer, world.supplier, settlement=Settlement.OPEN_ACCOUNT, net_days=20)
    order = received_order(session, world.buyer, world.supplier)
    shown = client.get(f"/api/v1/orders/{order.id}", headers=world.supplier.headers).get_json()
    assert (shown["settlement"], shown["net_days"]) == ("open_account", 20)
    made = client.post("/api/v1/invoices", json=body(order), headers=world.supplier.headers).get_json()
    assert made["due_date"] == (clock.utcnow().date() + timedelta(days=20)).isoformat()
    assert client.get(f"/api/v1/invoices/{made['id']}", headers=world.buyer.headers).get_json()["allowed_actions"] == ["approve", "reject"]
