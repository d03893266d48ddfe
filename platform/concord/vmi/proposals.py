"""Replenishment proposals: a review proposes, the supplier confirms (perhaps with another
quantity or delivery date) or dismisses; a confirmed proposal issues a purchase order from
the buyer at once when it is inside the agreed limits, and waits for the buyer's approval
when it is not. The order then runs the ordinary path (acknowledgement, escrow, shipment,
receipt, payment) and says which agreement issued it; an order of a consignment item is a
consignment order (its goods stay the supplier's until consumed, see consignment.py).

Orders inside the limits are issued in the name of the buyer's user who agreed the terms in
force (the standing authority the agreement gives); if that user can no longer order, the
proposal waits for the buyer's approval like one beyond the limits.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from concord.notifications.service import notify
from concord.orders import service as orders
from concord.policy import Principal
from concord.tenancy.models import Organization, Role, User, UserStatus
from concord.vmi import agreements
from concord.vmi.models import AgreementState, ProposalState, VmiAgreement, VmiAgreementVersion, VmiProposal

SUPPLIER, BUYER, SYSTEM, READER = "supplier", "buyer", "system", "reader"
P = ProposalState
#: (state, action) -> (next state, who takes it). The supplier's "confirm" becomes "refer"
#: when the order would be beyond the agreed limits; the system cancels what a later review
#: replaces or a suspended or ended agreement leaves open.
TRANSITIONS: dict[tuple[ProposalState, str], tuple[ProposalState, str]] = {
    (P.OPEN, "confirm"): (P.ORDERED, SUPPLIER),
    (P.OPEN, "refer"): (P.AWAITING_APPROVAL, SUPPLIER),
    (P.OPEN, "dismiss"): (P.DISMISSED, SUPPLIER),
    (P.OPEN, "cancel"): (P.CANCELLED, SYSTEM),
    (P.AWAITING_APPROVAL, "approve"): (P.ORDERED, BUYER),
    (P.AWAITING_APPROVAL, "reject"): (P.REJECTED, BUYER),
    (P.AWAITING_APPROVAL, "cancel"): (P.CANCELLED, SYSTEM),
}
LIVE = frozenset({P.OPEN, P.AWAITING_APPROVAL})
#: How far ahead a confirmed delivery date may be.
DELIVERY_HORIZON = timedelta(days=366)
INCOTERM = "DAP"  # delivered to the buyer's location, as VMI replenishment is
_WRITERS = (Role.ADMIN, Role.MEMBER)
CENT, QUANTITY_STEP = Decimal("0.01"), Decimal("0.001")


def visibility() -> dict[type, Any]:
    """A proposal is seen by the agreement's buyer and supplier."""
    return {VmiProposal: lambda p: sa.or_(VmiProposal.buyer_org_id == p.org.id, VmiProposal.supplier_org_id == p.org.id)}


def side_of(proposal: VmiProposal, principal: Principal) -> str:
    if proposal.supplier_org_id == principal.org.id:
        return SUPPLIER
    return BUYER if proposal.buyer_org_id == principal.org.id else READER


def allowed_actions(proposal: VmiProposal, agreement: VmiAgreement, principal: Principal) -> list[str]:
    if agreement.state != AgreementState.ACTIVE:
        return []
    side = side_of(proposal, principal)
    return [action for (state, action), (_, actor) in TRANSITIONS.items() if state == proposal.state and actor == side and action != "refer"]


def _check(proposal: VmiProposal, agreement: VmiAgreement, principal: Principal, action: str) -> None:
    policy.require_writer(principal)
    actors = {actor for (_s, a), (_n, actor) in TRANSITIONS.items() if a == action}
    if side_of(proposal, principal) not in actors:
        raise Forbidden(f"Only the {' or '.join(sorted(actors))} may {action} a proposal.")
    if agreement.state != AgreementState.ACTIVE:
        raise InvalidTransition("proposal", str(proposal.state), action, [], f"its agreement {agreement.number} is {agreement.state}")
    if (proposal.state, action) not in TRANSITIONS:
        raise InvalidTransition("proposal", str(proposal.state), action, allowed_actions(proposal, agreement, principal))


