"""Notifications and signed webhooks.

`notify()` is what other domains call: in their transaction it writes one notification per
organization and one pending delivery per matching active webhook. `deliver_due()` sends
what is due (from the ledger worker's rounds): each delivery is claimed in a short
transaction, sent with no transaction open, and its outcome recorded in another.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import socket
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
import urllib3
from flask import Flask, current_app, g, has_request_context
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import database
from concord.errors import Conflict, ValidationFailed
from concord.ledger import keys  # the master key ring: secrets sealed like signing keys, rotated with them
from concord.notifications.models import DeliveryState, Notification, WebhookDelivery, WebhookSubscription
from concord.policy import Principal

log = logging.getLogger(__name__)

# "noun.verb", such as "order.issued" or "shipment.milestone".
EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
EVENT_NAME_MAX = 64
ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)  # then doubling: 1, 2, 4, 8, 16 minutes ...
LONGEST_RETRY = timedelta(minutes=30)  # ... capped here
TIMEOUT_SECONDS = 5
# A claimed delivery is not due again for this long, so a dispatcher that died while sending
# leaves it to another one (it needs at most TIMEOUT_SECONDS per connect and per read).
CLAIM_LEASE = timedelta(seconds=60)
PARALLEL_SENDS = 8
MAX_SUBSCRIPTIONS = 20  # per organization: every event is sent to each of them


def visibility() -> dict[type, Any]:
    """Who sees notifications and webhook subscriptions: their own organization (registered
    with policy by concord.bootstrap)."""
    return {
        Notification: lambda p: Notification.organization_id == p.org.id,
        WebhookSubscription: lambda p: WebhookSubscription.organization_id == p.org.id,
    }


# -- what other domains call ----------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON for what domain data holds: exact decimals and ids as strings, ISO 8601 times."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go into an event")


def _acting_organization() -> uuid.UUID | None:
    principal = g.get("principal") if has_request_context() else None
    return principal.org.id if principal is not None else None


def notify(session: Session, event: str, *, org_ids: Iterable[uuid.UUID], object_type: str, object_id: Any, summary: str, data: dict | None = None) -> None:
    """Tell each organization of `org_ids` about an event, in the caller's transaction (the
    caller commits): one notification each, and one pending delivery per active webhook of
    theirs that listens to `event`. Every copy carries the same event id."""
    if len(event) > EVENT_NAME_MAX or not EVENT_NAME.fullmatch(event):
        raise ValueError(f"Event names look like 'order.issued', not {event!r}.")
    organizations = list(dict.fromkeys(org_ids))
    if not organizations:
        return
    now, event_id = clock.utcnow(), uuid.uuid4()
    details = json.loads(json.dumps(data or {}, default=_plain))
    # People are not told in the portal what their own organization just did; its webhooks
    # still hear of it (the systems behind them may not have been the ones acting).
    acting = _acting_organization()
    for organization_id in (org for org in organizations if org != acting):
        session.add(
            Notification(
                organization_id=organization_id,
                event_id=event_id,
                event=event,
                object_type=object_type,
                object_id=str(object_id),
                summary=summary,
                data=details,
                created_at=now,
            )
        )
    payload = _payload(event_id, event, now, {**details, "object_type": object_type, "object_id": str(object_id), "summary": summary})
    subscriptions = session.execute(
        sa.select(WebhookSubscription).where(WebhookSubscription.organization_id.in_(organizations), WebhookSubscription.active.is_(True))
    ).scalars()
    for subscription in subscriptions:
        if ALL_EVENTS in subscription.events or event in subscription.events:
            session.add(_delivery(subscription, event_id, event, payload, now))
    session.flush()


def _payload(event_id: uuid.UUID, event: str, created_at: datetime, data: dict) -> dict:
    return {"id": str(event_id), "type": event, "created_at": created_at.isoformat(), "data": data}


def _delivery(subscription: WebhookSubscription, event_id: uuid.UUID, event: str, payload: dict, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        subscription_id=subscription.id,
        event_id=event_id,
        event=event,
        payload=payload,
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


# -- notifications ----------------------------------------------------------------------------


def notifications_query(principal: Principal, *, unread: bool | None = None) -> sa.Select:
    query = sa.select(Notification).where(policy.visible(principal, Notification))
    if unread is not None:
        query = query.where(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    return query


def mark_read(session: Session, principal: Principal, notification_id: uuid.UUID) -> Notification:
    """Mark a notification of your organization read (for everyone in it); again changes nothing."""
    notification = policy.get_visible(session, Notification, notification_id, principal, for_update=True)
    if notification.read_at is None:
        notification.read_at = clock.utcnow()
        record(
            session,
            Action.NOTIFICATION_READ,
            actor=principal.actor,
            subject_org_id=notification.organization_id,
            object_type="notification",
            object_id=notification.id,
            event=notification.event,
        )
        session.commit()
    return notification


def mark_all_read(session: Session, principal: Principal, *, up_to: datetime | None = None) -> int:
    """Mark read every unread notification of your organization that arrived by `up_to`
    (now when None, never later): what came after the reader's page stays unread. Returns
    how many; one audit entry covers them, none when there were none."""
    now = clock.utcnow()
    up_to = now if up_to is None else min(up_to, now)
    result = session.execute(
        sa.update(Notification)
        .where(policy.visible(principal, Notification), Notification.read_at.is_(None), Notification.created_at <= up_to)
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    marked = cast(CursorResult[Any], result).rowcount  # an UPDATE's result (SQLAlchemy types it as Result)
    if marked:
        record(
            session,
            Action.NOTIFICATION_READ,
            actor=principal.actor,
            subject_org_id=principal.org.id,
            object_type="notification",
            all_unread=True,
            up_to=up_to.isoformat(),
            count=marked,
        )
    session.commit()
    return marked


# -- webhook subscriptions --------------------------------------------------------------------


NOT_PUBLIC = "Concord does not deliver to loopback, private or link-local hosts."
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and a network may route to: mapped
    (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4
    (2002:aabb:ccdd::) and Teredo."""
    embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _IPV4_COMPATIBLE or any(address in network for network in _NAT64):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [found for found in embedded if found is not None]


