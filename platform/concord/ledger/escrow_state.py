"""Where an order's escrow stands, read three ways (escrow.py has the verbs that move it):

Settlement     the escrow as its indexed DeliveryEscrow events tell it, with the steps
               the outbox still has on their way and those the chain refused
Progress       its steps as the outbox knows them (confirmed, refused, in flight)
EscrowOnChain  the contract's own record, read from the chain (`ledger verify`)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from web3.types import BlockIdentifier

from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.encoding import to_bytes32
from concord.ledger.escrow import (
    _EVENT_STATES,
    ESCROW,
    ESCROW_STATES,
    ESCROW_SUBJECT,
    SETTLING,
    ZERO_ADDRESS,
    Step,
    call_args,
    intents_of,
)
from concord.ledger.models import OPEN_STATES, ChainEvent, ChainIntent, ContractDeployment, IntentState
from concord.ledger.service import _deployment, current_chain_id, from_units


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
    return escrow_reader(chain, _deployment(session, chain.chain_id, ESCROW))(order_id)


def escrow_reader(chain: Chain, deployment: ContractDeployment, *, block: BlockIdentifier = "latest") -> Callable[[uuid.UUID], EscrowOnChain]:
    """A reader of escrows from the deployed contract, as they stood at `block`."""
    contract = chain.contract(load_artifact(deployment.artifact).abi, deployment.address)
    names = [item["name"] for item in _escrow_struct(contract.abi)]

    def read(order_id: uuid.UUID) -> EscrowOnChain:
        fields_ = dict(zip(names, contract.functions.escrowOf(to_bytes32(order_id)).call(block_identifier=block), strict=True))
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

    return read


def _escrow_struct(abi: list[dict]) -> list[dict]:
    function = next(item for item in abi if item.get("type") == "function" and item.get("name") == "escrowOf")
    return function["outputs"][0]["components"]
