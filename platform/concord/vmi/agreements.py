"""VMI agreements: a buyer proposes an agreement to a supplier partner; every change of
terms is a new version that the other side accepts or declines (like an order's change
proposals), so the terms in force are always ones both sides agreed.

    propose / amend                    a new version (the buyer's first; either side's later ones)
    accept / decline / withdraw        the pending version's answer (or its proposer taking it back)
    suspend / resume / end             the agreement's own lifecycle (TRANSITIONS)
    end_due                            the worker ends agreements past their agreed end date

Only the buyer names items (its own products at its own locations); a supplier's amendment
changes the terms of the items already covered. While suspended, nothing is reviewed or
ordered, and open proposals are cancelled; whoever suspended resumes. Ending is final: a
pending version is withdrawn and open proposals cancelled (orders already issued run their
course).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.catalog.models import Location, Product
from concord.db import commit_or_conflict, database
from concord.errors import Forbidden, InvalidTransition, ValidationFailed
from concord.finance import terms as payment_terms
from concord.finance.models import Settlement
from concord.notifications.service import notify
from concord.policy import Principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, Relation
from concord.vmi.models import AgreementState, LevelBasis, ProposalState, VersionState, VmiAgreement, VmiAgreementItem, VmiAgreementVersion, VmiProposal

BUYER, SUPPLIER, READER = "buyer", "supplier", "reader"
#: Who takes an action: the pending version's proposer, the other side, either side, or the
#: side that suspended the agreement.
PROPOSER, COUNTERPARTY, EITHER, SUSPENDER = "proposer", "counterparty", "either", "suspender"
A = AgreementState
#: (state, action) -> (next state, who takes it). accept/decline/withdraw answer the pending
#: version (there must be one); amend proposes one (there must be none).
TRANSITIONS: dict[tuple[AgreementState, str], tuple[AgreementState, str]] = {
    (A.PROPOSED, "accept"): (A.ACTIVE, COUNTERPARTY),
    (A.PROPOSED, "decline"): (A.DECLINED, COUNTERPARTY),
    (A.PROPOSED, "withdraw"): (A.WITHDRAWN, PROPOSER),
    (A.ACTIVE, "amend"): (A.ACTIVE, EITHER),
    (A.ACTIVE, "accept"): (A.ACTIVE, COUNTERPARTY),
    (A.ACTIVE, "decline"): (A.ACTIVE, COUNTERPARTY),
    (A.ACTIVE, "withdraw"): (A.ACTIVE, PROPOSER),
    (A.ACTIVE, "suspend"): (A.SUSPENDED, EITHER),
    (A.ACTIVE, "end"): (A.ENDED, EITHER),
    (A.SUSPENDED, "amend"): (A.SUSPENDED, EITHER),
    (A.SUSPENDED, "accept"): (A.SUSPENDED, COUNTERPARTY),
    (A.SUSPENDED, "decline"): (A.SUSPENDED, COUNTERPARTY),
    (A.SUSPENDED, "withdraw"): (A.SUSPENDED, PROPOSER),
    (A.SUSPENDED, "resume"): (A.ACTIVE, SUSPENDER),
    (A.SUSPENDED, "end"): (A.ENDED, EITHER),
}
TERMINAL = frozenset({A.ENDED, A.DECLINED, A.WITHDRAWN})
#: Agreements under which stock is reviewed and orders may be generated.
RUNNING = frozenset({A.ACTIVE})
_ANSWERS = frozenset({"accept", "decline", "withdraw"})
MAX_ITEMS = 200
#: A service-level target from 50 % up to (not including) 100 %: 100 % needs infinite safety stock.
SERVICE_LEVELS = (Decimal(50), Decimal(100))
#: Days-of-supply bands at most this long; quantities below QUANTITY_LIMIT.
MAX_DAYS_OF_SUPPLY = Decimal(366)
QUANTITY_LIMIT = Decimal(10) ** 12
QUANTITY_STEP, PRICE_STEP, CENT, RATE_STEP = Decimal("0.001"), Decimal("0.0001"), Decimal("0.01"), Decimal("0.0001")
CONSIGNMENT_NEEDS_OPEN_ACCOUNT = "Goods on consignment are paid as they are consumed: the partnership's payment terms must be open account."
_PROFIT_SHARING = ("baseline_inventory_value", "holding_cost_rate", "supplier_share")
_TERMS = ("starts_on", "ends_on", "max_order_value", "max_period_value", "period_days", *_PROFIT_SHARING, "self_billing_tax_rate", "note")


def visibility() -> dict[type, Any]:
    """An agreement is seen by its buyer and its supplier."""
    return {VmiAgreement: lambda p: sa.or_(VmiAgreement.buyer_org_id == p.org.id, VmiAgreement.supplier_org_id == p.org.id)}


def side_of(agreement: VmiAgreement, principal: Principal) -> str:
    if agreement.buyer_org_id == principal.org.id:
        return BUYER
    return SUPPLIER if agreement.supplier_org_id == principal.org.id else READER


def version(agreement: VmiAgreement, number: int | None) -> VmiAgreementVersion | None:
    return next((v for v in agreement.versions if v.version == number), None) if number else None


def current(agreement: VmiAgreement) -> VmiAgreementVersion | None:
    """The agreed version in force (None until the first is agreed)."""
    return version(agreement, agreement.current_version)


def pending(agreement: VmiAgreement) -> VmiAgreementVersion | None:
    return version(agreement, agreement.pending_version)


def _takes(agreement: VmiAgreement, principal: Principal, actor: str) -> bool:
    org_id = principal.org.id
    if side_of(agreement, principal) == READER:
        return False
    waiting = pending(agreement)
    if actor == PROPOSER:
        return waiting is not None and waiting.proposed_by_org_id == org_id
    if actor == COUNTERPARTY:
        return waiting is not None and waiting.proposed_by_org_id != org_id
    if actor == SUSPENDER:
        return agreement.suspended_by_org_id == org_id
    return actor == EITHER


def _possible(agreement: VmiAgreement, action: str) -> bool:
    if action in _ANSWERS:
        return agreement.pending_version is not None
    return action != "amend" or agreement.pending_version is None


def allowed_actions(agreement: VmiAgreement, principal: Principal) -> list[str]:
    return [
        action
        for (state, action), (_, actor) in TRANSITIONS.items()
        if state == agreement.state and _possible(agreement, action) and _takes(agreement, principal, actor)
    ]


def _check(agreement: VmiAgreement, principal: Principal, action: str) -> None:
    """403 when the principal's side is not the one that takes `action`, 409 (with the
    allowed actions) when the agreement's state or its pending version does not allow it."""
    policy.require_writer(principal)
    rule = TRANSITIONS.get((agreement.state, action))
    why = None
    if rule is not None and not _possible(agreement, action):
        if action in _ANSWERS:
            why = "no version of it is waiting for an answer"
        else:
            why = f"version {agreement.pending_version} is still waiting for an answer (accept, decline or withdraw it first)"
    if rule is None or why is not None:
        raise InvalidTransition("VMI agreement", str(agreement.state), action, allowed_actions(agreement, principal), why)
    if not _takes(agreement, principal, rule[1]):
        raise Forbidden(_WHO[rule[1]])


