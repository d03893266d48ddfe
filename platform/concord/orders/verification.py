"""`concord ledger verify` for orders: every order's state against its escrow on chain.

An order beyond acknowledgement stands on a funded escrow, and each of its later states on
the escrow state the parties' steps leave on chain. While one of the order's escrow steps is
still on its way (queued or sent), the chain may lag the order, so such an order is
compared only for what it already holds on chain (amount, parties)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.ledger import escrow_state
from concord.ledger.chain import Chain
from concord.ledger.indexer import Disagreement
from concord.ledger.service import address_of
from concord.orders.models import OrderState, PurchaseOrder

#: The escrow states on chain each order state may stand on.
EXPECTED_ESCROW: dict[OrderState, frozenset[str]] = {
    OrderState.ACKNOWLEDGED: frozenset({"funded"}),
    OrderState.PARTIALLY_SHIPPED: frozenset({"funded"}),
    OrderState.SHIPPED: frozenset({"funded"}),
    OrderState.DELIVERED: frozenset({"delivered"}),
    OrderState.PARTIALLY_RECEIVED: frozenset({"receipt_confirmed"}),
    OrderState.RECEIVED: frozenset({"receipt_confirmed"}),
    OrderState.DISPUTED: frozenset({"disputed"}),
    OrderState.CLOSED: frozenset({"released", "resolved"}),
    # Cancelled before the supplier acknowledged (nothing escrowed), or after the escrow was
    # settled back to the buyer.
    OrderState.CANCELLED: frozenset({"none", "released", "resolved"}),
}


def verify_escrows(session: Session, chain: Chain) -> list[Disagreement]:
    problems: list[Disagreement] = []
    orders = session.execute(
        sa.select(PurchaseOrder).where(PurchaseOrder.state.in_(list(EXPECTED_ESCROW))).order_by(PurchaseOrder.created_at, PurchaseOrder.id)
    ).scalars()
    for order in orders:
        if order.state == OrderState.CANCELLED and order.confirmed_total is None:
            continue  # cancelled before acknowledgement: never escrowed
        subject = f"order {order.number} ({order.id})"
        on_chain = escrow_state.escrow_on_chain(session, chain, order.id)
        in_flight = escrow_state.escrow_in_flight(session, order.id)
        if on_chain.state not in EXPECTED_ESCROW[order.state] and not in_flight:
            problems.append(Disagreement(subject, f"{order.state} (escrow {', '.join(sorted(EXPECTED_ESCROW[order.state]))})", f"escrow {on_chain.state}"))
        if on_chain.state == "none":
            continue
        if on_chain.amount != order.confirmed_total:
            problems.append(Disagreement(f"{subject} escrow amount", f"{order.confirmed_total} {order.currency}", f"{on_chain.amount}"))
        parties = {"buyer": (order.buyer_org_id, on_chain.buyer), "payee": (order.supplier_org_id, on_chain.payee)}
        for role, (organization_id, address) in parties.items():
            expected = address_of(session, organization_id)
            if expected is None or expected.lower() != address.lower():
                problems.append(Disagreement(f"{subject} escrow {role}", str(expected), address))
    return problems
