"""The order's lifecycle: one table of (state, action) -> (next state, who takes it), with
the guards each step must pass. Services move an order only through `enter`, after `check`;
`allowed_actions` and every 409 come from here. Shipments and disputes have their own
tables in concord.logistics.lifecycle and concord.disputes.lifecycle.

Who moves an order: the buyer, the supplier (either of the two), the carrier (its proof of
delivery of the last shipment makes the order delivered), the arbiter (a resolution queues
the settlement), the chain (the order closes when the escrow's settlement is mined) and the
clock (the worker releases an escrow whose window passed in silence).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.errors import Forbidden, InvalidTransition
from concord.ledger import escrow
from concord.orders.models import (
    ChangeProposal,
    OrderState,
    ProposalState,
    PurchaseOrder,
)
from concord.policy import Principal

BUYER, SUPPLIER, EITHER = "buyer", "supplier", "either"
CARRIER, ARBITER, CHAIN, CLOCK = "carrier", "arbiter", "chain", "clock"
#: The actors that are a party of the order (and so have allowed actions on its page).
PARTIES = (BUYER, SUPPLIER)

S = OrderState
#: (state, action) -> (next state, or the states it may lead to, and who takes it).
#: "ship" leaves the order shipped or partially shipped, "receive" received or partially
#: received, by quantities. "release" and "resolve" queue the escrow's settlement (the state
#: stays); "settle" is the chain confirming it.
TRANSITIONS: dict[tuple[OrderState, str], tuple[OrderState | tuple[OrderState, ...], str]] = {
    (S.DRAFT, "edit"): (S.DRAFT, BUYER),
    (S.DRAFT, "issue"): (S.ISSUED, BUYER),
    (S.DRAFT, "cancel"): (S.CANCELLED, BUYER),
    (S.ISSUED, "acknowledge"): (S.ACKNOWLEDGED, SUPPLIER),
    (S.ISSUED, "reject"): (S.REJECTED, SUPPLIER),
    (S.ISSUED, "propose_change"): (S.ISSUED, SUPPLIER),
    (S.ISSUED, "accept_change"): (S.ISSUED, BUYER),
    (S.ISSUED, "decline_change"): (S.ISSUED, BUYER),
    (S.ISSUED, "cancel"): (S.CANCELLED, BUYER),
    (S.ACKNOWLEDGED, "ship"): ((S.PARTIALLY_SHIPPED, S.SHIPPED), SUPPLIER),
    (S.ACKNOWLEDGED, "open_dispute"): (S.DISPUTED, EITHER),
    # The way out of an order whose escrow the chain refused to fund (or whose funding is
    # still queued, unsent): the buyer cancels it, and the funding is voided.
    (S.ACKNOWLEDGED, "cancel"): (S.CANCELLED, BUYER),
    (S.PARTIALLY_SHIPPED, "ship"): ((S.PARTIALLY_SHIPPED, S.SHIPPED), SUPPLIER),
    (S.PARTIALLY_SHIPPED, "open_dispute"): (S.DISPUTED, EITHER),
    (S.PARTIALLY_SHIPPED, "cancel"): (S.CANCELLED, BUYER),
    (S.SHIPPED, "deliver"): (S.DELIVERED, CARRIER),
    (S.SHIPPED, "cancel"): (S.CANCELLED, BUYER),
    (S.SHIPPED, "open_dispute"): (S.DISPUTED, EITHER),
    (S.DELIVERED, "cancel"): (S.CANCELLED, BUYER),
    (S.DELIVERED, "receive"): ((S.PARTIALLY_RECEIVED, S.RECEIVED), BUYER),
    (S.DELIVERED, "open_dispute"): (S.DISPUTED, EITHER),
    (S.DELIVERED, "release"): (S.DELIVERED, EITHER),
    (S.DELIVERED, "release_overdue"): (S.DELIVERED, CLOCK),
    (S.DELIVERED, "settle"): (S.CLOSED, CHAIN),
    (S.PARTIALLY_RECEIVED, "release"): (S.PARTIALLY_RECEIVED, SUPPLIER),
    (S.PARTIALLY_RECEIVED, "open_dispute"): (S.DISPUTED, SUPPLIER),
    (S.PARTIALLY_RECEIVED, "release_overdue"): (S.PARTIALLY_RECEIVED, CLOCK),
    (S.PARTIALLY_RECEIVED, "settle"): (S.CLOSED, CHAIN),
    # Received in full: the release is queued with the receipt; a refused one is retried by the clock.
    (S.RECEIVED, "release_overdue"): (S.RECEIVED, CLOCK),
    (S.RECEIVED, "settle"): (S.CLOSED, CHAIN),
    (S.DISPUTED, "resolve"): (S.DISPUTED, ARBITER),
    (S.DISPUTED, "release_overdue"): (S.DISPUTED, CLOCK),  # the chain refused the dispute
    (S.DISPUTED, "settle"): (S.CLOSED, CHAIN),
}
TERMINAL = frozenset({S.CLOSED, S.CANCELLED, S.REJECTED})

Guard = Callable[[Session, PurchaseOrder, str], "str | None"]

#: How far ahead of the server's clock a reported time may be (clocks drift).
CLOCK_SKEW = timedelta(minutes=5)
#: The buyer's last moment to confirm or dispute ends this much before the escrow's window
#: (at most a quarter of the window): a step recorded in time must still be mined in time.
BUYER_MARGIN = timedelta(minutes=30)
#: Release waits this long past the window's end as the worker saw it (node clock skew).
RELEASE_MARGIN = timedelta(minutes=2)


def side_of(order: PurchaseOrder, principal: Principal) -> str:
    return BUYER if order.buyer_org_id == principal.org.id else SUPPLIER


def takes(actor: str, side: str) -> bool:
    return actor == side or (actor == EITHER and side in PARTIES)


# -- guards ---------------------------------------------------------------------------------


def _proposal_open(session: Session, order: PurchaseOrder) -> bool:
    return (
        session.execute(sa.select(ChangeProposal.id).where(ChangeProposal.order_id == order.id, ChangeProposal.state == ProposalState.OPEN)).first() is not None
    )


def needs_open_proposal(session: Session, order: PurchaseOrder, side: str) -> str | None:
    return None if _proposal_open(session, order) else "no change proposal is open"


def no_open_proposal(session: Session, order: PurchaseOrder, side: str) -> str | None:
    return "a change proposal is open: accept or decline it first" if _proposal_open(session, order) else None


_REFUSED = "the ledger refused to fund its escrow (the buyer may cancel the order)"


def escrow_funded(session: Session, order: PurchaseOrder, side: str) -> str | None:
    """No proof of delivery, receipt or release while the escrow is not funded on chain."""
    funding = escrow.funding(session, order.id)
    if funding == escrow.Funding.FUNDED:
        return None
    if funding in (escrow.Funding.QUEUED, escrow.Funding.PENDING):
        return "its escrow is not funded on the ledger yet (the funding is on its way)"
    return _REFUSED


def funding_voidable(session: Session, order: PurchaseOrder, side: str) -> str | None:
    """An order past acknowledgement may be cancelled only while its funding can still be
    undone: refused by the chain, or queued and not yet signed."""
    if escrow.funding(session, order.id) in (escrow.Funding.REFUSED, escrow.Funding.QUEUED):
        return None
    return "its escrow is funded or being funded (open a dispute instead)"


# The dispute window of each loaded order, for as long as the order object lives.
_ESCROW_WINDOWS: weakref.WeakKeyDictionary[PurchaseOrder, timedelta] = weakref.WeakKeyDictionary()


def dispute_window(session: Session, order: PurchaseOrder) -> timedelta:
    """The window the order's escrow was funded with; the configured one until the
    funding is indexed. Looked up once per loaded order."""
    window = _ESCROW_WINDOWS.get(order)
    if window is None:
        window = escrow.dispute_window(session, order.id) or timedelta(hours=int(current_app.config["DISPUTE_WINDOW_HOURS"]))
        _ESCROW_WINDOWS[order] = window
    return window


def buyer_deadline(session: Session, order: PurchaseOrder) -> datetime:
    """Until when the buyer may confirm receipt or dispute a delivered order."""
    window = dispute_window(session, order)
    if order.delivered_at is None:
        raise LookupError(f"Order {order.number} is not delivered: it has no buyer's deadline")
    return order.delivered_at + window - min(BUYER_MARGIN, window / 4)


def window_end(session: Session, order: PurchaseOrder, step: escrow.Step) -> datetime | None:
    """When the escrow's window after `step` is over for certain: counted from the worker's
    confirmation, which comes after the block (None: not on the chain yet)."""
    confirmed = escrow.confirmed_at(session, order.id, step)
    return None if confirmed is None else confirmed + dispute_window(session, order) + RELEASE_MARGIN


def not_yet(session: Session, order: PurchaseOrder, side: str, action: str) -> str | None:
    """Why the escrow's timing does not allow `action` now (None when it does)."""
    if order.settlement_queued_at is not None and action in ("receive", "open_dispute", "release"):
        return "its escrow is already being settled"
    now = clock.utcnow()
    if order.state == S.DELIVERED:
        deadline = buyer_deadline(session, order)
        if (action == "receive" or (action == "open_dispute" and side == BUYER)) and now >= deadline:
            return f"the buyer's dispute window closed at {clock.shown(deadline)}"
        if action == "release":
            end = window_end(session, order, escrow.Step.ATTEST_DELIVERY)
            if end is None:
                return "the carrier's proof of delivery is not on the ledger yet"
            if now < end:
                return f"the buyer may confirm receipt or dispute until {clock.shown(end)}"
    if order.state == S.PARTIALLY_RECEIVED and action == "release" and side == BUYER:
        end = window_end(session, order, escrow.Step.CONFIRM_RECEIPT)
        if end is None or now < end:
            return "the supplier may accept the receipt or dispute it first" + (f" (until {clock.shown(end)})" if end else "")
    return None


