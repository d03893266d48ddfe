"""The escrow gateway: an order's DeliveryEscrow in domain verbs, and typed views back.

Other domains never name a contract function nor read an event argument: they call the
verbs below (each queues an outbox intent in the caller's transaction, sent by the key of
the party taking the step, after every earlier step of the same escrow) and read
`Settlement` (the escrow as its indexed events tell it), `Progress` (its steps as the
outbox knows them) or `EscrowOnChain` (the contract's own record, read from the chain).

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
from concord.ledger.chain import Chain
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import (
    OPEN_STATES,
    ChainEvent,
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


def transactions(session: Session, order_id: uuid.UUID, shipment_ids: list[str]) -> list[ChainIntent]:
    """The escrow's transactions and those anchoring the order's shipments, oldest first."""
    return list(
        session.execute(
            sa.select(ChainIntent)
            .where(
                sa.or_(
                    sa.and_(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order_id)),
                    sa.and_(ChainIntent.subject_type == "shipment", ChainIntent.subject_id.in_(shipment_ids)),
                )
            )
            .order_by(ChainIntent.seq)
        ).scalars()
    )


def escrow_in_flight(session: Session, order_id: uuid.UUID) -> bool:
    """Whether a step of the order's escrow is queued or sent and not yet settled."""
    return (
        session.execute(
            sa.select(ChainIntent.seq)
            .where(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order_id), ChainIntent.state.in_(OPEN_STATES))
            .limit(1)
        ).first()
        is not None
    )


def intents_by_order(session: Session, order_ids) -> dict[uuid.UUID, list[ChainIntent]]:
    """Every transaction of each order's escrow, oldest first, in one query (for a page of
    orders; an order without any has an empty list)."""
    ids = {uuid.UUID(str(order_id)) for order_id in order_ids}
    found: dict[uuid.UUID, list[ChainIntent]] = {order_id: [] for order_id in ids}
    if ids:
        query = sa.select(ChainIntent).where(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id.in_([str(i) for i in ids]))
        for intent in session.execute(query.order_by(ChainIntent.seq)).scalars():
            found[uuid.UUID(intent.subject_id)].append(intent)
    return found


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


