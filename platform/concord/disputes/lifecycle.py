"""A dispute's lifecycle: (state, action) -> (next state, who takes it), with its guards.

The arbiter the escrow names resolves an open dispute with a split; a resolution the chain
refused leaves the escrow disputed, so the arbiter decides again. A dispute the chain
refused to open (too late) is closed by the chain when the escrow is released past its
window."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from concord.ledger import escrow, escrow_state
from concord.orders.models import Dispute, DisputeState, PurchaseOrder

ARBITER, CHAIN = "arbiter", "chain"
TRANSITIONS: dict[tuple[DisputeState, str], tuple[DisputeState, str]] = {
    (DisputeState.OPEN, "resolve"): (DisputeState.RESOLVED, ARBITER),
    (DisputeState.RESOLVED, "resolve"): (DisputeState.RESOLVED, ARBITER),
    (DisputeState.OPEN, "close_unresolved"): (DisputeState.RESOLVED, CHAIN),
}
TERMINAL = frozenset({DisputeState.RESOLVED})  # once its settlement is mined

Guard = Callable[[Session, Dispute, PurchaseOrder], "str | None"]


def _undecided(session: Session, dispute: Dispute, order: PurchaseOrder) -> str | None:
    return "it is already decided" if order.settlement_queued_at is not None else None


def _resolution_refused(session: Session, dispute: Dispute, order: PurchaseOrder) -> str | None:
    return None if escrow_state.refused(session, order.id, escrow.Step.RESOLVE) else f"it is {dispute.state}"


def _opened_on_chain(session: Session, dispute: Dispute, order: PurchaseOrder) -> str | None:
    if escrow_state.refused(session, order.id, escrow.Step.OPEN_DISPUTE):
        return "the escrow refused to open it (see the order's escrow transactions)"
    return None


GUARDS: dict[tuple[DisputeState, str], tuple[Guard, ...]] = {
    (DisputeState.OPEN, "resolve"): (_undecided, _opened_on_chain),
    (DisputeState.RESOLVED, "resolve"): (_resolution_refused, _opened_on_chain),
}


def refusal(session: Session, dispute: Dispute, order: PurchaseOrder, action: str) -> str | None:
    if (dispute.state, action) not in TRANSITIONS:
        return f"it is {dispute.state}"
    for guard in GUARDS.get((dispute.state, action), ()):
        if (why := guard(session, dispute, order)) is not None:
            return why
    return None


def allowed_actions(session: Session, dispute: Dispute, order: PurchaseOrder, actor: str | None) -> list[str]:
    return sorted(
        action
        for (state, action), (_next, who) in TRANSITIONS.items()
        if state == dispute.state and who == actor and refusal(session, dispute, order, action) is None
    )


def enter(dispute: Dispute, action: str) -> DisputeState:
    before, dispute.state = dispute.state, TRANSITIONS[(dispute.state, action)][0]
    return before
