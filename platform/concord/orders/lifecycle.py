"""The order's lifecycle: one table of (state, action) -> (next state, who takes it), with
the guards each step must pass. Services move an order only through `enter`, after `check`;
`allowed_actions` and every 409 come from here. Shipments and disputes have their own
tables in concord.logistics.lifecycle and concord.disputes.lifecycle.

Who moves an order: the buyer, the supplier (either of the two), the carrier (its proof of
delivery of the last shipment makes the order delivered), the arbiter (a resolution queues
the settlement), the chain (the order closes when the escrow's settlement is mined) and the
clock (the worker releases an escrow whose window passed in silence).

On open account (the order's `settlement`, from the partnership's payment terms) nothing is
escrowed: the guards that wait for the escrow's funding pass, the buyer's receipt has no
deadline and closes the order ("close_on_receipt": the payment is followed on the supplier's
invoice, concord.finance), and there is no escrow to release or for an arbiter to split, so
neither a release nor a dispute is open to the parties.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.errors import Forbidden, InvalidTransition
from concord.ledger import escrow, escrow_state
from concord.ledger.models import ChainIntent
from concord.orders.models import (
    ChangeProposal,
    OrderState,
    ProposalState,
    PurchaseOrder,
    Settlement,
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
    (S.PARTIALLY_RECEIVED, "close_on_receipt"): (S.CLOSED, BUYER),  # open account: taken with the receipt
    (S.PARTIALLY_RECEIVED, "open_dispute"): (S.DISPUTED, SUPPLIER),
    (S.PARTIALLY_RECEIVED, "release_overdue"): (S.PARTIALLY_RECEIVED, CLOCK),
    (S.PARTIALLY_RECEIVED, "settle"): (S.CLOSED, CHAIN),
    # Received in full: the release is queued with the receipt; a refused one is retried by the clock.
    (S.RECEIVED, "release_overdue"): (S.RECEIVED, CLOCK),
    (S.RECEIVED, "close_on_receipt"): (S.CLOSED, BUYER),  # open account: taken with the receipt
    (S.RECEIVED, "settle"): (S.CLOSED, CHAIN),
    (S.DISPUTED, "resolve"): (S.DISPUTED, ARBITER),
    (S.DISPUTED, "release_overdue"): (S.DISPUTED, CLOCK),  # the chain refused the dispute
    (S.DISPUTED, "settle"): (S.CLOSED, CHAIN),
}
TERMINAL = frozenset({S.CLOSED, S.CANCELLED, S.REJECTED})

#: How far ahead of the server's clock a reported time may be (clocks drift).
CLOCK_SKEW = timedelta(minutes=5)
#: The buyer's last moment to confirm or dispute ends this much before the escrow's window
#: (at most a quarter of the window): a step recorded in time must still be mined in time.
BUYER_MARGIN = timedelta(minutes=30)
#: Release waits this long past the window's end as the worker saw it (node clock skew).
RELEASE_MARGIN = timedelta(minutes=2)


#: The side of an organization that reads an order without being a party (an auditor under
#: an engagement, an arbiter): no row of the table is its to take.
READER = "reader"


def side_of(order: PurchaseOrder, principal: Principal) -> str:
    if order.buyer_org_id == principal.org.id:
        return BUYER
    return SUPPLIER if order.supplier_org_id == principal.org.id else READER


def takes(actor: str, side: str) -> bool:
    return actor == side or (actor == EITHER and side in PARTIES)


# -- what the guards read ---------------------------------------------------------------


class Facts:
    """What the guards read of one order beyond its row (whether a change proposal is open,
    its escrow's intents, the window its escrow was funded with), each looked up at most once
    and only when a guard asks. `prefetch` loads them for a whole page of orders at once.

    Facts live as long as one answer (one `allowed_actions`, one `check`): a step the caller
    takes afterwards is seen by the next Facts."""

    def __init__(self, session: Session, order: PurchaseOrder) -> None:
        self.session, self.order = session, order
        self._proposal_open: bool | None = None
        self._intents: list[ChainIntent] | None = None
        self._window: timedelta | None = None

    @property
    def proposal_open(self) -> bool:
        if self._proposal_open is None:
            query = sa.select(ChangeProposal.id).where(ChangeProposal.order_id == self.order.id, ChangeProposal.state == ProposalState.OPEN)
            self._proposal_open = self.session.execute(query).first() is not None
        return self._proposal_open

    @property
    def intents(self) -> list[ChainIntent]:
        """The escrow's transactions, oldest first."""
        if self._intents is None:
            self._intents = escrow.intents_of(self.session, self.order.id)
        return self._intents

    @property
    def funding(self) -> escrow.Funding:
        return escrow.funding_of(self.intents)

    def confirmed_at(self, step: escrow.Step) -> datetime | None:
        return escrow_state.confirmed_at_of(self.intents, step)

    @property
    def window(self) -> timedelta:
        """The window the order's escrow was funded with; the configured one until the
        funding is indexed. Looked up once per loaded order."""
        if self._window is None:
            window = _ESCROW_WINDOWS.get(self.order)
            if window is None:
                window = escrow_state.dispute_window(self.session, self.order.id) or _configured_window()
                _ESCROW_WINDOWS[self.order] = window
            self._window = window
        return self._window


def _configured_window() -> timedelta:
    return timedelta(hours=int(current_app.config["DISPUTE_WINDOW_HOURS"]))


# The dispute window of each loaded order, for as long as the order object lives.
_ESCROW_WINDOWS: weakref.WeakKeyDictionary[PurchaseOrder, timedelta] = weakref.WeakKeyDictionary()


def prefetch(session: Session, orders: list[PurchaseOrder]) -> dict[uuid.UUID, Facts]:
    """The Facts of a page of orders, in at most three queries whatever the page's size (open
    proposals, escrow intents, dispute windows), each only for the orders whose state has
    guards reading it."""
    facts = {order.id: Facts(session, order) for order in orders}
    proposing = [o.id for o in orders if o.state in _READS_PROPOSALS]
    if proposing:
        query = sa.select(ChangeProposal.order_id).where(ChangeProposal.order_id.in_(proposing), ChangeProposal.state == ProposalState.OPEN)
        open_ = set(session.execute(query).scalars())
        for order_id in proposing:
            facts[order_id]._proposal_open = order_id in open_
    escrowed = [o.id for o in orders if o.state in _READS_ESCROW]
    for order_id, intents in escrow_state.intents_by_order(session, escrowed).items():
        facts[order_id]._intents = intents
    timed = [o for o in orders if o.state in _READS_WINDOW and o not in _ESCROW_WINDOWS]
    windows = escrow_state.dispute_windows(session, [o.id for o in timed])
    for order in timed:
        _ESCROW_WINDOWS[order] = windows[order.id] or _configured_window()
    return facts


Guard = Callable[[Facts, str], "str | None"]


# -- guards ---------------------------------------------------------------------------------


def needs_open_proposal(facts: Facts, side: str) -> str | None:
    return None if facts.proposal_open else "no change proposal is open"


def no_open_proposal(facts: Facts, side: str) -> str | None:
    return "a change proposal is open: accept or decline it first" if facts.proposal_open else None


_REFUSED = "the ledger refused to fund its escrow (the buyer may cancel the order)"


def on_open_account(order: PurchaseOrder) -> bool:
    return order.settlement == Settlement.OPEN_ACCOUNT


def escrow_funded(facts: Facts, side: str) -> str | None:
    """No proof of delivery, receipt or release while the escrow is not funded on chain (on
    open account there is no escrow to wait for)."""
    if on_open_account(facts.order):
        return None
    funding = facts.funding
    if funding == escrow.Funding.FUNDED:
        return None
    if funding in (escrow.Funding.QUEUED, escrow.Funding.PENDING):
        return "its escrow is not funded on the ledger yet (the funding is on its way)"
    return _REFUSED


def funding_voidable(facts: Facts, side: str) -> str | None:
    """An order past acknowledgement may be cancelled only while its funding can still be
    undone: refused by the chain, or queued and not yet signed. On open account, only until
    goods are shipped."""
    if on_open_account(facts.order):
        return None if facts.order.state == S.ACKNOWLEDGED else "goods are shipped on it"
    if facts.funding in (escrow.Funding.REFUSED, escrow.Funding.QUEUED):
        return None
    return "its escrow is funded or being funded (open a dispute instead)"


def dispute_window(session: Session, order: PurchaseOrder) -> timedelta:
    """The window the order's escrow was funded with; the configured one until the
    funding is indexed. Looked up once per loaded order."""
    return Facts(session, order).window


def _deadline(facts: Facts) -> datetime:
    order, window = facts.order, facts.window
    if order.delivered_at is None:
        raise LookupError(f"Order {order.number} is not delivered: it has no buyer's deadline")
    return order.delivered_at + window - min(BUYER_MARGIN, window / 4)


def buyer_deadline(session: Session, order: PurchaseOrder) -> datetime:
    """Until when the buyer may confirm receipt or dispute a delivered order."""
    return _deadline(Facts(session, order))


def _window_end(facts: Facts, step: escrow.Step) -> datetime | None:
    confirmed = facts.confirmed_at(step)
    return None if confirmed is None else confirmed + facts.window + RELEASE_MARGIN


def window_end(session: Session, order: PurchaseOrder, step: escrow.Step) -> datetime | None:
    """When the escrow's window after `step` is over for certain: counted from the worker's
    confirmation, which comes after the block (None: not on the chain yet)."""
    return _window_end(Facts(session, order), step)


def not_yet(session: Session, order: PurchaseOrder, side: str, action: str) -> str | None:
    """Why the escrow's timing does not allow `action` now (None when it does)."""
    return _not_yet(Facts(session, order), side, action)


def _not_yet(facts: Facts, side: str, action: str) -> str | None:
    order = facts.order
    if on_open_account(order):
        return None  # no escrow, no window: the buyer confirms receipt when the goods are in
    if order.settlement_queued_at is not None and action in ("receive", "open_dispute", "release"):
        return "its escrow is already being settled"
    now = clock.utcnow()
    if order.state == S.DELIVERED:
        deadline = _deadline(facts)
        if (action == "receive" or (action == "open_dispute" and side == BUYER)) and now >= deadline:
            return f"the buyer's dispute window closed at {clock.shown(deadline)}"
        if action == "release":
            end = _window_end(facts, escrow.Step.ATTEST_DELIVERY)
            if end is None:
                return "the carrier's proof of delivery is not on the ledger yet"
            if now < end:
                return f"the buyer may confirm receipt or dispute until {clock.shown(end)}"
    if order.state == S.PARTIALLY_RECEIVED and action == "release" and side == BUYER:
        end = _window_end(facts, escrow.Step.CONFIRM_RECEIPT)
        if end is None or now < end:
            return "the supplier may accept the receipt or dispute it first" + (f" (until {clock.shown(end)})" if end else "")
    return None


def _timing(action: str) -> Guard:
    return lambda facts, side: _not_yet(facts, side, action)


def escrowed(facts: Facts, side: str) -> str | None:
    """Releases and disputes are the escrow's: an open-account order has none."""
    if on_open_account(facts.order):
        return "it is on open account: nothing is escrowed (reject its invoice, or agree a credit note)"
    return None


def nothing_escrowed(facts: Facts, side: str) -> str | None:
    """An open-account order closes on its receipt; an escrowed one when its escrow settles."""
    return None if on_open_account(facts.order) else "it closes when its escrow's settlement is mined"


#: The guards of each row, checked in order (the first refusal is the 409's reason). No
#: goods move and no dispute opens before the escrow holds the money on chain.
_ON_A_FUNDED_ESCROW = ("ship", "deliver", "receive", "release", "open_dispute")
GUARDS: dict[tuple[OrderState, str], tuple[Guard, ...]] = {
    **{(state, action): (escrow_funded, _timing(action)) for (state, action) in TRANSITIONS if action in _ON_A_FUNDED_ESCROW},
    **{(state, action): (escrowed, escrow_funded, _timing(action)) for (state, action) in TRANSITIONS if action in ("release", "open_dispute")},
    **{(state, "close_on_receipt"): (nothing_escrowed,) for state in (S.RECEIVED, S.PARTIALLY_RECEIVED)},
    **{(state, "cancel"): (funding_voidable,) for state in (S.ACKNOWLEDGED, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED)},
    (S.ISSUED, "propose_change"): (no_open_proposal,),
    (S.ISSUED, "acknowledge"): (no_open_proposal,),
    (S.ISSUED, "reject"): (no_open_proposal,),
    (S.ISSUED, "accept_change"): (needs_open_proposal,),
    (S.ISSUED, "decline_change"): (needs_open_proposal,),
}
_PROPOSAL_GUARDS = {no_open_proposal, needs_open_proposal}
#: The states whose guards read open proposals; the escrow's intents; its window (`_not_yet`).
_READS_PROPOSALS = frozenset(state for (state, _a), guards in GUARDS.items() if set(guards) & _PROPOSAL_GUARDS)
_READS_ESCROW = frozenset(state for (state, _a), guards in GUARDS.items() if set(guards) - _PROPOSAL_GUARDS)
_READS_WINDOW = frozenset({S.DELIVERED, S.PARTIALLY_RECEIVED})


def refusal(session: Session, order: PurchaseOrder, side: str, action: str, facts: Facts | None = None) -> str | None:
    """Why the (state, action) row's guards refuse `action` now (None: they allow it)."""
    facts = facts or Facts(session, order)
    for guard in GUARDS.get((order.state, action), ()):
        why = guard(facts, side)
        if why is not None:
            return why
    return None


def allowed_actions(session: Session, order: PurchaseOrder, side: str, facts: Facts | None = None) -> list[str]:
    """What `side` may do with the order now: its rows of the table whose guards pass
    (`facts`: what `prefetch` read for the order's page)."""
    facts = facts or Facts(session, order)
    return sorted(
        action
        for (state, action), (_next, actor) in TRANSITIONS.items()
        if state == order.state and takes(actor, side) and refusal(session, order, side, action, facts) is None
    )


def check(session: Session, order: PurchaseOrder, principal: Principal, action: str) -> None:
    """Raise unless the principal's side may take `action` on the order now."""
    policy.require_writer(principal)
    side = side_of(order, principal)
    actors = {actor for (_s, a), (_n, actor) in TRANSITIONS.items() if a == action}
    if not any(takes(actor, side) for actor in actors):
        raise Forbidden(f"Only the {' or '.join(sorted(actors))} may {action.replace('_', ' ')} an order.")
    facts = Facts(session, order)
    allowed = allowed_actions(session, order, side, facts)
    if action not in allowed:
        why = refusal(session, order, side, action, facts) if (order.state, action) in TRANSITIONS else None
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
