"""Who may see and do what: the one place access is decided.

Visibility is a SQL condition per model, used both to fetch one object and to list many,
so that a list can never show what a direct fetch would hide. An object another
organization owns answers 404 (and the attempt is audited), never 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import wiring
from concord.audit.models import Actor, AuditEntry
from concord.auth.models import ApiToken
from concord.catalog.models import Location, Product
from concord.errors import Forbidden, NotFound
from concord.ledger.models import ChainIntent
from concord.orders.models import ChangeProposal, Dispute, DisputeEvidence, OrderState, PurchaseOrder, Shipment
from concord.tenancy.models import (
    Invitation,
    Organization,
    OrgStatus,
    Partnership,
    Role,
    User,
    UserStatus,
)

T = TypeVar("T")


@dataclass
class ReadGrant:
    """An engagement under which an auditor reads, for one request that only reads: the
    grantor's records of `kinds` dated in [start, end). `consulted` gathers the kinds the
    request's queries widened (what the engagement's read log records)."""

    engagement_id: uuid.UUID
    grantor_id: uuid.UUID
    kinds: frozenset[str]
    start: datetime
    end: datetime
    consulted: set[str] = field(default_factory=set)


@dataclass
class Principal:
    """The authenticated caller: a user acting for their organization."""

    user: User
    org: Organization
    via: str  # "session" or "token"
    credential_id: uuid.UUID
    #: The engagement the caller reads under in this request (set only for GET and HEAD).
    engagement: ReadGrant | None = None

    @property
    def is_operator(self) -> bool:
        return self.org.is_operator

    @property
    def actor(self) -> Actor:
        return Actor(self.user.id, self.org.id)


def refusal_reason(user: User, org: Organization) -> str | None:
    """Why this user may do nothing at all right now, or None."""
    if user.status != UserStatus.ACTIVE:
        return "This user account is disabled."
    if org.status == OrgStatus.PENDING:
        return "Your organization is awaiting approval by the consortium operator."
    if org.status == OrgStatus.SUSPENDED:
        return "Your organization is suspended from the consortium."
    if org.status == OrgStatus.REJECTED:
        return "Your organization's registration was rejected."
    return None


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.user.role not in roles:
        names = " or ".join(str(r) for r in roles)
        raise Forbidden(f"This action needs the {names} role in your organization.")


def require_admin(principal: Principal) -> None:
    require_role(principal, Role.ADMIN)


def require_writer(principal: Principal) -> None:
    """Viewers read; members and admins write."""
    require_role(principal, Role.ADMIN, Role.MEMBER)


def require_operator_admin(principal: Principal) -> None:
    if not principal.is_operator:
        raise Forbidden("Only the consortium operator may do this.")
    require_admin(principal)


_VISIBILITY: dict[type, Callable[[Principal], Any]] = {
    Organization: lambda p: sa.true() if p.is_operator else Organization.id == p.org.id,
    User: lambda p: User.organization_id == p.org.id,
    Invitation: lambda p: Invitation.organization_id == p.org.id,
    ApiToken: lambda p: ApiToken.user_id == p.user.id,
    Partnership: lambda p: sa.or_(Partnership.org_a_id == p.org.id, Partnership.org_b_id == p.org.id),
    ChainIntent: lambda p: ChainIntent.organization_id == p.org.id,
    Product: lambda p: Product.organization_id == p.org.id,
    Location: lambda p: Location.organization_id == p.org.id,
    # A buyer's draft is its own; once issued, the order is shared with the supplier.
    PurchaseOrder: lambda p: sa.or_(
        PurchaseOrder.buyer_org_id == p.org.id,
        sa.and_(PurchaseOrder.supplier_org_id == p.org.id, PurchaseOrder.state != OrderState.DRAFT),
    ),
    ChangeProposal: lambda p: ChangeProposal.order_id.in_(sa.select(PurchaseOrder.id).where(_VISIBILITY[PurchaseOrder](p))),
    # A carrier sees the shipments assigned to it, and nothing else of the order.
    Shipment: lambda p: sa.or_(Shipment.buyer_org_id == p.org.id, Shipment.supplier_org_id == p.org.id, Shipment.carrier_org_id == p.org.id),
    # The carrier of a shipment of the order reads the dispute's case (without its money)
    # and adds evidence to it.
    Dispute: lambda p: sa.or_(
        Dispute.buyer_org_id == p.org.id,
        Dispute.supplier_org_id == p.org.id,
        Dispute.arbiter_org_id == p.org.id,
        Dispute.order_id.in_(sa.select(Shipment.order_id).where(Shipment.carrier_org_id == p.org.id)),
    ),
    DisputeEvidence: lambda p: DisputeEvidence.dispute_id.in_(sa.select(Dispute.id).where(_VISIBILITY[Dispute](p))),
    # A refused probe of another organization's object is the operator's to see: shown to
    # the prober, it would tell a real id (which leaves an entry) from a made-up one.
    AuditEntry: lambda p: (
        sa.true()
        if p.is_operator
        else sa.and_(
            AuditEntry.action != "access:denied",
            sa.or_(AuditEntry.actor_org_id == p.org.id, AuditEntry.subject_org_id == p.org.id, AuditEntry.related_org_id == p.org.id),
        )
    ),
}


def visible(principal: Principal, model: type) -> Any:
    """The SQL condition selecting the rows of `model` the principal may see (the rules
    above, or those concord.bootstrap registered for the app's other domains).

    One more rule widens reads, never writes: an auditor reading under an engagement
    (`principal.engagement`, set only for a request that reads) also sees the grantor's rows
    the engagement covers (the `engaged_visibility` registered for the model's kind)."""
    registry = wiring.current()
    rule = _VISIBILITY.get(model) or registry.visibility[model]
    own = rule(principal)
    grant = principal.engagement
    engaged = registry.engaged_visibility.get(model) if grant is not None else None
    if grant is None or engaged is None or engaged.kind not in grant.kinds:
        return own
    grant.consulted.add(engaged.kind)
    return sa.or_(own, engaged.rule(grant))


def owners(principal: Principal) -> list[uuid.UUID]:
    """Whose records a list split by owner shows: the caller's organization's, and the
    grantor's of the engagement it reads under (what of them is shown, `visible` decides)."""
    grant = principal.engagement
    return [principal.org.id] if grant is None else [principal.org.id, grant.grantor_id]


def get_visible(session: Session, model: type[T], object_id: Any, principal: Principal, *, for_update: bool = False) -> T:
    # The id a client sees: the primary key, unless the model keeps an internal ordering key.
    public = getattr(model, "__public_key__", None)
    mapper = sa.inspect(model, raiseerr=True)
    key_column = getattr(model, public) if public else mapper.primary_key[0]
    # A row locked for update is about to be written: what an engagement lets an auditor
    # read is never found for that (nor in any request that writes: see `visible`).
    reader = replace(principal, engagement=None) if for_update else principal
    query = sa.select(model).where(key_column == object_id, visible(reader, model))
    if for_update:
        query = query.with_for_update(of=model)
    elif reader.engagement is not None and public:
        # A public key is unique per organization only (an eventID): the caller's own object
        # comes before the grantor's of the same key.
        own = visible(replace(principal, engagement=None), model)
        query = query.order_by(sa.case((own, 0), else_=1)).limit(1)
    found = session.execute(query).unique().scalar_one_or_none()
    if found is not None:
        return found
    exists = session.execute(sa.select(sa.literal(1)).where(key_column == object_id)).first() is not None
    probe = {"object_type": mapper.persist_selectable.description, "object_id": str(object_id)} if exists else None
    raise NotFound(f"No such {model.__name__.lower()}.", probe=probe)