def _non_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and any(_non_public(inner) for inner in _embedded_ipv4(address)):
        return True
    return not address.is_global or address.is_multicast


def host_problem(host: str) -> str | None:
    """Why `host` (a URL's host name or address literal) is not one Concord delivers to."""
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return NOT_PUBLIC
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        try:
            socket.inet_aton(host)  # what the resolver would accept as an address
        except OSError:
            return None  # a host name: its addresses are checked at every attempt
        return "Write an IPv4 address as four decimal numbers (a.b.c.d), not in decimal, hex, octal or short form."
    return NOT_PUBLIC if _non_public(literal) else None


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why Concord will not deliver to `url`, or None. Host names are checked again, with
    the addresses they resolve to, at every attempt."""
    if not url.isascii() or any(char.isspace() or not char.isprintable() for char in url):
        return "Use an ASCII URL without spaces (punycode for international domain names)."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https"):
        return "Use an http or https URL."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username is not None or parts.password is not None:
        return "Put no credentials in the URL: check the Concord-Signature header instead."
    if parts.fragment or url.endswith("#"):
        return "Remove the #fragment: it is never sent."
    if port == 0:
        return "Port 0 is not a port one can connect to."
    if allow_private:
        return None
    return host_problem(parts.hostname)


def _events(names: list[str]) -> list[str]:
    unique = list(dict.fromkeys(names))
    return [ALL_EVENTS] if ALL_EVENTS in unique else unique


def _snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    return {"url": subscription.url, "events": list(subscription.events), "active": subscription.active}


def create_subscription(session: Session, principal: Principal, data: dict[str, Any]) -> tuple[WebhookSubscription, str]:
    """A webhook of your organization (admins); returns it with its signing secret, which is
    never shown again."""
    policy.require_admin(principal)
    count = session.execute(sa.select(sa.func.count()).where(WebhookSubscription.organization_id == principal.org.id)).scalar_one()
    if count >= MAX_SUBSCRIPTIONS:
        raise Conflict(f"Your organization has {count} webhooks, the most it may have; delete one first.")
    problem = url_problem(data["url"], allow_private=current_app.config["WEBHOOKS_ALLOW_PRIVATE_HOSTS"])
    if problem:
        raise ValidationFailed({"url": [problem]})
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription_id = uuid.uuid4()
    nonce, ciphertext, key_id = keys.seal(keys.KeyRing.of(current_app), secret.encode(), subscription_id)
    subscription = WebhookSubscription(
        id=subscription_id,
        organization_id=principal.org.id,
        url=data["url"],
        events=_events(data["events"]),
        active=True,
        created_by=principal.user.id,
        secret_nonce=nonce,
        secret_ciphertext=ciphertext,
        secret_key_id=key_id,
    )
    session.add(subscription)
    session.flush()
    record(
        session,
        Action.WEBHOOK_CREATED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="webhook",
        object_id=subscription.id,
        after=_snapshot(subscription),
    )
    session.commit()
    return subscription, secret


def subscriptions_query(principal: Principal) -> sa.Select:
    policy.require_admin(principal)
    return sa.select(WebhookSubscription).where(policy.visible(principal, WebhookSubscription))


def get_subscription(session: Session, principal: Principal, webhook_id: uuid.UUID, *, for_update: bool = False) -> WebhookSubscription:
    subscription = policy.get_visible(session, WebhookSubscription, webhook_id, principal, for_update=for_update)
    policy.require_admin(principal)
    return subscription


def update_subscription(session: Session, principal: Principal, webhook_id: uuid.UUID, changes: dict[str, Any]) -> WebhookSubscription:
    """Pause or resume a webhook (`active`), or change the events it listens to."""
    subscription = get_subscription(session, principal, webhook_id, for_update=True)
    before = _snapshot(subscription)
    if "events" in changes:
        subscription.events = _events(changes["events"])
    if "active" in changes:
        subscription.active = changes["active"]
    after = _snapshot(subscription)
    changed = [key for key in after if after[key] != before[key]]
    if changed:
        record(
            session,
            Action.WEBHOOK_UPDATED,
            actor=principal.actor,
            subject_org_id=subscription.organization_id,
            object_type="webhook",
            object_id=subscription.id,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    session.commit()
    return subscription


def delete_subscription(session: Session, principal: Principal, webhook_id: uuid.UUID) -> None:
    """Remove a webhook and its delivery log; nothing more is sent to it."""
    subscription = get_subscription(session, principal, webhook_id, for_update=True)
    record(
        session,
        Action.WEBHOOK_DELETED,
        actor=principal.actor,
        subject_org_id=subscription.organization_id,
        object_type="webhook",
        object_id=subscription.id,
        before=_snapshot(subscription),
    )
    session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id))
    session.delete(subscription)
    session.commit()


def deliveries_query(session: Session, principal: Principal, webhook_id: uuid.UUID, *, state: DeliveryState | None = None) -> sa.Select:
    subscription = get_subscription(session, principal, webhook_id)
    query = sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    return query


def send_test(session: Session, principal: Principal, webhook_id: uuid.UUID) -> WebhookDelivery:
    """Queue a `webhook.test` event for this webhook only (whatever its event filter)."""
    subscription = get_subscription(session, principal, webhook_id)
    if not subscription.active:
        raise Conflict("This webhook is paused: set `active` to true before sending it a test event.")
    now, event_id = clock.utcnow(), uuid.uuid4()
    payload = _payload(event_id, TEST_EVENT, now, {"object_type": "webhook", "object_id": str(subscription.id), "summary": "A test event sent from Concord."})
    delivery = _delivery(subscription, event_id, TEST_EVENT, payload, now)
    session.add(delivery)
    session.flush()
    record(
        session,
        Action.WEBHOOK_TEST_QUEUED,
        actor=principal.actor,
        subject_org_id=subscription.organization_id,
        object_type="webhook",
        object_id=subscription.id,
        event_id=str(event_id),
    )
    session.commit()
    return delivery


# -- sending ----------------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The Concord-Signature header: HMAC-SHA256 of "{timestamp}.{body}" under the secret."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def retry_delay(attempt: int) -> timedelta:
    """How long after failed attempt number `attempt` (1, 2, ...) the next one is due."""
    return min(FIRST_RETRY * 2 ** (attempt - 1), LONGEST_RETRY)


@dataclass(frozen=True)
class _Claim:
    delivery_id: uuid.UUID
    attempt: int
    organization_id: uuid.UUID
    url: str
    secret: str | None  # None when the sealed secret does not open
    event_id: uuid.UUID
    event: str
    payload: dict


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str | None = None
    response_ms: int | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Refused(Exception):
    pass


def _address(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to: what `host` resolves to now, every one of them public."""
    if not allow_private and (problem := host_problem(host)) is not None:
        raise _Refused(f"Refused: {host}: {problem}")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise _Refused(f"Cannot resolve {host}: {error}.") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    if not allow_private and any(_non_public(address) for address in addresses):
        raise _Refused(f"Refused: {host} resolves to a loopback, private or link-local address.")
    return str(addresses[0])


