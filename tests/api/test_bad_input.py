"""Bad input is a clear 4xx problem+json, never a 500, and nothing is half-written.

Every test counts the rows of every table before and after: a refused request leaves the
database as it found it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid

import pytest
from concord.auth.models import ApiToken
from concord.tenancy import service as tenancy
from concord.tenancy import users
from concord.tenancy.models import Invitation, PartnershipStatus, Role, User

from tests import factories
from tests.api.helpers import assert_problem, fetch, login, registration, row_counts
from tests.factories import PASSWORD, bearer

OPENAPI_PATH = "/api/v1/openapi.json"
COMMON = "This password is among the most commonly used passwords; choose another."
TOO_SHORT = "Use at least 8 characters."
TOO_LONG = "Use at most 64 characters."
LONG_65 = "Vx7-" * 16 + "Q"
LONG_64 = "Vx7-" * 16


# Operations whose 422 keys each field's messages by JSON pointer (RFC 6901), not by name.
POINTER_KEYED_OPERATIONS = {("POST", "/api/v1/epcis/capture")}


def json_body_operations(client) -> list[tuple[str, str]]:
    """(method, path template) of every operation whose OpenAPI entry takes a JSON body."""
    document = client.get(OPENAPI_PATH).get_json()
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "application/json" in operation.get("requestBody", {}).get("content", {}):
                found.append((method.upper(), path))
    return found


def concrete(path: str) -> str:
    """A path template with every parameter replaced by a well-formed id (the body is
    refused before any lookup)."""
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)


# --- malformed bodies on every operation that takes one ---------------------------------------


def test_the_body_taking_operations_are_the_ones_we_expect(api):
    operations = json_body_operations(api)
    assert ("POST", "/api/v1/registrations") in operations and ("PATCH", "/api/v1/organizations/{org_id}") in operations
    assert len(operations) >= 12, operations


@pytest.mark.parametrize(
    "case, send, status, errors",
    [
        ("malformed JSON", {"data": '{"email": "x@y.test",', "content_type": "application/json"}, 400, {"json": ["Invalid JSON body."]}),
        ("truncated JSON", {"data": "{", "content_type": "application/json"}, 400, {"json": ["Invalid JSON body."]}),
        ("a JSON list", {"json": [{"email": "x@y.test"}]}, 422, {"_schema": ["Invalid input type."]}),
        ("a JSON string", {"json": "hello"}, 422, {"_schema": ["Invalid input type."]}),
        ("a JSON number", {"json": 42}, 422, {"_schema": ["Invalid input type."]}),
        ("an unknown field", {"json": {"zz_unknown": 1}}, 422, None),
    ],
)
def test_every_json_operation_refuses_a_malformed_body_with_a_4xx(app, api, consortium, case, send, status, errors):
    headers = consortium.buyer.headers
    before = row_counts(app)
    for method, path in json_body_operations(api):
        response = api.open(concrete(path), method=method, headers=headers, **send)
        body = assert_problem(response, status)
        if errors is not None:
            assert body["errors"] == errors, (case, method, path, body)
        else:
            # An EPCIS capture names each mistake by the JSON pointer of its field.
            field = "/zz_unknown" if (method, path) in POINTER_KEYED_OPERATIONS else "zz_unknown"
            assert body["errors"][field] == ["Unknown field."], (case, method, path, body)
        if status == 400:
            assert body["detail"] == "The request body is not valid JSON."
    assert row_counts(app) == before


def test_every_json_operation_refuses_a_body_over_max_content_length_with_413(app, api, consortium):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 1024 * 1024
    # A batch of stock records may carry up to its own, larger limit.
    own_limits = {"/api/v1/vmi/stock-records": app.config["VMI_BATCH_MAX_BYTES"]}
    before = row_counts(app)
    for method, path in json_body_operations(api):
        oversize = json.dumps({"padding": "x" * own_limits.get(path, limit)})
        for extra in ({}, {"Idempotency-Key": "big-body"}):
            response = api.open(concrete(path), method=method, headers={**consortium.buyer.headers, **extra}, data=oversize, content_type="application/json")
            assert_problem(response, 413, detail="The request body is larger than this API accepts.")
    assert row_counts(app) == before


def test_an_overlong_field_is_a_field_error(app, api):
    body = registration(organization={"legal_name": "x" * 201})
    response = api.post("/api/v1/registrations", json=body)
    assert_problem(response, 422, errors={"organization": {"legal_name": ["Length must be between 1 and 200."]}})


# --- registration fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, errors",
    [
        (
            {"organization": {"capabilities": "buyer", "country": 49}, "admin": {"email": 5, "full_name": ["A"]}},
            {
                "organization": {"capabilities": ["Not a valid list."], "country": ["Not a valid string."]},
                "admin": {"email": ["Not a valid email address."], "full_name": ["Not a valid string."]},
            },
        ),
        (
            {"organization": {"capabilities": ["buyer", "pirate"], "country": "Germany", "contact_email": "nobody"}},
            {
                "organization": {
                    "capabilities": {"1": ["Must be one of: buyer, supplier, carrier, financier, auditor."]},
                    "country": ["Use the ISO 3166-1 alpha-2 code of a country, such as DE for Germany."],
                    "contact_email": ["Not a valid email address."],
                }
            },
        ),
        (
            {"organization": {"legal_name": "   ", "capabilities": []}, "admin": {"full_name": ""}},
            {
                "organization": {"legal_name": ["Must not be blank."], "capabilities": ["Length must be between 1 and 5."]},
                "admin": {"full_name": ["Length must be between 1 and 200.", "Must not be blank."]},
            },
        ),
        ({"organization": {"is_operator": True}}, {"organization": {"is_operator": ["Unknown field."]}}),
        ({"admin": {"role": "admin"}, "status": "active"}, {"admin": {"role": ["Unknown field."]}, "status": ["Unknown field."]}),
    ],
    ids=["wrong-types", "wrong-values", "blank", "unknown-nested", "unknown-top-and-nested"],
)
def test_registration_reports_each_bad_field(app, api, overrides, errors):
    before = row_counts(app)
    response = api.post("/api/v1/registrations", json=registration(**overrides))
    assert_problem(response, 422, title="Validation failed", detail="The request has invalid fields.", errors=errors)
    assert row_counts(app) == before


def test_registration_reports_every_missing_field(app, api):
    before = row_counts(app)
    missing = "Missing data for required field."
    assert_problem(api.post("/api/v1/registrations", json={}), 422, errors={"organization": [missing], "admin": [missing]})
    response = api.post("/api/v1/registrations", json={"organization": {}, "admin": {"email": "a@b.test"}})
    assert_problem(
        response,
        422,
        errors={
            "organization": {name: [missing] for name in ("legal_name", "registration_number", "country", "contact_name", "contact_email", "capabilities")},
            "admin": {"full_name": [missing], "password": [missing]},
        },
    )
    assert row_counts(app) == before


def test_a_duplicate_registration_number_in_the_same_country_is_409_whatever_the_spelling(app, api, consortium):
    first = api.post("/api/v1/registrations", json=registration(organization={"registration_number": "HRB 1234", "country": "DE"}))
    assert first.status_code == 201
    before = row_counts(app)
    for number, country in (("HRB 1234", "DE"), (" HRB 1234 ", "de")):
        response = api.post("/api/v1/registrations", json=registration(organization={"registration_number": number, "country": country}))
        assert_problem(response, 409, errors={"organization.registration_number": ["Already registered."]})
    assert row_counts(app) == before
    # The same number in another country is another company.
    elsewhere = api.post("/api/v1/registrations", json=registration(organization={"registration_number": "HRB 1234", "country": "AT"}))
    assert elsewhere.status_code == 201, elsewhere.get_json()


def test_a_registration_whose_admin_email_is_already_a_user_is_409(app, api, consortium):
    before = row_counts(app)
    for email in (consortium.supplier.admin.email, consortium.supplier.admin.email.upper(), f"  {consortium.operator.admin.email}"):
        response = api.post("/api/v1/registrations", json=registration(admin={"email": email}))
        if email.startswith(" "):
            # Leading blanks are not a valid address at all.
            assert_problem(response, 422, errors={"admin": {"email": ["Not a valid email address."]}})
        else:
            assert_problem(response, 409, errors={"admin.email": ["This email is already registered."]})
    assert row_counts(app) == before


# --- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, problems",
    [
        ("Sh0rt!x", [TOO_SHORT]),
        ("password", [COMMON]),
        ("Password", [COMMON]),
        ("aaaaaaaaaa", ["This password repeats too few characters to be safe."]),
        ("abababababab", ["This password repeats too few characters to be safe."]),
        (LONG_65, [TOO_LONG]),
        ("x" * 300, ["Length must be between 1 and 256."]),
    ],
    ids=["too-short", "common", "common-any-case", "one-character", "too-few-characters", "65-characters", "far-too-long"],
)
def test_registration_refuses_a_weak_password_and_writes_nothing(app, api, password, problems):
    before = row_counts(app)
    response = api.post("/api/v1/registrations", json=registration(admin={"password": password}))
    if len(password) > 256:  # refused by the schema before the password rules run
        assert_problem(response, 422, errors={"admin": {"password": problems}})
    else:
        assert_problem(response, 422, errors={"admin.password": problems})
    assert row_counts(app) == before


def test_registration_refuses_the_admins_email_as_password(app, api):
    before = row_counts(app)
    response = api.post("/api/v1/registrations", json=registration(admin={"email": "Orchid.Keeper@example.test", "password": "orchid.keeper"}))
    assert_problem(response, 422, errors={"admin.password": ["The password must not be your email address."]})
    assert row_counts(app) == before


def test_a_password_of_exactly_64_characters_is_accepted(app, api):
    response = api.post("/api/v1/registrations", json=registration(admin={"password": LONG_64}))
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    "current, new, errors",
    [
        ("Wrong-Password-1", "Fresh-Meadow-Lantern-8", {"current_password": ["The current password is incorrect."]}),
        (PASSWORD, "Sh0rt!x", {"new_password": [TOO_SHORT]}),
        (PASSWORD, "iloveyou", {"new_password": [COMMON]}),
        (PASSWORD, LONG_65, {"new_password": [TOO_LONG]}),
        (PASSWORD, PASSWORD, {"new_password": ["The new password must differ from the current one."]}),
        (PASSWORD, "", None),
    ],
    ids=["wrong-current", "too-short", "common", "65-characters", "unchanged", "empty"],
)
def test_a_refused_password_change_keeps_the_old_password(app, api, consortium, current, new, errors):
    admin = consortium.buyer.admin
    before = row_counts(app)
    response = api.post("/api/v1/me/password", json={"current_password": current, "new_password": new}, headers=consortium.buyer.headers)
    if errors is None:
        assert_problem(response, 422, errors={"new_password": ["Length must be between 1 and 256."]})
    else:
        assert_problem(response, 422, errors=errors)
    assert row_counts(app) == before
    assert fetch(app, User, admin.id).password_hash == admin.password_hash
    assert api.post("/api/v1/auth/token", json={"email": admin.email, "password": PASSWORD}).status_code == 201


def test_a_good_password_change_is_204_and_the_old_password_stops_working(app, api, consortium):
    admin = consortium.buyer.admin
    response = api.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": LONG_64}, headers=consortium.buyer.headers)
    assert response.status_code == 204 and response.get_data() == b""
    assert_problem(api.post("/api/v1/auth/token", json={"email": admin.email, "password": PASSWORD}), 401)
    login(api, admin.email, LONG_64)


def test_accepting_an_invitation_with_a_weak_password_creates_no_user(app, api, arrange, consortium):
    with app.test_request_context():
        invitation, raw = users.invite_user(arrange, consortium.buyer.principal, email="weak@example.test", role=Role.MEMBER)
    arrange.commit()
    before = row_counts(app)
    response = api.post("/api/v1/invitations/accept", json={"token": raw, "full_name": "Wea K", "password": "qwertyuiop"})
    assert_problem(response, 422, errors={"password": [COMMON]})
    assert row_counts(app) == before
    assert fetch(app, Invitation, invitation.id).state == "pending"


# --- path parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/organizations/not-a-uuid"),
        ("PATCH", "/api/v1/organizations/12345"),
        ("POST", "/api/v1/organizations/not-a-uuid/approve"),
        ("GET", "/api/v1/users/0"),
        ("POST", "/api/v1/users/abc/disable"),
        ("GET", "/api/v1/invitations/xyz"),
        ("POST", "/api/v1/partnerships/1/accept"),
        ("GET", "/api/v1/tokens/zzzz-zzzz"),
        ("GET", "/api/v1/audit/%27%20OR%201=1"),
        ("GET", "/api/v1/partnerships/00000000-0000-0000-0000-00000000000g"),
    ],
)
def test_a_malformed_id_in_the_path_is_404(app, api, consortium, method, path):
    before = row_counts(app)
    response = api.open(path, method=method, headers=consortium.operator.headers, json={})
    assert_problem(response, 404, detail="No such resource.")
    assert row_counts(app) == before


# --- invitations ------------------------------------------------------------------------------


def test_invitation_fields_are_checked(app, api, consortium):
    before = row_counts(app)
    response = api.post("/api/v1/invitations", json={"email": "not-an-email", "role": "owner"}, headers=consortium.buyer.headers)
    assert_problem(response, 422, errors={"email": ["Not a valid email address."], "role": ["Must be one of: admin, member, viewer."]})
    response = api.post("/api/v1/invitations", json={"role": "member"}, headers=consortium.buyer.headers)
    assert_problem(response, 422, errors={"email": ["Missing data for required field."]})
    assert row_counts(app) == before


def test_inviting_an_email_twice_is_409_until_the_first_invitation_is_revoked(app, api, consortium):
    headers = consortium.buyer.headers
    first = api.post("/api/v1/invitations", json={"email": "twice@example.test"}, headers=headers)
    assert first.status_code == 201 and first.get_json()["role"] == "member"
    before = row_counts(app)
    for email in ("twice@example.test", "TWICE@Example.test"):
        response = api.post("/api/v1/invitations", json={"email": email, "role": "viewer"}, headers=headers)
        assert_problem(response, 409, errors={"email": ["Already invited."]})
    assert row_counts(app) == before
    assert api.post(f"/api/v1/invitations/{first.get_json()['id']}/revoke", headers=headers).status_code == 200
    assert api.post("/api/v1/invitations", json={"email": "twice@example.test"}, headers=headers).status_code == 201


def test_inviting_someone_who_already_has_an_account_is_409(app, api, consortium):
    before = row_counts(app)
    for email in (consortium.buyer.admin.email, consortium.supplier.admin.email.upper()):
        response = api.post("/api/v1/invitations", json={"email": email}, headers=consortium.buyer.headers)
        assert_problem(response, 409, errors={"email": ["This email is already registered."]})
    assert row_counts(app) == before


# --- partnerships -------------------------------------------------------------------------


@pytest.fixture
def outsiders(app, arrange, consortium):
    """A pending and a suspended supplier."""
    with app.test_request_context():
        pending = factories.member(arrange, None, "supplier", name="Pending Supplies", approve=False)
        suspended = factories.member(arrange, consortium.operator, "supplier", name="Suspended Supplies")
        tenancy.transition_organization(arrange, consortium.operator.principal, suspended.org.id, "suspend")
    arrange.commit()
    return pending.org, suspended.org


def test_a_partnership_request_must_name_another_active_member(app, api, consortium, outsiders):
    pending, suspended = outsiders
    headers = consortium.buyer.headers
    before = row_counts(app)
    cases = [
        (consortium.buyer.org.id, "An organization cannot partner with itself."),
        (suspended.id, "No active consortium member has this id."),
        (pending.id, "No active consortium member has this id."),
        (uuid.uuid4(), "No active consortium member has this id."),
    ]
    for counterparty, message in cases:
        response = api.post("/api/v1/partnerships", json={"relation": "buyer_supplier", "counterparty_id": str(counterparty)}, headers=headers)
        assert_problem(response, 422, errors={"counterparty_id": [message]})
    assert row_counts(app) == before


def test_partnership_fields_are_checked(app, api, consortium):
    before = row_counts(app)
    response = api.post(
        "/api/v1/partnerships",
        json={"relation": "friends", "counterparty_id": "not-a-uuid", "my_side": "boss", "message": "m" * 501},
        headers=consortium.buyer.headers,
    )
    body = assert_problem(response, 422)
    assert body["errors"]["relation"] == ["Must be one of: buyer_supplier, shipper_carrier, supplier_financier, party_auditor, buyer_financier."]
    assert body["errors"]["counterparty_id"] == ["Not a valid UUID."]
    assert body["errors"]["message"] == ["Longer than maximum length 500."]
    assert set(body["errors"]) == {"relation", "counterparty_id", "my_side", "message"}
    # A relation the two organizations' capabilities cannot fill.
    response = api.post(
        "/api/v1/partnerships", json={"relation": "shipper_carrier", "counterparty_id": str(consortium.supplier.org.id)}, headers=consortium.buyer.headers
    )
    assert_problem(
        response, 422, errors={"my_side": ["A shipper_carrier partnership needs a shipper and a carrier; these organizations' capabilities do not fit."]}
    )
    assert row_counts(app) == before


def test_asking_twice_for_the_same_partnership_is_409_from_either_side(app, api, consortium):
    buyer, supplier = consortium.buyer, consortium.supplier
    first = api.post("/api/v1/partnerships", json={"relation": "buyer_supplier", "counterparty_id": str(supplier.org.id)}, headers=buyer.headers)
    assert first.status_code == 201
    partnership_id = first.get_json()["id"]
    before = row_counts(app)
    again = api.post(
        "/api/v1/partnerships", json={"relation": "buyer_supplier", "counterparty_id": str(supplier.org.id), "message": "hello?"}, headers=buyer.headers
    )
    assert_problem(again, 409, current_state="requested", partnership_id=partnership_id, detail="This partnership already exists and is requested.")
    mirrored = api.post(
        "/api/v1/partnerships", json={"relation": "buyer_supplier", "counterparty_id": str(buyer.org.id), "my_side": "supplier"}, headers=supplier.headers
    )
    assert_problem(mirrored, 409, current_state="requested", partnership_id=partnership_id)
    assert row_counts(app) == before
    assert api.post(f"/api/v1/partnerships/{partnership_id}/accept", headers=supplier.headers).status_code == 200
    active = api.post("/api/v1/partnerships", json={"relation": "buyer_supplier", "counterparty_id": str(supplier.org.id)}, headers=buyer.headers)
    assert_problem(active, 409, current_state="active", partnership_id=partnership_id)
    assert api.get(f"/api/v1/partnerships/{partnership_id}", headers=buyer.headers).get_json()["status"] == PartnershipStatus.ACTIVE


# --- tokens -----------------------------------------------------------------------------------


def test_an_expired_token_is_401(app, api, consortium, frozen_clock):
    admin = consortium.buyer.admin
    created = api.post("/api/v1/auth/token", json={"email": admin.email, "password": PASSWORD, "expires_in_days": 1})
    assert created.status_code == 201
    headers = bearer(created.get_json()["token"])
    frozen_clock.advance(days=1, seconds=-1)
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    frozen_clock.advance(seconds=1)
    response = api.get("/api/v1/me", headers=headers)
    assert_problem(response, 401, detail="The bearer token is expired.")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="concord"'
    before = row_counts(app)
    refused = api.post("/api/v1/invitations", json={"email": "late@example.test"}, headers=headers)
    assert_problem(refused, 401, detail="The bearer token is expired.")
    assert row_counts(app) == before
    # Only that token expired: the admin's 30-day token still works.
    assert api.get("/api/v1/me", headers=consortium.buyer.headers).status_code == 200


def test_a_revoked_token_is_401_and_other_tokens_keep_working(app, api, consortium):
    admin = consortium.buyer.admin
    created = api.post("/api/v1/auth/token", json={"email": admin.email, "password": PASSWORD, "token_name": "laptop"}).get_json()
    headers = bearer(created["token"])
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    revoked = api.post(f"/api/v1/tokens/{created['id']}/revoke", headers=consortium.buyer.headers)
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert fetch(app, ApiToken, uuid.UUID(created["id"])).revoked_at is not None
    before = row_counts(app)
    response = api.post("/api/v1/invitations", json={"email": "after-revoke@example.test"}, headers=headers)
    assert_problem(response, 401, detail="The bearer token is revoked.")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="concord"'
    assert row_counts(app) == before
    assert api.get("/api/v1/me", headers=consortium.buyer.headers).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    ["Bearer cnc_not-a-real-token", "Bearer " + "x" * 5000, "Basic dXNlcjpwYXNz", "Bearer", "cnc_no-scheme", ""],
)
def test_a_missing_or_unknown_token_is_401(app, api, authorization):
    before = row_counts(app)
    response = api.get("/api/v1/me", headers={"Authorization": authorization} if authorization else {})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="concord"'
    assert row_counts(app) == before


def test_token_lifetimes_outside_the_allowed_range_are_422(app, api, consortium):
    before = row_counts(app)
    for days in (0, 366, -1):
        response = api.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": days}, headers=consortium.buyer.headers)
        assert_problem(response, 422, errors={"expires_in_days": ["Must be greater than or equal to 1 and less than or equal to 365."]})
    response = api.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": "forever"}, headers=consortium.buyer.headers)
    assert_problem(response, 422, errors={"expires_in_days": ["Not a valid integer."]})
    assert row_counts(app) == before


# --- deeply nested JSON -------------------------------------------------------------------------

_NESTING_PROBE = """
import sys, tempfile
import eth_account  # noqa: F401  (as in production: the ledger's import raises the recursion limit)
from concord.app import create_app
assert sys.getrecursionlimit() >= 100000, sys.getrecursionlimit()
app = create_app({"SQLALCHEMY_DATABASE_URL": "sqlite://", "SECRET_KEY": "probe", "INSTANCE_DIR": tempfile.mkdtemp(), "TESTING": True})
client = app.test_client()
# Unterminated escapes: a string scanner that backtracks would take minutes on this.
quotes = client.post("/api/v1/registrations", data='"\\\\' * 300000, content_type="application/json")
print(quotes.status_code, quotes.get_json()["errors"])
response = client.post("/api/v1/registrations", data="[" * 400000, content_type="application/json")
print(response.status_code, response.mimetype)
"""


def test_a_deeply_nested_or_pathological_body_is_400_and_neither_crashes_nor_stalls_the_worker(tmp_path):
    """Half a megabyte of `[` once overflowed the C stack of the JSON parser (a segfault
    from one anonymous request), and the nesting check must itself stay linear on
    unterminated strings. Run in a child process so that a regression fails this test
    instead of killing the test session."""
    child = subprocess.run([sys.executable, "-c", _NESTING_PROBE], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    lines = child.stdout.splitlines()
    assert lines[-2] == "400 {'json': ['Invalid JSON body.']}", child.stdout
    assert lines[-1] == "400 application/problem+json", child.stdout


@pytest.mark.parametrize(
    "path, build",
    [
        ("/api/v1/registrations", lambda depth: "[" * depth + "]" * depth),
        ("/api/v1/registrations", lambda depth: '{"a":' * depth + "1" + "}" * depth),
        ("/api/v1/invitations", lambda depth: '{"email": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"),
    ],
    ids=["arrays", "objects", "inside-a-field"],
)
def test_json_nested_past_the_limit_is_400_and_at_the_limit_is_judged_normally(app, api, consortium, path, build):
    from concord.api_common import MAX_JSON_DEPTH

    headers = consortium.buyer.headers
    before = row_counts(app)
    too_deep = api.post(path, data=build(MAX_JSON_DEPTH + 1), content_type="application/json", headers=headers)
    assert_problem(too_deep, 400, errors={"json": [f"Objects and arrays may be nested at most {MAX_JSON_DEPTH} deep."]})
    at_limit = api.post(path, data=build(MAX_JSON_DEPTH), content_type="application/json", headers=headers)
    assert_problem(at_limit, 422)  # parsed, then refused field by field
    assert row_counts(app) == before


def test_brackets_inside_strings_do_not_count_as_nesting(app, api):
    body = registration(organization={"legal_name": "[[[[{{{{" * 20 + ' \\" ]]]] "quoted"'})
    response = api.post("/api/v1/registrations", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["organization"]["legal_name"] == body["organization"]["legal_name"]
