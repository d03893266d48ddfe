"""The lifecycles of a receivable and of a financing offer: one table each of
(state, action) -> (next state, who takes it). Services move a row only through `enter`,
after `check`; `allowed_actions` and every 409 come from here, and tests iterate the tables.

Who moves them: the supplier (registers, asks for offers, accepts one, withdraws its
request), the buyer (pays an open-account receivable), the financier (answers, declines,
withdraws its offer), the chain (a registration, acknowledgement, offer, acceptance or
payment mined or refused) and the clock (an offer past its validity expires).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from concord import policy
from concord.errors import Forbidden, InvalidTransition
from concord.finance.models import FinancingOffer, OfferState, Receivable, ReceivableState
from concord.policy import Principal

SUPPLIER, BUYER, FINANCIER, EITHER = "supplier", "buyer", "financier", "either"
CHAIN, CLOCK = "chain", "clock"
#: The side of an organization that reads a row without taking any step on it.
READER = "reader"

R = ReceivableState
#: A receivable: registered on chain, verified (receipt confirmed on chain, or the buyer's
#: acknowledgement, and the invoice matched), financed when an offer's acceptance is mined,
#: settled when the escrow's release (or the buyer's payment) is mined. "request_offers",
#: "accept_offer" and "pay" keep the state: the chain's answer moves it.
RECEIVABLE_TRANSITIONS: dict[tuple[ReceivableState, str], tuple[ReceivableState, str]] = {
    (R.REGISTERING, "confirm_registration"): (R.REGISTERED, CHAIN),
    (R.REGISTERING, "refuse"): (R.REFUSED, CHAIN),
    (R.REGISTERED, "verify"): (R.VERIFIED, CHAIN),
    (R.REGISTERED, "pay"): (R.REGISTERED, BUYER),
    (R.REGISTERED, "settle"): (R.SETTLED, CHAIN),
    # An early payment under a programme is accepted with the registration: the chain may
    # mine its acceptance before the finance side has seen the verification.
    (R.REGISTERED, "finance"): (R.FINANCED, CHAIN),
    (R.VERIFIED, "request_offers"): (R.VERIFIED, SUPPLIER),
    (R.VERIFIED, "accept_offer"): (R.VERIFIED, SUPPLIER),
    (R.VERIFIED, "pay"): (R.VERIFIED, BUYER),
    (R.VERIFIED, "finance"): (R.FINANCED, CHAIN),
    (R.VERIFIED, "settle"): (R.SETTLED, CHAIN),
    (R.FINANCED, "pay"): (R.FINANCED, BUYER),
    (R.FINANCED, "settle"): (R.SETTLED, CHAIN),
}
RECEIVABLE_TERMINAL = frozenset({R.SETTLED, R.REFUSED})

OS = OfferState
#: A financing offer: asked of one financier, answered (made on chain) or declined, accepted
#: by the supplier (the others are withdrawn), financed when the exchange's acceptance is
#: mined, settled once the receivable is paid and the waterfall recorded.
OFFER_TRANSITIONS: dict[tuple[OfferState, str], tuple[OfferState, str]] = {
    (OS.REQUESTED, "offer"): (OS.OFFERED, FINANCIER),
    (OS.REQUESTED, "decline"): (OS.DECLINED, FINANCIER),
    (OS.REQUESTED, "withdraw"): (OS.WITHDRAWN, SUPPLIER),
    (OS.OFFERED, "accept"): (OS.ACCEPTED, SUPPLIER),
    (OS.OFFERED, "withdraw"): (OS.WITHDRAWN, EITHER),
    (OS.OFFERED, "expire"): (OS.EXPIRED, CLOCK),
    (OS.OFFERED, "refuse"): (OS.REFUSED, CHAIN),
    (OS.ACCEPTED, "finance"): (OS.FINANCED, CHAIN),
    (OS.ACCEPTED, "refuse"): (OS.REFUSED, CHAIN),
    (OS.FINANCED, "settle"): (OS.SETTLED, CHAIN),
}
OFFER_TERMINAL = frozenset({OS.DECLINED, OS.WITHDRAWN, OS.EXPIRED, OS.REFUSED, OS.SETTLED})
#: Offers that still count: a receivable with one of these cannot be asked of the same
#: financier again, and an accepted or financed one ties up the financier's exposure.
LIVE_OFFER_STATES = frozenset({OS.REQUESTED, OS.OFFERED, OS.ACCEPTED, OS.FINANCED})
EXPOSED_OFFER_STATES = frozenset({OS.ACCEPTED, OS.FINANCED})

_State = TypeVar("_State", bound=StrEnum)


#: The two sides "either" stands for, in the offers' and receivables' tables.
PARTIES = (SUPPLIER, FINANCIER)


def takes(actor: str, side: str, parties: tuple[str, ...] = PARTIES) -> bool:
    return actor == side or (actor == EITHER and side in parties)


def allowed(table: dict[tuple[_State, str], tuple[_State, str]], state: _State, side: str, parties: tuple[str, ...] = PARTIES) -> list[str]:
    """The actions `side` may take from `state` in `table`."""
    return sorted(action for (from_state, action), (_next, actor) in table.items() if from_state == state and takes(actor, side, parties))


def receivable_side(receivable: Receivable, principal: Principal) -> str:
    if receivable.supplier_org_id == principal.org.id:
        return SUPPLIER
    if receivable.buyer_org_id == principal.org.id:
        return BUYER
    return FINANCIER if principal.org.id == receivable.holder_org_id else READER


def offer_side(offer: FinancingOffer, principal: Principal) -> str:
    if offer.supplier_org_id == principal.org.id:
        return SUPPLIER
    return FINANCIER if offer.financier_org_id == principal.org.id else READER


def receivable_actions(receivable: Receivable, side: str) -> list[str]:
    return allowed(RECEIVABLE_TRANSITIONS, receivable.state, side)


def offer_actions(offer: FinancingOffer, side: str) -> list[str]:
    return allowed(OFFER_TRANSITIONS, offer.state, side)


def check_table(table, subject: str, state, side: str, action: str, parties: tuple[str, ...] = PARTIES) -> None:
    """Raise 403 when `side` never takes `action` in `table`, 409 (with the allowed actions)
    when it may not from `state`."""
    actors = {actor for (_s, a), (_n, actor) in table.items() if a == action}
    if not any(takes(actor, side, parties) for actor in actors):
        raise Forbidden(f"Only the {' or '.join(sorted(actors))} may {action.replace('_', ' ')} a {subject}.")
    permitted = allowed(table, state, side, parties)
    if action not in permitted:
        raise InvalidTransition(subject, str(state), action, permitted)


def check_receivable(receivable: Receivable, principal: Principal, action: str) -> None:
    """Raise unless the principal's side may take `action` on the receivable now."""
    policy.require_writer(principal)
    check_table(RECEIVABLE_TRANSITIONS, "receivable", receivable.state, receivable_side(receivable, principal), action)


def check_offer(offer: FinancingOffer, principal: Principal, action: str) -> None:
    """Raise unless the principal's side may take `action` on the offer now."""
    policy.require_writer(principal)
    check_table(OFFER_TRANSITIONS, "financing offer", offer.state, offer_side(offer, principal), action)


def can_enter_receivable(receivable: Receivable, action: str) -> bool:
    return (receivable.state, action) in RECEIVABLE_TRANSITIONS


def can_enter_offer(offer: FinancingOffer, action: str) -> bool:
    return (offer.state, action) in OFFER_TRANSITIONS


def enter_receivable(receivable: Receivable, action: str) -> ReceivableState:
    """Move the receivable by `action` (a KeyError for a move the table does not hold: the
    caller checked first); returns the state it left."""
    before, receivable.state = receivable.state, RECEIVABLE_TRANSITIONS[(receivable.state, action)][0]
    return before


def enter_offer(offer: FinancingOffer, action: str) -> OfferState:
    before, offer.state = offer.state, OFFER_TRANSITIONS[(offer.state, action)][0]
    return before
