"""The three-way match: each invoiced line against its order line (the unit price of the
order's current revision) and the buyer's goods receipt (the accepted quantity), within the
tolerances of the buyer–supplier partnership's payment terms.

A line matches when all three hold:
- quantity: what is invoiced of the order line so far, this line included, is at most the
  accepted quantity plus the quantity tolerance (a percentage of the accepted quantity);
- price: the invoiced unit price differs from the order's by at most the price tolerance (a
  percentage of the order's unit price);
- amount: the line's net differs from what the order's price makes of its quantity by at
  most the amount tolerance (absolute, in the invoice's currency).
Both price limits apply: the percentage bounds small lines, the absolute amount large ones.
An invoice matches when every line matches. Pure functions over exact decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from concord.finance.models import MatchStatus

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def money(value: Decimal) -> Decimal:
    """An amount to the cent, rounded half to even (as every line value is)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Tolerances:
    quantity: Decimal = Decimal(0)  # % of the accepted quantity
    price: Decimal = Decimal(0)  # % of the order's unit price
    amount: Decimal = Decimal(0)  # absolute, per line


NO_TOLERANCE = Tolerances()


@dataclass(frozen=True)
class OrderSide:
    """What the order and the receipt say of one order line."""

    line_no: int
    unit_price: Decimal  # the order's current revision
    accepted_quantity: Decimal  # on the receipt (0 when the line was not received)
    previously_invoiced: Decimal  # by earlier invoices (not rejected or cancelled)


@dataclass(frozen=True)
class Verdict:
    status: MatchStatus
    reason: str | None = None

    @property
    def matched(self) -> bool:
        return self.status == MatchStatus.MATCHED


MATCHED = Verdict(MatchStatus.MATCHED)


def _plain(value: Decimal) -> str:
    """A decimal as a person writes it (12.5, not 12.500)."""
    text = format(value.normalize(), "f")
    return text


def match_line(quantity: Decimal, unit_price: Decimal, net: Decimal, order: OrderSide | None, tolerances: Tolerances) -> Verdict:
    """The verdict on one invoiced line (`order` None: the line names no line of the order)."""
    if order is None:
        return Verdict(MatchStatus.EXCEPTION, "The line does not refer to a line of the order: the buyer checks it by hand.")
    reasons = []
    invoiced = order.previously_invoiced + quantity
    allowed = order.accepted_quantity * (1 + tolerances.quantity / HUNDRED)
    if invoiced > allowed:
        if order.accepted_quantity == 0:
            reasons.append(f"Nothing of order line {order.line_no} was accepted on the goods receipt.")
        else:
            earlier = f" ({_plain(order.previously_invoiced)} invoiced before)" if order.previously_invoiced else ""
            within = f", {_plain(allowed)} with the {_plain(tolerances.quantity)} % tolerance" if tolerances.quantity else ""
            reasons.append(f"Invoices {_plain(invoiced)} of order line {order.line_no}{earlier}; the buyer accepted {_plain(order.accepted_quantity)}{within}.")
    price_gap = abs(unit_price - order.unit_price)
    if price_gap > order.unit_price * tolerances.price / HUNDRED:
        within = f" (tolerance {_plain(tolerances.price)} %)" if tolerances.price else ""
        reasons.append(f"Unit price {_plain(unit_price)} differs from the order's {_plain(order.unit_price)}{within}.")
    expected = money(quantity * order.unit_price)
    amount_gap = abs(net - expected)
    if amount_gap > tolerances.amount:
        reasons.append(f"Net {net} is {amount_gap} away from {expected} at the order's price (tolerance {tolerances.amount}).")
    if not reasons:
        return MATCHED
    return Verdict(MatchStatus.EXCEPTION, " ".join(reasons))


def invoice_status(verdicts: list[Verdict]) -> MatchStatus:
    """Matched when every line is."""
    return MatchStatus.MATCHED if verdicts and all(v.matched for v in verdicts) else MatchStatus.EXCEPTION
