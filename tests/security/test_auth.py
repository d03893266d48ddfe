"""Authentication: portal sessions, CSRF, login throttling and lockout, API tokens,
password rules and hashing, and who may not sign in at all."""

from __future__ import annotations

import hashlib
import html
import re
import uuid

import pytest
import sqlalchemy as sa
from concord.auth.models import ApiToken, UserSession
from concord.db import database
from concord.tenancy.models import Invitation, Organization, Role, User

from tests import factories
from tests.factories import PASSWORD, bearer
from tests.security.helpers import (
    audit_entries,
    audit_head,
    cookie_contents,
    csrf_from,
    csrf_token,
    fetch,
    is_signed_in,
    login_form,
    portal_login,
    session_cookie,
    set_session_cookie,
)

NEW_PASSWORD = "Battery-Staple-77"


def api_login(client, email: str, password: str):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def live_sessions(app, user_id) -> list[UserSession]:
    with database(app).sessionmaker() as s:
        return list(s.execute(sa.select(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))).scalars())


@pytest.fixture
def staff(app, session, world):
    """The supplier's admin plus a member with a token."""
    with app.test_request_context():
        member, token = factories.add_user(session, world.supplier, Role.MEMBER)
    session.commit()
    return world.supplier, member, token


# --- portal sessions --------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(app, client, world):
    response = login_form(client, world.buyer.admin.email, PASSWORD)
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("concord_session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[0].split(";")[1:]}
    assert "httponly" in attributes
    assert attributes.get("samesite") == "SameSite=Lax"
    assert attributes.get("path") == "Path=/"


def test_login_issues_a_new_session_id_and_a_cookie_from_before_login_stays_anonymous(app, client, world):
    client.get("/login")
    before = session_cookie(client)
    assert before is not None and "sid" not in cookie_contents(app, before)
    login_form(client, world.buyer.admin.email, PASSWORD)
    after = session_cookie(client)
    assert after != before
    first_sid = cookie_contents(app, after)["sid"]
    assert is_signed_in(client)
    # Session fixation: whoever planted the pre-login cookie gains nothing from the login.
    planted = app.test_client()
    set_session_cookie(planted, before)
    assert not is_signed_in(planted)
    # Every login gets a fresh session id, even over a signed-in session.
    relogin = client.post("/login", data={"email": world.buyer.admin.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert relogin.status_code == 302
    second_sid = cookie_contents(app, session_cookie(client))["sid"]
    assert second_sid != first_sid
    # The server keeps only hashes of session ids.
    with database(app).sessionmaker() as s:
        stored = set(s.execute(sa.select(UserSession.token_hash)).scalars())
    assert hashlib.sha256(second_sid.encode()).hexdigest() in stored
    assert first_sid not in stored and second_sid not in stored


def test_logout_ends_the_session_on_the_server_so_a_replayed_cookie_is_refused(app, client, world):
    csrf = portal_login(client, world.buyer.admin.email, PASSWORD)
    stolen = session_cookie(client)
    head = audit_head(app)
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert live_sessions(app, world.buyer.admin.id) == []
    replay = app.test_client()
    set_session_cookie(replay, stolen)
    response = replay.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert [e.action for e in audit_entries(app, after_seq=head)] == ["auth:logout"]


def test_disabling_a_user_ends_their_sessions_and_their_api_tokens_get_403(app, client, staff):
    owner, member, token = staff
    browser = app.test_client()
    portal_login(browser, member.email, PASSWORD)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    response = client.post(f"/api/v1/users/{member.id}/disable", headers=owner.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "disabled"
    assert live_sessions(app, member.id) == []
    assert not is_signed_in(browser)
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 403 and "disabled" in refused.get_json()["detail"]
    assert api_login(client, member.email, PASSWORD).status_code == 403
    assert login_form(app.test_client(), member.email, PASSWORD).status_code == 403
    # Enabling restores the token: the 403 was the account's status, not a broken token.
    assert client.post(f"/api/v1/users/{member.id}/enable", headers=owner.headers).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_password_change_in_the_portal_ends_the_other_sessions_and_keeps_this_one(app, client, world):
    user = world.buyer.admin
    here, elsewhere = app.test_client(), app.test_client()
    csrf = portal_login(here, user.email, PASSWORD)
    portal_login(elsewhere, user.email, PASSWORD)
    head = audit_head(app)
    response = here.post("/account", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert len(live_sessions(app, user.id)) == 1
    assert api_login(client, user.email, PASSWORD).status_code == 401
    assert api_login(client, user.email, NEW_PASSWORD).status_code == 201
    changed = audit_entries(app, after_seq=head, action="user:password_changed")
    assert len(changed) == 1 and changed[0].summary["sessions_ended"] == 1


def test_password_change_through_the_api_ends_every_portal_session(app, client, world):
    user = world.buyer.admin
    browser = app.test_client()
    portal_login(browser, user.email, PASSWORD)
    response = client.post("/api/v1/me/password", headers=world.buyer.headers, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    assert not is_signed_in(browser)
    wrong = client.post("/api/v1/me/password", headers=world.buyer.headers, json={"current_password": "not-it-at-all", "new_password": "Another-Good-One-9"})
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["errors"]


# --- CSRF ---------------------------------------------------------------------------------


def test_portal_forms_without_a_valid_csrf_token_are_rejected_with_400_and_change_nothing(app, client, world):
    admin = world.buyer.admin
    csrf = portal_login(client, admin.email, PASSWORD)
    other = app.test_client()
    foreign_csrf = portal_login(other, world.supplier.admin.email, PASSWORD)
    with database(app).sessionmaker() as s:
        tokens_before = s.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar_one()
    head = audit_head(app)
    forged = [
        ("/account/tokens", {"name": "forged"}),
        ("/organization/users", {"email": "forged@example.test", "role": "admin"}),
        ("/account", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("/organization/partnerships", {"relation": "buyer_supplier", "counterparty_id": str(world.supplier2.org.id)}),
        ("/logout", {}),
    ]
    for path, form in forged:
        for token in (None, foreign_csrf, "not-a-token"):
            data = dict(form) if token is None else {**form, "csrf_token": token}
            response = client.post(path, data=data)
            assert response.status_code == 400, (path, token, response.status_code)
            assert "CSRF" in response.get_data(as_text=True), path
    assert audit_entries(app, after_seq=head) == []
    with database(app).sessionmaker() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar_one() == tokens_before
        assert s.execute(sa.select(Invitation).where(Invitation.email == "forged@example.test")).first() is None
    assert is_signed_in(client)  # the forged logout did not sign us out
    assert api_login(app.test_client(), admin.email, PASSWORD).status_code == 201  # nor change the password
    # The same form with the session's own token works: the 400s above were the CSRF check.
    assert client.post("/account/tokens", data={"name": "genuine", "csrf_token": csrf}).status_code == 200
    # Signing in needs the form's token too (login CSRF).
    stranger = app.test_client()
    stranger.get("/login")
    assert stranger.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 400


# --- failed logins: throttling, then lockout ---------------------------------------------


class LoginChannel:
    """Log in by API (`POST /api/v1/auth/token`) or by the portal form; -> (status, Retry-After)."""

    def __init__(self, app, name: str, *, source: str = "127.0.0.1") -> None:
        self.name = name
        self.source = source
        self.client = self._client(app)
        self.csrf = csrf_from(self.client.get("/login")) if name == "portal" else None

    def _client(self, app):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = self.source
        return client

    def __call__(self, email: str, password: str) -> tuple[int, int | None]:
        if self.name == "api":
            response = api_login(self.client, email, password)
        else:
            response = self.client.post("/login", data={"email": email, "password": password, "csrf_token": self.csrf})
            if response.status_code == 302:
                self.client = self._client(self.client.application)  # signed in: start over anonymous
                self.csrf = csrf_from(self.client.get("/login"))
        retry = response.headers.get("Retry-After")
        return response.status_code, None if retry is None else int(retry)


@pytest.mark.parametrize("channel", ["api", "portal"])
def test_failed_logins_slow_down_then_lock_out_the_source_even_against_the_right_password(app, client, world, frozen_clock, channel):
    config = app.config
    assert (config["LOGIN_THROTTLE_AFTER"], config["LOGIN_LOCK_AFTER"], config["LOGIN_LOCK_MINUTES"]) == (3, 10, 15)
    user = world.supplier.admin
    login = LoginChannel(app, channel)
    head = audit_head(app)

    for _ in range(3):
        assert login(user.email, "wrong-password") == (401, None)
    # From the third failure on, each attempt must wait 2^(n-3) seconds, the right password included.
    assert login(user.email, PASSWORD) == (429, 1)
    frozen_clock.advance(seconds=1)
    failures = 3
    while failures < 9:
        assert login(user.email, "wrong-password") == (401, None)
        failures += 1
        wait = 2 ** (failures - 3)
        assert login(user.email, "wrong-password") == (429, wait)
        frozen_clock.advance(seconds=wait - 1)
        assert login(user.email, PASSWORD)[0] == 429
        frozen_clock.advance(seconds=1)
    # The tenth failure locks this source out of the account for 15 minutes.
    assert login(user.email, "wrong-password") == (401, None)
    assert login(user.email, PASSWORD) == (429, 15 * 60)
    other = LoginChannel(app, "portal" if channel == "api" else "api")
    assert other(user.email, PASSWORD)[0] == 429  # the same source, by the other channel
    # The owner elsewhere is not locked out, and tokens issued before keep working.
    elsewhere = LoginChannel(app, channel, source="198.51.100.20")
    assert elsewhere(user.email, PASSWORD)[0] == (201 if channel == "api" else 302)
    assert client.get("/api/v1/me", headers=world.supplier.headers).status_code == 200
    frozen_clock.advance(minutes=15, seconds=-1)
    assert login(user.email, PASSWORD) == (429, 1)
    frozen_clock.advance(seconds=1)
    assert login(user.email, PASSWORD)[0] == (201 if channel == "api" else 302)
    # A success clears the source's failures: the next wrong password is a plain 401.
    assert login(user.email, "wrong-password") == (401, None)
    assert login(user.email, PASSWORD)[0] == (201 if channel == "api" else 302)

    # Every attempt is in the audit trail, with its channel.
    entries = [e for e in audit_entries(app, after_seq=head) if e.object_id == str(user.id)]
    by_action: dict[str, list] = {}
    for entry in entries:
        by_action.setdefault(entry.action, []).append(entry)
    assert [e.summary["failures"] for e in by_action["auth:login_failed"]] == [*range(1, 11), 1]
    assert len(by_action["auth:account_locked"]) == 1
    throttled = by_action["auth:login_throttled"]
    assert len(throttled) == 1 + 6 * 2 + 3  # the waits above, the locked attempts, and the other channel's
    assert {e.summary["reason"] for e in throttled} == {"throttled", "locked"}
    assert len(by_action["auth:login"]) == 3
    assert {e.summary["channel"] for e in entries if "channel" in e.summary} == {"api", "portal"}
    assert all(e.actor_user_id == user.id for e in entries)


def test_a_stranger_cannot_keep_the_owner_out(app, client, world, frozen_clock):
    """Someone who knows an email fails again and again from their own address: only they
    are slowed and locked out; the owner signs in from theirs at every moment."""
    user = world.buyer.admin
    stranger = LoginChannel(app, "api", source="203.0.113.66")
    owner = LoginChannel(app, "api", source="198.51.100.7")
    for _ in range(40):
        status, retry = stranger(user.email, "guess")
        assert status in (401, 429)
        assert owner(user.email, PASSWORD)[0] == 201
        frozen_clock.advance(seconds=retry or 1)
    assert client.get("/api/v1/me", headers=world.buyer.headers).status_code == 200


def test_unknown_and_known_emails_are_throttled_alike(app, world, frozen_clock):
    """A 429 tells nothing about whether an email exists: the same waits, the same words."""
    answers = {}
    for email in (world.buyer.admin.email, "nobody-here@example.test"):
        login = LoginChannel(app, "api", source="203.0.113.9")
        seen = []
        for _ in range(12):
            response = api_login(login.client, email, "wrong-password")
            seen.append((response.status_code, response.headers.get("Retry-After"), response.get_json()["detail"]))
        answers[email] = seen
        frozen_clock.advance(minutes=20)
    known, unknown = answers.values()
    assert known == unknown
    assert [status for status, _, _ in known] == [401, 401, 401, 429, 429, 429, 429, 429, 429, 429, 429, 429]


def test_failed_logins_are_capped_per_source_and_platform_wide(app, world, frozen_clock, monkeypatch):
    busy = LoginChannel(app, "api", source="203.0.113.50")
    for n in range(app.config["LOGIN_FAILURES_PER_SOURCE"]):
        assert busy(f"guess{n}@example.test", "whatever-it-is") == (401, None)
    # The source has used up its failures for this minute, whatever email it tries next.
    assert busy("one-more@example.test", "whatever-it-is") == (429, 60)
    assert busy(world.buyer.admin.email, PASSWORD) == (429, 60)
    assert LoginChannel(app, "api", source="203.0.113.51")(world.buyer.admin.email, PASSWORD)[0] == 201
    frozen_clock.advance(minutes=1)
    assert busy(world.buyer.admin.email, PASSWORD)[0] == 201

    # Spread over many addresses, guessing meets the platform-wide cap.
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_GLOBAL", 30)
    frozen_clock.advance(minutes=1)
    for n in range(30):
        assert LoginChannel(app, "api", source=f"192.0.2.{n + 1}")(f"spread{n}@example.test", "whatever-it-is") == (401, None)
    assert LoginChannel(app, "api", source="192.0.2.200")("spread-last@example.test", "whatever-it-is") == (429, 60)
    reasons = {e.summary["reason"] for e in audit_entries(app, action="auth:login_throttled")}
    assert reasons == {"source_rate", "global_rate"}


def test_unknown_email_fails_like_a_wrong_password_and_is_audited(app, client, world):
    head = audit_head(app)
    unknown = api_login(client, "nobody@example.test", PASSWORD)
    wrong = api_login(client, world.buyer.admin.email, "wrong-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json()["detail"] == wrong.get_json()["detail"]
    assert login_form(app.test_client(), "Nobody@Example.test", "whatever-it-is").status_code == 401
    failed = audit_entries(app, after_seq=head, action="auth:login_failed")
    assert [(e.summary["reason"], e.summary.get("email"), e.summary["channel"]) for e in failed] == [
        ("unknown_email", "nobody@example.test", "api"),
        ("wrong_password", None, "api"),
        ("unknown_email", "nobody@example.test", "portal"),
    ]


def test_successful_logins_are_audited_with_channel_and_address(app, client, world):
    head = audit_head(app)
    assert api_login(client, world.buyer.admin.email, PASSWORD).status_code == 201
    portal_login(app.test_client(), world.buyer.admin.email, PASSWORD)
    logins = audit_entries(app, after_seq=head, action="auth:login")
    assert [e.summary["channel"] for e in logins] == ["api", "portal"]
    assert all(e.actor_user_id == world.buyer.admin.id and e.ip == "127.0.0.1" for e in logins)


# --- API tokens ---------------------------------------------------------------------------


def test_api_token_expires_and_then_answers_401_expired(app, client, world, frozen_clock):
    created = client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "one day", "expires_in_days": 1})
    assert created.status_code == 201
    raw = created.get_json()["token"]
    frozen_clock.advance(hours=23, minutes=59, seconds=59)
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    frozen_clock.advance(seconds=1)
    response = client.get("/api/v1/me", headers=bearer(raw))
    assert response.status_code == 401
    assert response.get_json()["detail"] == "The bearer token is expired."
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    state = client.get(f"/api/v1/tokens/{created.get_json()['id']}", headers=world.buyer.headers).get_json()["state"]
    assert state == "expired"


def test_revoked_api_token_answers_401_revoked(app, client, world):
    created = client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "to revoke"}).get_json()
    assert client.get("/api/v1/me", headers=bearer(created["token"])).status_code == 200
    head = audit_head(app)
    revoked = client.post(f"/api/v1/tokens/{created['id']}/revoke", headers=world.buyer.headers)
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    response = client.get("/api/v1/me", headers=bearer(created["token"]))
    assert response.status_code == 401 and response.get_json()["detail"] == "The bearer token is revoked."
    assert [e.action for e in audit_entries(app, after_seq=head)] == ["token:revoked"]
    # A token can revoke itself, and then it is done too.
    own = client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "self"}).get_json()
    assert client.post(f"/api/v1/tokens/{own['id']}/revoke", headers=bearer(own["token"])).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(own["token"])).status_code == 401


def test_token_last_used_at_records_use(app, client, world, frozen_clock):
    created = client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "usage"}).get_json()
    assert created["last_used_at"] is None
    start = frozen_clock.now
    client.get("/api/v1/me", headers=bearer(created["token"]))
    assert fetch(app, ApiToken, uuid.UUID(created["id"])).last_used_at == start
    frozen_clock.advance(seconds=30)
    client.get("/api/v1/me", headers=bearer(created["token"]))
    assert fetch(app, ApiToken, uuid.UUID(created["id"])).last_used_at == start  # written at most once a minute
    frozen_clock.advance(seconds=31)
    client.get("/api/v1/me", headers=bearer(created["token"]))
    assert fetch(app, ApiToken, uuid.UUID(created["id"])).last_used_at == frozen_clock.now
    shown = client.get(f"/api/v1/tokens/{created['id']}", headers=world.buyer.headers).get_json()
    assert shown["last_used_at"] is not None