_PAST = {"accept": "accepted", "decline": "declined", "withdraw": "withdrawn", "amend": "amended", "suspend": "suspended", "resume": "resumed", "end": "ended"}
_WHO = {
    PROPOSER: "Only the side that proposed this version withdraws it.",
    COUNTERPARTY: "The other side answers a proposed version, not the side that proposed it.",
    SUSPENDER: "Only the side that suspended the agreement resumes it.",
    EITHER: "Only the agreement's buyer and supplier act on it.",
}


# -- terms -----------------------------------------------------------------------------------


def _item_errors(item: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    low, high = item["min_level"], item["max_level"]
    if high <= low:
        errors["max_level"] = ["Must be greater than the minimum."]
    if item["level_basis"] == LevelBasis.DAYS_OF_SUPPLY and high > MAX_DAYS_OF_SUPPLY:
        errors["max_level"] = [f"At most {MAX_DAYS_OF_SUPPLY} days of supply."]
    if item["level_basis"] == LevelBasis.QUANTITY and high >= QUANTITY_LIMIT:
        errors["max_level"] = [f"Less than {QUANTITY_LIMIT}."]
    if not SERVICE_LEVELS[0] <= item["service_level"] < SERVICE_LEVELS[1]:
        errors["service_level"] = [f"From {SERVICE_LEVELS[0]} % up to, not including, {SERVICE_LEVELS[1]} %."]
    return errors


def _build_items(session: Session, agreement: VmiAgreement, principal: Principal, items: list[dict[str, Any]]) -> tuple[list[VmiAgreementItem], dict]:
    """The version's items, or the mistakes by item index. The buyer names its own active
    products and locations; a supplier only re-terms the items the agreement covers."""
    errors: dict[int, dict[str, list[str]]] = {}
    seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
    covered = {(i.product_id, i.location_id): i for v in agreement.versions if v.state == VersionState.AGREED for i in v.items}
    by_buyer = side_of(agreement, principal) == BUYER
    on_account = payment_terms.applying(session, agreement.buyer_org_id, agreement.supplier_org_id).settlement == Settlement.OPEN_ACCOUNT
    products, locations = {}, {}
    if by_buyer:
        product_ids, location_ids = {i["product_id"] for i in items}, {i["location_id"] for i in items}
        visible_products = sa.select(Product).where(Product.id.in_(product_ids), policy.visible(principal, Product), Product.active.is_(True))
        visible_locations = sa.select(Location).where(Location.id.in_(location_ids), policy.visible(principal, Location), Location.active.is_(True))
        products = {p.id: p for p in session.execute(visible_products).scalars()}
        locations = {loc.id: loc for loc in session.execute(visible_locations).scalars()}
    built = []
    for index, item in enumerate(items):
        key = (item["product_id"], item["location_id"])
        mistakes = _item_errors(item)
        if item["consignment"] and not on_account:
            mistakes["consignment"] = [CONSIGNMENT_NEEDS_OPEN_ACCOUNT]
        if key in seen:
            mistakes["location_id"] = ["This product is already listed for this location."]
        seen.add(key)
        names: dict[str, str] = {}
        if by_buyer:
            product, location = products.get(key[0]), locations.get(key[1])
            if product is None:
                mistakes["product_id"] = ["Not an active product of your organization."]
            if location is None:
                mistakes["location_id"] = ["Not an active location of your organization."]
            if product is not None and location is not None:
                names = {"sku": product.sku, "product_name": product.name, "unit_of_measure": product.unit_of_measure, "location_name": location.name}
        elif key not in covered:
            mistakes["product_id"] = ["Not an item of this agreement: the buyer adds items."]
        else:
            known = covered[key]
            names = {"sku": known.sku, "product_name": known.product_name, "unit_of_measure": known.unit_of_measure, "location_name": known.location_name}
        if mistakes:
            errors[index] = mistakes
            continue
        built.append(
            VmiAgreementItem(
                product_id=key[0],
                location_id=key[1],
                **names,
                unit_price=item["unit_price"].quantize(PRICE_STEP),
                level_basis=item["level_basis"],
                min_level=item["min_level"].quantize(QUANTITY_STEP),
                max_level=item["max_level"].quantize(QUANTITY_STEP),
                review_period_days=item["review_period_days"],
                lead_time_days=item["lead_time_days"],
                service_level=item["service_level"].quantize(RATE_STEP),
                consignment=item["consignment"],
            )
        )
    return built, errors


def _terms_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    today = clock.utcnow().date()
    if data.get("ends_on") is not None:
        if data["ends_on"] <= data["starts_on"]:
            errors["ends_on"] = ["Must be after the start date."]
        elif data["ends_on"] <= today:
            errors["ends_on"] = ["Must be in the future."]
    given = [key for key in _PROFIT_SHARING if data.get(key) is not None]
    if given and len(given) < len(_PROFIT_SHARING):
        for key in _PROFIT_SHARING:
            if data.get(key) is None:
                errors[key] = ["Profit sharing needs the baseline inventory value, the holding-cost rate and the supplier's share together."]
    if data.get("max_order_value") and data.get("max_period_value") and data["max_order_value"] > data["max_period_value"]:
        errors["max_order_value"] = ["Must not exceed the limit per period."]
    return errors


def _new_version(session: Session, agreement: VmiAgreement, principal: Principal, data: dict[str, Any]) -> VmiAgreementVersion:
    items, item_errors = _build_items(session, agreement, principal, data["items"])
    errors: dict[str, Any] = _terms_errors(data)
    if item_errors:
        errors["items"] = item_errors
    if errors:
        raise ValidationFailed(errors)
    number = max((v.version for v in agreement.versions), default=0) + 1
    steps = dict.fromkeys(("max_order_value", "max_period_value", "baseline_inventory_value"), CENT) | dict.fromkeys(
        ("holding_cost_rate", "supplier_share", "self_billing_tax_rate"), RATE_STEP
    )
    terms: dict[str, Any] = {key: data.get(key) for key in _TERMS}
    for key, step in steps.items():
        if terms[key] is not None:
            terms[key] = terms[key].quantize(step)
    terms["period_days"] = data.get("period_days") or 30
    terms["self_billing_tax_rate"] = terms["self_billing_tax_rate"] or Decimal(0)
    proposed = VmiAgreementVersion(
        version=number,
        state=VersionState.PROPOSED,
        proposed_by_org_id=principal.org.id,
        proposed_by=principal.user.id,
        proposed_at=clock.utcnow(),
        items=items,
        **terms,
    )
    agreement.versions.append(proposed)
    agreement.pending_version = number
    return proposed


# -- telling both sides ------------------------------------------------------------------------


def shown_terms(terms: VmiAgreementVersion | None) -> dict[str, Any] | None:
    if terms is None:
        return None
    return {
        "version": terms.version,
        "state": str(terms.state),
        "starts_on": terms.starts_on.isoformat(),
        "ends_on": terms.ends_on.isoformat() if terms.ends_on else None,
        "max_order_value": terms.max_order_value,
        "max_period_value": terms.max_period_value,
        "items": len(terms.items),
    }


def _tell(session: Session, event: str, action: Action, agreement: VmiAgreement, principal: Principal | None, before: dict | None, summary: str) -> None:
    after = {"state": str(agreement.state), "current_version": agreement.current_version, "pending_version": agreement.pending_version}
    record(
        session,
        action,
        actor=principal.actor if principal else None,
        subject_org_id=agreement.buyer_org_id,
        related_org_id=agreement.supplier_org_id,
        object_type="vmi_agreement",
        object_id=agreement.id,
        before=before,
        after=after,
        terms=_audited_terms(pending(agreement) or current(agreement)),
    )
    notify(
        session,
        event,
        org_ids={agreement.buyer_org_id, agreement.supplier_org_id},
        object_type="vmi_agreement",
        object_id=agreement.id,
        summary=summary,
        data={"agreement_id": str(agreement.id), "number": agreement.number, **after},
    )


def _audited_terms(terms: VmiAgreementVersion | None) -> dict[str, Any] | None:
    shown = shown_terms(terms)
    if shown is None or terms is None:
        return None
    money = {k: None if shown[k] is None else str(shown[k]) for k in ("max_order_value", "max_period_value")}
    items = [
        {
            "product_id": str(i.product_id),
            "location_id": str(i.location_id),
            "basis": str(i.level_basis),
            "min": str(i.min_level),
            "max": str(i.max_level),
            "unit_price": str(i.unit_price),
            "consignment": i.consignment,
        }
        for i in terms.items
    ]
    return {**shown, **money, "items": items}


def _state_of(agreement: VmiAgreement) -> dict[str, Any]:
    return {"state": str(agreement.state), "current_version": agreement.current_version, "pending_version": agreement.pending_version}


# -- the verbs ---------------------------------------------------------------------------------


def _next_number(session: Session, buyer_id: uuid.UUID) -> str:
    count = session.execute(sa.select(sa.func.count()).select_from(VmiAgreement).where(VmiAgreement.buyer_org_id == buyer_id)).scalar_one()
    return f"VMI-{count + 1:04d}"


def propose(session: Session, principal: Principal, data: dict[str, Any]) -> VmiAgreement:
    """The buyer proposes an agreement (its version 1) to a supplier partner."""
    policy.require_writer(principal)
    if not principal.org.has(Capability.BUYER):
        raise Forbidden("Only buyers propose VMI agreements: the items are their products at their locations.")
    errors: dict[str, Any] = {}
    currency = data["currency"].upper()
    if currency not in current_app.config["SETTLEMENT_CURRENCIES"]:
        errors["currency"] = [f"Generated orders pay in {', '.join(current_app.config['SETTLEMENT_CURRENCIES'])}."]
    if not tenancy.are_partners(session, Relation.BUYER_SUPPLIER, principal.org.id, data["supplier_id"]):
        errors["supplier_id"] = ["Not an active supplier partner of your organization (a buyer_supplier partnership)."]
    if errors:
        raise ValidationFailed(errors)
    agreement = VmiAgreement(
        number=_next_number(session, principal.org.id),
        buyer_org_id=principal.org.id,
        supplier_org_id=data["supplier_id"],
        currency=currency,
        state=AgreementState.PROPOSED,
        current_version=0,
        created_by=principal.user.id,
    )
    session.add(agreement)
    _new_version(session, agreement, principal, data)
    session.flush()
    _tell(
        session,
        "vmi.proposed",
        Action.VMI_AGREEMENT_PROPOSED,
        agreement,
        principal,
        None,
        f"{principal.org.legal_name} proposes VMI agreement {agreement.number}.",
    )
    commit_or_conflict(session, "Another agreement was just proposed at the same moment; try again.")
    return agreement


def _locked(session: Session, principal: Principal, agreement_id: uuid.UUID) -> VmiAgreement:
    return policy.get_visible(session, VmiAgreement, agreement_id, principal, for_update=True)


def amend(session: Session, principal: Principal, agreement_id: uuid.UUID, data: dict[str, Any]) -> VmiAgreement:
    """Either side proposes new terms (a new version); the current ones hold until they are accepted."""
    agreement = _locked(session, principal, agreement_id)
    _check(agreement, principal, "amend")
    before = _state_of(agreement)
    proposed = _new_version(session, agreement, principal, data)
    session.flush()
    _tell(
        session,
        "vmi.amended",
        Action.VMI_AGREEMENT_AMENDED,
        agreement,
        principal,
        before,
        f"{principal.org.legal_name} proposes version {proposed.version} of VMI agreement {agreement.number}.",
    )
    session.commit()
    return agreement


def _answer(session: Session, principal: Principal, agreement_id: uuid.UUID, action: str, note: str | None) -> VmiAgreement:
    agreement = _locked(session, principal, agreement_id)
    _check(agreement, principal, action)
    before = _state_of(agreement)
    waiting = pending(agreement)
    assert waiting is not None  # _check: an answer needs a pending version
    now = clock.utcnow()
    if action == "accept":
        superseded = current(agreement)
        if superseded is not None:
            superseded.state = VersionState.SUPERSEDED
        waiting.state, agreement.current_version = VersionState.AGREED, waiting.version
    else:
        waiting.state = VersionState.DECLINED if action == "decline" else VersionState.WITHDRAWN
    waiting.decided_by, waiting.decided_at = principal.user.id, now
    if note:
        waiting.note = note
    agreement.pending_version = None
    agreement.state = TRANSITIONS[(agreement.state, action)][0]
    if agreement.state in TERMINAL:
        agreement.ended_at, agreement.state_reason = now, note
    event, audited = _ANSWER_EVENTS[action]
    verb = _PAST[action]
    _tell(
        session,
        event,
        audited,
        agreement,
        principal,
        before,
        f"{principal.org.legal_name} {verb} version {waiting.version} of VMI agreement {agreement.number}" + (f": {note}" if note else "."),
    )
    session.commit()
    return agreement


_ANSWER_EVENTS = {
    "accept": ("vmi.accepted", Action.VMI_AGREEMENT_ACCEPTED),
    "decline": ("vmi.declined", Action.VMI_AGREEMENT_DECLINED),
    "withdraw": ("vmi.withdrawn", Action.VMI_AGREEMENT_WITHDRAWN),
}


def accept(session: Session, principal: Principal, agreement_id: uuid.UUID, note: str | None = None) -> VmiAgreement:
    return _answer(session, principal, agreement_id, "accept", note)


def decline(session: Session, principal: Principal, agreement_id: uuid.UUID, note: str | None = None) -> VmiAgreement:
    return _answer(session, principal, agreement_id, "decline", note)


def withdraw(session: Session, principal: Principal, agreement_id: uuid.UUID, note: str | None = None) -> VmiAgreement:
    return _answer(session, principal, agreement_id, "withdraw", note)


def _close_pending(agreement: VmiAgreement, reason: str) -> None:
    waiting = pending(agreement)
    if waiting is not None:
        waiting.state, waiting.decided_at, waiting.note = VersionState.WITHDRAWN, clock.utcnow(), reason
        agreement.pending_version = None


def _cancel_proposals(session: Session, agreement: VmiAgreement, reason: str) -> None:
    """Open proposals and those awaiting approval go with a suspension or an end (orders
    already issued run their course)."""
    live = sa.select(VmiProposal).where(VmiProposal.agreement_id == agreement.id, VmiProposal.state.in_((ProposalState.OPEN, ProposalState.AWAITING_APPROVAL)))
    for proposal in session.execute(live).scalars():
        before = proposal.state
        proposal.state, proposal.state_reason, proposal.decided_at = ProposalState.CANCELLED, reason, clock.utcnow()
        record(
            session,
            Action.VMI_PROPOSAL_CANCELLED,
            actor=None,
            subject_org_id=agreement.buyer_org_id,
            related_org_id=agreement.supplier_org_id,
            object_type="vmi_proposal",
            object_id=proposal.id,
            before={"state": str(before)},
            after={"state": str(proposal.state), "reason": reason},
        )


def _move(session: Session, principal: Principal, agreement_id: uuid.UUID, action: str, reason: str | None) -> VmiAgreement:
    agreement = _locked(session, principal, agreement_id)
    _check(agreement, principal, action)
    before = _state_of(agreement)
    agreement.state = TRANSITIONS[(agreement.state, action)][0]
    agreement.state_reason = reason
    agreement.suspended_by_org_id = principal.org.id if action == "suspend" else None
    if action == "end":
        agreement.ended_at = clock.utcnow()
        _close_pending(agreement, "the agreement ended")
    if action in ("suspend", "end"):
        _cancel_proposals(session, agreement, f"the agreement was {_PAST[action]}")
    event, audited = _MOVE_EVENTS[action]
    summary = f"{principal.org.legal_name} {_PAST[action]} VMI agreement {agreement.number}" + (f": {reason}" if reason else ".")
    _tell(session, event, audited, agreement, principal, before, summary)
    session.commit()
    return agreement


_MOVE_EVENTS = {
    "suspend": ("vmi.suspended", Action.VMI_AGREEMENT_SUSPENDED),
    "resume": ("vmi.resumed", Action.VMI_AGREEMENT_RESUMED),
    "end": ("vmi.ended", Action.VMI_AGREEMENT_ENDED),
}


def suspend(session: Session, principal: Principal, agreement_id: uuid.UUID, reason: str | None = None) -> VmiAgreement:
    """Pause reviews and generated orders (orders already issued run their course)."""
    return _move(session, principal, agreement_id, "suspend", reason)


def resume(session: Session, principal: Principal, agreement_id: uuid.UUID, reason: str | None = None) -> VmiAgreement:
    return _move(session, principal, agreement_id, "resume", reason)


def end(session: Session, principal: Principal, agreement_id: uuid.UUID, reason: str | None = None) -> VmiAgreement:
    """End the agreement for good: a pending version is withdrawn, nothing more is reviewed or ordered."""
    return _move(session, principal, agreement_id, "end", reason)


def end_due(app: Flask, today: date | None = None) -> int:
    """End the running or suspended agreements whose agreed end date has passed (a round
    job). Returns how many ended."""
    today = today or clock.utcnow().date()
    ended = 0
    with app.app_context(), database(app).sessionmaker() as session:
        candidates = sa.select(VmiAgreement.id).where(VmiAgreement.state.in_((A.ACTIVE, A.SUSPENDED)))
        for agreement_id in list(session.execute(candidates).scalars()):
            agreement = session.execute(sa.select(VmiAgreement).where(VmiAgreement.id == agreement_id).with_for_update()).scalar_one()
            terms = current(agreement)
            if agreement.state not in (A.ACTIVE, A.SUSPENDED) or terms is None or terms.ends_on is None or terms.ends_on > today:
                session.rollback()
                continue
            before = _state_of(agreement)
            agreement.state, agreement.ended_at = A.ENDED, clock.utcnow()
            agreement.state_reason = f"its agreed end date {terms.ends_on.isoformat()} passed"
            agreement.suspended_by_org_id = None
            _close_pending(agreement, "the agreement ended")
            _cancel_proposals(session, agreement, "the agreement ended")
            _tell(session, "vmi.ended", Action.VMI_AGREEMENT_ENDED, agreement, None, before, f"VMI agreement {agreement.number} reached its end date.")
            session.commit()
            ended += 1
    return ended


def agreements_query(principal: Principal, *, state: AgreementState | None = None, role: str | None = None) -> sa.Select:
    query = sa.select(VmiAgreement).where(policy.visible(principal, VmiAgreement))
    if state is not None:
        query = query.where(VmiAgreement.state == state)
    if role == BUYER:
        query = query.where(VmiAgreement.buyer_org_id == principal.org.id)
    elif role == SUPPLIER:
        query = query.where(VmiAgreement.supplier_org_id == principal.org.id)
    return query


def in_force_on(agreement: VmiAgreement, day: date) -> bool:
    """Whether the agreed terms cover `day` (reviews and generated orders run only then)."""
    terms = current(agreement)
    if agreement.state not in RUNNING or terms is None:
        return False
    return terms.starts_on <= day and (terms.ends_on is None or day < terms.ends_on)