def _timing(action: str) -> Guard:
    return lambda session, order, side: not_yet(session, order, side, action)


#: The guards of each row, checked in order (the first refusal is the 409's reason). No
#: goods move and no dispute opens before the escrow holds the money on chain.
_ON_A_FUNDED_ESCROW = ("ship", "deliver", "receive", "release", "open_dispute")
GUARDS: dict[tuple[OrderState, str], tuple[Guard, ...]] = {
    **{(state, action): (escrow_funded, _timing(action)) for (state, action) in TRANSITIONS if action in _ON_A_FUNDED_ESCROW},
    **{(state, "cancel"): (funding_voidable,) for state in (S.ACKNOWLEDGED, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED)},
    (S.ISSUED, "propose_change"): (no_open_proposal,),
    (S.ISSUED, "acknowledge"): (no_open_proposal,),
    (S.ISSUED, "reject"): (no_open_proposal,),
    (S.ISSUED, "accept_change"): (needs_open_proposal,),
    (S.ISSUED, "decline_change"): (needs_open_proposal,),
}


def refusal(session: Session, order: PurchaseOrder, side: str, action: str) -> str | None:
    """Why the (state, action) row's guards refuse `action` now (None: they allow it)."""
    for guard in GUARDS.get((order.state, action), ()):
        why = guard(session, order, side)
        if why is not None:
            return why
    return None