def value_of(proposal: VmiProposal) -> Decimal:
    quantity = proposal.confirmed_quantity if proposal.confirmed_quantity is not None else proposal.quantity
    return (quantity * proposal.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def period_start(terms: VmiAgreementVersion, day: date) -> date:
    """The first day of the limit period `day` falls in (periods count from the start date)."""
    periods = max(0, (day - terms.starts_on).days) // terms.period_days
    return terms.starts_on + timedelta(days=periods * terms.period_days)


def ordered_in_period(session: Session, agreement: VmiAgreement, terms: VmiAgreementVersion, day: date) -> Decimal:
    """The value of the orders the agreement generated in the limit period of `day`."""
    start = period_start(terms, day)
    ordered = session.execute(
        sa.select(VmiProposal).where(VmiProposal.agreement_id == agreement.id, VmiProposal.state == ProposalState.ORDERED, VmiProposal.order_id.is_not(None))
    ).scalars()
    return sum(
        (value_of(p) for p in ordered if p.decided_at is not None and start <= p.decided_at.date() < start + timedelta(days=terms.period_days)), Decimal(0)
    )


def beyond_limits(session: Session, agreement: VmiAgreement, terms: VmiAgreementVersion, proposal: VmiProposal, day: date) -> str | None:
    """Why an order of this proposal needs the buyer's approval first (None: it does not)."""
    value = value_of(proposal)
    if terms.max_order_value is not None and value > terms.max_order_value:
        return f"the order's value {value} {agreement.currency} is above the limit per order of {terms.max_order_value}"
    if terms.max_period_value is not None:
        so_far = ordered_in_period(session, agreement, terms, day)
        if so_far + value > terms.max_period_value:
            return f"with the {so_far} {agreement.currency} already ordered this period it would exceed the period's limit of {terms.max_period_value}"
    return None


def standing_principal(session: Session, agreement: VmiAgreement, terms: VmiAgreementVersion) -> Principal | None:
    """The buyer's user who agreed the terms in force, acting under the agreement, if they still may order."""
    user_id = terms.proposed_by if terms.proposed_by_org_id == agreement.buyer_org_id else terms.decided_by
    user = session.get(User, user_id) if user_id else None
    buyer = session.get(Organization, agreement.buyer_org_id)
    if user is None or buyer is None or user.status != UserStatus.ACTIVE or user.role not in _WRITERS or policy.refusal_reason(user, buyer):
        return None
    return Principal(user=user, org=buyer, via="vmi_agreement", credential_id=agreement.id)


def _place_order(session: Session, agreement: VmiAgreement, proposal: VmiProposal, buyer: Principal) -> None:
    terms = agreements.current(agreement)
    assert terms is not None
    item = next(i for i in terms.items if (i.product_id, i.location_id) == (proposal.product_id, proposal.location_id))
    count = session.execute(
        sa.select(sa.func.count()).select_from(VmiProposal).where(VmiProposal.agreement_id == agreement.id, VmiProposal.order_id.is_not(None))
    ).scalar_one()
    quantity = proposal.confirmed_quantity if proposal.confirmed_quantity is not None else proposal.quantity
    data = {
        "number": f"{agreement.number}-{count + 1:04d}",
        "supplier_id": agreement.supplier_org_id,
        "currency": agreement.currency,
        "ship_to_location_id": item.location_id,
        "incoterm": INCOTERM,
        "payment_terms": f"VMI agreement {agreement.number}",
        "lines": [
            {
                "product_id": item.product_id,
                "quantity": quantity,
                "unit_price": item.unit_price,
                "requested_date": proposal.confirmed_delivery_date or proposal.delivery_date,
            }
        ],
    }
    order = orders.issue_generated(session, buyer, data, origin=f"VMI agreement {agreement.number}", consignment=item.consignment)
    proposal.order_id = order.id


def _tell(
    session: Session, event: str, action: Action, proposal: VmiProposal, agreement: VmiAgreement, principal: Principal, before: ProposalState, summary: str
) -> None:
    record(
        session,
        action,
        actor=principal.actor,
        subject_org_id=proposal.buyer_org_id,
        related_org_id=proposal.supplier_org_id,
        object_type="vmi_proposal",
        object_id=proposal.id,
        before={"state": str(before)},
        after={
            "state": str(proposal.state),
            "quantity": str(proposal.confirmed_quantity or proposal.quantity),
            "delivery_date": (proposal.confirmed_delivery_date or proposal.delivery_date).isoformat(),
            "value": str(value_of(proposal)),
            "order_id": str(proposal.order_id) if proposal.order_id else None,
            "reason": proposal.state_reason,
        },
    )
    notify(
        session,
        event,
        org_ids={proposal.buyer_org_id, proposal.supplier_org_id},
        object_type="vmi_proposal",
        object_id=proposal.id,
        summary=summary,
        data={"proposal_id": str(proposal.id), "agreement_id": str(agreement.id), "state": str(proposal.state), "order_id": proposal.order_id},
    )


def _locked(session: Session, principal: Principal, proposal_id: uuid.UUID) -> tuple[VmiProposal, VmiAgreement]:
    proposal = policy.get_visible(session, VmiProposal, proposal_id, principal, for_update=True)
    agreement = session.execute(sa.select(VmiAgreement).where(VmiAgreement.id == proposal.agreement_id).with_for_update()).scalar_one()
    return proposal, agreement


def confirm(session: Session, principal: Principal, proposal_id: uuid.UUID, data: dict[str, Any]) -> VmiProposal:
    """The supplier confirms, optionally with another quantity or delivery date: the order is
    issued now if inside the agreed limits, else the buyer approves it first."""
    proposal, agreement = _locked(session, principal, proposal_id)
    _check(proposal, agreement, principal, "confirm")
    terms = agreements.current(agreement)
    assert terms is not None  # an active agreement has agreed terms
    if (proposal.product_id, proposal.location_id) not in {(i.product_id, i.location_id) for i in terms.items}:
        raise Conflict("The agreed terms no longer cover this item: the next review proposes under them.")
    today = clock.utcnow().date()
    delivery = data.get("delivery_date") or proposal.delivery_date
    if delivery < today or delivery > today + DELIVERY_HORIZON:
        raise ValidationFailed({"delivery_date": [f"From today up to {DELIVERY_HORIZON.days} days ahead."]})
    proposal.confirmed_quantity = (data.get("quantity") or proposal.quantity).quantize(QUANTITY_STEP)
    proposal.confirmed_delivery_date = delivery
    proposal.unit_price = next(i.unit_price for i in terms.items if (i.product_id, i.location_id) == (proposal.product_id, proposal.location_id))
    proposal.decided_by, proposal.decided_at = principal.user.id, clock.utcnow()
    before = proposal.state
    why = beyond_limits(session, agreement, terms, proposal, today)
    buyer = standing_principal(session, agreement, terms) if why is None else None
    if why is None and buyer is None:
        why = "the buyer's user who agreed the terms can no longer order"
    if why is not None:
        proposal.state, proposal.state_reason = P.AWAITING_APPROVAL, why
        _tell(
            session,
            "vmi.approval_needed",
            Action.VMI_PROPOSAL_REFERRED,
            proposal,
            agreement,
            principal,
            before,
            f"{agreement.number}: a confirmed proposal needs your approval: {why}.",
        )
    else:
        assert buyer is not None
        _place_order(session, agreement, proposal, buyer)
        proposal.state = P.ORDERED
        _tell(
            session,
            "vmi.ordered",
            Action.VMI_PROPOSAL_ORDERED,
            proposal,
            agreement,
            principal,
            before,
            f"{agreement.number}: {principal.org.legal_name} confirmed a proposal; its order is issued.",
        )
    session.commit()
    return proposal


def approve(session: Session, principal: Principal, proposal_id: uuid.UUID) -> VmiProposal:
    """The buyer approves an order beyond the limits: it is issued in the approver's name."""
    proposal, agreement = _locked(session, principal, proposal_id)
    _check(proposal, agreement, principal, "approve")
    before = proposal.state
    _place_order(session, agreement, proposal, principal)
    proposal.state, proposal.state_reason = P.ORDERED, None
    proposal.decided_by, proposal.decided_at = principal.user.id, clock.utcnow()
    _tell(
        session,
        "vmi.ordered",
        Action.VMI_PROPOSAL_ORDERED,
        proposal,
        agreement,
        principal,
        before,
        f"{agreement.number}: {principal.org.legal_name} approved a proposal; its order is issued.",
    )
    session.commit()
    return proposal


def _close(session: Session, principal: Principal, proposal_id: uuid.UUID, action: str, reason: str | None) -> VmiProposal:
    proposal, agreement = _locked(session, principal, proposal_id)
    _check(proposal, agreement, principal, action)
    before = proposal.state
    proposal.state, proposal.state_reason = TRANSITIONS[(proposal.state, action)][0], reason
    proposal.decided_by, proposal.decided_at = principal.user.id, clock.utcnow()
    event, audited, verb = {
        "dismiss": ("vmi.dismissed", Action.VMI_PROPOSAL_DISMISSED, "dismissed"),
        "reject": ("vmi.rejected", Action.VMI_PROPOSAL_REJECTED, "rejected"),
    }[action]
    _tell(
        session,
        event,
        audited,
        proposal,
        agreement,
        principal,
        before,
        f"{agreement.number}: {principal.org.legal_name} {verb} a proposal" + (f": {reason}" if reason else "."),
    )
    session.commit()
    return proposal


def dismiss(session: Session, principal: Principal, proposal_id: uuid.UUID, reason: str | None = None) -> VmiProposal:
    """The supplier will not order this one (the next review proposes again if still needed)."""
    return _close(session, principal, proposal_id, "dismiss", reason)


def reject(session: Session, principal: Principal, proposal_id: uuid.UUID, reason: str | None = None) -> VmiProposal:
    """The buyer refuses an order beyond the limits."""
    return _close(session, principal, proposal_id, "reject", reason)


def proposals_query(principal: Principal, *, agreement_id: uuid.UUID | None = None, state: ProposalState | None = None) -> sa.Select:
    query = sa.select(VmiProposal).where(policy.visible(principal, VmiProposal))
    if agreement_id is not None:
        query = query.where(VmiProposal.agreement_id == agreement_id)
    if state is not None:
        query = query.where(VmiProposal.state == state)
    return query