@pytest.mark.real_commits  # reads the table on a connection of its own
def test_raw_token_is_shown_only_at_creation_and_the_database_keeps_only_its_hash(app, client, world):
    created = client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "secret"})
    body = created.get_json()
    raw = body["token"]
    assert raw.startswith("cnc_") and len(raw) >= 40
    assert body["prefix"] == raw[:10] and body["prefix"] != raw
    later = [
        client.get(f"/api/v1/tokens/{body['id']}", headers=world.buyer.headers),
        client.get("/api/v1/tokens?limit=200", headers=world.buyer.headers),
        client.get("/api/v1/audit?limit=200", headers=world.buyer.headers),
    ]
    for response in later:
        assert response.status_code == 200
        assert raw not in response.get_data(as_text=True)
    assert "token" not in later[0].get_json()
    assert all("token" not in item for item in later[1].get_json()["items"])
    with database(app).engine.connect() as connection:
        row = connection.execute(sa.select(ApiToken.__table__).where(ApiToken.__table__.c.id == uuid.UUID(body["id"]))).one()
        assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert all(raw not in str(value) for value in row)
        for table in ("api_tokens", "audit_entries", "user_sessions", "idempotency_records"):
            dump = " ".join(str(tuple(r)) for r in connection.execute(sa.text(f"SELECT * FROM {table}")))
            assert raw not in dump and raw[4:] not in dump, table
    # The portal shows a new token once, on the page that created it.
    browser = app.test_client()
    csrf = portal_login(browser, world.buyer.admin.email, PASSWORD)
    page = browser.post("/account/tokens", data={"name": "portal", "csrf_token": csrf}).get_data(as_text=True)
    shown = re.search(r'id="new-token">(cnc_[^<]+)<', page)
    assert shown, "the creation page shows the new token"
    assert html.unescape(shown.group(1)) not in browser.get("/account/tokens").get_data(as_text=True)
    assert client.get("/api/v1/me", headers=bearer(html.unescape(shown.group(1)))).status_code == 200


