"""The arithmetic of an offer (advance, discount, claim), of a programme's early payment and
of a settlement's waterfall, to the cent; and the receivable, offer and programme tables."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from concord.errors import Forbidden, InvalidTransition
from concord.finance import offers_lifecycle as lifecycle
from concord.finance import programmes
from concord.finance.financing import offer_terms, programme_terms
from concord.finance.models import FinancingOffer, OfferState, ProgrammeState, Receivable, ReceivableState
from concord.finance.settlement import waterfall

TODAY = date(2027, 1, 4)


def test_advance_discount_and_claim_round_half_even_at_each_step():
    # 1000.05 × 85 % = 850.0425 → 850.04; 850.04 × 7.3 % × 73/365 = 12.410584 → 12.41
    terms = offer_terms(Decimal("1000.05"), Decimal("85"), Decimal("7.3"), Decimal("25.00"), TODAY + timedelta(days=73), TODAY)
    assert (terms.advance, terms.discount, terms.claim) == (Decimal("850.04"), Decimal("12.41"), Decimal("887.45"))
    # 0.25 cents rounds to the even cent both ways: 10.125 → 10.12, 10.135 → 10.14
    assert offer_terms(Decimal("20.25"), Decimal("50"), Decimal(0), Decimal(0), TODAY, TODAY).advance == Decimal("10.12")
    assert offer_terms(Decimal("20.27"), Decimal("50"), Decimal(0), Decimal(0), TODAY, TODAY).advance == Decimal("10.14")


def test_no_discount_runs_past_the_due_date_or_at_a_zero_rate():
    overdue = offer_terms(Decimal("100.00"), Decimal("100"), Decimal("12"), Decimal("1.50"), TODAY - timedelta(days=5), TODAY)
    assert (overdue.advance, overdue.discount, overdue.claim) == (Decimal("100.00"), Decimal("0.00"), Decimal("101.50"))
    free = offer_terms(Decimal("100.00"), Decimal("90"), Decimal("0"), Decimal("0.00"), TODAY + timedelta(days=90), TODAY)
    assert (free.advance, free.discount, free.claim) == (Decimal("90.00"), Decimal("0.00"), Decimal("90.00"))


def test_a_programme_pays_the_whole_amount_less_the_discount_and_claims_the_amount():
    # 73.04 × 4.5 % × 30/365 = 0.270147 → 0.27
    terms = programme_terms(Decimal("73.04"), Decimal("4.5"), TODAY + timedelta(days=30), TODAY)
    assert (terms.advance, terms.discount, terms.claim) == (Decimal("72.77"), Decimal("0.27"), Decimal("73.04"))


@pytest.mark.parametrize(
    ("paid", "claim", "financier", "supplier", "shortfall"),
    [
        ("73.04", "66.80", "66.80", "6.24", "0.00"),  # paid in full: the rest goes back to the supplier
        ("49.00", "66.80", "49.00", "0.00", "17.80"),  # a partial receipt: the financier is short
        ("66.80", "66.80", "66.80", "0.00", "0.00"),  # exactly the claim
        ("0.00", "66.80", "0.00", "0.00", "66.80"),  # a dispute split that paid the supplier nothing
        ("73.04", None, "0.00", "73.04", "0.00"),  # unfinanced: all to the supplier
    ],
)
def test_the_waterfall_adds_up_to_what_was_paid(paid, claim, financier, supplier, shortfall):
    split = waterfall(Decimal(paid), Decimal(claim) if claim is not None else None)
    assert (split.financier_share, split.supplier_share, split.shortfall) == (Decimal(financier), Decimal(supplier), Decimal(shortfall))
    assert split.financier_share + split.supplier_share == split.amount_paid == Decimal(paid)
    if claim is not None:
        assert split.financier_share + split.shortfall == Decimal(claim)


# -- the tables ---------------------------------------------------------------------------------


TABLES = [
    (lifecycle.RECEIVABLE_TRANSITIONS, ReceivableState, lifecycle.RECEIVABLE_TERMINAL),
    (lifecycle.OFFER_TRANSITIONS, OfferState, lifecycle.OFFER_TERMINAL),
]


@pytest.mark.parametrize(("table", "states", "terminal"), TABLES)
def test_terminal_states_have_no_way_out_and_every_other_state_has_one(table, states, terminal):
    sources = {state for state, _action in table}
    assert not sources & terminal
    assert {state for state in states if state not in terminal} <= sources | {ReceivableState.REGISTERING, OfferState.REQUESTED}
    assert {target for target, _actor in table.values()} <= set(states)


def test_every_offer_step_is_allowed_exactly_where_the_table_says():
    offer = FinancingOffer(state=OfferState.REQUESTED)
    for (state, action), (target, actor) in lifecycle.OFFER_TRANSITIONS.items():
        offer.state = state
        sides = {lifecycle.SUPPLIER, lifecycle.FINANCIER} if actor == lifecycle.EITHER else {actor}
        for side in sides:
            assert action in lifecycle.offer_actions(offer, side), (state, action, side)
        for other in {lifecycle.SUPPLIER, lifecycle.FINANCIER, lifecycle.READER} - sides:
            assert action not in lifecycle.offer_actions(offer, other), (state, action, other)
        assert lifecycle.enter_offer(offer, action) == state and offer.state == target


def test_a_receivable_step_out_of_turn_is_a_409_listing_what_is_allowed():
    receivable = Receivable(state=ReceivableState.REGISTERED)
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.check_table(lifecycle.RECEIVABLE_TRANSITIONS, "receivable", receivable.state, lifecycle.SUPPLIER, "request_offers")
    assert refused.value.extra == {"current_state": "registered", "allowed_actions": []}
    with pytest.raises(Forbidden):
        lifecycle.check_table(lifecycle.RECEIVABLE_TRANSITIONS, "receivable", receivable.state, lifecycle.FINANCIER, "request_offers")
    receivable.state = ReceivableState.VERIFIED
    assert lifecycle.receivable_actions(receivable, lifecycle.SUPPLIER) == ["accept_offer", "request_offers"]
    assert lifecycle.receivable_actions(receivable, lifecycle.BUYER) == ["pay"]


def test_the_programme_table_gives_each_side_its_own_steps():
    for (state, action), (target, actor) in programmes.TRANSITIONS.items():
        assert target in ProgrammeState and state in ProgrammeState
        sides = set(programmes.PARTIES) if actor == programmes.EITHER else {actor}
        for side in programmes.PARTIES:
            allowed = lifecycle.allowed(programmes.TRANSITIONS, state, side, programmes.PARTIES)
            assert (action in allowed) == (side in sides), (state, action, side)
