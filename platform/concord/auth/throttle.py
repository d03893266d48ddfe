"""Failed logins slow down whoever fails, not the account's owner.

Failures are counted per email *and source address*: after LOGIN_THROTTLE_AFTER of them
that source waits 2^n seconds before each try, and after LOGIN_LOCK_AFTER it is locked out
of that email for LOGIN_LOCK_MINUTES. Someone who knows an email therefore locks only
themselves out; the owner, from anywhere else, signs in as usual, and no lockout ever
touches sessions or API tokens already issued. Each source may fail at most
LOGIN_FAILURES_PER_SOURCE times a minute whatever emails it tries, and the platform as a
whole LOGIN_FAILURES_GLOBAL times a minute (a spread-out guessing attack). Unknown emails
count exactly like known ones, so a 429 tells nothing about whether an email exists.

Counters are read without locks before the password is checked and written after it, so
no row lock is held while argon2 runs.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from concord.auth.models import LoginThrottle

WINDOW = timedelta(minutes=1)
MAX_DELAY_SECONDS = 300


@dataclass(frozen=True)
class Refusal:
    reason: str  # "throttled", "locked", "source_rate" or "global_rate"
    retry_after: int
    detail: str


def _key(scope: str, *parts: str) -> str:
    return hashlib.sha256("\x1f".join((scope, *parts)).encode()).hexdigest()


def _keys(email: str, source: str) -> dict[str, str]:
    return {"account": _key("account", email, source), "source": _key("source", source), "global": _key("global")}


def _row(session: Session, scope: str, key: str, now: datetime) -> LoginThrottle:
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginThrottle(key=key, scope=scope, window_started_at=now, failures=0)
            session.add(row)
    except IntegrityError:  # a concurrent first failure inserted it
        row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        assert row is not None
    return row


def _seconds(delta: timedelta) -> int:
    return max(math.ceil(delta.total_seconds()), 1)


def _delay(failures: int) -> int:
    over = failures - current_app.config["LOGIN_THROTTLE_AFTER"]
    return 0 if over < 0 else min(2**over, MAX_DELAY_SECONDS)


def refusal(session: Session, email: str, source: str, now: datetime) -> Refusal | None:
    """Why a login of `email` from `source` may not be tried now, or None. Reads only."""
    keys = _keys(email, source)
    rows = {scope: session.get(LoginThrottle, key) for scope, key in keys.items()}
    limits = {"global": current_app.config["LOGIN_FAILURES_GLOBAL"], "source": current_app.config["LOGIN_FAILURES_PER_SOURCE"]}
    for scope, limit in limits.items():
        row = rows[scope]
        if row is not None and row.window_started_at + WINDOW > now and row.failures >= limit:
            reason = "global_rate" if scope == "global" else "source_rate"
            return Refusal(reason, _seconds(row.window_started_at + WINDOW - now), "Too many failed logins; wait before trying again.")
    account = rows["account"]
    if account is None:
        return None
    if account.locked_until and account.locked_until > now:
        return Refusal("locked", _seconds(account.locked_until - now), "Too many failed logins; wait before trying again.")
    delay = _delay(account.failures)
    if delay and account.last_failure_at and account.last_failure_at + timedelta(seconds=delay) > now:
        return Refusal("throttled", _seconds(account.last_failure_at + timedelta(seconds=delay) - now), "Too many failed logins; wait before trying again.")
    return None


@dataclass(frozen=True)
class Failure:
    failures: int  # consecutive failures of this email from this source
    locked_until: datetime | None  # set when this failure locked the source out of the email


def record_failure(session: Session, email: str, source: str, now: datetime) -> Failure:
    """Count a failed login against the email from this source, the source and the platform."""
    keys = _keys(email, source)
    for scope in ("global", "source"):
        row = _row(session, scope, keys[scope], now)
        if row.window_started_at + WINDOW <= now:
            if scope == "global":  # once a minute at most: counters an attack of random emails left
                _forget_stale(session, now)
            row.window_started_at, row.failures = now, 0
        row.failures += 1
    account = _row(session, "account", keys["account"], now)
    account.failures += 1
    account.last_failure_at = now
    failures, locked_until = account.failures, None
    if account.failures >= current_app.config["LOGIN_LOCK_AFTER"]:
        locked_until = account.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        account.failures = 0
    return Failure(failures, locked_until)


def record_success(session: Session, email: str, source: str) -> None:
    """A right password from this source clears its failures for the email."""
    row = session.get(LoginThrottle, _keys(email, source)["account"], with_for_update=True)
    if row is not None:
        session.delete(row)


def _forget_stale(session: Session, now: datetime) -> None:
    """Drop counters that can no longer refuse anything."""
    horizon = now - timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"]) - timedelta(seconds=MAX_DELAY_SECONDS) - WINDOW
    session.execute(
        sa.delete(LoginThrottle).where(
            LoginThrottle.window_started_at < horizon,
            sa.or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < horizon),
            sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
