"""The people of an organization: invitations, accepting them, roles, disabling and
enabling users. Like every service here, each function checks its rule, writes the audit
entry in the same transaction as the change, and commits."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, Actor, record
from concord.auth import passwords
from concord.auth.service import end_all_sessions, new_secret, secret_hash
from concord.db import commit_or_conflict
from concord.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from concord.policy import Principal
from concord.tenancy.models import Invitation, Organization, OrgStatus, Role, User, UserStatus


def check_new_user_email(session: Session, email: str, field: str) -> str:
    email = email.strip().lower()
    if session.execute(sa.select(User.id).where(User.email == email)).first():
        raise Conflict("A user with this email already exists.", errors={field: ["This email is already registered."]})
    return email


def check_password(password: str, email: str, name: str, field: str) -> None:
    problems = passwords.password_problems(password, email=email, name=name)
    if problems:
        raise ValidationFailed({field: problems})


# --- users and invitations ----------------------------------------------------------


def invite_user(session: Session, principal: Principal, *, email: str, role: Role) -> tuple[Invitation, str]:
    policy.require_admin(principal)
    email = check_new_user_email(session, email, "email")
    now = clock.utcnow()
    pending = session.execute(
        sa.select(Invitation.id).where(
            Invitation.organization_id == principal.org.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    ).first()
    if pending:
        raise Conflict("This email already has a pending invitation; revoke it to send a new one.", errors={"email": ["Already invited."]})
    raw = new_secret()
    invitation = Invitation(
        organization_id=principal.org.id,
        email=email,
        role=role,
        token_hash=secret_hash(raw),
        invited_by_id=principal.user.id,
        expires_at=now + timedelta(days=current_app.config["INVITATION_DAYS"]),
    )
    session.add(invitation)
    session.flush()
    record(
        session,
        Action.USER_INVITED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="invitation",
        object_id=invitation.id,
        after={"email": email, "role": str(role)},
    )
    session.commit()
    return invitation, raw


def revoke_invitation(session: Session, principal: Principal, invitation_id: uuid.UUID) -> Invitation:
    invitation = policy.get_visible(session, Invitation, invitation_id, principal, for_update=True)
    policy.require_admin(principal)
    if invitation.state != "pending":
        raise InvalidTransition("invitation", invitation.state, "revoke", [])
    invitation.revoked_at = clock.utcnow()
    record(
        session,
        Action.INVITATION_REVOKED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="invitation",
        object_id=invitation.id,
        before={"state": "pending"},
        after={"state": "revoked"},
    )
    session.commit()
    return invitation


def find_invitation(session: Session, raw_token: str) -> Invitation:
    invitation = session.execute(sa.select(Invitation).where(Invitation.token_hash == secret_hash(raw_token))).scalar_one_or_none()
    if invitation is None or invitation.state != "pending":
        raise NotFound("This invitation is not valid: it may have expired, been used or been revoked.")
    return invitation


def accept_invitation(session: Session, *, token: str, full_name: str, password: str) -> User:
    invitation = find_invitation(session, token)
    email = check_new_user_email(session, invitation.email, "email")
    check_password(password, email, full_name, "password")
    org = session.get(Organization, invitation.organization_id)
    if org is None or org.status != OrgStatus.ACTIVE:
        raise Forbidden("The inviting organization is not an active member of the consortium.")
    user = User(
        organization_id=invitation.organization_id,
        email=email,
        full_name=full_name.strip(),
        role=invitation.role,
        password_hash=passwords.hash_password(password),
        password_changed_at=clock.utcnow(),
    )
    session.add(user)
    session.flush()
    invitation.accepted_at = clock.utcnow()
    invitation.user_id = user.id
    record(
        session,
        Action.USER_JOINED,
        actor=Actor(user.id, org.id),
        subject_org_id=org.id,
        object_type="user",
        object_id=user.id,
        after={"email": email, "role": str(user.role)},
        invitation_id=str(invitation.id),
    )
    commit_or_conflict(session)
    return user


def users_query(principal: Principal) -> sa.Select:
    return sa.select(User).where(policy.visible(principal, User))


def invitations_query(principal: Principal) -> sa.Select:
    return sa.select(Invitation).where(policy.visible(principal, Invitation))


def _admin_count(session: Session, org_id: uuid.UUID) -> int:
    return session.execute(
        sa.select(sa.func.count()).select_from(User).where(User.organization_id == org_id, User.role == Role.ADMIN, User.status == UserStatus.ACTIVE)
    ).scalar_one()


def _ensure_not_last_admin(session: Session, user: User) -> None:
    if user.role == Role.ADMIN and user.status == UserStatus.ACTIVE and _admin_count(session, user.organization_id) <= 1:
        raise Conflict("An organization must keep at least one active admin.")


def change_role(session: Session, principal: Principal, user_id: uuid.UUID, role: Role) -> User:
    user = policy.get_visible(session, User, user_id, principal, for_update=True)
    policy.require_admin(principal)
    if user.role == role:
        return user
    if role != Role.ADMIN:
        _ensure_not_last_admin(session, user)
    before = {"role": str(user.role)}
    user.role = role
    record(
        session,
        Action.USER_ROLE_CHANGED,
        actor=principal.actor,
        subject_org_id=user.organization_id,
        object_type="user",
        object_id=user.id,
        before=before,
        after={"role": str(role)},
    )
    session.commit()
    return user


USER_TRANSITIONS = {(UserStatus.ACTIVE, "disable"): UserStatus.DISABLED, (UserStatus.DISABLED, "enable"): UserStatus.ACTIVE}


def set_user_status(session: Session, principal: Principal, user_id: uuid.UUID, action: str) -> User:
    user = policy.get_visible(session, User, user_id, principal, for_update=True)
    policy.require_admin(principal)
    target = USER_TRANSITIONS.get((user.status, action))
    if target is None:
        raise InvalidTransition("user", str(user.status), action, [a for (s, a) in USER_TRANSITIONS if s == user.status])
    if action == "disable":
        if user.id == principal.user.id:
            raise Conflict("You cannot disable your own account.")
        _ensure_not_last_admin(session, user)
    before = {"status": str(user.status)}
    user.status = target
    ended = end_all_sessions(session, user.id) if action == "disable" else 0
    record(
        session,
        Action.USER_DISABLED if action == "disable" else Action.USER_ENABLED,
        actor=principal.actor,
        subject_org_id=user.organization_id,
        object_type="user",
        object_id=user.id,
        before=before,
        after={"status": str(target)},
        sessions_ended=ended,
    )
    session.commit()
    return user