# --- passwords ----------------------------------------------------------------------------

EMAIL = object()  # stands for "the account's own email address"
BAD_PASSWORDS = [
    pytest.param("Sh0rt-1", "at least 8", id="too-short"),
    pytest.param("Tr0ub4dor&3-" * 6, "at most 64", id="too-long"),
    pytest.param("password1", "most commonly used", id="common-password1"),
    pytest.param("qwertyuiop", "most commonly used", id="common-qwertyuiop"),
    pytest.param("QwertyUIOP", "most commonly used", id="common-any-case"),
    pytest.param(EMAIL, "email", id="own-email"),
]


def _registration(email: str, password: str) -> dict:
    return {
        "organization": {
            "legal_name": "Newcomer AG",
            "registration_number": "NEW-1",
            "country": "CH",
            "contact_name": "N",
            "contact_email": "n@example.test",
            "capabilities": ["buyer"],
        },
        "admin": {"full_name": "Nora Newcomer", "email": email, "password": password},
    }


@pytest.mark.parametrize("password, message", BAD_PASSWORDS)
def test_weak_password_is_refused_at_registration(app, client, password, message):
    email = "nora@newcomer.example"
    response = client.post("/api/v1/registrations", json=_registration(email, email if password is EMAIL else password))
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert list(errors) == ["admin.password"] and any(message in m for m in errors["admin.password"]), errors
    with database(app).sessionmaker() as s:
        assert s.execute(sa.select(Organization).where(Organization.registration_number == "NEW-1")).first() is None
        assert s.execute(sa.select(User).where(User.email == email)).first() is None


