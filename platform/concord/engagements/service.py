"""Engagements: granted by an organization's admins to an auditor partner, revoked by them;
what an auditor reads under one (through policy.visible, for requests that only read), and
the log of those reads that the grantor keeps.

The engagement's lifecycle is one table (TRANSITIONS); "expired" is not a stored state but
a granted engagement whose `valid_until` has passed, which nothing can revoke any more.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.catalog.models import Product
from concord.documents.models import Document
from concord.engagements.models import Engagement, EngagementRead, EngagementState, Kind
from concord.errors import Forbidden, InvalidTransition, ValidationFailed
from concord.orders.models import OrderState, PurchaseOrder, Shipment
from concord.policy import Principal, ReadGrant
from concord.provenance import sharing
from concord.provenance.models import EpcisEvent
from concord.tenancy.models import Capability, Organization, OrgStatus, Partnership, PartnershipStatus, Relation, Role
from concord.tenancy.service import legal_names
from concord.wiring import EngagedRule

#: (state, action) -> next state; the grantor's admins take every action.
TRANSITIONS: dict[tuple[EngagementState, str], EngagementState] = {(EngagementState.GRANTED, "revoke"): EngagementState.REVOKED}
#: Longest an engagement may run (a grant is renewed, not left open).
LONGEST = timedelta(days=3 * 366)


def visibility() -> dict[type, Any]:
    """Who sees engagements and their read logs: the grantor and the auditor (registered with
    policy by concord.bootstrap)."""

    def party(p: Principal) -> Any:
        return sa.or_(Engagement.grantor_org_id == p.org.id, Engagement.auditor_org_id == p.org.id)

    return {
        Engagement: party,
        EngagementRead: lambda p: EngagementRead.engagement_id.in_(sa.select(Engagement.id).where(party(p))),
    }


def _dated(column: Any, grant: ReadGrant) -> Any:
    return sa.and_(column >= grant.start, column < grant.end)


def _engaged_orders(grant: ReadGrant) -> Any:
    """The grantor's issued orders (as buyer or supplier) issued within the period."""
    return sa.and_(
        sa.or_(PurchaseOrder.buyer_org_id == grant.grantor_id, PurchaseOrder.supplier_org_id == grant.grantor_id),
        PurchaseOrder.state != OrderState.DRAFT,
        _dated(PurchaseOrder.issued_at, grant),
    )


def engaged_visibility() -> dict[type, EngagedRule]:
    """What an engagement lets its auditor read of each model, by the kind that covers it
    (registered with policy by concord.bootstrap). Shipments go with their order; products
    are the grantor's catalogue, undated; events are dated by their eventTime."""
    return {
        PurchaseOrder: EngagedRule(Kind.ORDERS, _engaged_orders),
        Shipment: EngagedRule(Kind.ORDERS, lambda g: Shipment.order_id.in_(sa.select(PurchaseOrder.id).where(_engaged_orders(g)))),
        Product: EngagedRule(Kind.PRODUCTS, lambda g: Product.organization_id == g.grantor_id),
        # The events the grantor sees (its own and those shared with it), so a trace under the
        # engagement follows the lot as far as the grantor could.
        # Certificates and reports are read whatever their dates: a certificate's validity is
        # what the auditor checks.
        Document: EngagedRule(Kind.DOCUMENTS, lambda g: Document.organization_id == g.grantor_id),
        EpcisEvent: EngagedRule(Kind.EVENTS, lambda g: sa.and_(sharing.visible_to(g.grantor_id), _dated(EpcisEvent.event_time, g))),
    }


# -- granting and revoking --------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _partnered(party_id: Any, auditor_id: Any) -> Any:
    """SQL: the party and the auditor have an active party–auditor partnership."""
    return sa.exists().where(
        Partnership.relation == Relation.PARTY_AUDITOR,
        Partnership.status == PartnershipStatus.ACTIVE,
        Partnership.org_a_id == party_id,
        Partnership.org_b_id == auditor_id,
    )


