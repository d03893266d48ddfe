"""Profit sharing under a VMI agreement: per limit period, the inventory-cost saving against
the agreed baseline and the supplier's share of it, for both sides to see.

    average value  = the mean, over the period's days, of the stock at the end of each day
                     of every item times its agreed unit price
    saving         = (baseline value - average value) x annual holding-cost rate x days / 365
    supplier share = the agreed share of a positive saving (a period without a saving shares
                     nothing: the supplier does not pay for a loss)

Periods run from the start date in steps of the agreement's period; the current one is
shown as running (its figures move until it closes). Amounts are exact, rounded to the cent
half up at the end.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from concord import clock
from concord.vmi import agreements, stock
from concord.vmi.models import VmiAgreement

CENT = Decimal("0.01")
#: Periods shown at most, newest first.
MAX_PERIODS = 24


def statements(session: Session, agreement: VmiAgreement, today: date | None = None) -> list[dict[str, Any]]:
    """The profit-sharing statement of each period so far, newest first (none without the terms)."""
    terms = agreements.current(agreement)
    if terms is None or terms.baseline_inventory_value is None or terms.holding_cost_rate is None or terms.supplier_share is None:
        return []
    today = today or clock.utcnow().date()
    last_day = min(today - timedelta(days=1), agreement.ended_at.date() if agreement.ended_at else today)
    if last_day < terms.starts_on:
        return []
    series = []
    for item in terms.items:
        shared = stock.daily(session, stock.series(agreement.buyer_org_id, item.product_id, item.location_id), terms.starts_on, last_day)
        series.append((item.unit_price, {d.day: d.on_hand for d in shared}))
    out, start = [], terms.starts_on
    while start <= last_day:
        end = start + timedelta(days=terms.period_days - 1)
        shown_end = min(end, last_day)
        days = (shown_end - start).days + 1
        total = Decimal(0)
        for offset in range(days):
            day = start + timedelta(days=offset)
            total += sum((price * positions.get(day, Decimal(0)) for price, positions in series), Decimal(0))
        average = total / days
        saving = (terms.baseline_inventory_value - average) * terms.holding_cost_rate / 100 * days / 365
        share = max(saving, Decimal(0)) * terms.supplier_share / 100
        out.append(
            {
                "period_start": start,
                "period_end": end,
                "closed": end <= last_day,
                "days": days,
                "average_inventory_value": average.quantize(CENT, rounding=ROUND_HALF_UP),
                "baseline_inventory_value": terms.baseline_inventory_value,
                "saving": saving.quantize(CENT, rounding=ROUND_HALF_UP),
                "supplier_share": share.quantize(CENT, rounding=ROUND_HALF_UP),
                "currency": agreement.currency,
            }
        )
        start = end + timedelta(days=1)
    return list(reversed(out))[:MAX_PERIODS]
