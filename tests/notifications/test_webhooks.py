"""Webhooks end to end: subscriptions through the API, deliveries sent by `deliver_due` to a
real receiver on 127.0.0.1 that verifies signature and timestamp, retries with backoff,
and who may see what."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import uuid
from http.server import HTTPServer

import pytest
import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.ledger import keys
from concord.notifications import service
from concord.notifications.models import WebhookDelivery, WebhookSubscription
from concord.tenancy.models import Role
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests import factories
from tests.notifications.helpers import count, subscribe
from tests.security.helpers import audit_entries


def announce(app, member, event="order.acknowledged", object_id="po-1") -> None:
    with database(app).sessionmaker() as s:
        service.notify(s, event, org_ids=[member.org.id], object_type="purchase_order", object_id=object_id, summary=f"{object_id}: {event}")
        s.commit()


def deliveries(client, member, webhook_id) -> list[dict]:
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=member.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


@pytest.fixture
def hooked(app, client, world, receiver, private_hosts_allowed):
    """The buyer's webhook for every event, pointed at the receiver, which knows its secret."""
    created = subscribe(client, world.buyer, url=receiver.url)
    receiver.secret = created["secret"]
    return created


# -- subscribing --------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_stored_only_encrypted(app, client, world):
    response = client.post(
        "/api/v1/webhooks",
        json={"url": "https://erp.example.com/concord?src=concord", "events": ["order.issued", "order.issued", "shipment.delivered"]},
        headers=world.buyer.headers,
    )
    assert response.status_code == 201, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    created = response.get_json()
    secret = created.pop("secret")
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["events"] == ["order.issued", "shipment.delivered"] and created["active"] is True
    assert created["created_by"] == str(world.buyer.admin.id)
    shown = client.get(f"/api/v1/webhooks/{created['id']}", headers=world.buyer.headers).get_json()
    assert shown == created
    listed = client.get("/api/v1/webhooks", headers=world.buyer.headers).get_json()
    assert listed["items"] == [created]
    with database(app).sessionmaker() as s:
        row = s.get(WebhookSubscription, uuid.UUID(created["id"]))
        assert secret.encode() not in row.secret_ciphertext
        assert keys.unseal(keys.KeyRing.of(app), row.secret_key_id, row.secret_nonce, row.secret_ciphertext, row.id).decode() == secret
        with pytest.raises(keys.SigningKeyError, match="does not open"):  # bound to its own row
            keys.unseal(keys.KeyRing.of(app), row.secret_key_id, row.secret_nonce, row.secret_ciphertext, uuid.uuid4())
    (entry,) = audit_entries(app, action="webhook:created")
    assert entry.object_id == created["id"] and secret not in json.dumps(entry.summary)
    assert entry.summary["after"] == {"url": "https://erp.example.com/concord?src=concord", "events": ["order.issued", "shipment.delivered"], "active": True}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://erp.example.com/in", "http or https"),
        ("erp.example.com/hook", "http or https"),
        ("https://user:pw@erp.example.com/hook", "no credentials"),
        ("https://erp.example.com/hook#part", "fragment"),
        ("https://erp.example.com/a hook", "without spaces"),
        ("https:///hook", "no host"),
        ("https://erp.example.com:99999/", "Not a valid URL"),
        ("http://127.0.0.1:8080/hook", "loopback, private"),
        ("http://localhost/hook", "loopback, private"),
        ("http://api.localhost./hook", "loopback, private"),
        ("http://[::1]/hook", "loopback, private"),
        ("http://[::ffff:10.0.0.1]/hook", "loopback, private"),
        ("http://10.1.2.3/hook", "loopback, private"),
        ("http://192.168.0.10/hook", "loopback, private"),
        ("http://169.254.169.254/latest/meta-data", "loopback, private"),
        ("http://0.0.0.0/hook", "loopback, private"),
        # IPv4 carried inside IPv6: compatible, NAT64, 6to4 and Teredo forms
        ("http://[::7f00:1]/hook", "loopback, private"),
        ("http://[::127.0.0.1]/hook", "loopback, private"),
        ("http://[64:ff9b::7f00:1]/hook", "loopback, private"),
        ("http://[64:ff9b::a00:1]/hook", "loopback, private"),
        ("http://[2002:7f00:1::]/hook", "loopback, private"),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", "loopback, private"),
        # IPv4 in the forms inet_aton also reads: decimal, hex, octal, short
        ("http://2130706433/hook", "four decimal numbers"),
        ("http://0x7f000001/hook", "four decimal numbers"),
        ("http://0177.0.0.1/hook", "four decimal numbers"),
        ("http://127.1/hook", "four decimal numbers"),
        ("http://8.8.8.010/hook", "four decimal numbers"),
    ],
)
def test_a_url_concord_will_not_call_is_refused_field_by_field(app, client, world, url, message):
    response = client.post("/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=world.buyer.headers)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert message in " ".join(response.get_json()["errors"]["url"])
    assert count(app, WebhookSubscription) == 0


def test_private_hosts_are_accepted_only_when_the_setting_allows_them(app, client, world, monkeypatch):
    assert client.post("/api/v1/webhooks", json={"url": "http://10.1.2.3/hook", "events": ["*"]}, headers=world.buyer.headers).status_code == 422
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_HOSTS", True)
    assert client.post("/api/v1/webhooks", json={"url": "http://10.1.2.3/hook", "events": ["*"]}, headers=world.buyer.headers).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://erp.example.com/", "events": []}, "events"),
        ({"url": "https://erp.example.com/", "events": ["Order Issued"]}, "events"),
        ({"url": "https://erp.example.com/", "events": ["order.issued\n"]}, "events"),
        ({"url": "https://erp.example.com/", "events": "*"}, "events"),
        ({"url": "", "events": ["*"]}, "url"),
        ({"events": ["*"]}, "url"),
        ({"url": "https://erp.example.com/", "events": ["*"], "secret": "mine"}, "secret"),
    ],
)
def test_bad_webhook_input_is_refused_field_by_field(app, client, world, body, field):
    response = client.post("/api/v1/webhooks", json=body, headers=world.buyer.headers)
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()
    assert count(app, WebhookSubscription) == 0


