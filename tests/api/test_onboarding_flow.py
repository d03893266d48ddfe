"""The whole onboarding story, through the API only: a company registers, the operator
admits it, its admin logs in and invites a colleague, who joins; the newcomer asks an
existing member for a partnership, which that member accepts. Every step leaves an audit
entry the new organization can read."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.tenancy.models import Invitation, Organization, OrgStatus, Partnership, PartnershipStatus, Role, User

from tests.api.helpers import assert_problem, fetch, login, registration, select_all
from tests.factories import bearer

NEW_ADMIN_PASSWORD = "Violet-Lantern-Harbour-7"
INVITEE_PASSWORD = "Quiet-Orchard-Ledger-19"


def test_a_company_registers_is_approved_invites_a_colleague_and_partners_with_a_supplier(app, api, consortium):
    op, supplier = consortium.operator, consortium.supplier
    body = registration(
        organization={"legal_name": "Kestrel Foods GmbH", "registration_number": " HRB 4711 ", "country": "de", "capabilities": ["buyer"]},
        admin={"full_name": "Katrin Kestrel", "email": "Katrin@Kestrel.test", "password": NEW_ADMIN_PASSWORD},
    )

    # 1. The company registers; it is pending and its admin cannot act yet.
    registered = api.post("/api/v1/registrations", json=body)
    assert registered.status_code == 201, registered.get_json()
    org_view = registered.get_json()["organization"]
    org_id, admin_id = uuid.UUID(org_view["id"]), uuid.UUID(registered.get_json()["admin_user_id"])
    assert org_view["status"] == "pending"
    assert org_view["registration_number"] == "HRB 4711" and org_view["country"] == "DE"
    assert org_view["capabilities"] == ["buyer"] and org_view["is_operator"] is False
    admin = fetch(app, User, admin_id)
    assert (admin.organization_id, admin.email, admin.role) == (org_id, "katrin@kestrel.test", Role.ADMIN)
    assert admin.password_hash != NEW_ADMIN_PASSWORD
    early = api.post("/api/v1/auth/token", json={"email": "katrin@kestrel.test", "password": NEW_ADMIN_PASSWORD})
    assert_problem(early, 403, detail="Your organization is awaiting approval by the consortium operator.")

    # 2. The operator finds it among the pending registrations and approves it.
    pending = api.get("/api/v1/organizations", query_string={"status": "pending"}, headers=op.headers)
    assert [o["id"] for o in pending.get_json()["items"]] == [str(org_id)]
    approved = api.post(f"/api/v1/organizations/{org_id}/approve", json={"reason": "Documents checked"}, headers=op.headers)
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "active" and approved.get_json()["status_reason"] == "Documents checked"
    assert fetch(app, Organization, org_id).status == OrgStatus.ACTIVE

    # 3. Its admin exchanges the password for a token (the email is matched case-insensitively).
    admin_headers = bearer(login(api, "KATRIN@kestrel.test", NEW_ADMIN_PASSWORD, token_name="ERP sync"))
    me = api.get("/api/v1/me", headers=admin_headers).get_json()
    assert me["user"]["id"] == str(admin_id) and me["organization"]["id"] == str(org_id)
    assert me["authenticated_via"] == "token" and me["user"]["role"] == "admin"

    # 4. The admin invites a colleague; the response carries the one-time token.
    invited = api.post("/api/v1/invitations", json={"email": "Paul@Kestrel.test", "role": "member"}, headers=admin_headers)
    assert invited.status_code == 201, invited.get_json()
    invitation = invited.get_json()
    assert (invitation["email"], invitation["role"], invitation["state"]) == ("paul@kestrel.test", "member", "pending")
    assert invitation["token"] and invitation["token"] in invitation["accept_url"]
    listed = api.get("/api/v1/invitations", headers=admin_headers).get_json()["items"]
    assert [i["id"] for i in listed] == [invitation["id"]] and "token" not in listed[0]

    # 5. The colleague accepts (no credentials needed) and logs in.
    joined = api.post("/api/v1/invitations/accept", json={"token": invitation["token"], "full_name": "Paul Partner", "password": INVITEE_PASSWORD})
    assert joined.status_code == 201, joined.get_json()
    invitee = joined.get_json()
    assert (invitee["organization_id"], invitee["email"], invitee["role"], invitee["status"]) == (str(org_id), "paul@kestrel.test", "member", "active")
    invitee_headers = bearer(login(api, "paul@kestrel.test", INVITEE_PASSWORD))
    assert api.get("/api/v1/me", headers=invitee_headers).get_json()["user"]["id"] == invitee["id"]
    assert fetch(app, Invitation, uuid.UUID(invitation["id"])).state == "accepted"
    # The invitation was single-use.
    again = api.post("/api/v1/invitations/accept", json={"token": invitation["token"], "full_name": "Someone Else", "password": INVITEE_PASSWORD})
    assert_problem(again, 404)
    users = api.get("/api/v1/users", headers=admin_headers).get_json()["items"]
    assert sorted(u["email"] for u in users) == ["katrin@kestrel.test", "paul@kestrel.test"]

    # 6. The newcomer finds the supplier in the directory and asks for a partnership.
    directory = api.get("/api/v1/directory", query_string={"capability": "supplier"}, headers=admin_headers).get_json()["items"]
    assert str(supplier.org.id) in [entry["id"] for entry in directory]
    requested = api.post(
        "/api/v1/partnerships",
        json={"relation": "buyer_supplier", "counterparty_id": str(supplier.org.id), "message": "Weekly orders of flour"},
        headers=admin_headers,
    )
    assert requested.status_code == 201, requested.get_json()
    partnership = requested.get_json()
    assert partnership["status"] == "requested" and partnership["allowed_actions"] == ["withdraw"]
    assert partnership["org_a"]["id"] == str(org_id) and partnership["org_b"]["id"] == str(supplier.org.id)
    assert partnership["requested_by_org_id"] == str(org_id)

    # 7. The supplier sees the request with accept/decline and accepts it.
    incoming = api.get(f"/api/v1/partnerships/{partnership['id']}", headers=supplier.headers).get_json()
    assert incoming["allowed_actions"] == ["accept", "decline"]
    accepted = api.post(f"/api/v1/partnerships/{partnership['id']}/accept", headers=supplier.headers)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "active" and accepted.get_json()["responded_at"]
    assert accepted.get_json()["allowed_actions"] == ["end"]
    stored = fetch(app, Partnership, uuid.UUID(partnership["id"]))
    assert stored.status == PartnershipStatus.ACTIVE and stored.message == "Weekly orders of flour"
    mine = api.get("/api/v1/partnerships", query_string={"status": "active"}, headers=admin_headers).get_json()["items"]
    assert [p["id"] for p in mine] == [partnership["id"]]

    # 8. The new organization's admin reads every step in its audit trail, newest first.
    trail = api.get("/api/v1/audit", query_string={"limit": 200}, headers=admin_headers)
    assert trail.status_code == 200 and trail.get_json()["next_cursor"] is None
    entries = trail.get_json()["items"]
    times = [e["occurred_at"] for e in entries]
    assert times == sorted(times, reverse=True)
    assert {e["seq"] for e in entries} == {None}  # the platform-wide sequence is the operator's
    for entry in entries:  # only entries the organization acted in, was the subject of or is related to
        assert str(org_id) in (entry["actor_org_id"], entry["subject_org_id"], entry["related_org_id"]), entry
    by_action: dict[str, list[dict]] = {}
    for entry in reversed(entries):
        by_action.setdefault(entry["action"], []).append(entry)
    registered_entry = by_action["organization:registered"][0]
    assert registered_entry["object_id"] == str(org_id) and registered_entry["actor_user_id"] == str(admin_id)
    approved_entry = by_action["organization:approved"][0]
    assert approved_entry["actor_org_id"] == str(op.org.id) and approved_entry["summary"]["before"]["status"] == "pending"
    assert approved_entry["summary"]["after"]["status"] == "active" and approved_entry["summary"]["reason"] == "Documents checked"
    assert [e["actor_user_id"] for e in by_action["auth:login"]] == [str(admin_id), invitee["id"]]
    assert [e["summary"]["channel"] for e in by_action["auth:login"]] == ["api", "api"]
    assert [e["actor_user_id"] for e in by_action["token:created"]] == [str(admin_id), invitee["id"]]
    assert [e["object_id"] for e in by_action["user:invited"]] == [invitation["id"]]
    assert by_action["user:invited"][0]["summary"]["after"] == {"email": "paul@kestrel.test", "role": "member"}
    assert [e["object_id"] for e in by_action["user:joined"]] == [invitee["id"]]
    assert [(e["object_id"], e["related_org_id"]) for e in by_action["partnership:requested"]] == [(partnership["id"], str(supplier.org.id))]
    accepted_entry = by_action["partnership:accepted"][0]
    assert (accepted_entry["object_id"], accepted_entry["actor_org_id"], accepted_entry["related_org_id"]) == (
        partnership["id"],
        str(supplier.org.id),
        str(org_id),
    )
    # The story in order, and nothing the new organization did is missing from its view.
    story = [
        "organization:registered",
        "auth:login_failed",
        "organization:approved",
        "auth:login",
        "token:created",
        "user:invited",
        "user:joined",
        "auth:login",
        "token:created",
        "partnership:requested",
        "partnership:accepted",
    ]
    assert [e["action"] for e in reversed(entries)] == story
    in_db = select_all(
        app, sa.select(AuditEntry.id).where(sa.or_(AuditEntry.actor_org_id == org_id, AuditEntry.subject_org_id == org_id, AuditEntry.related_org_id == org_id))
    )
    assert sorted(str(i) for i in in_db) == sorted(e["id"] for e in entries)
    # One entry can be fetched by id; another organization's entry is a 404.
    one = api.get(f"/api/v1/audit/{approved_entry['id']}", headers=admin_headers)
    assert one.status_code == 200 and one.get_json()["hash"] == approved_entry["hash"]
    foreign = select_all(app, sa.select(AuditEntry.id).where(AuditEntry.subject_org_id == consortium.buyer.org.id).limit(1))[0]
    assert_problem(api.get(f"/api/v1/audit/{foreign}", headers=admin_headers), 404)