def confirmed_at(session: Session, order_id: uuid.UUID, step: Step) -> datetime | None:
    """When the worker saw the order's escrow `step` confirmed (None: not yet)."""
    return session.execute(
        sa.select(ChainIntent.finished_at)
        .where(
            ChainIntent.subject_type == ESCROW_SUBJECT,
            ChainIntent.subject_id == str(order_id),
            ChainIntent.function == step,
            ChainIntent.state == IntentState.CONFIRMED,
        )
        .order_by(ChainIntent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()


def confirmed_at_of(escrow_intents: list[ChainIntent], step: Step) -> datetime | None:
    """`confirmed_at` from the escrow's intents, oldest first."""
    confirmed = [i for i in escrow_intents if i.function == step and i.state == IntentState.CONFIRMED]
    return max(confirmed, key=lambda i: i.seq).finished_at if confirmed else None


def refused(session: Session, order_id: uuid.UUID, step: Step) -> bool:
    """Whether the order's latest escrow `step` was refused by the chain."""
    state = session.execute(
        sa.select(ChainIntent.state)
        .where(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order_id), ChainIntent.function == step)
        .order_by(ChainIntent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return state == IntentState.FAILED


def _events(session: Session, order_id: uuid.UUID, event: str | None = None) -> list[ChainEvent]:
    chain_id = current_chain_id(session)
    if chain_id is None:
        return []
    query = sa.select(ChainEvent).where(
        ChainEvent.order_ref == "0x" + to_bytes32(order_id).hex(), ChainEvent.chain_id == chain_id, ChainEvent.contract == ESCROW
    )
    if event is not None:
        query = query.where(ChainEvent.event == event)
    return list(session.execute(query.order_by(ChainEvent.block_number, ChainEvent.log_index)).scalars())


def dispute_window(session: Session, order_id: uuid.UUID) -> timedelta | None:
    """The window the escrow was funded with (the contract fixes it per escrow); None until
    its funding is indexed."""
    funded = _events(session, order_id, "EscrowFunded")
    return timedelta(seconds=int(funded[-1].args["disputeWindow"])) if funded else None


def dispute_windows(session: Session, order_ids) -> dict[uuid.UUID, timedelta | None]:
    """`dispute_window` of each order, in one query (and one look-up of the chain)."""
    ids = {uuid.UUID(str(order_id)) for order_id in order_ids}
    windows: dict[uuid.UUID, timedelta | None] = dict.fromkeys(ids)
    chain_id = current_chain_id(session) if ids else None
    if chain_id is None:
        return windows
    by_ref = {"0x" + to_bytes32(order_id).hex(): order_id for order_id in ids}
    query = (
        sa.select(ChainEvent)
        .where(ChainEvent.order_ref.in_(list(by_ref)), ChainEvent.chain_id == chain_id, ChainEvent.contract == ESCROW, ChainEvent.event == "EscrowFunded")
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    )
    for event in session.execute(query).scalars():  # the latest funding of each decides
        windows[by_ref[str(event.order_ref)]] = timedelta(seconds=int(event.args["disputeWindow"]))
    return windows


@dataclass(frozen=True)
class Progress:
    """The escrow's steps as the outbox knows them (confirmed, refused, on their way)."""

    in_flight: bool
    settled: bool  # a release or resolution is confirmed
    refused_releases: list[datetime]  # when each refused release was given up
    last_step: Step | None  # the latest confirmed of attest delivery, confirm receipt, open dispute
    last_step_at: datetime | None


def progress(session: Session, order_id: uuid.UUID) -> Progress:
    intents = intents_of(session, order_id)
    confirmed = [i for i in intents if i.state == IntentState.CONFIRMED]
    last = next((i for i in reversed(confirmed) if i.function in (Step.ATTEST_DELIVERY, Step.CONFIRM_RECEIPT, Step.OPEN_DISPUTE)), None)
    return Progress(
        in_flight=any(i.state in OPEN_STATES for i in intents),
        settled=any(i.function in SETTLING for i in confirmed),
        refused_releases=[i.finished_at for i in intents if i.function == Step.RELEASE and i.state == IntentState.FAILED and i.finished_at is not None],
        last_step=Step(last.function) if last is not None and last.function is not None else None,
        last_step_at=last.finished_at if last is not None else None,
    )


def settled_split(session: Session, order, settled_by: ChainIntent | None = None) -> tuple[Decimal, Decimal] | None:
    """(to the supplier, back to the buyer) as the escrow settled the order: from the
    confirmed transactions the chain executed, not from what the parties recorded (None
    while nothing settled it)."""
    confirmed = [i for i in intents_of(session, order.id) if i.state == IntentState.CONFIRMED]
    if settled_by is None:
        settled_by = next((i for i in reversed(confirmed) if i.function in SETTLING), None)
    if settled_by is None:
        return None
    if settled_by.function == Step.RESOLVE:
        to_supplier = from_units(call_args(settled_by)["payeeAmount"])
    else:
        receipt_step = next((i for i in reversed(confirmed) if i.function == Step.CONFIRM_RECEIPT), None)
        to_supplier = from_units(call_args(receipt_step)["acceptedValue"]) if receipt_step is not None else order.confirmed_total
    to_supplier = to_supplier.quantize(Decimal("0.01"))
    return to_supplier, order.confirmed_total - to_supplier


def on_settled(handler: Callable[[Session, uuid.UUID, ChainIntent], None]) -> Callable[[Session, ChainIntent], None]:
    """An outbox confirmation handler calling `handler(session, order_id, step)` when a
    release or a resolution of an order's escrow is mined (see `settled_split`; registered
    by concord.bootstrap)."""

    def confirmed(session: Session, intent: ChainIntent) -> None:
        if intent.subject_type == ESCROW_SUBJECT and intent.function in SETTLING:
            handler(session, uuid.UUID(intent.subject_id), intent)

    confirmed.__name__ = f"on_settled({getattr(handler, '__name__', handler)})"
    return confirmed


@dataclass(frozen=True)
class Settlement:
    """An order's escrow as its indexed DeliveryEscrow events tell it, with what the outbox
    still has on its way (`pending_steps`) and what the chain refused (`failed_steps`)."""

    order_id: uuid.UUID
    state: str  # none, pending, failed, or the state the latest event left on chain
    currency: str
    amount: Decimal | None  # what the order asks the escrow to hold
    escrow_reference: str
    funded_amount: Decimal | None = None
    payer: str | None = None
    payee: str | None = None
    carrier: str | None = None
    arbiter: str | None = None
    accepted_value: Decimal | None = None
    released_amount: Decimal | None = None  # to the payee, by release or resolution
    refunded_amount: Decimal | None = None  # back to the buyer
    dispute_window: timedelta | None = None
    pending_steps: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    transactions: list[ChainIntent] = field(default_factory=list)
    events: list[ChainEvent] = field(default_factory=list)


def settlement(session: Session, order) -> Settlement:
    """The order's escrow as the outbox and the indexed chain events tell it."""
    intents = intents_of(session, order.id)
    events = _events(session, order.id)
    values: dict[str, Any] = {}
    for event in events:
        args = event.args
        if event.event == "EscrowFunded":
            values.update(
                payer=args.get("buyer"),
                payee=args.get("payee"),
                carrier=args.get("carrier") or values.get("carrier"),
                arbiter=args.get("arbiter"),
                funded_amount=from_units(args["amount"]),
                dispute_window=timedelta(seconds=int(args["disputeWindow"])),
            )
        elif event.event == "CarrierAssigned":
            values["carrier"] = args.get("carrier")
        elif event.event == "ReceiptConfirmed":
            values["accepted_value"] = from_units(args["acceptedValue"])
        elif event.event == "DisputeResolved":
            values.update(released_amount=from_units(args["payeeAmount"]), refunded_amount=from_units(args["buyerAmount"]))
        elif event.event == "EscrowReleased":
            values.update(released_amount=from_units(args["payeeAmount"]), refunded_amount=from_units(args["refundAmount"]))
    if values.get("carrier") == ZERO_ADDRESS:
        values["carrier"] = None
    deciding = [event.event for event in events if event.event in _EVENT_STATES]
    if deciding:
        state = _EVENT_STATES[deciding[-1]]
    elif any(i.state == IntentState.FAILED for i in intents):
        state = "failed"
    elif intents:
        state = "pending"  # queued for the ledger, or mined and not indexed yet
    else:
        state = "none"
    return Settlement(
        order_id=order.id,
        state=state,
        currency=order.currency,
        amount=order.confirmed_total,
        escrow_reference="0x" + to_bytes32(order.id).hex(),
        # Steps recorded by the parties that the chain has not confirmed yet (queued while
        # the ledger is unreachable, or waiting for an earlier party's step).
        pending_steps=[intent.function for intent in intents if intent.function is not None and intent.state in OPEN_STATES],
        # Steps the chain refused: the escrow stays where the chain left it (see `state`).
        failed_steps=[intent.function for intent in intents if intent.function is not None and intent.state == IntentState.FAILED],
        transactions=intents,
        events=events,
        **values,
    )


# -- the contract's own record --------------------------------------------------------------


@dataclass(frozen=True)
class EscrowOnChain:
    """An order's escrow as the DeliveryEscrow contract holds it now (read, not indexed)."""

    state: str  # one of ESCROW_STATES
    buyer: str
    payee: str
    carrier: str
    arbiter: str
    token: str
    amount: Decimal
    accepted_value: Decimal


def escrow_on_chain(session: Session, chain: Chain, order_id: uuid.UUID) -> EscrowOnChain:
    """Read the order's escrow from the chain itself; "none" when it was never funded."""
    row = _deployment(session, chain.chain_id, ESCROW)
    contract = chain.contract(load_artifact(row.artifact).abi, row.address)
    escrow = contract.functions.escrowOf(to_bytes32(order_id)).call()
    fields_ = dict(zip([item["name"] for item in _escrow_struct(contract.abi)], escrow, strict=True))
    return EscrowOnChain(
        state=ESCROW_STATES[int(fields_["state"])],
        buyer=fields_["buyer"],
        payee=fields_["payee"],
        carrier=fields_["carrier"],
        arbiter=fields_["arbiter"],
        token=fields_["token"],
        amount=from_units(fields_["amount"]),
        accepted_value=from_units(fields_["acceptedValue"]),
    )


def _escrow_struct(abi: list[dict]) -> list[dict]:
    function = next(item for item in abi if item.get("type") == "function" and item.get("name") == "escrowOf")
    return function["outputs"][0]["components"]
