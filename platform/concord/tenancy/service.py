"""Onboarding, organizations and partnerships (users and invitations: `concord.tenancy.users`).

Every function here checks the rule it enforces, writes the audit entry in the same
transaction as the change, and commits; nothing is half-written when it raises.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, countries, policy
from concord.audit.service import Action, Actor, record
from concord.auth import passwords
from concord.auth.service import end_all_sessions
from concord.db import commit_or_conflict, get_or_raise
from concord.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from concord.ledger import service as ledger
from concord.policy import Principal
from concord.tenancy import users
from concord.tenancy.models import (
    Capability,
    Invitation,
    Organization,
    OrgStatus,
    Partnership,
    PartnershipStatus,
    Relation,
    Role,
    User,
)

# --- organizations ------------------------------------------------------------------

ORG_TRANSITIONS: dict[tuple[OrgStatus, str], OrgStatus] = {
    (OrgStatus.PENDING, "approve"): OrgStatus.ACTIVE,
    (OrgStatus.PENDING, "reject"): OrgStatus.REJECTED,
    (OrgStatus.ACTIVE, "suspend"): OrgStatus.SUSPENDED,
    (OrgStatus.SUSPENDED, "reactivate"): OrgStatus.ACTIVE,
}
_ORG_ACTIONS = {
    "approve": Action.ORG_APPROVED,
    "reject": Action.ORG_REJECTED,
    "suspend": Action.ORG_SUSPENDED,
    "reactivate": Action.ORG_REACTIVATED,
}


def allowed_org_actions(status: OrgStatus) -> list[str]:
    return [action for (state, action) in ORG_TRANSITIONS if state == status]


def _org_snapshot(org: Organization) -> dict[str, Any]:
    return {"status": str(org.status), "legal_name": org.legal_name, "capabilities": list(org.capabilities)}


def register_organization(session: Session, *, organization: dict[str, Any], admin: dict[str, Any]) -> tuple[Organization, User]:
    """A company applies to join the consortium; it stays pending until the operator approves."""
    country = organization["country"].upper()
    registration_number = organization["registration_number"].strip()
    if session.execute(sa.select(Organization.id).where(Organization.country == country, Organization.registration_number == registration_number)).first():
        raise Conflict(
            "An organization with this registration number is already registered in this country.",
            errors={"organization.registration_number": ["Already registered."]},
        )
    email = users.check_new_user_email(session, admin["email"], "admin.email")
    users.check_password(admin["password"], email, admin["full_name"], "admin.password")
    _ensure_legal_name_free(session, organization["legal_name"], "organization.legal_name")
    org = Organization(
        legal_name=organization["legal_name"].strip(),
        registration_number=registration_number,
        country=country,
        contact_name=organization["contact_name"].strip(),
        contact_email=organization["contact_email"].strip().lower(),
        capabilities=sorted({str(c) for c in organization["capabilities"]}),
        status=OrgStatus.PENDING,
    )
    session.add(org)
    session.flush()
    user = User(
        organization_id=org.id,
        email=email,
        full_name=admin["full_name"].strip(),
        role=Role.ADMIN,
        password_hash=passwords.hash_password(admin["password"]),
        password_changed_at=clock.utcnow(),
    )
    session.add(user)
    session.flush()
    record(
        session,
        Action.ORG_REGISTERED,
        actor=Actor(user.id, org.id),
        subject_org_id=org.id,
        object_type="organization",
        object_id=org.id,
        after=_org_snapshot(org),
        admin_email=email,
    )
    commit_or_conflict(session)
    return org, user


def transition_organization(session: Session, principal: Principal, org_id: uuid.UUID, action: str, *, reason: str | None = None) -> Organization:
    # Visibility first: another organization's id answers 404 (and is audited), never 403.
    org = policy.get_visible(session, Organization, org_id, principal, for_update=True)
    policy.require_operator_admin(principal)
    if org.is_operator:
        raise Forbidden("The operator organization cannot change its own membership status.")
    target = ORG_TRANSITIONS.get((org.status, action))
    if target is None:
        raise InvalidTransition("organization", str(org.status), action, allowed_org_actions(org.status))
    before = _org_snapshot(org)
    org.status = target
    org.status_reason = reason
    if action == "suspend":
        # Suspended members can do nothing: their users' sessions end now.
        user_ids = session.execute(sa.select(User.id).where(User.organization_id == org.id)).scalars().all()
        for user_id in user_ids:
            end_all_sessions(session, user_id)
    after = _org_snapshot(org)
    if action == "approve":
        after["signing_address"] = ledger.admit_member(session, org).address
    elif action in ("suspend", "reactivate"):
        ledger.change_membership(session, org, suspend=action == "suspend")
    record(
        session,
        _ORG_ACTIONS[action],
        actor=principal.actor,
        subject_org_id=org.id,
        object_type="organization",
        object_id=org.id,
        before=before,
        after=after,
        reason=reason,
    )
    session.commit()
    return org


def list_organizations(session: Session, principal: Principal, *, status: OrgStatus | None = None) -> sa.Select:
    query = sa.select(Organization).where(policy.visible(principal, Organization))
    if status is not None:
        query = query.where(Organization.status == status)
    return query


def directory_query(*, capability: Capability | None = None) -> sa.Select:
    """Active consortium members, as every member may see them to find partners (the
    operator runs the consortium and is no one's trading partner)."""
    query = sa.select(Organization).where(Organization.status == OrgStatus.ACTIVE, Organization.is_operator.is_(False))
    if capability is not None:
        # Capabilities are a JSON list of fixed enum words, so matching the quoted word is exact.
        query = query.where(sa.cast(Organization.capabilities, sa.String).like(f'%"{capability}"%'))
    return query


def legal_name_key(name: str) -> str:
    """What makes two legal names the same name: case, width, spacing and punctuation
    aside ("ACME Components, Ltd." is "Acme Components Ltd")."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", name).casefold())


def _ensure_legal_name_free(session: Session, name: str, field: str, *, org_id: uuid.UUID | None = None) -> None:
    """No two organizations (rejected registrations aside) go by the same legal name, nor
    ask for it. A consortium has hundreds of members, not millions: they are compared here."""
    key = legal_name_key(name)
    rows = session.execute(
        sa.select(Organization.legal_name, Organization.pending_legal_name).where(Organization.status != OrgStatus.REJECTED, Organization.id != org_id)
    ).all()
    if any(legal_name_key(taken) == key for row in rows for taken in row if taken):
        raise Conflict("Another organization goes by this legal name.", errors={field: ["Another organization goes by this legal name."]})


def update_organization(session: Session, principal: Principal, org_id: uuid.UUID, changes: dict[str, Any]) -> Organization:
    """An admin edits the organization's profile. Contact details change at once; a new
    legal name waits for the operator's review (`review_legal_name`)."""
    org = policy.get_visible(session, Organization, org_id, principal, for_update=True)
    if org.id != principal.org.id:
        raise Forbidden("Only an organization's own admins may edit its profile.")
    policy.require_admin(principal)
    changes = dict(changes)
    new_name = changes.pop("legal_name", "").strip()
    if new_name and new_name != org.legal_name:
        if org.is_operator:
            changes["legal_name"] = new_name  # the operator reviews no one's name but others'
        else:
            _ensure_legal_name_free(session, new_name, "legal_name", org_id=org.id)
            before = {"legal_name": org.legal_name, "pending_legal_name": org.pending_legal_name}
            org.pending_legal_name = new_name
            org.pending_legal_name_requested_at = clock.utcnow()
            record(
                session,
                Action.ORG_LEGAL_NAME_REQUESTED,
                actor=principal.actor,
                subject_org_id=org.id,
                object_type="organization",
                object_id=org.id,
                before=before,
                after={"pending_legal_name": new_name},
            )
    if changes:
        before = {k: getattr(org, k) for k in changes}
        for key, value in changes.items():
            setattr(org, key, value.strip().lower() if key == "contact_email" else value.strip())
        record(
            session,
            Action.ORG_UPDATED,
            actor=principal.actor,
            subject_org_id=org.id,
            object_type="organization",
            object_id=org.id,
            before=before,
            after={k: getattr(org, k) for k in changes},
        )
    session.commit()
    return org


def pending_legal_names(session: Session, principal: Principal) -> list[Organization]:
    """Organizations waiting for the operator's review of a new legal name, oldest first."""
    if not principal.is_operator:
        raise Forbidden("Only the consortium operator may do this.")
    query = sa.select(Organization).where(Organization.pending_legal_name.is_not(None)).order_by(Organization.pending_legal_name_requested_at)
    return list(session.execute(query).scalars())


def review_legal_name(session: Session, principal: Principal, org_id: uuid.UUID, decision: str, *, reason: str | None = None) -> Organization:
    """The operator approves or rejects an organization's new legal name."""
    org = policy.get_visible(session, Organization, org_id, principal, for_update=True)
    policy.require_operator_admin(principal)
    if org.pending_legal_name is None:
        raise Conflict("This organization has asked for no new legal name.")
    before = {"legal_name": org.legal_name, "pending_legal_name": org.pending_legal_name}
    if decision == "approve":
        _ensure_legal_name_free(session, org.pending_legal_name, "legal_name", org_id=org.id)
        org.legal_name = org.pending_legal_name
    org.pending_legal_name = None
    org.pending_legal_name_requested_at = None
    action = Action.ORG_LEGAL_NAME_APPROVED if decision == "approve" else Action.ORG_LEGAL_NAME_REJECTED
    record(
        session,
        action,
        actor=principal.actor,
        subject_org_id=org.id,
        object_type="organization",
        object_id=org.id,
        before=before,
        after={"legal_name": org.legal_name},
        reason=reason,
    )
    session.commit()
    return org


# --- partnerships -------------------------------------------------------------------

# Which capability each side of a relation must have (None: any active member).
SIDE_CAPABILITY: dict[str, Capability | None] = {
    "buyer": Capability.BUYER,
    "supplier": Capability.SUPPLIER,
    "shipper": None,
    "carrier": Capability.CARRIER,
    "financier": Capability.FINANCIER,
    "party": None,
    "auditor": Capability.AUDITOR,
}

PARTNERSHIP_TRANSITIONS: dict[tuple[PartnershipStatus, str], PartnershipStatus] = {
    (PartnershipStatus.REQUESTED, "accept"): PartnershipStatus.ACTIVE,
    (PartnershipStatus.REQUESTED, "decline"): PartnershipStatus.DECLINED,
    (PartnershipStatus.REQUESTED, "withdraw"): PartnershipStatus.ENDED,
    (PartnershipStatus.ACTIVE, "end"): PartnershipStatus.ENDED,
}
_PARTNERSHIP_AUDIT = {
    "accept": Action.PARTNERSHIP_ACCEPTED,
    "decline": Action.PARTNERSHIP_DECLINED,
    "withdraw": Action.PARTNERSHIP_ENDED,
    "end": Action.PARTNERSHIP_ENDED,
}


def _fits_side(org: Organization, side: str) -> bool:
    needed = SIDE_CAPABILITY[side]
    return needed is None or org.has(needed)


def request_partnership(
    session: Session,
    principal: Principal,
    *,
    relation: Relation,
    counterparty_id: uuid.UUID,
    my_side: str | None,
    message: str | None,
    arbiter_id: uuid.UUID | None = None,
) -> Partnership:
    policy.require_admin(principal)
    me = principal.org
    if counterparty_id == me.id:
        raise ValidationFailed({"counterparty_id": ["An organization cannot partner with itself."]})
    other = session.get(Organization, counterparty_id)
    if other is None or other.status != OrgStatus.ACTIVE:
        # Pending, suspended or unknown organizations are not in the directory.
        raise ValidationFailed({"counterparty_id": ["No active consortium member has this id."]})
    side_a, side_b = relation.sides
    if my_side is None:
        fits = [side for side in (side_a, side_b) if _fits_side(me, side) and _fits_side(other, side_b if side == side_a else side_a)]
        if len(fits) != 1:
            problem = (
                "Say which side of the relation your organization takes."
                if fits
                else (f"A {relation.value} partnership needs a {side_a} and a {side_b}; these organizations' capabilities do not fit.")
            )
            raise ValidationFailed({"my_side": [problem]})
        my_side = fits[0]
    if my_side not in (side_a, side_b):
        raise ValidationFailed({"my_side": [f"Must be {side_a} or {side_b} for a {relation.value} partnership."]})
    their_side = side_b if my_side == side_a else side_a
    if not _fits_side(me, my_side):
        raise ValidationFailed({"my_side": [f"Your organization does not have the {my_side} capability."]})
    if not _fits_side(other, their_side):
        raise ValidationFailed({"counterparty_id": [f"That organization does not have the {their_side} capability."]})
    org_a, org_b = (me, other) if my_side == side_a else (other, me)
    _check_arbiter(session, relation, arbiter_id, org_a.id, org_b.id)
    existing = (
        session.execute(
            sa.select(Partnership)
            .where(Partnership.relation == relation, Partnership.org_a_id == org_a.id, Partnership.org_b_id == org_b.id)
            .with_for_update(of=Partnership)
        )
        .unique()
        .scalar_one_or_none()
    )
    if existing is not None and existing.status in (PartnershipStatus.REQUESTED, PartnershipStatus.ACTIVE):
        raise Conflict(f"This partnership already exists and is {existing.status}.", current_state=str(existing.status), partnership_id=str(existing.id))
    if existing is None:
        partnership = Partnership(relation=relation, org_a_id=org_a.id, org_b_id=org_b.id, requested_by_org_id=me.id)
        session.add(partnership)
    else:
        # A declined or ended partnership can be asked for again; its history stays in the audit trail.
        partnership = existing
        partnership.requested_by_org_id = me.id
        partnership.status = PartnershipStatus.REQUESTED
        partnership.responded_at = None
    partnership.message = message
    partnership.arbiter_org_id = arbiter_id
    session.flush()
    record(
        session,
        Action.PARTNERSHIP_REQUESTED,
        actor=principal.actor,
        subject_org_id=me.id,
        related_org_id=other.id,
        object_type="partnership",
        object_id=partnership.id,
        after={
            "relation": str(relation),
            "status": "requested",
            str(side_a): str(org_a.id),
            str(side_b): str(org_b.id),
            "arbiter": str(arbiter_id) if arbiter_id else "operator",
        },
    )
    commit_or_conflict(session)
    return partnership


def _check_arbiter(session: Session, relation: Relation, arbiter_id: uuid.UUID | None, *parties: uuid.UUID) -> None:
    """A named arbiter decides the partners' escrow disputes: an active member that is
    neither partner (the operator arbitrates when none is named)."""
    if arbiter_id is None:
        return
    if relation != Relation.BUYER_SUPPLIER:
        raise ValidationFailed({"arbiter_id": ["Only buyer_supplier partnerships name an arbiter."]})
    arbiter = session.get(Organization, arbiter_id)
    if arbiter is None or arbiter.status != OrgStatus.ACTIVE or arbiter.is_operator or ledger.address_of(session, arbiter_id) is None:
        raise ValidationFailed({"arbiter_id": ["Not an active consortium member (leave it out to have the operator arbitrate)."]})
    if arbiter_id in parties:
        raise ValidationFailed({"arbiter_id": ["A partner cannot arbitrate its own disputes."]})


def arbiter_of(session: Session, buyer_id: uuid.UUID, supplier_id: uuid.UUID) -> uuid.UUID:
    """Who decides the disputes between an active buyer and supplier: the arbiter their
    partnership names, or the operator."""
    named = session.execute(
        sa.select(Partnership.arbiter_org_id).where(
            Partnership.relation == Relation.BUYER_SUPPLIER,
            Partnership.org_a_id == buyer_id,
            Partnership.org_b_id == supplier_id,
            Partnership.status == PartnershipStatus.ACTIVE,
        )
    ).scalar_one_or_none()
    return named or session.execute(sa.select(Organization.id).where(Organization.is_operator.is_(True))).scalar_one()


def operator_id(session: Session) -> uuid.UUID:
    return session.execute(sa.select(Organization.id).where(Organization.is_operator.is_(True))).scalar_one()


def legal_name(session: Session, organization_id: uuid.UUID) -> str:
    return get_or_raise(session, Organization, organization_id).legal_name


def legal_names(session: Session, org_ids) -> dict[uuid.UUID, str]:
    """Legal names of the organizations a page shows (parties to what it shows)."""
    ids = {org_id for org_id in org_ids if org_id is not None}
    if not ids:
        return {}
    return {org_id: name for org_id, name in session.execute(sa.select(Organization.id, Organization.legal_name).where(Organization.id.in_(ids)))}


def partnerships_query(principal: Principal, *, status: PartnershipStatus | None = None, relation: Relation | None = None) -> sa.Select:
    query = sa.select(Partnership).where(policy.visible(principal, Partnership))
    if status is not None:
        query = query.where(Partnership.status == status)
    if relation is not None:
        query = query.where(Partnership.relation == relation)
    return query


def allowed_partnership_actions(partnership: Partnership, org_id: uuid.UUID) -> list[str]:
    actions = []
    for state, action in PARTNERSHIP_TRANSITIONS:
        if state != partnership.status:
            continue
        requester = partnership.requested_by_org_id == org_id
        if action in ("accept", "decline") and requester:
            continue
        if action == "withdraw" and not requester:
            continue
        actions.append(action)
    return actions


def transition_partnership(session: Session, principal: Principal, partnership_id: uuid.UUID, action: str) -> Partnership:
    partnership = policy.get_visible(session, Partnership, partnership_id, principal, for_update=True)
    policy.require_admin(principal)
    allowed = allowed_partnership_actions(partnership, principal.org.id)
    if action not in allowed:
        # A 409 with the caller's allowed actions, also when only the other side may act.
        error = InvalidTransition("partnership", str(partnership.status), action, allowed)
        if (partnership.status, action) in PARTNERSHIP_TRANSITIONS:
            error.detail = (
                f"Only the {'other organization' if action in ('accept', 'decline') else 'requesting organization'} may {action} this partnership request."
            )
        raise error
    before = {"status": str(partnership.status)}
    partnership.status = PARTNERSHIP_TRANSITIONS[(partnership.status, action)]
    partnership.responded_at = clock.utcnow()
    other = partnership.counterparty_of(principal.org.id)
    if partnership.status == PartnershipStatus.ACTIVE and partnership.arbiter_org_id is not None:
        arbiter = get_or_raise(session, Organization, partnership.arbiter_org_id)
        if arbiter.status != OrgStatus.ACTIVE:
            raise Conflict(f"The arbiter this request names, {arbiter.legal_name}, is no longer an active member; ask for the partnership again.")
        ledger.grant_arbiter(session, arbiter)
    record(
        session,
        _PARTNERSHIP_AUDIT[action],
        actor=principal.actor,
        subject_org_id=principal.org.id,
        related_org_id=other.id,
        object_type="partnership",
        object_id=partnership.id,
        before=before,
        after={"status": str(partnership.status)},
    )
    session.commit()
    return partnership


def are_partners(session: Session, relation: Relation, org_a_id: uuid.UUID, org_b_id: uuid.UUID) -> bool:
    """Whether A and B (in the relation's side order) are active partners."""
    return (
        session.execute(
            sa.select(Partnership.id).where(
                Partnership.relation == relation,
                Partnership.org_a_id == org_a_id,
                Partnership.org_b_id == org_b_id,
                Partnership.status == PartnershipStatus.ACTIVE,
            )
        ).first()
        is not None
    )


def _country_code(value: str) -> str:
    code = value.strip().upper()
    if code not in countries.names():
        raise ValidationFailed({"country": [countries.NOT_A_COUNTRY]})
    return code


def bootstrap_operator(
    session: Session, *, legal_name: str, registration_number: str, country: str, admin_name: str, admin_email: str, password: str
) -> tuple[Organization, User]:
    """Create the consortium operator and its first admin, once, on an empty platform."""
    if session.execute(sa.select(Organization.id).where(Organization.is_operator.is_(True))).first():
        raise Conflict("This platform already has an operator organization.")
    email = users.check_new_user_email(session, admin_email, "email")
    users.check_password(password, email, admin_name, "password")
    org = Organization(
        legal_name=legal_name,
        registration_number=registration_number,
        country=_country_code(country),
        contact_name=admin_name,
        contact_email=email,
        capabilities=[],
        is_operator=True,
        status=OrgStatus.ACTIVE,
    )
    session.add(org)
    session.flush()
    user = User(
        organization_id=org.id,
        email=email,
        full_name=admin_name,
        role=Role.ADMIN,
        password_hash=passwords.hash_password(password),
        password_changed_at=clock.utcnow(),
    )
    session.add(user)
    session.flush()
    signing_address = ledger.provision_key(session, org.id).address
    record(
        session,
        Action.ORG_REGISTERED,
        actor=None,
        subject_org_id=org.id,
        object_type="organization",
        object_id=org.id,
        after=_org_snapshot(org),
        operator=True,
        signing_address=signing_address,
    )
    record(session, Action.USER_CREATED, actor=None, subject_org_id=org.id, object_type="user", object_id=user.id, after={"email": email, "role": "admin"})
    session.commit()
    return org, user


def is_empty(session: Session) -> bool:
    return session.execute(sa.select(Organization.id).limit(1)).first() is None


def counts(session: Session, principal: Principal) -> dict[str, int]:
    """What the dashboard counts of the organization's own: users, active partners, requests
    to answer, pending invitations, and (for the operator) registrations to review."""
    out = {
        "users": session.execute(sa.select(sa.func.count()).select_from(User).where(policy.visible(principal, User))).scalar_one(),
        "partners": session.execute(
            sa.select(sa.func.count()).select_from(Partnership).where(policy.visible(principal, Partnership), Partnership.status == PartnershipStatus.ACTIVE)
        ).scalar_one(),
        "partnership_requests": session.execute(
            sa.select(sa.func.count())
            .select_from(Partnership)
            .where(
                policy.visible(principal, Partnership), Partnership.status == PartnershipStatus.REQUESTED, Partnership.requested_by_org_id != principal.org.id
            )
        ).scalar_one(),
        "pending_invitations": sum(
            1 for inv in session.execute(sa.select(Invitation).where(policy.visible(principal, Invitation))).scalars() if inv.state == "pending"
        ),
    }
    if principal.is_operator:
        out["pending_organizations"] = session.execute(
            sa.select(sa.func.count()).select_from(Organization).where(Organization.status == OrgStatus.PENDING)
        ).scalar_one()
    return out