def _auditor_mistakes(session: Session, principal: Principal, auditor_id: uuid.UUID) -> list[str]:
    auditor = session.get(Organization, auditor_id)
    if auditor is None or not session.execute(sa.select(_partnered(principal.org.id, auditor_id))).scalar():
        return ["Not an auditor your organization has an active party–auditor partnership with."]
    if auditor.status != OrgStatus.ACTIVE or not auditor.has(Capability.AUDITOR):
        return ["This organization is not an active auditor of the consortium."]
    return []


def grant(session: Session, principal: Principal, data: dict[str, Any]) -> Engagement:
    """Grant an auditor partner an engagement (the organization's admins): the kinds of records
    it covers, the period their dates fall in, and until when it may be used."""
    policy.require_admin(principal)
    now = clock.utcnow()
    errors: dict[str, list[str]] = {}
    if found := _auditor_mistakes(session, principal, data["auditor_id"]):
        errors["auditor_id"] = found
    if data["period_from"] > data["period_to"]:
        errors["period_to"] = ["Must not be before period_from."]
    if data["valid_until"] <= now:
        errors["valid_until"] = ["Must be in the future."]
    elif data["valid_until"] > now + LONGEST:
        errors["valid_until"] = [f"At most {LONGEST.days} days from now; grant a new engagement after that."]
    if errors:
        raise ValidationFailed(errors)
    engagement = Engagement(
        id=uuid.uuid4(),
        grantor_org_id=principal.org.id,
        auditor_org_id=data["auditor_id"],
        kinds=sorted({str(kind) for kind in data["kinds"]}),
        period_from=data["period_from"],
        period_to=data["period_to"],
        valid_until=data["valid_until"],
        note=data.get("note"),
        stored_state=EngagementState.GRANTED,
        granted_by=principal.user.id,
        granted_at=now,
    )
    session.add(engagement)
    session.flush()
    record(
        session,
        Action.ENGAGEMENT_GRANTED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        related_org_id=engagement.auditor_org_id,
        object_type="engagement",
        object_id=engagement.id,
        after=summary(engagement),
    )
    session.commit()
    return engagement


def summary(engagement: Engagement) -> dict[str, Any]:
    return {
        "kinds": engagement.kinds,
        "period_from": engagement.period_from.isoformat(),
        "period_to": engagement.period_to.isoformat(),
        "valid_until": engagement.valid_until.isoformat(),
    }


def allowed_actions(engagement: Engagement, principal: Principal) -> list[str]:
    """What the principal may do with the engagement now: its grantor's admins revoke it
    while it runs."""
    if engagement.grantor_org_id != principal.org.id or principal.user.role != Role.ADMIN:
        return []
    return sorted(action for (state, action) in TRANSITIONS if state == engagement.state)


def revoke(session: Session, principal: Principal, engagement_id: uuid.UUID) -> Engagement:
    engagement = policy.get_visible(session, Engagement, engagement_id, principal, for_update=True)
    if engagement.grantor_org_id != principal.org.id:
        raise Forbidden("Only the organization that granted the engagement revokes it.")
    policy.require_admin(principal)
    state = engagement.state
    if (state, "revoke") not in TRANSITIONS:
        raise InvalidTransition("engagement", str(state), "revoke", allowed_actions(engagement, principal))
    engagement.stored_state = TRANSITIONS[(state, "revoke")]
    engagement.revoked_by, engagement.revoked_at = principal.user.id, clock.utcnow()
    record(
        session,
        Action.ENGAGEMENT_REVOKED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        related_org_id=engagement.auditor_org_id,
        object_type="engagement",
        object_id=engagement.id,
        before={"state": str(state)},
        after={"state": str(engagement.stored_state)},
    )
    session.commit()
    return engagement


# -- reading -------------------------------------------------------------------------------------


def get(session: Session, principal: Principal, engagement_id: uuid.UUID) -> Engagement:
    return policy.get_visible(session, Engagement, engagement_id, principal)


