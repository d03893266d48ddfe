"""Input that Python would quietly reinterpret is refused, field by field (issue 9,
finding 9): digits of other scripts, underscores, padding and exponents in amounts; NUL,
control characters and bidirectional overrides in names and numbers; delivery dates no
one can mean; fractional whole numbers; passwords holding control characters."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests import orders_factory
from tests.api.helpers import assert_problem, registration, row_counts

SOON = (date.today() + timedelta(days=14)).isoformat()


@pytest.fixture
def shop(app, session, world):
    with app.test_request_context():
        products, location = orders_factory.catalog_of(session, world.buyer, count=1)
    session.commit()
    return {"product": str(products[0].id), "location": str(location.id)}


def order(world, shop, *, number="PO-STRICT-1", **line):
    return {
        "number": number,
        "supplier_id": str(world.supplier.org.id),
        "currency": "EUR",
        "ship_to_location_id": shop["location"],
        "incoterm": "DAP",
        "payment_terms": "Escrow",
        "lines": [{"product_id": shop["product"], "quantity": "5", "unit_price": "1.00", "requested_date": SOON, **line}],
    }


def test_a_plain_order_is_accepted(client, world, shop):
    """The baseline the refusals below differ from by one field."""
    response = client.post("/api/v1/orders", json=order(world, shop), headers=world.buyer.headers)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("quantity", ["５", "١٢", "1_000", " 5 ", "5 ", "1e3", "+5", "5.", ".5", "0x10", "Infinity"])
def test_amounts_are_plain_ascii_decimals(app, client, world, shop, quantity):
    before = row_counts(app)
    response = client.post("/api/v1/orders", json=order(world, shop, quantity=quantity), headers=world.buyer.headers)
    body = assert_problem(response, 422)
    assert body["errors"]["lines"]["0"]["quantity"] == ['Send a decimal string, such as "12.50".']
    assert row_counts(app) == before


@pytest.mark.parametrize("hidden", ["\x00", "\u202e", "\u2066", "\x1b", "\u200f"])
def test_order_numbers_refuse_control_characters_and_bidi_overrides(client, world, shop, hidden):
    response = client.post("/api/v1/orders", json=order(world, shop, number=f"PO-{hidden}7"), headers=world.buyer.headers)
    body = assert_problem(response, 422)
    assert body["errors"]["number"], body


@pytest.mark.parametrize("hidden", ["\x00", "\u202e", "\u2067", "\x07"])
def test_product_names_refuse_control_characters_and_bidi_overrides(app, client, world, hidden):
    before = row_counts(app)
    response = client.post("/api/v1/products", json={"sku": "S-9", "name": f"Bolt{hidden}gpj.exe", "unit_of_measure": "H87"}, headers=world.buyer.headers)
    assert_problem(response, 422)
    assert row_counts(app) == before


def test_nul_is_refused_in_free_text_too(client, world):
    response = client.post(
        "/api/v1/products", json={"sku": "S-9", "name": "Bolt", "unit_of_measure": "H87", "description": "a\x00b"}, headers=world.buyer.headers
    )
    body = assert_problem(response, 422)
    assert body["errors"]["description"] == ["Must not contain NUL characters."]


@pytest.mark.parametrize(
    "requested", ["0001-01-01", "9999-12-31", (date.today() - timedelta(days=30)).isoformat(), (date.today() + timedelta(days=6 * 366)).isoformat()]
)
def test_delivery_dates_no_one_can_mean_are_refused(client, world, shop, requested):
    response = client.post("/api/v1/orders", json=order(world, shop, requested_date=requested), headers=world.buyer.headers)
    body = assert_problem(response, 422)
    assert body["errors"]["lines"]["0"]["requested_date"], body


@pytest.mark.parametrize("days", [1.5, 30.0, "1.5", True, "３０"])
def test_token_lifetimes_are_whole_days(client, world, days):
    response = client.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": days}, headers=world.buyer.headers)
    body = assert_problem(response, 422)
    assert body["errors"]["expires_in_days"] == ["Not a valid integer."]


@pytest.mark.parametrize("limit", ["５", "1.5", "1e1"])
def test_page_sizes_are_whole_numbers(client, world, limit):
    body = assert_problem(client.get("/api/v1/orders", query_string={"limit": limit}, headers=world.buyer.headers), 422)
    assert body["errors"]["limit"] == ["Not a valid integer."]


def test_a_password_of_nuls_and_letters_is_refused(app, client):
    body = registration()
    body["admin"]["password"] = "\x00\x00\x00\x00Abcdefghij"
    before = row_counts(app)
    problem = assert_problem(client.post("/api/v1/registrations", json=body), 422)
    assert problem["errors"]["admin"]["password"] == ["Must not contain NUL characters."]
    assert row_counts(app) == before
    body["admin"]["password"] = "\x01\x02\x03\x04Abcdefghij"
    problem = assert_problem(client.post("/api/v1/registrations", json=body), 422)
    assert "control or invisible characters" in " ".join(problem["errors"]["admin.password"]), problem
    assert row_counts(app) == before


def test_a_password_with_a_zero_width_character_is_refused(client):
    body = registration()
    body["admin"]["password"] = "Correct\u200bHorse-42"
    problem = assert_problem(client.post("/api/v1/registrations", json=body), 422)
    assert "control or invisible characters" in " ".join(problem["errors"]["admin.password"]), problem