@pytest.mark.parametrize("password, message", BAD_PASSWORDS)
def test_weak_password_is_refused_at_invitation_acceptance(app, client, world, password, message):
    invited = client.post("/api/v1/invitations", headers=world.buyer.headers, json={"email": "hire@buyer.example", "role": "member"}).get_json()
    chosen = "hire@buyer.example" if password is EMAIL else password
    response = client.post("/api/v1/invitations/accept", json={"token": invited["token"], "full_name": "New Hire", "password": chosen})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert list(errors) == ["password"] and any(message in m for m in errors["password"]), errors
    assert client.get(f"/api/v1/invitations/{invited['id']}", headers=world.buyer.headers).get_json()["state"] == "pending"
    accepted = client.post("/api/v1/invitations/accept", json={"token": invited["token"], "full_name": "New Hire", "password": NEW_PASSWORD})
    assert accepted.status_code == 201


@pytest.mark.parametrize("password, message", BAD_PASSWORDS)
def test_weak_password_is_refused_at_password_change(app, client, world, password, message):
    chosen = world.buyer.admin.email if password is EMAIL else password
    response = client.post("/api/v1/me/password", headers=world.buyer.headers, json={"current_password": PASSWORD, "new_password": chosen})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert list(errors) == ["new_password"] and any(message in m for m in errors["new_password"]), errors
    assert api_login(client, world.buyer.admin.email, PASSWORD).status_code == 201


