"""A VMI review: for each item of an agreement in force, the stock the buyer shared, the
forecast of its consumption, the policy's safety stock, reorder point and band, and — when
projected stock would leave the band — a replenishment proposal for the supplier.

    history(...)            what the buyer shared of an item: each day, and the weekly
                            consumption the forecast reads (stock.daily does the counting)
    review(...)             review every item of an agreement now (the supplier's button)
    review_due(app)         the worker reviews each item once per its review period

Stock counts (`on_hand`) are the stock at the end of their day, that day's movements
included; receipts and consumption after the last count move it on. A review on day T sees
the position at the end of day T - 1 and plans from day T (the policy's day 0). Orders the
agreement generated are on order while they are issued, acknowledged or shipped; once
delivered, the buyer's shared receipts carry them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.db import database
from concord.errors import Conflict
from concord.notifications.service import notify
from concord.orders.models import OrderLine, OrderState, PurchaseOrder
from concord.policy import Principal
from concord.vmi import agreements, stock
from concord.vmi import forecast as forecasting
from concord.vmi import policy as replenishment
from concord.vmi.models import (
    AgreementState,
    LevelBasis,
    ProposalState,
    VmiAgreement,
    VmiAgreementItem,
    VmiAgreementVersion,
    VmiProposal,
)

#: Weeks of consumption the forecast reads at most, and weeks it looks ahead.
HISTORY_WEEKS = 156
HORIZON_WEEKS = 26
#: Units counted whole (pieces, each): proposals round up to a whole unit; others to 0.001.
WHOLE_UNITS = frozenset({"H87", "C62", "EA", "PCE", "PR", "SET", "BX", "CT"})
_ON_ORDER_STATES = (OrderState.ISSUED, OrderState.ACKNOWLEDGED, OrderState.PARTIALLY_SHIPPED, OrderState.SHIPPED)
QUANTITY_STEP = Decimal("0.001")
_LIVE_PROPOSALS = (ProposalState.OPEN, ProposalState.AWAITING_APPROVAL)


def quantum_of(unit_of_measure: str) -> Decimal:
    return Decimal(1) if unit_of_measure in WHOLE_UNITS else Decimal("0.001")


@dataclass(frozen=True)
class History:
    """What the buyer shared of one item, as a review reads it on `today`: each day up to
    yesterday (from the week of the first record, at most HISTORY_WEEKS back) and the
    consumption per week ending yesterday."""

    days: list[stock.Day]
    weekly_consumption: list[Decimal]

    @property
    def on_hand(self) -> Decimal:
        return self.days[-1].on_hand if self.days else Decimal(0)


def history(session: Session, buyer_org_id: uuid.UUID, product_id: uuid.UUID, location_id: uuid.UUID, today: date) -> History:
    where = stock.series(buyer_org_id, product_id, location_id)
    first = stock.first_shared_on(session, where)
    if first is None or first >= today:
        return History([], [])
    weeks = min(((today - first).days + 6) // 7, HISTORY_WEEKS)
    days = stock.daily(session, where, today - timedelta(days=7 * weeks), today - timedelta(days=1))
    return History(days, stock.weekly(days))


def on_order(session: Session, agreement: VmiAgreement, item: VmiAgreementItem) -> list[replenishment.Incoming]:
    """What the agreement's orders for this item still bring: issued, acknowledged or on the way."""
    rows = session.execute(
        sa.select(OrderLine)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .join(VmiProposal, VmiProposal.order_id == PurchaseOrder.id)
        .where(
            VmiProposal.agreement_id == agreement.id,
            OrderLine.product_id == item.product_id,
            PurchaseOrder.ship_to_location_id == item.location_id,
            PurchaseOrder.state.in_(_ON_ORDER_STATES),
        )
    ).scalars()
    return [
        replenishment.Incoming(line.confirmed_quantity if line.confirmed_quantity is not None else line.quantity, line.confirmed_date or line.requested_date)
        for line in rows
    ]


def _stored(quantity: Decimal) -> Decimal:
    """A quantity as its column keeps it (three places), so what is answered is what is stored."""
    return quantity.quantize(QUANTITY_STEP)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _limited(value: float | None, places: str = "0.0001") -> Decimal | None:
    """A score as a stored rate (bounded: a degenerate series can score in the millions)."""
    if value is None:
        return None
    return Decimal(repr(max(min(value, 99999.0), -99999.0))).quantize(Decimal(places))


def _forecast_view(found: forecasting.Forecast, start: date) -> dict[str, Any]:
    weeks = [(start + timedelta(days=7 * k)).isoformat() for k in range(found.horizon)]
    return {
        "model": str(found.model),
        "weeks": weeks,
        "point": [str(v) for v in found.point],
        "lower_80": [str(v) for v in found.lower_80],
        "upper_80": [str(v) for v in found.upper_80],
        "lower_95": [str(v) for v in found.lower_95],
        "upper_95": [str(v) for v in found.upper_95],
        "holdout_weeks": found.holdout,
        "scores": [
            {"model": str(s.model), "mase": _money(_limited(s.mase)), "bias": _money(_limited(s.bias)), "chosen": s.model == found.model} for s in found.scores
        ],
    }


