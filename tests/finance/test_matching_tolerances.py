"""The three-way match, line by line: each tolerance iterated at its boundary, a step inside
and a step outside, on both sides (over and under)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from concord.finance.matching import NO_TOLERANCE, OrderSide, Tolerances, invoice_status, match_line, money
from concord.finance.models import MatchStatus

D = Decimal
ORDER = OrderSide(line_no=1, unit_price=D("10.0000"), accepted_quantity=D("100.000"), previously_invoiced=D("0"))


def verdict(quantity: str, price: str, tolerances: Tolerances, order: OrderSide = ORDER, net: str | None = None):
    q, p = D(quantity), D(price)
    return match_line(q, p, D(net) if net is not None else money(q * p), order, tolerances)


def test_exactly_what_was_ordered_and_accepted_matches_with_no_tolerance():
    assert verdict("100", "10", NO_TOLERANCE).matched


QUANTITY = Tolerances(quantity=D("5"), amount=D("1000"))  # 105 may be invoiced of 100 accepted


@pytest.mark.parametrize(
    "quantity, matched",
    [("104.999", True), ("105", True), ("105.001", False), ("1", True), ("0.001", True)],
)
def test_quantity_tolerance_boundary(quantity, matched):
    result = verdict(quantity, "10", QUANTITY)
    assert result.matched is matched, result.reason
    if not matched:
        assert "the buyer accepted 100" in result.reason and "105 with the 5 % tolerance" in result.reason


@pytest.mark.parametrize("earlier, quantity, matched", [("60", "45", True), ("60", "45.001", False), ("105", "0.001", False), ("0", "105", True)])
def test_quantity_counts_what_earlier_invoices_invoiced(earlier, quantity, matched):
    order = OrderSide(1, D("10"), D("100"), D(earlier))
    result = verdict(quantity, "10", QUANTITY, order)
    assert result.matched is matched, result.reason
    if not matched:
        assert f"({earlier} invoiced before)" in result.reason


def test_nothing_accepted_is_an_exception_whatever_the_tolerance():
    order = OrderSide(3, D("10"), D("0"), D("0"))
    result = verdict("1", "10", Tolerances(quantity=D("100"), price=D("100"), amount=D("1000")), order)
    assert not result.matched and "Nothing of order line 3 was accepted" in result.reason


PRICE = Tolerances(price=D("2"), amount=D("1000"))  # 9.80 .. 10.20 per unit


@pytest.mark.parametrize(
    "price, matched",
    [("10.2", True), ("10.2001", False), ("10.1999", True), ("9.8", True), ("9.7999", False), ("9.8001", True), ("0", False)],
)
def test_price_tolerance_boundary_on_both_sides(price, matched):
    result = verdict("10", price, PRICE)
    assert result.matched is matched, result.reason
    if not matched:
        assert "differs from the order's 10 (tolerance 2 %)" in result.reason


AMOUNT = Tolerances(price=D("100"), amount=D("0.50"))


@pytest.mark.parametrize(
    "net, matched",
    [("1000.50", True), ("1000.51", False), ("999.50", True), ("999.49", False), ("1000.00", True)],
)
def test_amount_tolerance_boundary_on_both_sides(net, matched):
    result = verdict("100", "10", AMOUNT, net=net)
    assert result.matched is matched, result.reason
    if not matched:
        assert "away from 1000.00 at the order's price (tolerance 0.50)" in result.reason


def test_both_price_limits_apply_the_stricter_one_decides():
    both = Tolerances(price=D("2"), amount=D("5"))
    assert verdict("100", "10.05", both).matched  # 0.5 % and 5.00 over: within both
    small_percent_large_amount = verdict("100", "10.06", both)  # 0.6 % but 6.00 over
    assert not small_percent_large_amount.matched and "away from" in small_percent_large_amount.reason
    small_amount_large_percent = verdict("1", "10.21", both)  # 0.21 over but 2.1 %
    assert not small_amount_large_percent.matched and "differs" in small_amount_large_percent.reason


def test_every_failed_check_is_told():
    result = verdict("200", "11", NO_TOLERANCE)
    assert not result.matched
    assert "accepted 100" in result.reason and "differs" in result.reason and "away from" in result.reason


def test_a_line_naming_no_order_line_is_an_exception():
    result = match_line(D("1"), D("5"), D("5.00"), None, Tolerances(D("100"), D("100"), D("100")))
    assert result.status == MatchStatus.EXCEPTION and "does not refer to a line of the order" in result.reason


def test_an_invoice_matches_only_when_every_line_does():
    matched, exception = verdict("1", "10", NO_TOLERANCE), verdict("1", "11", NO_TOLERANCE)
    assert invoice_status([matched, matched]) == MatchStatus.MATCHED
    assert invoice_status([matched, exception]) == MatchStatus.EXCEPTION
    assert invoice_status([]) == MatchStatus.EXCEPTION
