"""The escrow gateway: an order's DeliveryEscrow in domain verbs.

Other domains never name a contract function nor read an event argument: they call the
verbs below (each queues an outbox intent in the caller's transaction, sent by the key of
the party taking the step, after every earlier step of the same escrow) and read where the
escrow stands through escrow_state.py.

    fund            the buyer locks the confirmed total (approve + fund, one sender's run)
    assign_carrier  the supplier names the carrier of the first shipment
    attest_delivery the carrier proves delivery of the whole order (the window opens)
    confirm_receipt the buyer accepts a value (the rest is refunded on release)
    release         pays the accepted value (all of it without a receipt), refunds the rest
    dispute         either party freezes the escrow for the arbiter
    resolve         the arbiter splits it: payee amount to the supplier, the rest refunded
    withdraw        a party takes what the escrow credited it
    void_funding    a funding the chain refused: the buyer's allowance to the escrow is revoked
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock
from concord.db import get_or_raise
from concord.errors import Conflict
from concord.ledger import outbox
from concord.ledger.artifacts import load_artifact
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import (
    OPEN_STATES,
    ChainIntent,
    IndexerCursor,
    IntentState,
    OrganizationKey,
    TokenBalance,
)
from concord.ledger.service import (
    LedgerNotReady,
    _arbiter_ready,
    _deployment,
    _operator_id,
    address_of,
    current_chain_id,
    from_units,
    token_name,
    token_units,
)
from concord.tenancy.models import Organization, OrgStatus

ESCROW = "DeliveryEscrow"
ESCROW_SUBJECT = "order_escrow"
ZERO_ADDRESS = "0x" + "00" * 20


class Step(StrEnum):
    """The escrow's steps, by the name of the contract function each one calls."""

    APPROVE = "approve"  # on the settlement token, before funding
    FUND = "fund"
    ASSIGN_CARRIER = "assignCarrier"
    ATTEST_DELIVERY = "attestDelivery"
    CONFIRM_RECEIPT = "confirmReceipt"
    OPEN_DISPUTE = "openDispute"
    RESOLVE = "resolveDispute"
    RELEASE = "release"
    WITHDRAW = "withdraw"


#: The steps that settle an escrow (its order closes when one is mined).
SETTLING = (Step.RELEASE, Step.RESOLVE)
#: DeliveryEscrow events, newest deciding, and the escrow state each one leaves.
_EVENT_STATES = {
    "EscrowFunded": "funded",
    "CarrierAssigned": "funded",
    "DeliveryAttested": "delivered",
    "ReceiptConfirmed": "receipt_confirmed",
    "DisputeOpened": "disputed",
    "DisputeResolved": "resolved",
    "EscrowReleased": "released",
}
#: IDeliveryEscrow.EscrowState, by its index on chain.
ESCROW_STATES = ("none", "funded", "delivered", "receipt_confirmed", "disputed", "released", "resolved")


class Funding(StrEnum):
    """Where the funding of an order's escrow stands, by its intents."""

    NONE = "none"  # never asked for (not acknowledged yet)
    QUEUED = "queued"  # written, nothing of it signed yet (it can still be withdrawn)
    PENDING = "pending"  # signed and sent, not confirmed yet
    FUNDED = "funded"  # confirmed on chain
    REFUSED = "refused"  # the chain (or the outbox) refused it for good
    VOIDED = "voided"  # refused, and the order was cancelled: the allowance is revoked


# -- arguments by name ----------------------------------------------------------------------


def _inputs(contract: str, function: str) -> list[str]:
    abi = load_artifact(outbox.artifact_name(contract)).abi
    item = next(i for i in abi if i.get("type") == "function" and i.get("name") == function)
    return [argument["name"] for argument in item["inputs"]]


def call_args(intent: ChainIntent) -> dict[str, Any]:
    """An intent's call arguments by their names in the contract's ABI."""
    if intent.function is None:
        raise ValueError(f"Intent {intent.seq} calls no function (a deployment)")
    return dict(zip(_inputs(intent.contract, intent.function), intent.args, strict=True))


# -- verbs ----------------------------------------------------------------------------------


def _indexed_units(session: Session, chain_id: int, token: str, address: str) -> int:
    row = session.get(TokenBalance, (chain_id, token, address))
    return int(row.units) if row else 0


def _reserved_units(session: Session, chain_id: int, buyer_address: str, token_address: str) -> int:
    """Token units the buyer's escrow fundings will take that the indexed balance does not
    show yet: queued or signed, or mined after the last indexed block."""
    cursor = session.get(IndexerCursor, chain_id)
    indexed_to = cursor.next_block if cursor else 0
    fundings = session.execute(
        sa.select(ChainIntent).where(
            ChainIntent.sender == buyer_address,
            ChainIntent.contract == ESCROW,
            ChainIntent.function == Step.FUND,
            sa.or_(ChainIntent.state.in_(OPEN_STATES), sa.and_(ChainIntent.state == IntentState.CONFIRMED, ChainIntent.block_number >= indexed_to)),
        )
    ).scalars()
    total = 0
    for funding in fundings:
        args = call_args(funding)
        if str(args["token"]).lower() == token_address.lower():
            total += int(args["amount"])
    return total


