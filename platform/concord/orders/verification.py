"""`concord ledger verify` for orders: every order's state against its escrow on chain.

An order beyond acknowledgement stands on a funded escrow, and each of its later states on
the escrow state the parties' steps leave on chain. While one of the order's escrow steps is
still on its way (queued or sent), the chain may lag the order, so such an order is
compared only for what it already holds on chain (amount, parties). An order whose escrow
moved on chain after the block the run reads is checked again by the next run.

An incremental run checks the orders written since the previous run, those whose escrow
emitted an event on chain since the block the previous run read, and those it found wrong
or deferred (see concord.ledger.verification)."""

from __future__ import annotations

import uuid
from typing import cast

import sqlalchemy as sa
from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic
from sqlalchemy.orm import Session

from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.escrow import ESCROW, ESCROW_SUBJECT
from concord.ledger.escrow_state import escrow_reader
from concord.ledger.indexer import PAGE
from concord.ledger.models import OPEN_STATES, ChainIntent, ContractDeployment, OrganizationKey
from concord.ledger.verification import Disagreement, Scope
from concord.orders.models import OrderState, PurchaseOrder, Settlement

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


def verify_escrows(session: Session, chain: Chain, scope: Scope) -> list[Disagreement]:
    deployment = session.get(ContractDeployment, (scope.chain_id, ESCROW))
    if deployment is None:
        return []
    escrowed = sa.and_(
        PurchaseOrder.state.in_(list(EXPECTED_ESCROW)),
        sa.not_(sa.and_(PurchaseOrder.state == OrderState.CANCELLED, PurchaseOrder.confirmed_total.is_(None))),  # never escrowed
        PurchaseOrder.settlement == Settlement.ESCROW,  # an open-account order has no escrow
    )
    if not scope.full:
        again = {uuid.UUID(order_id) for order_id in scope.again("order")} | _moved_on_chain(chain, deployment, scope)
        escrowed = sa.and_(escrowed, sa.or_(PurchaseOrder.updated_at >= scope.changed_since, PurchaseOrder.id.in_(again)))
    order_ids = list(session.execute(sa.select(PurchaseOrder.id).where(escrowed).order_by(PurchaseOrder.created_at, PurchaseOrder.id)).scalars())
    read = escrow_reader(chain, deployment, block=scope.through_block)
    addresses = dict(session.execute(sa.select(OrganizationKey.organization_id, OrganizationKey.address)).tuples().all())
    problems: list[Disagreement] = []
    for batch in scope.batches("orders", order_ids):
        in_flight, moved = _moving(session, batch, scope.through_block)
        for order in session.execute(
            sa.select(PurchaseOrder).where(PurchaseOrder.id.in_(batch)).order_by(PurchaseOrder.created_at, PurchaseOrder.id)
        ).scalars():
            if order.id in moved:
                scope.defer(f"order:{order.id}")
                continue
            problems.extend(_compare(order, read(order.id), order.id in in_flight, addresses))
    return problems


def _compare(order: PurchaseOrder, on_chain, in_flight: bool, addresses: dict[uuid.UUID, str]) -> list[Disagreement]:
    key = f"order:{order.id}"
    subject = f"order {order.number} ({order.id})"
    problems = []
    if on_chain.state not in EXPECTED_ESCROW[order.state] and not in_flight:
        expected = ", ".join(sorted(EXPECTED_ESCROW[order.state]))
        problems.append(Disagreement(subject, f"{order.state} (escrow {expected})", f"escrow {on_chain.state}", key=key))
    if on_chain.state == "none":
        return problems
    if on_chain.amount != order.confirmed_total:
        problems.append(Disagreement(f"{subject} escrow amount", f"{order.confirmed_total} {order.currency}", f"{on_chain.amount}", key=key))
    for role, organization_id, address in (("buyer", order.buyer_org_id, on_chain.buyer), ("payee", order.supplier_org_id, on_chain.payee)):
        expected_address = addresses.get(organization_id)
        if expected_address is None or expected_address.lower() != address.lower():
            problems.append(Disagreement(f"{subject} escrow {role}", str(expected_address), address, key=key))
    return problems


def _moving(session: Session, order_ids: list[uuid.UUID], through_block: int) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Of these orders: those with an escrow step on its way, and those whose escrow a step
    mined after `through_block` moved."""
    rows = session.execute(
        sa.select(ChainIntent.subject_id, ChainIntent.state, ChainIntent.block_number).where(
            ChainIntent.subject_type == ESCROW_SUBJECT,
            ChainIntent.subject_id.in_([str(order_id) for order_id in order_ids]),
            sa.or_(ChainIntent.state.in_(OPEN_STATES), ChainIntent.block_number > through_block),
        )
    ).all()
    in_flight = {uuid.UUID(subject) for subject, state, _block in rows if state in OPEN_STATES}
    moved = {uuid.UUID(subject) for subject, state, block in rows if block is not None and block > through_block}
    return in_flight, moved


def _moved_on_chain(chain: Chain, deployment: ContractDeployment, scope: Scope) -> set[uuid.UUID]:
    """Orders whose escrow emitted an event between the previous run's block and this one's."""
    after = scope.moved_after_block
    if after is None or after >= scope.through_block:
        return set()
    abi = load_artifact(deployment.artifact).abi
    about_an_order = {
        event_abi_to_log_topic(cast(ABIEvent, item))
        for item in abi
        if item.get("type") == "event" and item["inputs"] and item["inputs"][0]["name"] == "orderId" and item["inputs"][0]["indexed"]
    }
    moved = set()
    for first in range(after + 1, scope.through_block + 1, PAGE):
        for entry in chain.logs([deployment.address], first, min(first + PAGE - 1, scope.through_block)):
            topics = entry.get("topics") or []
            if len(topics) > 1 and bytes(topics[0]) in about_an_order:
                moved.add(uuid.UUID(int=int.from_bytes(bytes(topics[1]), "big")))
    return moved
