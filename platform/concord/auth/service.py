"""Login with throttling and lockout, portal sessions and API tokens."""
from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, Actor, record
from concord.auth import passwords
from concord.auth.models import ApiToken, UserSession
from concord.errors import Forbidden, TooManyRequests, Unauthorized, ValidationFailed
from concord.policy import Principal, refusal_reason
from concord.tenancy.models import User

TOKEN_PREFIX = "cnc_"
BAD_CREDENTIALS = "Email or password is incorrect."
# last_seen / last_used timestamps are written at most this often, not on every request.
_TOUCH_INTERVAL = timedelta(seconds=60)


def secret_hash(raw: str) -> str:
    """Session ids, API tokens and invitation tokens are 256-bit random values, so a plain
    SHA-256 is enough to keep a database reader from using them."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def _settings(name: str):
    return current_app.config[name]


def _find_user_by_email(session: Session, email: str, *, for_update: bool = False) -> User | None:
    query = sa.select(User).where(User.email == email.strip().lower())
    if for_update:
        query = query.with_for_update(of=User)
    return session.execute(query).unique().scalar_one_or_none()


def _throttle_delay(failures: int) -> int:
    """Seconds a caller must wait after `failures` consecutive failures."""
    over = failures - _settings("LOGIN_THROTTLE_AFTER")
    return 0 if over < 0 else min(2**over, 300)


def authenticate(session: Session, email: str, password: str, *, channel: str) -> User:
    """Check a login; commit what it teaches us (failures, lockout, success) either way.

    Raises Unauthorized for a wrong email or password, TooManyRequests while throttled or
    locked, Forbidden when the account or its organization may not act.
    """
    now = clock.utcnow()
    user = _find_user_by_email(session, email, for_update=True)
    if user is None:
        passwords.verify_password(passwords.dummy_hash(), password)
        record(session, Action.LOGIN_FAILED, actor=None, email=email.strip().lower()[:254], channel=channel, reason="unknown_email")
        session.commit()
        raise Unauthorized(BAD_CREDENTIALS)

    actor = Actor(user.id, user.organization_id)
    if user.locked_until and user.locked_until > now:
        wait = math.ceil((user.locked_until - now).total_seconds())
        record(session, Action.LOGIN_THROTTLED, actor=actor, subject_org_id=user.organization_id, object_type="user", object_id=user.id, channel=channel, reason="locked")
        session.commit()
        raise TooManyRequests("This account is locked after repeated failed logins; try again later.", retry_after=wait)
    delay = _throttle_delay(user.failed_login_count)
    if delay and user.last_failed_login_at and user.last_failed_login_at + timedelta(seconds=delay) > now:
        wait = math.ceil((user.last_failed_login_at + timedelta(seconds=delay) - now).total_seconds())
        record(session, Action.LOGIN_THROTTLED, actor=actor, subject_org_id=user.organization_id, object_type="user", object_id=user.id, channel=channel, reason="throttled")
        session.commit()
        raise TooManyRequests("Too many failed logins; wait before trying again.", retry_after=max(wait, 1))

    if not passwords.verify_password(user.password_hash, password):
        user.failed_login_count += 1
        user.last_failed_login_at = now
        record(session, Action.LOGIN_FAILED, actor=actor, subject_org_id=user.organization_id, object_type="user", object_id=user.id, channel=channel, reason="wrong_password", failures=user.failed_login_count)
        if user.failed_login_count >= _settings("LOGIN_LOCK_AFTER"):
            user.locked_until = now + timedelta(minutes=_settings("LOGIN_LOCK_MINUTES"))
            user.failed_login_count = 0
            record(session, Action.ACCOUNT_LOCKED, actor=actor, subject_org_id=user.organization_id, object_type="user", object_id=user.id, until=user.locked_until.isoformat())
        session.commit()
        raise Unauthorized(BAD_CREDENTIALS)

    reason = refusal_reason(user, user.organization)
    if reason:
        record(session, Action.LOGIN_FAILED, actor=actor, subject_org_id=user.organization_id, object_type="user", object_id=user.id, channel=channel, reason=reason)
        session.commit()
        raise Forbidden(reason)

    user.failed_login_count = 0
    user.last_failed_login_at = None
    user.locked_until = None
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    record(session, Action.LOGIN_SUCCEEDED, actor=actor, subject_org_id=user.organization_id, object_type="user", object_id=user.id, channel=channel)
    return user


# --- portal sessions ---------------------------------------------------------------


def start_session(session: Session, user: User, *, ip: str | None, user_agent: str | None) -> str:
    now = clock.utcnow()
    raw = new_secret()
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=secret_hash(raw),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=_settings("SESSION_ABSOLUTE_HOURS")),
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    return raw


def resolve_session(session: Session, raw: str) -> Principal | None:
    """The principal behind a live session id, or None when it ended, expired or idled out."""
    found = session.execute(
        sa.select(UserSession).where(UserSession.token_hash == secret_hash(raw), UserSession.ended_at.is_(None))
    ).unique().scalar_one_or_none()
    if found is None:
        return None
    now = clock.utcnow()
    idle_limit = found.last_seen_at + timedelta(minutes=_settings("SESSION_IDLE_MINUTES"))
    if found.expires_at <= now or idle_limit <= now:
        found.ended_at = now
        session.commit()
        return None
    if now - found.last_seen_at >= _TOUCH_INTERVAL:
        found.last_seen_at = now
        session.commit()
    return Principal(user=found.user, org=found.user.organization, via="session", credential_id=found.id)


def end_session(session: Session, principal: Principal) -> None:
    found = session.get(UserSession, principal.credential_id)
    if found is not None and found.ended_at is None:
        found.ended_at = clock.utcnow()
        record(session, Action.LOGOUT, actor=principal.actor, subject_org_id=principal.org.id, object_type="user", object_id=principal.user.id)
    session.commit()


def end_all_sessions(session: Session, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> int:
    """End every live session of a user (except `keep`); the caller commits."""
    query = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    result = session.execute(query.values(ended_at=clock.utcnow()))
    return cast(CursorResult[Any], result).rowcount  # an UPDATE's result (SQLAlchemy types it as Result)


# --- API tokens -------------------------------------------------------------------


def create_token(session: Session, principal: Principal, *, name: str, expires_in_days: int | None) -> tuple[ApiToken, str]:
    days = _settings("API_TOKEN_DEFAULT_DAYS") if expires_in_days is None else expires_in_days
    if not 1 <= days <= _settings("API_TOKEN_MAX_DAYS"):
        raise ValidationFailed({"expires_in_days": [f"Must be between 1 and {_settings('API_TOKEN_MAX_DAYS')} days."]})
    now = clock.utcnow()
    raw = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        id=uuid.uuid4(),
        user_id=principal.user.id,
        name=name.strip(),
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=secret_hash(raw),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    record(session, Action.TOKEN_CREATED, actor=principal.actor, subject_org_id=principal.org.id, object_type="api_token", object_id=token.id, after={"name": token.name, "expires_at": token.expires_at.isoformat()})
    session.commit()
    return token, raw


def issue_token_for_login(session: Session, user: User, *, name: str, expires_in_days: int | None) -> tuple[ApiToken, str]:
    principal = Principal(user=user, org=user.organization, via="password", credential_id=user.id)
    return create_token(session, principal, name=name, expires_in_days=expires_in_days)


class TokenRejected(Unauthorized):
    pass


def resolve_token(session: Session, raw: str) -> Principal:
    token = session.execute(sa.select(ApiToken).where(ApiToken.token_hash == secret_hash(raw))).unique().scalar_one_or_none()
    now = clock.utcnow()
    if token is None:
        raise TokenRejected("The bearer token is not valid.")
    state = token.state(now)
    if state != "active":
        raise TokenRejected(f"The bearer token is {state}.")
    if token.last_used_at is None or now - token.last_used_at >= _TOUCH_INTERVAL:
        token.last_used_at = now
        session.commit()
    return Principal(user=token.user, org=token.user.organization, via="token", credential_id=token.id)


def revoke_token(session: Session, principal: Principal, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = clock.utcnow()
        record(session, Action.TOKEN_REVOKED, actor=principal.actor, subject_org_id=principal.org.id, object_type="api_token", object_id=token.id, before={"state": "active"}, after={"state": "revoked"})
        session.commit()
    return token


def tokens_query(principal: Principal) -> sa.Select:
    return sa.select(ApiToken).where(policy.visible(principal, ApiToken))


def change_password(session: Session, principal: Principal, *, current_password: str, new_password: str) -> None:
    user = principal.user
    if not passwords.verify_password(user.password_hash, current_password):
        raise ValidationFailed({"current_password": ["The current password is incorrect."]})
    problems = passwords.password_problems(new_password, email=user.email, name=user.full_name)
    if current_password == new_password:
        problems.append("The new password must differ from the current one.")
    if problems:
        raise ValidationFailed({"new_password": problems})
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = clock.utcnow()
    # Every other session ends: whoever knew the old password is signed out.
    keep = principal.credential_id if principal.via == "session" else None
    ended = end_all_sessions(session, user.id, keep=keep)
    record(session, Action.PASSWORD_CHANGED, actor=principal.actor, subject_org_id=principal.org.id, object_type="user", object_id=user.id, sessions_ended=ended)
    session.commit()