def engagements_query(principal: Principal, *, side: str | None = None, state: EngagementState | None = None) -> sa.Select:
    """Engagements the organization granted ("granted") or received as auditor ("received")."""
    query = sa.select(Engagement).where(policy.visible(principal, Engagement))
    if side == "granted":
        query = query.where(Engagement.grantor_org_id == principal.org.id)
    elif side == "received":
        query = query.where(Engagement.auditor_org_id == principal.org.id)
    now = clock.utcnow()
    if state == EngagementState.GRANTED:
        query = query.where(Engagement.stored_state == EngagementState.GRANTED, Engagement.valid_until > now)
    elif state == EngagementState.EXPIRED:
        query = query.where(Engagement.stored_state == EngagementState.GRANTED, Engagement.valid_until <= now)
    elif state == EngagementState.REVOKED:
        query = query.where(Engagement.stored_state == EngagementState.REVOKED)
    return query


def reads_query(session: Session, principal: Principal, engagement_id: uuid.UUID) -> sa.Select:
    """The reads made under the engagement, newest first (its grantor and its auditor see them)."""
    engagement = get(session, principal, engagement_id)
    return sa.select(EngagementRead).where(EngagementRead.engagement_id == engagement.id)


# -- reading under an engagement ---------------------------------------------------------------


def read_grant(session: Session, principal: Principal, engagement_id: uuid.UUID) -> ReadGrant | None:
    """The engagement as the principal's organization reads under it, if it is that
    organization's and runs now (granted, not revoked, not expired, the partnership active)."""
    engagement = session.execute(
        sa.select(Engagement).where(
            Engagement.id == engagement_id,
            Engagement.auditor_org_id == principal.org.id,
            Engagement.stored_state == EngagementState.GRANTED,
            Engagement.valid_until > clock.utcnow(),
            # Ending the partnership ends what the auditor reads under it.
            _partnered(Engagement.grantor_org_id, Engagement.auditor_org_id),
        )
    ).scalar_one_or_none()
    if engagement is None:
        return None
    return ReadGrant(
        engagement_id=engagement.id,
        grantor_id=engagement.grantor_org_id,
        kinds=frozenset(engagement.kinds),
        start=_day_start(engagement.period_from),
        end=_day_start(engagement.period_to + timedelta(days=1)),
    )


def condition(principal: Principal, kind: Kind | str, owner_column: Any, date_column: Any | None) -> Any:
    """The SQL condition an auditor's engagement adds to a query of `kind` records (OR it with
    the model's own rule): rows whose `owner_column` is the grantor and whose `date_column`
    (None: undated records) falls within the period. false() outside any engagement."""
    grant = principal.engagement
    if grant is None or str(kind) not in grant.kinds:
        return sa.false()
    grant.consulted.add(str(kind))
    owned = owner_column == grant.grantor_id
    return owned if date_column is None else sa.and_(owned, _dated(date_column, grant))


def covers(session: Session, principal: Principal, grantor_id: uuid.UUID, kind: Kind | str, moment: datetime | date | None) -> bool:
    """Whether the engagement the principal reads under covers the grantor's record of `kind`
    dated `moment` (None: an undated record); a covered read is written to the engagement's
    read log at the end of the request."""
    grant = principal.engagement
    if grant is None or grant.grantor_id != grantor_id or str(kind) not in grant.kinds:
        return False
    if moment is not None:
        instant = moment if isinstance(moment, datetime) else _day_start(moment)
        if not grant.start <= instant < grant.end:
            return False
    # The grant was read at the start of this request; a revocation since then counts too.
    if read_grant(session, principal, grant.engagement_id) is None:
        return False
    grant.consulted.add(str(kind))
    return True


def record_read(session: Session, principal: Principal, *, via: str, endpoint: str, request: str, object_id: str | None) -> None:
    """Append one read to the log of the engagement the principal read under, and commit
    (called once the request's answer is ready; a request that reads wrote nothing else)."""
    grant = principal.engagement
    if grant is None or not grant.consulted:
        return
    session.add(
        EngagementRead(
            id=uuid.uuid4(),
            engagement_id=grant.engagement_id,
            user_id=principal.user.id,
            read_at=clock.utcnow(),
            via=via,
            endpoint=endpoint[:100],
            request=request[:2000],
            kinds=sorted(grant.consulted),
            object_id=object_id[:500] if object_id else None,
        )
    )
    session.commit()


def names(session: Session, engagements: Iterable[Engagement]) -> dict[uuid.UUID, str]:
    return legal_names(session, [org for e in engagements for org in (e.grantor_org_id, e.auditor_org_id)])
