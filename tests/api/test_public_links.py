"""Links handed out for other people are built on the configured public address, never on
the Host header of the request (issue 9, finding 10)."""

from __future__ import annotations

import re

import pytest
from concord.tenancy.models import Invitation

from tests.api.helpers import assert_problem, row_counts
from tests.factories import PASSWORD
from tests.security.helpers import portal_login


@pytest.fixture
def public_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.concord.example/")
    return "https://portal.concord.example"


def test_an_invitation_link_ignores_a_forged_host_header(api, consortium, public_address):
    response = api.post(
        "/api/v1/invitations",
        json={"email": "new.person@example.test", "role": "member"},
        headers={**consortium.buyer.headers, "Host": "evil.example"},
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["accept_url"].startswith(f"{public_address}/"), created["accept_url"]
    assert created["token"] in created["accept_url"] and "evil.example" not in created["accept_url"]


def test_the_portal_shows_the_link_on_the_public_address(app, consortium, public_address):
    browser = app.test_client()
    csrf = portal_login(browser, consortium.buyer.admin.email, PASSWORD)
    shown = browser.post("/organization/users", data={"email": "portal.invitee@example.test", "role": "member", "csrf_token": csrf})
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200, text[:2000]
    (link,) = re.findall(r"https?://[^\s\"<]*/invitations/[^\s\"<]*", text)
    assert link.startswith(f"{public_address}/"), link  # not the request's host, concord.test


def test_without_a_public_address_nothing_is_written(app, api, consortium, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    before = row_counts(app)
    response = api.post("/api/v1/invitations", json={"email": "new.person@example.test", "role": "member"}, headers=consortium.buyer.headers)
    assert_problem(response, 503, title="Public address not configured")
    assert row_counts(app) == before
    assert Invitation.__tablename__ in before
