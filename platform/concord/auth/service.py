"""Login with throttling and lockout, portal sessions and API tokens."""

from __future__ import annotations

import hashlib
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
from concord.auth import passwords, throttle
from concord.auth.models import ApiToken, UserSession
from concord.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized, ValidationFailed
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


def _find_user_by_email(session: Session, email: str) -> User | None:
    query = sa.select(User).where(User.email == email.strip().lower())
    return session.execute(query).unique().scalar_one_or_none()


def authenticate(session: Session, email: str, password: str, *, channel: str, source: str) -> User:
    """Check a login from the client address `source`; commit what it teaches us (failures,
    throttling, success) either way (see concord.auth.throttle).

    Raises Unauthorized for a wrong email or password, TooManyRequests while this source is
    throttled, Forbidden when the account or its organization may not act.
    """
    now = clock.utcnow()
    email = email.strip().lower()
    user = _find_user_by_email(session, email)
    actor = Actor(user.id, user.organization_id) if user else None
    about_user: dict[str, Any] = {"subject_org_id": user.organization_id, "object_type": "user", "object_id": user.id} if user else {"email": email[:254]}
    refused = throttle.refusal(session, email, source, now)
    if refused is not None:
        record(session, Action.LOGIN_THROTTLED, actor=actor, channel=channel, reason=refused.reason, **about_user)
        session.commit()
        raise TooManyRequests(refused.detail, retry_after=refused.retry_after)

    if user is None or not passwords.verify_password(user.password_hash, password):
        if user is None:
            passwords.verify_password(passwords.dummy_hash(), password)  # the same time either way
        failure = throttle.record_failure(session, email, source, now)
        record(
            session,
            Action.LOGIN_FAILED,
            actor=actor,
            channel=channel,
            reason="wrong_password" if user else "unknown_email",
            failures=failure.failures,
            **about_user,
        )
        if failure.locked_until is not None:
            record(session, Action.ACCOUNT_LOCKED, actor=actor, until=failure.locked_until.isoformat(), channel=channel, **about_user)
        session.commit()
        raise Unauthorized(BAD_CREDENTIALS)

    reason = refusal_reason(user, user.organization)
    if reason:
        record(session, Action.LOGIN_FAILED, actor=actor, channel=channel, reason=reason, **about_user)
        session.commit()
        raise Forbidden(reason)

    throttle.record_success(session, email, source)
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    record(session, Action.LOGIN_SUCCEEDED, actor=actor, channel=channel, **about_user)
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
    found = (
        session.execute(sa.select(UserSession).where(UserSession.token_hash == secret_hash(raw), UserSession.ended_at.is_(None))).unique().scalar_one_or_none()
    )
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
    record(
        session,
        Action.TOKEN_CREATED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="api_token",
        object_id=token.id,
        after={"name": token.name, "expires_at": token.expires_at.isoformat()},
    )
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


def revoke_token(session: Session, principal: Principal, token: ApiToken, *, reason: str | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = clock.utcnow()
        extra: dict[str, Any] = {"reason": reason} if reason else {}
        record(
            session,
            Action.TOKEN_REVOKED,
            actor=principal.actor,
            subject_org_id=principal.org.id,
            object_type="api_token",
            object_id=token.id,
            before={"state": "active"},
            after={"state": "revoked"},
            **extra,
        )
        session.commit()
    return token


def revoke_all_tokens(session: Session, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> int:
    """Revoke every live API token of a user (except `keep`); the caller commits."""
    query = sa.update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > clock.utcnow())
    if keep is not None:
        query = query.where(ApiToken.id != keep)
    result = session.execute(query.values(revoked_at=clock.utcnow()))
    return cast(CursorResult[Any], result).rowcount


def log_out_token(session: Session, principal: Principal) -> None:
    """End the bearer token the request came with (the API's logout)."""
    if principal.via != "token":
        raise Conflict("Only a request made with a bearer token can log that token out.")
    # FOR UPDATE of the token's row only: its user is joined in by an outer join.
    token = session.execute(sa.select(ApiToken).where(ApiToken.id == principal.credential_id).with_for_update(of=ApiToken)).unique().scalar_one()
    revoke_token(session, principal, token, reason="logout")


def member_tokens_query(session: Session, principal: Principal, user_id: uuid.UUID) -> sa.Select:
    """The API tokens of a user of the admin's own organization (never their secrets)."""
    user = policy.get_visible(session, User, user_id, principal)
    policy.require_admin(principal)
    return sa.select(ApiToken).where(ApiToken.user_id == user.id)


def revoke_member_token(session: Session, principal: Principal, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
    """An admin revokes a token of a user of their organization."""
    user = policy.get_visible(session, User, user_id, principal)
    token = (
        session.execute(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id).with_for_update(of=ApiToken))
        .unique()
        .scalar_one_or_none()
    )
    if token is None:
        raise NotFound("No such api token.")
    policy.require_admin(principal)
    return revoke_token(session, principal, token)


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
    # And every API token but the one making this request: a token is a password's equal.
    revoked = revoke_all_tokens(session, user.id, keep=principal.credential_id if principal.via == "token" else None)
    record(
        session,
        Action.PASSWORD_CHANGED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="user",
        object_id=user.id,
        sessions_ended=ended,
        tokens_revoked=revoked,
    )
    session.commit()
