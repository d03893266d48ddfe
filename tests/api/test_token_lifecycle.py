"""API tokens end when they should (issue 9, finding 4): a password change revokes the
user's other tokens, a token can log itself out, and an admin can revoke a member's token."""

from __future__ import annotations

import pytest
from concord.tenancy.models import Role

from tests import factories
from tests.api.helpers import assert_problem
from tests.factories import PASSWORD
from tests.security.helpers import audit_entries


@pytest.fixture
def member_user(app, arrange, consortium):
    """A member of the buyer with two tokens of their own."""
    with app.test_request_context():
        user, token = factories.add_user(arrange, consortium.buyer, Role.MEMBER)
        second = factories.token_for(arrange, user)
    arrange.commit()
    return user, token, second


def works(api, token) -> bool:
    response = api.get("/api/v1/me", headers=factories.bearer(token))
    assert response.status_code in (200, 401), response.status_code
    return response.status_code == 200


def test_a_password_change_revokes_every_other_token(app, api, member_user):
    user, token, second = member_user
    response = api.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "Another-Horse-43"}, headers=factories.bearer(token))
    assert response.status_code == 204, response.get_json()
    assert works(api, token), "the token that changed the password keeps working"
    assert not works(api, second)
    body = assert_problem(api.get("/api/v1/me", headers=factories.bearer(second)), 401)
    assert body["detail"] == "The bearer token is revoked."
    (entry,) = audit_entries(app, action="user:password_changed")
    assert entry.summary["tokens_revoked"] == 1


def test_logout_ends_the_token_it_is_sent_with(app, api, member_user):
    _, token, second = member_user
    response = api.post("/api/v1/auth/logout", headers=factories.bearer(token))
    assert response.status_code == 204
    assert not works(api, token)
    assert works(api, second)
    assert_problem(api.post("/api/v1/auth/logout", headers=factories.bearer(token)), 401)
    assert [e.summary.get("reason") for e in audit_entries(app, action="token:revoked")] == ["logout"]


def test_an_admin_lists_and_revokes_a_members_token(app, api, consortium, member_user):
    user, token, second = member_user
    listed = api.get(f"/api/v1/users/{user.id}/tokens", headers=consortium.buyer.headers)
    assert listed.status_code == 200, listed.get_json()
    items = listed.get_json()["items"]
    assert len(items) == 2 and all("token" not in item for item in items)
    target = next(item for item in items if second.startswith(item["prefix"]))
    revoked = api.post(f"/api/v1/users/{user.id}/tokens/{target['id']}/revoke", headers=consortium.buyer.headers)
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert not works(api, second) and works(api, token)
    (entry,) = audit_entries(app, action="token:revoked")
    assert entry.actor_user_id == consortium.buyer.admin.id and entry.object_id == target["id"]


def test_a_member_cannot_revoke_a_colleagues_token_and_strangers_see_nothing(app, api, arrange, consortium, member_user):
    user, token, _ = member_user
    own = api.get("/api/v1/tokens", headers=consortium.buyer.headers).get_json()["items"][0]
    # A member (not an admin) of the same organization: refused.
    assert_problem(api.get(f"/api/v1/users/{consortium.buyer.admin.id}/tokens", headers=factories.bearer(token)), 403)
    assert_problem(api.post(f"/api/v1/users/{consortium.buyer.admin.id}/tokens/{own['id']}/revoke", headers=factories.bearer(token)), 403)
    # Another organization's admin: the user and the token do not exist for them.
    assert_problem(api.get(f"/api/v1/users/{user.id}/tokens", headers=consortium.supplier.headers), 404)
    assert_problem(api.post(f"/api/v1/users/{consortium.buyer.admin.id}/tokens/{own['id']}/revoke", headers=consortium.supplier.headers), 404)
    # A token id that belongs to another user of the path: 404, not a revocation.
    assert_problem(api.post(f"/api/v1/users/{user.id}/tokens/{own['id']}/revoke", headers=consortium.buyer.headers), 404)
    assert works(api, consortium.buyer.token)