def allowed_actions(session: Session, order: PurchaseOrder, side: str) -> list[str]:
    """What `side` may do with the order now: its rows of the table whose guards pass."""
    return sorted(
        action
        for (state, action), (_next, actor) in TRANSITIONS.items()
        if state == order.state and takes(actor, side) and refusal(session, order, side, action) is None
    )


def check(session: Session, order: PurchaseOrder, principal: Principal, action: str) -> None:
    """Raise unless the principal's side may take `action` on the order now."""
    policy.require_writer(principal)
    side = side_of(order, principal)
    actors = {actor for (_s, a), (_n, actor) in TRANSITIONS.items() if a == action}
    if not any(takes(actor, side) for actor in actors):
        raise Forbidden(f"Only the {' or '.join(sorted(actors))} may {action.replace('_', ' ')} an order.")
    allowed = allowed_actions(session, order, side)
    if action not in allowed:
        why = refusal(session, order, side, action) if (order.state, action) in TRANSITIONS else None
        raise InvalidTransition("order", str(order.state), action, allowed, why)


def enter(order: PurchaseOrder, action: str, to: OrderState | None = None) -> OrderState:
    """Take the table's (state, action) row: the order moves to its next state (`to`, when
    the row leads to several). Returns the state it was in."""
    row = TRANSITIONS.get((order.state, action))
    if row is None:
        raise InvalidTransition("order", str(order.state), action, [])
    targets = row[0] if isinstance(row[0], tuple) else (row[0],)
    if to is None and len(targets) == 1:
        to = targets[0]
    if to not in targets:
        raise ValueError(f"{action} leads an order from {order.state} to {', '.join(targets)}, not {to}")
    before, order.state = order.state, to
    return before
