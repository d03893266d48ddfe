"""Legal names are unique among members after normalisation, and a new one waits for the
operator's review (issue 9, finding 6)."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_problem, registration, row_counts
from tests.security.helpers import audit_entries


def rename(client, member, name):
    return client.patch(f"/api/v1/organizations/{member.org.id}", json={"legal_name": name}, headers=member.headers)


def directory_names(client, member) -> set[str]:
    return {entry["legal_name"] for entry in client.get("/api/v1/directory?limit=200", headers=member.headers).get_json()["items"]}


@pytest.mark.parametrize("taken", ["Supplier One Ltd", "SUPPLIER ONE LTD.", "supplier  one, ltd", "Ｓupplier One Ltd"])
def test_a_member_cannot_take_another_members_name(app, client, world, taken):
    before = row_counts(app)
    body = assert_problem(rename(client, world.buyer, taken), 409)
    assert body["errors"] == {"legal_name": ["Another organization goes by this legal name."]}
    assert row_counts(app) == before
    assert client.get(f"/api/v1/organizations/{world.buyer.org.id}", headers=world.buyer.headers).get_json()["pending_legal_name"] is None


def test_a_new_name_waits_for_the_operator_then_shows_everywhere(app, client, world):
    response = rename(client, world.buyer, "Buyer One Holding GmbH")
    assert response.status_code == 200, response.get_json()
    shown = response.get_json()
    assert shown["legal_name"] == "Buyer One GmbH" and shown["pending_legal_name"] == "Buyer One Holding GmbH"
    assert "Buyer One GmbH" in directory_names(client, world.supplier)
    # Nobody else may ask for the name meanwhile, nor register under it.
    assert_problem(rename(client, world.buyer2, "buyer one holding gmbh"), 409)
    assert_problem(client.post("/api/v1/registrations", json=registration(organization={"legal_name": "Buyer One Holding GmbH"})), 409)
    # Only the operator decides: the member itself is refused, another member sees no such organization.
    assert_problem(client.post(f"/api/v1/organizations/{world.buyer.org.id}/legal-name/approve", json={}, headers=world.buyer.headers), 403)
    assert_problem(client.post(f"/api/v1/organizations/{world.buyer.org.id}/legal-name/approve", json={}, headers=world.supplier.headers), 404)
    approved = client.post(
        f"/api/v1/organizations/{world.buyer.org.id}/legal-name/approve", json={"reason": "Commercial register extract checked"}, headers=world.operator.headers
    )
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["legal_name"] == "Buyer One Holding GmbH" and approved.get_json()["pending_legal_name"] is None
    assert "Buyer One Holding GmbH" in directory_names(client, world.supplier)
    assert_problem(client.post(f"/api/v1/organizations/{world.buyer.org.id}/legal-name/approve", json={}, headers=world.operator.headers), 409)
    actions = [e.action for e in audit_entries(app) if e.object_id == str(world.buyer.org.id) and "legal_name" in e.action]
    assert actions == ["organization:legal_name_requested", "organization:legal_name_approved"]


def test_a_rejected_name_leaves_the_current_one(client, world):
    assert rename(client, world.supplier, "Supplier One International Ltd").status_code == 200
    rejected = client.post(
        f"/api/v1/organizations/{world.supplier.org.id}/legal-name/reject", json={"reason": "Not the registered name"}, headers=world.operator.headers
    )
    assert rejected.status_code == 200
    assert rejected.get_json()["legal_name"] == "Supplier One Ltd" and rejected.get_json()["pending_legal_name"] is None
    assert "Supplier One Ltd" in directory_names(client, world.buyer)


def test_registration_under_a_members_name_is_refused_and_writes_nothing(app, client, world):
    before = row_counts(app)
    body = assert_problem(client.post("/api/v1/registrations", json=registration(organization={"legal_name": "buyer one gmbh"})), 409)
    assert body["errors"] == {"organization.legal_name": ["Another organization goes by this legal name."]}
    assert row_counts(app) == before


def test_contact_details_still_change_at_once(client, world):
    response = client.patch(f"/api/v1/organizations/{world.buyer.org.id}", json={"contact_name": "Procurement desk"}, headers=world.buyer.headers)
    assert response.status_code == 200 and response.get_json()["contact_name"] == "Procurement desk"