def test_portal_forms_show_password_rule_errors_on_the_field(app, client, world):
    csrf = portal_login(client, world.buyer.admin.email, PASSWORD)
    response = client.post("/account", data={"current_password": PASSWORD, "new_password": "password1", "csrf_token": csrf})
    assert response.status_code == 422
    assert "most commonly used" in html.unescape(response.get_data(as_text=True))
    stranger = app.test_client()
    form = {
        "legal_name": "Portal Newcomer",
        "registration_number": "PN-1",
        "country": "FR",
        "contact_name": "P",
        "contact_email": "p@pn.example",
        "capabilities": "supplier",
        "full_name": "Paul",
        "email": "paul@pn.example",
        "password": "qwertyuiop",
        "csrf_token": csrf_from(stranger.get("/register")),
    }
    response = stranger.post("/register", data=form)
    assert response.status_code == 422
    assert "most commonly used" in html.unescape(response.get_data(as_text=True))
    with database(app).sessionmaker() as s:
        assert s.execute(sa.select(User).where(User.email == "paul@pn.example")).first() is None


@pytest.mark.production_password_hashing
def test_passwords_are_stored_as_argon2id_with_at_least_owasp_parameters(app, client, world):
    client.post("/api/v1/me/password", headers=world.buyer.headers, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    for user_id in (world.operator.admin.id, world.buyer.admin.id):
        stored = fetch(app, User, user_id).password_hash
        found = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", stored)
        assert found, stored
        memory, passes, _lanes = map(int, found.groups())
        assert memory >= 19456 and passes >= 2
        assert PASSWORD not in stored and NEW_PASSWORD not in stored


# --- who may not sign in ------------------------------------------------------------------


def test_users_of_a_suspended_organization_cannot_log_in_nor_use_tokens_or_sessions(app, client, world):
    member = world.supplier
    browser = app.test_client()
    portal_login(browser, member.admin.email, PASSWORD)
    response = client.post(f"/api/v1/organizations/{member.org.id}/suspend", headers=world.operator.headers, json={"reason": "unpaid fees"})
    assert response.status_code == 200, response.get_json()
    refused = client.get("/api/v1/me", headers=member.headers)
    assert refused.status_code == 403 and "suspended" in refused.get_json()["detail"]
    assert not is_signed_in(browser)
    assert live_sessions(app, member.admin.id) == []
    login = api_login(client, member.admin.email, PASSWORD)
    assert login.status_code == 403 and "suspended" in login.get_json()["detail"]
    page = login_form(app.test_client(), member.admin.email, PASSWORD)
    assert page.status_code == 403 and "suspended" in page.get_data(as_text=True)
    assert client.post(f"/api/v1/organizations/{member.org.id}/reactivate", headers=world.operator.headers, json={}).status_code == 200
    assert client.get("/api/v1/me", headers=member.headers).status_code == 200


def test_admin_of_a_pending_organization_cannot_log_in_until_approved(app, client, world):
    registered = client.post("/api/v1/registrations", json=_registration("nora@newcomer.example", NEW_PASSWORD))
    assert registered.status_code == 201
    head = audit_head(app)
    response = api_login(client, "nora@newcomer.example", NEW_PASSWORD)
    assert response.status_code == 403 and "awaiting approval" in response.get_json()["detail"]
    page = login_form(app.test_client(), "nora@newcomer.example", NEW_PASSWORD)
    assert page.status_code == 403 and "awaiting approval" in page.get_data(as_text=True)
    assert session_cookie_has_no_sid(app, page)
    failed = audit_entries(app, after_seq=head, action="auth:login_failed")
    assert len(failed) == 2 and all("awaiting approval" in e.summary["reason"] for e in failed)
    org_id = registered.get_json()["organization"]["id"]
    assert client.post(f"/api/v1/organizations/{org_id}/approve", headers=world.operator.headers, json={}).status_code == 200
    assert api_login(client, "nora@newcomer.example", NEW_PASSWORD).status_code == 201


def session_cookie_has_no_sid(app, response) -> bool:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("concord_session="):
            value = header.split(";")[0].split("=", 1)[1]
            return not value or "sid" not in cookie_contents(app, value)
    return True