def test_only_admins_manage_webhooks_while_every_member_reads_notifications(app, client, session, world):
    created = subscribe(client, world.buyer)
    with app.test_request_context():
        _, member_token = factories.add_user(session, world.buyer, Role.MEMBER)
    session.commit()
    member = factories.bearer(member_token)
    for method, url, body in [
        ("GET", "/api/v1/webhooks", None),
        ("POST", "/api/v1/webhooks", {"url": "https://erp.example.com/x", "events": ["*"]}),
        ("GET", f"/api/v1/webhooks/{created['id']}", None),
        ("PATCH", f"/api/v1/webhooks/{created['id']}", {"active": False}),
        ("DELETE", f"/api/v1/webhooks/{created['id']}", None),
        ("GET", f"/api/v1/webhooks/{created['id']}/deliveries", None),
        ("POST", f"/api/v1/webhooks/{created['id']}/test", None),
    ]:
        response = client.open(url, method=method, json=body, headers=member)
        assert response.status_code == 403 and "admin" in response.get_json()["detail"], (method, url, response.status_code)
    assert client.get("/api/v1/notifications", headers=member).status_code == 200
    assert count(app, WebhookSubscription) == 1


# -- delivering ---------------------------------------------------------------------------


def test_a_delivery_is_signed_verified_by_the_receiver_and_logged(app, client, world, receiver, hooked, frozen_clock):
    announce(app, world.buyer)
    assert service.deliver_due(app) == 1
    (request,) = receiver.received
    assert request.valid and request.path == "/hooks/concord"
    body = json.loads(request.body)
    assert body["type"] == "order.acknowledged" and body["data"]["summary"] == "po-1: order.acknowledged"
    assert request.headers["Concord-Event-Id"] == body["id"]
    assert request.headers["Concord-Event-Type"] == "order.acknowledged"
    assert request.headers["Concord-Timestamp"] == str(int(frozen_clock.now.timestamp()))
    assert request.headers["Content-Type"] == "application/json"
    (logged,) = deliveries(client, world.buyer, hooked["id"])
    assert logged["state"] == "delivered" and logged["attempts"] == 1 and logged["last_status_code"] == 200
    assert logged["event_id"] == body["id"] and logged["payload"] == body and logged["webhook_id"] == hooked["id"]
    assert logged["last_error"] is None and logged["next_attempt_at"] is None and isinstance(logged["response_ms"], int)
    assert logged["delivered_at"] == frozen_clock.now.isoformat()
    (entry,) = audit_entries(app, action="webhook:delivered")
    assert entry.object_id == logged["id"] and entry.subject_org_id == world.buyer.org.id
    assert service.deliver_due(app) == 0  # nothing is sent twice