def fund(session: Session, order) -> list[ChainIntent]:
    """Queue the buyer's funding of the order's escrow with its confirmed total, in the
    caller's transaction; 409 when the buyer's settlement balance cannot cover it.

    The balance is the indexed one less what pending fundings will take, so the check
    holds while the chain is unreachable: the funding then queues in the outbox."""
    chain_id = current_chain_id(session)
    if chain_id is None:
        raise LedgerNotReady("The ledger's contracts are not deployed yet; the escrow cannot be funded.")
    token = _deployment(session, chain_id, token_name(order.currency))
    escrow = _deployment(session, chain_id, ESCROW)
    # Locked before the balance is read: a concurrent funding by the same buyer waits for
    # this one to commit, then sees its reservation (and its intents stay in one run).
    buyer, supplier = outbox.lock_sender(session, order.buyer_org_id), get_or_raise(session, OrganizationKey, order.supplier_org_id)
    arbiter_id = order.arbiter_org_id or _operator_id(session)
    arbiter = get_or_raise(session, OrganizationKey, arbiter_id)
    if get_or_raise(session, Organization, arbiter_id).status != OrgStatus.ACTIVE:
        raise Conflict(
            "The arbiter your partnership names is not an active member of the consortium; the partners must agree on another before the escrow can be funded.",
            current_state=str(order.state),
        )
    units = token_units(order.confirmed_total)
    available = _indexed_units(session, chain_id, token.name, buyer.address) - _reserved_units(session, chain_id, buyer.address, token.address)
    if units > available:
        raise Conflict(
            f"The buyer's {order.currency} settlement balance ({from_units(max(available, 0))}) does not cover the confirmed total ({order.confirmed_total}).",
            errors={"escrow": [f"Needs {order.confirmed_total} {order.currency}; available {from_units(max(available, 0))}."]},
            current_state=str(order.state),
        )
    buyer_name = get_or_raise(session, Organization, order.buyer_org_id).legal_name
    common = {"organization_id": order.buyer_org_id, "subject": (ESCROW_SUBJECT, order.id)}
    return [
        outbox.enqueue(
            # A named arbiter must hold its role on chain before an escrow may name it.
            session,
            contract=token.name,
            function=Step.APPROVE.value,
            args=[escrow.address, units],
            after=_arbiter_ready(session, arbiter_id),
            purpose=f"Allow the escrow to take {order.confirmed_total} {order.currency} for order {order.number}",
            **common,
        ),
        outbox.enqueue(
            session,
            contract=ESCROW,
            function=Step.FUND.value,
            args=[to_bytes32(order.id), supplier.address, ZERO_ADDRESS, arbiter.address, token.address, units],
            purpose=f"{buyer_name} locks {order.confirmed_total} {order.currency} in escrow for order {order.number}",
            **common,
        ),
    ]


