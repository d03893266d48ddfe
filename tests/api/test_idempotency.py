"""`Idempotency-Key` on POST: a retry with the same key and body gets the first answer
and acts once; the same key with another body is refused; keys belong to their user."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
import sqlalchemy as sa
from concord import clock
from concord.idempotency import IdempotencyRecord
from concord.tenancy import users
from concord.tenancy.models import Invitation, Organization, User

from tests.api.helpers import assert_problem, login, registration, row_counts, select_all
from tests.factories import bearer

KEY = "Idempotency-Key"


def invitations_of(app, org_id) -> list[Invitation]:
    return select_all(app, sa.select(Invitation).where(Invitation.organization_id == org_id))


def records(app) -> list[IdempotencyRecord]:
    return select_all(app, sa.select(IdempotencyRecord))


def test_a_retried_invitation_returns_the_first_response_and_invites_once(app, api, consortium):
    headers = {**consortium.buyer.headers, KEY: "invite-ada-1"}
    first = api.post("/api/v1/invitations", json={"email": "ada@example.test", "role": "viewer"}, headers=headers)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    for _ in range(2):
        retry = api.post("/api/v1/invitations", json={"email": "ada@example.test", "role": "viewer"}, headers=headers)
        assert retry.status_code == 201
        assert retry.get_data() == first.get_data()  # byte for byte, the one-time token included
        assert retry.mimetype == "application/json"
        assert retry.headers["Idempotent-Replayed"] == "true"
    invitations = invitations_of(app, consortium.buyer.org.id)
    assert [str(i.id) for i in invitations] == [first.get_json()["id"]]
    (record,) = records(app)
    assert (record.scope, record.key, record.status_code) == (f"user:{consortium.buyer.admin.id}", "invite-ada-1", 201)
    assert record.completed_at is not None
    # Without the key, the same body is a new request (and here a duplicate).
    assert_problem(api.post("/api/v1/invitations", json={"email": "ada@example.test"}, headers=consortium.buyer.headers), 409)


def test_the_same_key_with_a_different_body_is_refused_and_acts_not(app, api, consortium):
    headers = {**consortium.buyer.headers, KEY: "invite-2"}
    first = api.post("/api/v1/invitations", json={"email": "bob@example.test"}, headers=headers)
    assert first.status_code == 201
    before = row_counts(app)
    for body in ({"email": "carol@example.test"}, {"email": "bob@example.test", "role": "admin"}):
        response = api.post("/api/v1/invitations", json=body, headers=headers)
        assert_problem(response, 422, title="Idempotency key reused", detail="This Idempotency-Key was already used for a different request.")
        assert "Idempotent-Replayed" not in response.headers
    # Nor may the key be reused on another operation.
    other = api.post("/api/v1/tokens", json={"name": "ci"}, headers=headers)
    assert_problem(other, 422, title="Idempotency key reused")
    assert row_counts(app) == before
    assert [i.email for i in invitations_of(app, consortium.buyer.org.id)] == ["bob@example.test"]
    # The first response is still what a true retry gets.
    retry = api.post("/api/v1/invitations", json={"email": "bob@example.test"}, headers=headers)
    assert retry.status_code == 201 and retry.get_json() == first.get_json()


def test_keys_belong_to_their_user_not_to_the_whole_platform(app, api, consortium):
    body = {"email": "shared-hire@example.test", "role": "member"}
    buyer = api.post("/api/v1/invitations", json=body, headers={**consortium.buyer.headers, KEY: "same-key"})
    supplier = api.post("/api/v1/invitations", json=body, headers={**consortium.supplier.headers, KEY: "same-key"})
    assert buyer.status_code == supplier.status_code == 201
    assert "Idempotent-Replayed" not in supplier.headers
    assert supplier.get_json()["id"] != buyer.get_json()["id"]
    assert supplier.get_json()["organization_id"] == str(consortium.supplier.org.id)
    assert len(invitations_of(app, consortium.buyer.org.id)) == len(invitations_of(app, consortium.supplier.org.id)) == 1
    # A different body under the same key is refused only for the key's own user.
    other = api.post("/api/v1/invitations", json={"email": "other@example.test"}, headers={**consortium.operator.headers, KEY: "same-key"})
    assert other.status_code == 201
    assert sorted(r.scope for r in records(app)) == sorted(f"user:{m.admin.id}" for m in (consortium.buyer, consortium.supplier, consortium.operator))
    # The same user with another token is the same caller: the retry is replayed.
    second_token = login(api, consortium.buyer.admin.email)
    replay = api.post("/api/v1/invitations", json=body, headers={**bearer(second_token), KEY: "same-key"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == buyer.get_json()


def test_a_retried_registration_registers_once(app, api):
    body = registration()
    first = api.post("/api/v1/registrations", json=body, headers={KEY: "register-newco"})
    assert first.status_code == 201
    retry = api.post("/api/v1/registrations", json=body, headers={KEY: "register-newco"})
    assert retry.status_code == 201 and retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    number = body["organization"]["registration_number"]
    assert len(select_all(app, sa.select(Organization).where(Organization.registration_number == number))) == 1
    assert len(select_all(app, sa.select(User).where(User.email == body["admin"]["email"]))) == 1


def test_a_refused_request_is_replayed_as_refused(app, api):
    body = registration(admin={"password": "password"})
    first = api.post("/api/v1/registrations", json=body, headers={KEY: "weak-password"})
    assert_problem(first, 422, errors={"admin.password": ["This password is among the most commonly used passwords; choose another."]})
    before = row_counts(app)
    retry = api.post("/api/v1/registrations", json=body, headers={KEY: "weak-password"})
    assert retry.status_code == 422 and retry.mimetype == "application/problem+json"
    assert retry.get_data() == first.get_data() and retry.headers["Idempotent-Replayed"] == "true"
    assert row_counts(app) == before


def test_a_server_error_releases_the_key_so_the_retry_runs(app, api, consortium, monkeypatch):
    headers = {**consortium.buyer.headers, KEY: "flaky"}
    real_invite = users.invite_user

    def crash(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(users, "invite_user", crash)
    failed = api.post("/api/v1/invitations", json={"email": "dora@example.test"}, headers=headers)
    assert_problem(failed, 500, detail="Something went wrong on our side; it has been logged.")
    assert "database went away" not in failed.get_data(as_text=True)
    assert records(app) == [] and invitations_of(app, consortium.buyer.org.id) == []
    monkeypatch.setattr(users, "invite_user", real_invite)
    retry = api.post("/api/v1/invitations", json={"email": "dora@example.test"}, headers=headers)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert len(invitations_of(app, consortium.buyer.org.id)) == 1


def test_a_crash_after_the_work_leaves_nothing_and_the_retry_runs_at_once(app, api, consortium, monkeypatch):
    """The invitation is written and committed by the service, then the request dies before
    its response exists (as under kill -9): the work goes with it, and the retry, at once,
    invites exactly once."""
    from concord.tenancy import api as tenancy_api

    headers = {**consortium.buyer.headers, KEY: "crash-after-commit"}
    real_view = tenancy_api.invitation_view

    def die(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(tenancy_api, "invitation_view", die)
    failed = api.post("/api/v1/invitations", json={"email": "eve@example.test"}, headers=headers)
    assert failed.status_code == 500
    assert records(app) == [] and invitations_of(app, consortium.buyer.org.id) == []
    monkeypatch.setattr(tenancy_api, "invitation_view", real_view)
    retry = api.post("/api/v1/invitations", json={"email": "eve@example.test"}, headers=headers)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert len(invitations_of(app, consortium.buyer.org.id)) == 1
    (record,) = records(app)
    assert record.completed_at is not None and record.status_code == 201  # stored with the work


def test_a_claim_left_without_its_response_is_retaken_at_once(app, api, arrange, consortium):
    """Before claims and responses were committed as one, a crash could leave a bare claim;
    nothing says whether its work ran, so it is not a reason to refuse for minutes."""
    raw = json.dumps({"email": "eve@example.test"}).encode()
    request_hash = hashlib.sha256(b"POST /api/v1/invitations\n" + raw).hexdigest()
    arrange.add(IdempotencyRecord(scope=f"user:{consortium.buyer.admin.id}", key="in-flight", request_hash=request_hash, created_at=clock.utcnow()))
    arrange.commit()
    headers = {**consortium.buyer.headers, KEY: "in-flight"}
    retaken = api.post("/api/v1/invitations", data=raw, content_type="application/json", headers=headers)
    assert retaken.status_code == 201, retaken.get_json()
    assert len(invitations_of(app, consortium.buyer.org.id)) == 1


@pytest.mark.real_commits
def test_a_second_request_with_the_key_waits_for_the_first_and_gets_its_answer(app, consortium, monkeypatch):
    """Two requests with one key at once: one does the work, the other waits for it and
    answers the same, whatever the database."""
    inside, release = threading.Event(), threading.Event()
    real_invite = users.invite_user

    def slow_invite(*args, **kwargs):
        result = real_invite(*args, **kwargs)
        inside.set()
        release.wait(10)
        return result

    monkeypatch.setattr(users, "invite_user", slow_invite)
    headers = {**consortium.buyer.headers, KEY: "twice-at-once"}
    answers: dict[str, object] = {}

    def send(name: str) -> None:
        answers[name] = app.test_client().post("/api/v1/invitations", json={"email": "fay@example.test"}, headers=headers)

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=send, args=("second",))
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second request must wait for the first"
    release.set()
    first.join(15)
    second.join(15)
    one, other = answers["first"], answers["second"]
    assert one.status_code == other.status_code == 201
    assert other.headers["Idempotent-Replayed"] == "true" and other.get_json() == one.get_json()
    assert len(invitations_of(app, consortium.buyer.org.id)) == 1


def test_a_key_expires_after_the_retention_window(app, api, consortium, frozen_clock):
    headers = {**consortium.buyer.headers, KEY: "daily-sync"}
    first = api.post("/api/v1/tokens", json={"name": "nightly"}, headers=headers)
    assert first.status_code == 201
    frozen_clock.advance(hours=app.config["IDEMPOTENCY_HOURS"])
    replay = api.post("/api/v1/tokens", json={"name": "nightly"}, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.get_json()["id"] == first.get_json()["id"]
    frozen_clock.advance(seconds=1)
    fresh = api.post("/api/v1/tokens", json={"name": "nightly"}, headers=headers)
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers
    assert fresh.get_json()["id"] != first.get_json()["id"]
    (record,) = records(app)
    assert record.created_at == frozen_clock.now


def test_a_malformed_key_is_422_and_acts_not(app, api, consortium):
    before = row_counts(app)
    for key in ("k" * 256, "tab\there", "line\x7fbreak"):
        response = api.post("/api/v1/invitations", json={"email": "fay@example.test"}, headers={**consortium.buyer.headers, KEY: key})
        assert_problem(response, 422, errors={KEY: ["Must be 1 to 255 printable characters."]})
    assert row_counts(app) == before
    assert api.post("/api/v1/invitations", json={"email": "fay@example.test"}, headers={**consortium.buyer.headers, KEY: "k" * 255}).status_code == 201


def test_a_key_on_a_get_is_ignored(app, api, consortium):
    headers = {**consortium.buyer.headers, KEY: "read"}
    assert api.get("/api/v1/users", headers=headers).status_code == 200
    assert api.get("/api/v1/users", headers=headers).headers.get("Idempotent-Replayed") is None
    assert records(app) == []


def test_stored_responses_keep_their_secrets_sealed_and_replay_them(app, api, consortium):
    headers = {**consortium.buyer.headers, "Idempotency-Key": "token-for-ci-7"}
    first = api.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": 30}, headers=headers)
    assert first.status_code == 201
    raw = first.get_json()["token"]
    (record,) = records(app)
    assert record.body is not None and raw.encode() not in record.body and b"cnc_" not in record.body
    replay = api.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": 30}, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json()["token"] == raw


def test_a_sealed_response_survives_a_master_key_rotation(app, api, consortium):
    from concord.db import database
    from concord.ledger import keys

    headers = {**consortium.buyer.headers, "Idempotency-Key": "webhook-1"}
    first = api.post("/api/v1/webhooks", json={"url": "https://erp.example.com/in", "events": ["*"]}, headers=headers)
    assert first.status_code == 201
    ring = keys.KeyRing.of(app)
    with database(app).sessionmaker() as session:
        keys.rotate(session, app.config["INSTANCE_DIR"], ring)
    app.extensions.pop("concord.keyring", None)  # the app reads the rotated ring again
    replay = api.post("/api/v1/webhooks", json={"url": "https://erp.example.com/in", "events": ["*"]}, headers=headers)
    assert replay.status_code == 201 and replay.get_json()["secret"] == first.get_json()["secret"]


def test_anonymous_callers_behind_one_address_do_not_share_keys(app, api):
    key = {"Idempotency-Key": "1"}  # a key two unrelated clients may well both pick
    first = api.post("/api/v1/registrations", json=registration(), headers=key)
    second = api.post("/api/v1/registrations", json=registration(), headers=key)
    assert first.status_code == second.status_code == 201, (first.get_json(), second.get_json())
    assert first.get_json()["organization"]["id"] != second.get_json()["organization"]["id"]