def test_a_forged_signature_is_what_the_receiver_refuses(app, client, world, receiver, hooked):
    receiver.secret = "whsec_not-the-one"
    announce(app, world.buyer)
    service.deliver_due(app)
    (logged,) = deliveries(client, world.buyer, hooked["id"])
    assert logged["state"] == "pending" and logged["last_status_code"] == 401


def test_a_500_is_retried_with_backoff_under_the_same_event_id(app, client, world, receiver, hooked, frozen_clock):
    receiver.replies = [500, 503]
    announce(app, world.buyer)
    start = frozen_clock.now

    assert service.deliver_due(app) == 1
    (logged,) = deliveries(client, world.buyer, hooked["id"])
    assert logged["state"] == "pending" and logged["attempts"] == 1 and logged["last_status_code"] == 500
    assert logged["last_error"] == "HTTP 500: boom"
    assert logged["next_attempt_at"] == (start + dt.timedelta(seconds=30)).isoformat()
    frozen_clock.advance(seconds=29)
    assert service.deliver_due(app) == 0  # not due yet
    frozen_clock.advance(seconds=1)
    assert service.deliver_due(app) == 1
    (logged,) = deliveries(client, world.buyer, hooked["id"])
    assert logged["attempts"] == 2 and logged["last_status_code"] == 503
    assert logged["next_attempt_at"] == (frozen_clock.now + dt.timedelta(seconds=60)).isoformat()
    frozen_clock.advance(seconds=60)
    assert service.deliver_due(app) == 1
    (logged,) = deliveries(client, world.buyer, hooked["id"])
    assert logged["state"] == "delivered" and logged["attempts"] == 3 and logged["last_error"] is None

    assert [r.valid for r in receiver.received] == [True, True, True]
    assert {r.headers["Concord-Event-Id"] for r in receiver.received} == {logged["event_id"]}
    assert len({r.body for r in receiver.received}) == 1  # the same body, byte for byte
    assert [int(r.headers["Concord-Timestamp"]) - int(start.timestamp()) for r in receiver.received] == [0, 30, 90]


def test_a_closed_port_is_retried_on_schedule_then_the_delivery_fails(app, client, world, closed_port, private_hosts_allowed, frozen_clock):
    created = subscribe(client, world.buyer, url=f"http://127.0.0.1:{closed_port}/hook")
    announce(app, world.buyer)
    waits = []
    for attempt in range(1, service.MAX_ATTEMPTS + 1):
        assert service.deliver_due(app) == 1, attempt
        (logged,) = deliveries(client, world.buyer, created["id"])
        assert logged["attempts"] == attempt and logged["last_status_code"] is None
        assert "Connection refused" in logged["last_error"]
        if logged["next_attempt_at"] is None:
            break
        wait = dt.datetime.fromisoformat(logged["next_attempt_at"]) - frozen_clock.now
        waits.append(int(wait.total_seconds()))
        frozen_clock.advance(seconds=waits[-1])
    assert waits == [30, 60, 120, 240, 480, 960, 1800]
    assert logged["state"] == "failed" and logged["attempts"] == service.MAX_ATTEMPTS and logged["delivered_at"] is None
    frozen_clock.advance(days=1)
    assert service.deliver_due(app) == 0
    (entry,) = audit_entries(app, action="webhook:delivery_failed")
    assert entry.summary["attempts"] == 8 and "Connection refused" in entry.summary["error"]