def _post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool) -> tuple[int, str]:
    """POST to the address checked by `_address` (so a second DNS answer cannot redirect the
    request), following no redirect and no proxy; returns the status and the body's start."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    if parts.hostname is None:  # url_problem refused it when the webhook was saved
        raise _Refused("The URL has no host.")
    address = _address(parts.hostname, port, allow_private=allow_private)
    options: dict[str, Any] = {"timeout": urllib3.Timeout(connect=TIMEOUT_SECONDS, read=TIMEOUT_SECONDS), "retries": False}
    pool: urllib3.HTTPConnectionPool
    if https:
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=parts.hostname, assert_hostname=parts.hostname, **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **options)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with pool:
        response = pool.urlopen("POST", target, body=body, headers={**headers, "Host": parts.netloc}, redirect=False, preload_content=False)
        start = response.read(200).decode("utf-8", "replace")
        return response.status, start


def _describe(error: Exception) -> str:
    message = str(error)
    # urllib3 names the pool or connection first ("HTTPConnection(host=..., port=...): ...").
    return message.split("): ", 1)[1] if "): " in message else message or type(error).__name__


def _send(claim: _Claim, allow_private: bool) -> _Outcome:
    if claim.secret is None:
        return _Outcome(error="The webhook's signing secret does not open under the configured master key.")
    body = json.dumps(claim.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(clock.utcnow().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Concord-Webhooks/1",
        "Concord-Event-Id": str(claim.event_id),
        "Concord-Event-Type": claim.event,
        "Concord-Timestamp": timestamp,
        "Concord-Signature": signature(claim.secret, timestamp, body),
    }
    started = time.monotonic()
    try:
        status, start = _post(claim.url, body, headers, allow_private=allow_private)
    except _Refused as error:
        return _Outcome(error=str(error))
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        return _Outcome(error=_describe(error), response_ms=round((time.monotonic() - started) * 1000))
    elapsed = round((time.monotonic() - started) * 1000)
    if 200 <= status < 300:
        return _Outcome(status_code=status, response_ms=elapsed)
    detail = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "") + (f": {start.strip()}" if start.strip() else "")
    return _Outcome(status_code=status, error=detail, response_ms=elapsed)


def _claim(sessions, ring: keys.KeyRing, count: int) -> list[_Claim]:
    """Take up to `count` due deliveries of active webhooks: each one's attempt is counted and
    its next_attempt_at moved past the lease, so no other dispatcher takes it meanwhile."""
    now = clock.utcnow()
    claims = []
    with sessions() as session:
        due = session.execute(
            sa.select(WebhookDelivery, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.next_attempt_at <= now, WebhookSubscription.active.is_(True))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(count)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        ).all()
        for delivery, subscription in due:
            taken = session.execute(
                sa.update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery.id, WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.attempts == delivery.attempts)
                .values(attempts=delivery.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not taken:
                continue
            try:
                secret = keys.unseal(ring, subscription.secret_key_id, subscription.secret_nonce, subscription.secret_ciphertext, subscription.id).decode()
            except keys.SigningKeyError:
                log.exception("webhook %s: the signing secret does not open", subscription.id)
                secret = None
            claims.append(
                _Claim(
                    delivery.id,
                    delivery.attempts + 1,
                    subscription.organization_id,
                    subscription.url,
                    secret,
                    delivery.event_id,
                    delivery.event,
                    delivery.payload,
                )
            )
        session.commit()
    return claims


def _record(sessions, claim: _Claim, outcome: _Outcome) -> None:
    now = clock.utcnow()
    with sessions() as session:
        delivery = session.get(WebhookDelivery, claim.delivery_id, with_for_update=True)
        # Gone with its webhook, or taken again by another dispatcher after the lease ran out.
        if delivery is None or delivery.state != DeliveryState.PENDING or delivery.attempts != claim.attempt:
            session.rollback()
            return
        delivery.last_attempt_at = now
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error[:500] if outcome.error else None
        delivery.response_ms = outcome.response_ms
        if outcome.delivered:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, now, None
        elif claim.attempt >= MAX_ATTEMPTS:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        else:
            delivery.next_attempt_at = now + retry_delay(claim.attempt)
        if delivery.state != DeliveryState.PENDING:
            record(
                session,
                Action.WEBHOOK_DELIVERED if outcome.delivered else Action.WEBHOOK_DELIVERY_FAILED,
                actor=None,
                subject_org_id=claim.organization_id,
                object_type="webhook_delivery",
                object_id=delivery.id,
                webhook_id=str(delivery.subscription_id),
                event_id=str(claim.event_id),
                event=claim.event,
                attempts=claim.attempt,
                status_code=outcome.status_code,
                error=delivery.last_error,
            )
        session.commit()


def deliver_due(app: Flask, *, limit: int = 100) -> int:
    """Send up to `limit` due deliveries, a few at a time in parallel; returns how many were
    attempted. Two dispatchers never send one delivery in the same attempt."""
    sessions = database(app).sessionmaker
    ring = keys.KeyRing.of(app)
    allow_private = bool(app.config["WEBHOOKS_ALLOW_PRIVATE_HOSTS"])
    attempted = 0
    while attempted < limit:
        claims = _claim(sessions, ring, min(PARALLEL_SENDS, limit - attempted))
        if not claims:
            break
        with ThreadPoolExecutor(max_workers=len(claims), thread_name_prefix="concord-webhook") as pool:
            outcomes = list(pool.map(lambda claim: _send(claim, allow_private), claims))
        for claim, outcome in zip(claims, outcomes, strict=True):
            _record(sessions, claim, outcome)
        attempted += len(claims)
    return attempted