def _step(session: Session, order, organization_id: uuid.UUID, step: Step, args: list, purpose: str) -> ChainIntent:
    """Queue the next step of the order's escrow, sent by `organization_id`'s key once every
    earlier step of this escrow (whoever sent it) is confirmed."""
    chain_id = current_chain_id(session)
    if chain_id is None:
        raise LedgerNotReady("The ledger's contracts are not deployed yet.")
    _deployment(session, chain_id, ESCROW)
    # The latest step the chain has not refused (a refused one changed nothing on chain).
    previous = session.execute(
        sa.select(ChainIntent)
        .where(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order.id), ChainIntent.state != IntentState.FAILED)
        .order_by(ChainIntent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return outbox.enqueue(
        session,
        organization_id=organization_id,
        contract=ESCROW,
        function=step.value,
        args=[to_bytes32(order.id), *args],
        purpose=purpose,
        subject=(ESCROW_SUBJECT, order.id),
        after=previous,
    )


def _hash(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest.removeprefix("0x"))


def assign_carrier(session: Session, order, carrier_org_id: uuid.UUID, purpose: str) -> ChainIntent:
    return _step(session, order, order.supplier_org_id, Step.ASSIGN_CARRIER, [address_of(session, carrier_org_id)], purpose)


def attest_delivery(session: Session, order, carrier_org_id: uuid.UUID, proof_hash: str, purpose: str) -> ChainIntent:
    return _step(session, order, carrier_org_id, Step.ATTEST_DELIVERY, [_hash(proof_hash)], purpose)


def confirm_receipt(session: Session, order, accepted_value: Decimal, purpose: str) -> ChainIntent:
    return _step(session, order, order.buyer_org_id, Step.CONFIRM_RECEIPT, [token_units(accepted_value)], purpose)


def release(session: Session, order, organization_id: uuid.UUID, purpose: str) -> ChainIntent:
    return _step(session, order, organization_id, Step.RELEASE, [], purpose)


def dispute(session: Session, order, organization_id: uuid.UUID, reason_hash: str, purpose: str) -> ChainIntent:
    return _step(session, order, organization_id, Step.OPEN_DISPUTE, [_hash(reason_hash)], purpose)


def resolve(session: Session, order, arbiter_org_id: uuid.UUID, payee_amount: Decimal, purpose: str) -> ChainIntent:
    return _step(session, order, arbiter_org_id, Step.RESOLVE, [token_units(payee_amount)], purpose)


def withdraw(session: Session, order, organization_id: uuid.UUID, *, after: ChainIntent | None) -> ChainIntent | None:
    """Queue `organization_id`'s withdrawal of what the escrow credited it in the order's
    currency, unless one is still queued: a withdrawal takes everything credited when it is
    mined, so a queued one covers this credit too (a signed one may have been mined already)."""
    chain_id = current_chain_id(session)
    if chain_id is None:  # as _deployment finds nothing on no chain
        raise LedgerNotReady(f"{token_name(order.currency)} is not deployed on the ledger yet; try again once the operator has deployed the contracts.")
    token = _deployment(session, chain_id, token_name(order.currency))
    sender = address_of(session, organization_id)
    pending = (
        session.execute(
            sa.select(ChainIntent.seq)
            .where(
                ChainIntent.sender == sender,
                ChainIntent.contract == ESCROW,
                ChainIntent.function == Step.WITHDRAW,
                ChainIntent.state == IntentState.QUEUED,
                ChainIntent.args[0].as_string() == token.address,
            )
            .limit(1)
        ).first()
        if sender
        else None
    )
    if sender is None or pending is not None:
        return None
    return outbox.enqueue(
        session,
        organization_id=organization_id,
        contract=ESCROW,
        function=Step.WITHDRAW.value,
        args=[token.address],
        purpose=f"Withdraw {order.currency} paid out by the escrow (order {order.number})",
        subject=(ESCROW_SUBJECT, order.id),
        after=after,
    )


def void_funding(session: Session, order) -> ChainIntent | None:
    """The order is given up before its escrow was funded: withdraw the funding still queued
    (nothing of it signed), and revoke the buyer's allowance to the escrow when its approval
    went through (no token left the buyer). 409 when the worker signed it meanwhile."""
    outbox.lock_sender(session, order.buyer_org_id)  # the worker signs under this lock
    intents = list(
        session.execute(
            sa.select(ChainIntent)
            .where(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order.id))
            .order_by(ChainIntent.seq)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    if funding(session, order.id) in (Funding.PENDING, Funding.FUNDED):
        raise Conflict("The escrow's funding was just sent to the ledger; it can no longer be withdrawn.", current_state=str(order.state))
    for intent in intents:
        if intent.state == IntentState.QUEUED:
            intent.state, intent.finished_at = IntentState.FAILED, clock.utcnow()
            intent.last_error = "withdrawn: the order was cancelled before its escrow was funded"
    approved = next((i for i in reversed(intents) if i.function == Step.APPROVE and i.state == IntentState.CONFIRMED), None)
    if approved is None:
        return None
    return outbox.enqueue(
        session,
        organization_id=order.buyer_org_id,
        contract=approved.contract,
        function=Step.APPROVE.value,
        args=[approved.args[0], 0],
        purpose=f"Revoke the escrow's allowance for order {order.number}, whose funding the chain refused",
        subject=(ESCROW_SUBJECT, order.id),
    )


# -- reading --------------------------------------------------------------------------------


def intents_of(session: Session, order_id: uuid.UUID) -> list[ChainIntent]:
    """Every transaction of the order's escrow, oldest first."""
    return list(
        session.execute(
            sa.select(ChainIntent).where(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order_id)).order_by(ChainIntent.seq)
        ).scalars()
    )


def funding(session: Session, order_id: uuid.UUID) -> Funding:
    """Where the escrow's funding stands (its latest `fund` intent, and any revocation)."""
    return funding_of(intents_of(session, order_id))


def funding_of(escrow_intents: list[ChainIntent]) -> Funding:
    """`funding` from the escrow's intents, oldest first (as `intents_of` answers them)."""
    intents = [i for i in escrow_intents if i.function in (Step.FUND, Step.APPROVE)]
    fundings = [i for i in intents if i.function == Step.FUND]
    if not fundings:
        return Funding.NONE
    latest = fundings[-1]
    if latest.state == IntentState.CONFIRMED:
        return Funding.FUNDED
    if latest.state in OPEN_STATES:  # earlier fundings are settled: what is open is this one's
        return Funding.PENDING if any(i.state == IntentState.SIGNED for i in intents) else Funding.QUEUED
    revoked = any(i.function == Step.APPROVE and i.seq > latest.seq for i in intents)
    return Funding.VOIDED if revoked else Funding.REFUSED