def _band(item: VmiAgreementItem, safety: Decimal | None) -> replenishment.Band | replenishment.DaysOfSupply:
    """The agreed band; in quantities, its minimum never below the safety stock the service level needs."""
    if item.level_basis == LevelBasis.DAYS_OF_SUPPLY:
        return replenishment.DaysOfSupply(item.min_level, item.max_level)
    minimum = max(item.min_level, safety or Decimal(0))
    return replenishment.Band(minimum, max(item.max_level, minimum))


def review_item(session: Session, agreement: VmiAgreement, terms: VmiAgreementVersion, item: VmiAgreementItem, today: date) -> VmiProposal | None:
    """Review one item; returns the proposal it made (None: stock stays within the band)."""
    shared = history(session, agreement.buyer_org_id, item.product_id, item.location_id, today)
    on_hand, weekly = shared.on_hand, shared.weekly_consumption
    incoming = on_order(session, agreement, item)
    quantum = quantum_of(item.unit_of_measure)
    lead, period, level = item.lead_time_days, item.review_period_days, item.service_level / 100
    seen: dict[str, Any] = {
        "on": today.isoformat(),
        "version": terms.version,
        "on_hand": str(on_hand),
        "on_order": [{"quantity": str(i.quantity), "arrives": i.arrives.isoformat()} for i in incoming],
        "history_weeks": len(weekly),
        "history": [str(v) for v in weekly[-52:]],
    }
    quantity, delivery, alerts, found = Decimal(0), None, [], None
    try:
        found = forecasting.forecast(weekly, HORIZON_WEEKS, quantum=quantum)
    except forecasting.HistoryTooShort:
        alerts.append(
            {"kind": "history_too_short", "on": None, "message": f"{len(weekly)} weeks of consumption shared; a forecast needs {forecasting.MIN_HISTORY}"}
        )
    if found is not None:
        safety = replenishment.safety_stock(found, level, lead, review_days=period, quantum=quantum)
        reorder = replenishment.reorder_point(found, level, lead, quantum=quantum)
        dynamic, days = replenishment.dynamic_band(found, level, lead, period, quantum=quantum)
        band = _band(item, safety)
        planned = replenishment.propose(
            today=today, on_hand=on_hand, on_order=incoming, forecast=found, lead_time_days=lead, review_days=period, band=band, quantum=quantum
        )
        quantity, delivery = planned.quantity, planned.arrival
        alerts = [{"kind": str(a.kind), "on": a.on.isoformat() if a.on else None, "message": a.message} for a in planned.alerts]
        seen.update(
            forecast=_forecast_view(found, today),
            safety_stock=str(safety),
            reorder_point=str(reorder),
            dynamic_band={
                "minimum": str(dynamic.minimum),
                "maximum": str(dynamic.maximum),
                "minimum_days": str(days.minimum_days),
                "maximum_days": str(days.maximum_days),
            },
            minimum=str(planned.minimum),
            maximum=str(planned.maximum),
            projected=[str(v) for v in planned.projected],
            projected_with_order=[str(v) for v in planned.projected_with_order],
        )
    elif item.level_basis == LevelBasis.QUANTITY:
        # Without a forecast, plain min/max on the position: back up to the maximum when below the minimum.
        position = on_hand + sum((i.quantity for i in incoming), Decimal(0))
        if position < item.min_level:
            quantity, delivery = (item.max_level - position).quantize(quantum), today + timedelta(days=lead)
        seen.update(minimum=str(item.min_level), maximum=str(item.max_level))
    seen["alerts"] = alerts
    _tell_new_alerts(session, agreement, item, alerts)
    item.reviewed_on, item.last_review = today, seen
    if quantity <= 0 or delivery is None:
        return None
    return _propose(session, agreement, terms, item, today, quantity, delivery, on_hand, incoming, seen, found)


def _tell_new_alerts(session: Session, agreement: VmiAgreement, item: VmiAgreementItem, alerts: list[dict[str, Any]]) -> None:
    """Alerts whose kind the item's previous review did not raise, to both sides."""
    before = {a["kind"] for a in (item.last_review or {}).get("alerts", [])}
    fresh = [a for a in alerts if a["kind"] not in before]
    if not fresh:
        return
    notify(
        session,
        "vmi.alert",
        org_ids={agreement.buyer_org_id, agreement.supplier_org_id},
        object_type="vmi_agreement",
        object_id=agreement.id,
        summary=f"{agreement.number}, {item.sku} at {item.location_name}: " + "; ".join(a["message"] for a in fresh) + ".",
        data={"agreement_id": str(agreement.id), "product_id": str(item.product_id), "location_id": str(item.location_id), "alerts": fresh},
    )


