"""What both sides see of an agreement's items: the stock position over time against the
band, the forecast with its intervals and accuracy, proposals and deliveries, and the
bullwhip ratio before and after the agreement started, and whose the stock is (consigned
goods are the supplier's until consumed, see consignment.py) with its self-billing.

The bullwhip ratio compares, week by week, what was ordered from the supplier with what was
consumed. Orders are the purchase orders on the platform from the buyer to the supplier for
the item's product and location (by the week they were issued); for the weeks before the
first of them, the platform has no orders, and the buyer's shared goods receipts stand in
for them (what arrived is what had been ordered).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock
from concord.orders.models import OrderLine, OrderState, PurchaseOrder
from concord.vmi import agreements, consignment, review, stock
from concord.vmi import policy as replenishment
from concord.vmi.models import AgreementState, VersionState, VmiAgreement, VmiAgreementItem, VmiProposal

#: Days of stock history shown, and weeks per rolling bullwhip window.
STOCK_DAYS = 182
BULLWHIP_WINDOW = 8
_NOT_ORDERED = (OrderState.DRAFT, OrderState.CANCELLED, OrderState.REJECTED)


def _orders_by_week(session: Session, agreement: VmiAgreement, item: VmiAgreementItem, until: date, weeks: int) -> tuple[list[Decimal], int | None]:
    """Ordered quantity per week (the same weeks as `review.history`'s consumption) and the index of
    the first week with a platform order (None: none yet)."""
    lines = session.execute(
        sa.select(OrderLine.quantity, PurchaseOrder.issued_at)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .where(
            PurchaseOrder.buyer_org_id == agreement.buyer_org_id,
            PurchaseOrder.supplier_org_id == agreement.supplier_org_id,
            PurchaseOrder.ship_to_location_id == item.location_id,
            OrderLine.product_id == item.product_id,
            PurchaseOrder.issued_at.is_not(None),
            PurchaseOrder.state.not_in(_NOT_ORDERED),
        )
    ).all()
    totals, first = [Decimal(0)] * weeks, None
    for quantity, issued_at in lines:
        week = weeks - 1 - ((until - issued_at.date()).days - 1) // 7
        if 0 <= week < weeks:
            totals[week] += quantity
            first = week if first is None else min(first, week)
    return totals, first


def _ratio(orders: list[Decimal], consumption: list[Decimal]) -> float | None:
    return replenishment.bullwhip_ratio(orders, consumption) if len(orders) >= 2 else None


def bullwhip(session: Session, agreement: VmiAgreement, item: VmiAgreementItem, shared: review.History, today: date) -> dict[str, Any]:
    consumption = shared.weekly_consumption
    weeks = len(consumption)
    if weeks < 2:
        return {"before": None, "after": None, "weeks_before": 0, "weeks_after": 0, "rolling": [], "window_weeks": BULLWHIP_WINDOW}
    platform, first = _orders_by_week(session, agreement, item, today, weeks)
    received = stock.weekly(shared.days, "receipts")
    orders = [platform[w] if first is not None and w >= first else received[w] for w in range(weeks)]
    week_end = [today - timedelta(days=1 + 7 * (weeks - 1 - w)) for w in range(weeks)]
    agreed = [v.starts_on for v in agreement.versions if v.state in (VersionState.AGREED, VersionState.SUPERSEDED)]
    starts = min(agreed) if agreed else today
    split = sum(1 for end in week_end if end < starts)
    rolling = replenishment.rolling_bullwhip(orders, consumption, BULLWHIP_WINDOW) if weeks >= BULLWHIP_WINDOW else []
    return {
        "before": _ratio(orders[:split], consumption[:split]),
        "after": _ratio(orders[split:], consumption[split:]),
        "weeks_before": split,
        "weeks_after": weeks - split,
        "starts_on": starts.isoformat(),
        "window_weeks": BULLWHIP_WINDOW,
        "rolling": [{"week_ending": week_end[BULLWHIP_WINDOW - 1 + i].isoformat(), "ratio": r} for i, r in enumerate(rolling)],
    }


def item_view(session: Session, agreement: VmiAgreement, item: VmiAgreementItem, today: date | None = None) -> dict[str, Any]:
    """One item's page: stock by day against the band, forecast, proposals, deliveries, bullwhip."""
    today = today or clock.utcnow().date()
    shared = review.history(session, agreement.buyer_org_id, item.product_id, item.location_id, today)
    start = today - timedelta(days=STOCK_DAYS)
    seen = item.last_review or {}
    proposals = session.execute(
        sa.select(VmiProposal)
        .where(VmiProposal.agreement_id == agreement.id, VmiProposal.product_id == item.product_id, VmiProposal.location_id == item.location_id)
        .order_by(VmiProposal.created_at.desc())
        .limit(50)
    ).scalars()
    deliveries = session.execute(
        sa.select(PurchaseOrder, OrderLine)
        .join(OrderLine, OrderLine.order_id == PurchaseOrder.id)
        .where(
            PurchaseOrder.buyer_org_id == agreement.buyer_org_id,
            PurchaseOrder.supplier_org_id == agreement.supplier_org_id,
            PurchaseOrder.ship_to_location_id == item.location_id,
            OrderLine.product_id == item.product_id,
            PurchaseOrder.state.not_in(_NOT_ORDERED),
        )
        .order_by(PurchaseOrder.created_at.desc())
        .limit(50)
    ).all()
    return {
        "item": item,
        "reviewed_on": item.reviewed_on,
        "stock": [{"day": d.day.isoformat(), "quantity": str(d.on_hand)} for d in shared.days if d.day >= start],
        "band": {"minimum": seen.get("minimum"), "maximum": seen.get("maximum")},
        "safety_stock": seen.get("safety_stock"),
        "reorder_point": seen.get("reorder_point"),
        "dynamic_band": seen.get("dynamic_band"),
        "forecast": seen.get("forecast"),
        "alerts": seen.get("alerts", []),
        "proposals": list(proposals),
        "deliveries": [
            {
                "order_id": order.id,
                "number": order.number,
                "state": str(order.state),
                "origin": order.origin,
                "quantity": line.confirmed_quantity if line.confirmed_quantity is not None else line.quantity,
                "delivery_date": line.confirmed_date or line.requested_date,
            }
            for order, line in deliveries
        ],
        "bullwhip": bullwhip(session, agreement, item, shared, today),
        **ownership(session, agreement, item, shared, today),
    }


def ownership(session: Session, agreement: VmiAgreement, item: VmiAgreementItem, shared: review.History, today: date) -> dict[str, Any]:
    """Whose the stock on hand is: the supplier's consigned goods, the buyer's the rest; what
    was consumed and billed; once ended, the consigned goods left for return or billing."""
    on_hand = shared.on_hand
    goods = consignment.position(session, agreement, item.product_id, item.location_id, consignment.last_day(agreement, today))
    consigned = goods.consigned
    return {
        "position": on_hand,
        "consigned": consigned,
        "owned": max(on_hand - consigned, consignment.NONE),
        "unbilled": goods.unbilled,
        "returnable": consigned if agreement.state == AgreementState.ENDED else None,
        "billings": consignment.billings_of(session, agreement, item.product_id, item.location_id),
    }


def agreement_view(session: Session, agreement: VmiAgreement, today: date | None = None) -> list[dict[str, Any]]:
    """Every item of the terms in force (or proposed, before any are agreed)."""
    terms = agreements.current(agreement) or agreements.pending(agreement)
    return [item_view(session, agreement, item, today) for item in (terms.items if terms else [])]
