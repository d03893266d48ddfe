"""Text no database can store and cursors at the edges of the calendar are refused with a
422 naming the field, never a 500 (issue 9, findings 1 and 2)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.helpers import assert_problem, registration

LONE_SURROGATE = "\\ud800"  # as a JSON escape: half of a UTF-16 pair


def _json_with_surrogate(body: dict, field: str) -> bytes:
    """`body` as JSON text with the string at `field` ending in a lone surrogate escape."""
    marker = "@@SURROGATE@@"
    target = body
    *parents, last = field.split(".")
    for name in parents:
        target = target[name]
    target[last] = f"{target[last]}{marker}"
    return json.dumps(body).replace(marker, LONE_SURROGATE).encode()


def _post(api, path: str, raw: bytes, headers: dict | None = None):
    return api.post(path, data=raw, headers={"Content-Type": "application/json", **(headers or {})})


def test_login_with_a_lone_surrogate_is_a_422_naming_the_field(api):
    raw = _json_with_surrogate({"email": "someone@example.test", "password": "Correct-Horse-42"}, "email")
    body = assert_problem(_post(api, "/api/v1/auth/token", raw), 422)
    assert "lone surrogate" in body["errors"]["email"][0]


def test_registration_names_the_nested_field(api):
    raw = _json_with_surrogate(registration(), "organization.legal_name")
    body = assert_problem(_post(api, "/api/v1/registrations", raw), 422)
    assert "lone surrogate" in body["errors"]["organization"]["legal_name"][0]


def test_a_surrogate_in_a_field_name_is_refused(api):
    raw = b'{"token": "abc", "\\udfff": 1, "full_name": "A", "password": "Correct-Horse-42"}'
    body = assert_problem(_post(api, "/api/v1/invitations/accept", raw), 422)
    assert "field name" in body["errors"]["_schema"][0]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/products", {"sku": "S-1", "name": "Bolt", "unit_of_measure": "H87"}, "name"),
        ("/api/v1/tokens", {"name": "ci", "expires_in_days": 30}, "name"),
    ],
)
def test_authenticated_writes_refuse_lone_surrogates_and_write_nothing(api, consortium, app, path, body, field):
    from tests.api.helpers import row_counts

    before = row_counts(app)
    response = _post(api, path, _json_with_surrogate(body, field), consortium.supplier.headers)
    problem = assert_problem(response, 422)
    assert "lone surrogate" in problem["errors"][field][0]
    assert row_counts(app) == before


def test_order_line_with_a_surrogate_names_the_line(api, consortium):
    raw = (
        b'{"supplier_id": "' + str(consortium.supplier.org.id).encode() + b'", "currency": "EUR",'
        b' "lines": [{"product_sku": "S-1", "description": "x\\ud83d", "quantity": "1", "unit_price": "1.00"}]}'
    )
    body = assert_problem(_post(api, "/api/v1/orders", raw, consortium.buyer.headers), 422)
    assert "lone surrogate" in body["errors"]["lines"]["0"]["description"][0]


def _cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/products", "/api/v1/notifications"])
def test_cursors_at_the_edge_of_the_calendar_are_refused(api, consortium, moment, path):
    cursor = _cursor({"dt": moment}, {"uuid": "00000000-0000-0000-0000-000000000000"})
    response = api.get(path, query_string={"cursor": cursor}, headers=consortium.buyer.headers)
    body = assert_problem(response, 422)
    assert body["errors"] == {"cursor": ["Not a cursor this API issued."]}