def _propose(
    session: Session,
    agreement: VmiAgreement,
    terms: VmiAgreementVersion,
    item: VmiAgreementItem,
    today: date,
    quantity: Decimal,
    delivery: date,
    on_hand: Decimal,
    incoming: list[replenishment.Incoming],
    seen: dict[str, Any],
    found: forecasting.Forecast | None,
) -> VmiProposal:
    replaced = session.execute(
        sa.select(VmiProposal).where(
            VmiProposal.agreement_id == agreement.id,
            VmiProposal.product_id == item.product_id,
            VmiProposal.location_id == item.location_id,
            VmiProposal.state == ProposalState.OPEN,
        )
    ).scalars()
    for old in replaced:
        old.state, old.state_reason, old.decided_at = ProposalState.CANCELLED, f"replaced by the review of {today.isoformat()}", clock.utcnow()
    proposal = VmiProposal(
        agreement_id=agreement.id,
        buyer_org_id=agreement.buyer_org_id,
        supplier_org_id=agreement.supplier_org_id,
        version=terms.version,
        product_id=item.product_id,
        location_id=item.location_id,
        state=ProposalState.OPEN,
        review_date=today,
        quantity=_stored(quantity),
        delivery_date=delivery,
        unit_price=item.unit_price,
        on_hand=_stored(on_hand),
        on_order=_stored(sum((i.quantity for i in incoming), Decimal(0))),
        minimum=_stored(Decimal(seen["minimum"])),
        maximum=_stored(Decimal(seen["maximum"])),
        safety_stock=_stored(Decimal(seen["safety_stock"])) if "safety_stock" in seen else None,
        reorder_point=_stored(Decimal(seen["reorder_point"])) if "reorder_point" in seen else None,
        forecast_model=str(found.model) if found else None,
        forecast_mase=_limited(found.winner.mase) if found else None,
        forecast_bias=_limited(found.winner.bias * 100 if found.winner.bias is not None else None) if found else None,
        review=seen,
    )
    session.add(proposal)
    session.flush()
    record(
        session,
        Action.VMI_PROPOSAL_MADE,
        actor=None,
        subject_org_id=agreement.buyer_org_id,
        related_org_id=agreement.supplier_org_id,
        object_type="vmi_proposal",
        object_id=proposal.id,
        after={"quantity": str(quantity), "delivery_date": delivery.isoformat(), "agreement": agreement.number, "sku": item.sku},
    )
    notify(
        session,
        "vmi.proposal",
        org_ids={agreement.supplier_org_id, agreement.buyer_org_id},
        object_type="vmi_proposal",
        object_id=proposal.id,
        summary=f"{agreement.number}: order {quantity} {item.unit_of_measure} of {item.sku} for {item.location_name} by {delivery.isoformat()}.",
        data={"proposal_id": str(proposal.id), "agreement_id": str(agreement.id), "quantity": quantity, "delivery_date": delivery.isoformat()},
    )
    return proposal


def _review_all(session: Session, agreement: VmiAgreement, today: date, *, due_only: bool) -> list[VmiProposal]:
    terms = agreements.current(agreement)
    if terms is None or not agreements.in_force_on(agreement, today):
        return []
    made = []
    for item in terms.items:
        if due_only and item.reviewed_on is not None and (today - item.reviewed_on).days < item.review_period_days:
            continue
        proposal = review_item(session, agreement, terms, item, today)
        if proposal is not None:
            made.append(proposal)
    return made


def review(session: Session, principal: Principal, agreement_id: uuid.UUID) -> list[VmiProposal]:
    """Review every item of the agreement now (either side; the supplier usually)."""
    policy.require_writer(principal)
    agreement = policy.get_visible(session, VmiAgreement, agreement_id, principal, for_update=True)
    today = clock.utcnow().date()
    if not agreements.in_force_on(agreement, today):
        raise Conflict(
            f"VMI agreement {agreement.number} is {agreement.state}"
            + ("" if agreement.state != AgreementState.ACTIVE else " but its terms do not cover today")
            + ": nothing is reviewed under it."
        )
    made = _review_all(session, agreement, today, due_only=False)
    session.commit()
    return made


def review_due(app: Flask, today: date | None = None) -> int:
    """Review the items whose review period has come round, agreement by agreement (a round
    job). Returns how many proposals were made."""
    today = today or clock.utcnow().date()
    made = 0
    with app.app_context(), database(app).sessionmaker() as session:
        running = session.execute(sa.select(VmiAgreement.id).where(VmiAgreement.state == AgreementState.ACTIVE)).scalars()
        for agreement_id in list(running):
            agreement = session.execute(sa.select(VmiAgreement).where(VmiAgreement.id == agreement_id).with_for_update()).scalar_one()
            made += len(_review_all(session, agreement, today, due_only=True))
            session.commit()
    return made


def live_proposals(session: Session, agreement: VmiAgreement) -> list[VmiProposal]:
    return list(session.execute(sa.select(VmiProposal).where(VmiProposal.agreement_id == agreement.id, VmiProposal.state.in_(_LIVE_PROPOSALS))).scalars())