def test_a_name_resolving_to_a_private_address_is_refused_when_sending(app, client, world, receiver, monkeypatch):
    """Names are checked with the addresses they resolve to at each attempt, and the request
    goes to the address checked (with the name as Host)."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    real = socket.getaddrinfo
    monkeypatch.setattr(service.socket, "getaddrinfo", lambda host, *a, **kw: real("127.0.0.1" if host == "hooks.example.test" else host, *a, **kw))
    created = subscribe(client, world.buyer, url=f"http://hooks.example.test:{port}/in")
    receiver.secret = created["secret"]
    announce(app, world.buyer)
    service.deliver_due(app)
    (logged,) = deliveries(client, world.buyer, created["id"])
    assert logged["state"] == "pending" and logged["last_error"] == "Refused: hooks.example.test resolves to a loopback, private or link-local address."
    assert receiver.received == []

    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_HOSTS", True)
    with database(app).sessionmaker() as s:
        s.execute(sa.update(WebhookDelivery).values(next_attempt_at=clock.utcnow()))
        s.commit()
    service.deliver_due(app)
    (request,) = receiver.received
    assert request.valid and request.headers["Host"] == f"hooks.example.test:{port}" and request.path == "/in"
    assert deliveries(client, world.buyer, created["id"])[0]["state"] == "delivered"


@pytest.mark.parametrize("host", ["[::7f00:1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "127.1", "2130706433"])
def test_an_address_stored_before_these_checks_is_refused_when_sending(app, client, world, host):
    created = subscribe(client, world.buyer, url="https://erp.example.com/hook")
    with database(app).sessionmaker() as s:
        s.execute(sa.update(WebhookSubscription).values(url=f"http://{host}:9/in"))
        s.commit()
    announce(app, world.buyer)
    service.deliver_due(app)
    (logged,) = deliveries(client, world.buyer, created["id"])
    assert logged["state"] == "pending" and logged["last_error"].startswith(f"Refused: {host.strip('[]')}: "), logged["last_error"]


def test_an_https_receiver_must_present_a_trusted_certificate(app, client, world, private_hosts_allowed, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = HTTPServer(("127.0.0.1", 0), lambda *a: None)  # the handshake fails before any request
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        created = subscribe(client, world.buyer, url=f"https://127.0.0.1:{server.server_address[1]}/hook")
        announce(app, world.buyer)
        service.deliver_due(app)
    finally:
        thread.join(timeout=10)
        server.server_close()
    (logged,) = deliveries(client, world.buyer, created["id"])
    assert logged["state"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in logged["last_error"]


@pytest.mark.real_commits  # two dispatcher threads, each on its own connection
def test_two_dispatchers_never_send_one_delivery_twice(app, world, receiver, hooked):
    receiver.delay = 0.05
    for n in range(12):
        announce(app, world.buyer, object_id=f"po-{n}")
    sent = []
    threads = [threading.Thread(target=lambda: sent.append(service.deliver_due(app))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 12
    event_ids = [r.headers["Concord-Event-Id"] for r in receiver.received]
    assert len(event_ids) == 12 and len(set(event_ids)) == 12
    with database(app).sessionmaker() as s:
        assert set(s.execute(sa.select(WebhookDelivery.state, WebhookDelivery.attempts)).all()) == {("delivered", 1)}


def test_a_paused_webhook_gets_nothing_until_resumed_and_a_test_event_goes_to_it_alone(app, client, world, receiver, hooked):
    announce(app, world.buyer, object_id="before-pause")
    paused = client.patch(
        f"/api/v1/webhooks/{hooked['id']}", json={"active": False, "events": ["order.acknowledged", "escrow.released"]}, headers=world.buyer.headers
    )
    assert paused.status_code == 200 and paused.get_json()["active"] is False
    announce(app, world.buyer, object_id="while-paused")  # no delivery for a paused webhook
    assert service.deliver_due(app) == 0
    refused = client.post(f"/api/v1/webhooks/{hooked['id']}/test", headers=world.buyer.headers)
    assert refused.status_code == 409 and "paused" in refused.get_json()["detail"]

    assert client.patch(f"/api/v1/webhooks/{hooked['id']}", json={"active": True}, headers=world.buyer.headers).status_code == 200
    announce(app, world.buyer, event="shipment.created", object_id="not-listened-to")
    queued = client.post(f"/api/v1/webhooks/{hooked['id']}/test", headers=world.buyer.headers)
    assert queued.status_code == 202 and queued.get_json()["event"] == "webhook.test" and queued.get_json()["state"] == "pending"
    assert service.deliver_due(app) == 2
    sent = sorted((json.loads(r.body)["type"], json.loads(r.body)["data"]["object_id"]) for r in receiver.received)
    assert sent == [("order.acknowledged", "before-pause"), ("webhook.test", hooked["id"])]
    assert all(r.valid for r in receiver.received)
    (update, resume) = audit_entries(app, action="webhook:updated")
    assert update.summary == {"before": {"events": ["*"], "active": True}, "after": {"events": ["order.acknowledged", "escrow.released"], "active": False}}
    assert resume.summary == {"before": {"active": False}, "after": {"active": True}}
    assert [e.object_id for e in audit_entries(app, action="webhook:test_queued")] == [hooked["id"]]


def test_deleting_a_webhook_removes_its_log_and_stops_its_deliveries(app, client, world, receiver, hooked):
    announce(app, world.buyer)
    assert client.delete(f"/api/v1/webhooks/{hooked['id']}", headers=world.buyer.headers).status_code == 204
    assert client.get(f"/api/v1/webhooks/{hooked['id']}", headers=world.buyer.headers).status_code == 404
    assert service.deliver_due(app) == 0 and receiver.received == []
    assert count(app, WebhookDelivery) == 0
    (entry,) = audit_entries(app, action="webhook:deleted")
    assert entry.summary["before"]["url"] == receiver.url


def test_the_delivery_log_is_the_subscribers_alone(app, client, world, receiver, hooked):
    announce(app, world.buyer)
    service.deliver_due(app)
    assert len(deliveries(client, world.buyer, hooked["id"])) == 1
    assert client.get(f"/api/v1/webhooks/{hooked['id']}/deliveries?state=delivered", headers=world.buyer.headers).get_json()["items"]
    assert client.get(f"/api/v1/webhooks/{hooked['id']}/deliveries?state=failed", headers=world.buyer.headers).get_json()["items"] == []
    for member in (world.supplier, world.buyer2):  # a partner, and a stranger
        for method, suffix in (("GET", ""), ("GET", "/deliveries"), ("POST", "/test"), ("PATCH", ""), ("DELETE", "")):
            response = client.open(
                f"/api/v1/webhooks/{hooked['id']}{suffix}", method=method, json={"active": False} if method == "PATCH" else None, headers=member.headers
            )
            assert response.status_code == 404, (method, suffix, response.status_code)
        assert client.get("/api/v1/webhooks", headers=member.headers).get_json()["items"] == []
    assert client.get(f"/api/v1/webhooks/{hooked['id']}", headers=world.buyer.headers).get_json()["active"] is True
    assert len(audit_entries(app, action="access:denied")) == 10


def test_rotating_the_master_key_keeps_every_webhook_secret(app, client, world, receiver, hooked, tmp_path, monkeypatch):
    ring = keys.KeyRing.load(str(tmp_path), environ={})
    app_ring = keys.KeyRing.of(app)
    with database(app).sessionmaker() as s:
        keys.rotate(s, str(tmp_path / "app"), keys.KeyRing(app_ring.current, (), "environment"), ring.current)
        row = s.get(WebhookSubscription, uuid.UUID(hooked["id"]))
        assert row.secret_key_id == keys.master_key_id(ring.current)
    monkeypatch.setitem(app.extensions, "concord.keyring", ring)
    announce(app, world.buyer)
    service.deliver_due(app)
    (request,) = receiver.received
    assert request.valid
