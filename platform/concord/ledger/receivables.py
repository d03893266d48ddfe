"""The receivables gateway: ReceivableRegistry and ReceivableExchange in domain verbs.

Finance never names a contract function nor reads an event argument: it calls the verbs
below, each of which queues outbox intents in the caller's transaction (sent by the key of
the party taking the step, after the steps it depends on) and returns them; it learns what
the chain did through `on_step` / `on_refused`, which call its handler with a
`ReceivableStep`, and reads the chain's own record with `receivable_on_chain` /
`offer_on_chain`.

    fingerprint_of  an invoice's fingerprint, bound to the deployed registry and chain
    register        the supplier registers a receivable (escrowed, or on open account)
    acknowledge     the buyer acknowledges an open-account receivable (an approved payable)
    pay             the buyer pays an open-account receivable to whoever holds it
    make_offer      a financier offers to finance a verified receivable
    withdraw_offer  the financier withdraws its offer
    accept_offer    the supplier accepts an offer: assignment and advance, all or nothing
    settle          the financier settles a financed receivable once it was paid: the waterfall
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.errors import Conflict
from concord.ledger import outbox
from concord.ledger.abi import artifact_name
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.encoding import due_date_timestamp, fingerprint, to_bytes32
from concord.ledger.escrow import ESCROW, ESCROW_SUBJECT
from concord.ledger.escrow import Step as EscrowStep
from concord.ledger.models import ChainIntent, IntentState
from concord.ledger.service import LedgerNotReady, _deployment, address_of, current_chain_id, from_units, token_name, token_units

REGISTRY = "ReceivableRegistry"
EXCHANGE = "ReceivableExchange"
TOKEN = "SettlementToken"
RECEIVABLE_SUBJECT = "receivable"
OFFER_SUBJECT = "financing_offer"
ZERO_ADDRESS = "0x" + "00" * 20
#: Invoice amounts go into a fingerprint in hundredths (the platform's invoice precision).
_FINGERPRINT_PLACES = 2


class ReceivableStep(StrEnum):
    """The steps of a receivable and of a financing offer on chain."""

    REGISTER = "register"  # the supplier registered it (escrowed or on open account)
    ACKNOWLEDGE = "acknowledge"  # the buyer acknowledged an open-account receivable
    ALLOW_PAYMENT = "allow_payment"  # the buyer let the registry take its payment
    PAY = "pay"  # the buyer paid the holder; the receivable is settled
    ALLOW_FINANCING = "allow_financing"  # the financier let the exchange take advances / shares
    OFFER = "offer"  # the financier's offer is on chain
    WITHDRAW_OFFER = "withdraw_offer"
    ALLOW_ASSIGNMENT = "allow_assignment"  # the holder let the exchange assign the receivable
    ACCEPT = "accept"  # assigned to the financier and the advance paid, in one transaction
    COLLECT = "collect"  # the financier withdrew the escrow's payment of the receivable
    SETTLE = "settle"  # the waterfall: the supplier's share of the payment paid back


_STEPS: dict[tuple[str, str], ReceivableStep] = {
    (REGISTRY, "register"): ReceivableStep.REGISTER,
    (REGISTRY, "registerOpenAccount"): ReceivableStep.REGISTER,
    (REGISTRY, "acknowledge"): ReceivableStep.ACKNOWLEDGE,
    (REGISTRY, "pay"): ReceivableStep.PAY,
    (REGISTRY, "approve"): ReceivableStep.ALLOW_ASSIGNMENT,
    (EXCHANGE, "offer"): ReceivableStep.OFFER,
    (EXCHANGE, "withdrawOffer"): ReceivableStep.WITHDRAW_OFFER,
    (EXCHANGE, "accept"): ReceivableStep.ACCEPT,
    (EXCHANGE, "settle"): ReceivableStep.SETTLE,
    (ESCROW, EscrowStep.WITHDRAW.value): ReceivableStep.COLLECT,
}


def step_of(intent: ChainIntent) -> ReceivableStep | None:
    """The step an intent of a receivable or an offer takes (None: not one of theirs)."""
    if intent.subject_type not in (RECEIVABLE_SUBJECT, OFFER_SUBJECT) or intent.function is None:
        return None
    contract = artifact_name(intent.contract)
    if contract == TOKEN and intent.function == "approve":
        return ReceivableStep.ALLOW_PAYMENT if intent.subject_type == RECEIVABLE_SUBJECT else ReceivableStep.ALLOW_FINANCING
    return _STEPS.get((contract, intent.function))


# -- the registry and fingerprints ------------------------------------------------------------


def _chain_id(session: Session) -> int:
    chain_id = current_chain_id(session)
    if chain_id is None:
        raise LedgerNotReady("The ledger's contracts are not deployed yet; receivables cannot be registered.")
    return chain_id


def registry_address(session: Session) -> tuple[int, str]:
    """(chain id, address) of the ReceivableRegistry the platform works with."""
    chain_id = _chain_id(session)
    return chain_id, _deployment(session, chain_id, REGISTRY).address


def hundredths(amount: Decimal) -> int:
    """An invoice amount in hundredths, exactly (refuses anything finer)."""
    scaled = amount.scaleb(_FINGERPRINT_PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {_FINGERPRINT_PLACES} decimal places")
    return int(scaled)


def fingerprint_of(
    session: Session,
    *,
    supplier_org_id: uuid.UUID,
    buyer_org_id: uuid.UUID,
    invoice_number: str,
    amount: Decimal,
    currency: str,
    due_date: date,
) -> str:
    """The invoice's fingerprint ("0x…") in the deployed registry on the current chain: the
    value the registry computes and refuses to register twice."""
    chain_id, address = registry_address(session)
    digest = fingerprint(supplier_org_id, buyer_org_id, invoice_number, hundredths(amount), currency, due_date, chain_id=chain_id, registry=address)
    return "0x" + digest.hex()


def _fp(receivable) -> bytes:
    return bytes.fromhex(receivable.fingerprint.removeprefix("0x"))


def _latest(session: Session, subject_type: str, subject_id: uuid.UUID, *, functions: tuple[str, ...] | None = None) -> ChainIntent | None:
    """The subject's latest intent the chain has not refused (a refused one changed nothing)."""
    query = sa.select(ChainIntent).where(
        ChainIntent.subject_type == subject_type, ChainIntent.subject_id == str(subject_id), ChainIntent.state != IntentState.FAILED
    )
    if functions is not None:
        query = query.where(ChainIntent.function.in_(functions))
    return session.execute(query.order_by(ChainIntent.seq.desc()).limit(1)).scalar_one_or_none()


def _address(session: Session, organization_id: uuid.UUID) -> str:
    address = address_of(session, organization_id)
    if address is None:
        raise Conflict(f"Organization {organization_id} has no signing key, so it cannot act on the ledger.")
    return address


# -- receivables ----------------------------------------------------------------------------


def register(session: Session, *, receivable, order) -> list[ChainIntent]:
    """Queue the supplier's registration of `receivable` for `order`: escrowed (the escrow
    pays its holder; sent once the escrow's funding is), or on open account (its face value
    owed by the buyer at the due date, waiting for the buyer's acknowledgement)."""
    chain_id, _registry = registry_address(session)
    subject = (RECEIVABLE_SUBJECT, receivable.id)
    if receivable.escrowed:
        funding = _latest(session, ESCROW_SUBJECT, order.id, functions=(EscrowStep.FUND.value,))
        if funding is None:
            raise Conflict("The order's escrow is not funded, so an escrowed receivable cannot be registered for it.", current_state=str(receivable.state))
        intent = outbox.enqueue(
            session,
            organization_id=receivable.supplier_org_id,
            contract=REGISTRY,
            function="register",
            args=[_fp(receivable), to_bytes32(order.id)],
            purpose=f"Register the receivable of order {order.number} ({receivable.amount} {receivable.currency}, paid by its escrow)",
            subject=subject,
            after=funding,
        )
        return [intent]
    token = _deployment(session, chain_id, token_name(receivable.currency))
    intent = outbox.enqueue(
        session,
        organization_id=receivable.supplier_org_id,
        contract=REGISTRY,
        function="registerOpenAccount",
        args=[
            _fp(receivable),
            to_bytes32(order.id),
            _address(session, receivable.buyer_org_id),
            token.address,
            token_units(receivable.amount),
            due_date_timestamp(receivable.due_date),
        ],
        purpose=f"Register the receivable of order {order.number} ({receivable.amount} {receivable.currency}, due {receivable.due_date.isoformat()})",
        subject=subject,
    )
    return [intent]


def acknowledge(session: Session, *, receivable) -> ChainIntent:
    """Queue the buyer's acknowledgement of an open-account receivable (after its registration)."""
    _require_open_account(receivable)
    registry_address(session)
    return outbox.enqueue(
        session,
        organization_id=receivable.buyer_org_id,
        contract=REGISTRY,
        function="acknowledge",
        args=[_fp(receivable)],
        purpose=f"Acknowledge the payable of {receivable.amount} {receivable.currency} due {receivable.due_date.isoformat()}",
        subject=(RECEIVABLE_SUBJECT, receivable.id),
        after=_latest(session, RECEIVABLE_SUBJECT, receivable.id),
    )


def pay(session: Session, *, receivable, amount: Decimal) -> list[ChainIntent]:
    """Queue the buyer's payment of `amount` (at most the face value) of an acknowledged
    open-account receivable, straight to whoever holds it when the payment is mined."""
    _require_open_account(receivable)
    if not Decimal(0) < amount <= receivable.amount:
        raise Conflict(
            f"A payment is more than nothing and at most the receivable's {receivable.amount} {receivable.currency}.", current_state=str(receivable.state)
        )
    chain_id, registry = registry_address(session)
    token = _deployment(session, chain_id, token_name(receivable.currency))
    units = token_units(amount)
    common: dict[str, Any] = {"organization_id": receivable.buyer_org_id, "subject": (RECEIVABLE_SUBJECT, receivable.id)}
    return [
        outbox.enqueue(
            session,
            contract=token.name,
            function="approve",
            args=[registry, units],
            purpose=f"Allow the receivable registry to take {amount} {receivable.currency}",
            after=_latest(session, RECEIVABLE_SUBJECT, receivable.id),
            **common,
        ),
        outbox.enqueue(
            session,
            contract=REGISTRY,
            function="pay",
            args=[_fp(receivable), units],
            purpose=f"Pay {amount} {receivable.currency} of the receivable due {receivable.due_date.isoformat()} to its holder",
            **common,
        ),
    ]


def _require_open_account(receivable) -> None:
    if receivable.escrowed:
        raise Conflict("This receivable is paid by its order's escrow, not by the buyer directly.", current_state=str(receivable.state))


# -- financing offers -----------------------------------------------------------------------


def _expires_at(moment: datetime | None) -> int:
    if moment is None:
        raise Conflict("An offer on chain needs a validity.")
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return int(aware.timestamp())


def _offer_terms(offer) -> tuple[int, int]:
    if offer.advance is None or offer.claim is None:
        raise Conflict("The offer has no terms yet (advance and claim).", current_state=str(offer.state))
    return token_units(offer.advance), token_units(offer.claim)


def _allow_exchange(session: Session, offer, receivable, allowance: Decimal, purpose: str, *, after: ChainIntent | None = None) -> ChainIntent:
    """Set the financier's allowance to the exchange (set, not added to: the caller's figure
    covers every open offer of the financier, see `make_offer`)."""
    chain_id = _chain_id(session)
    token = _deployment(session, chain_id, token_name(receivable.currency))
    exchange = _deployment(session, chain_id, EXCHANGE)
    return outbox.enqueue(
        session,
        organization_id=offer.financier_org_id,
        contract=token.name,
        function="approve",
        args=[exchange.address, token_units(allowance)],
        purpose=purpose,
        subject=(OFFER_SUBJECT, offer.id),
        after=after,
    )


def make_offer(session: Session, *, offer, receivable, committed: Decimal) -> list[ChainIntent]:
    """Queue the financier's offer on chain, after the receivable's latest step (its
    registration or acknowledgement): it allows the exchange what its open offers need
    (`committed`, what its other open offers in this currency may still take, plus this
    advance), then offers `advance` against `claim` until `valid_until`."""
    advance, claim = _offer_terms(offer)
    expires_at = _expires_at(offer.valid_until)
    allow = _allow_exchange(
        session,
        offer,
        receivable,
        committed + offer.advance,
        f"Allow the receivable exchange to take the advance of {offer.advance} {receivable.currency}",
        after=_latest(session, RECEIVABLE_SUBJECT, receivable.id),
    )
    made = outbox.enqueue(
        session,
        organization_id=offer.financier_org_id,
        contract=EXCHANGE,
        function="offer",
        args=[to_bytes32(offer.id), _fp(receivable), advance, claim, expires_at],
        purpose=f"Offer {offer.advance} {receivable.currency} now against {offer.claim} of the receivable",
        subject=(OFFER_SUBJECT, offer.id),
    )
    return [allow, made]


def withdraw_offer(session: Session, *, offer) -> ChainIntent:
    """Queue the financier's withdrawal of its offer (after the offer itself)."""
    _chain_id(session)
    return outbox.enqueue(
        session,
        organization_id=offer.financier_org_id,
        contract=EXCHANGE,
        function="withdrawOffer",
        args=[to_bytes32(offer.id)],
        purpose="Withdraw the financing offer",
        subject=(OFFER_SUBJECT, offer.id),
        after=_latest(session, OFFER_SUBJECT, offer.id),
    )


def accept_offer(session: Session, *, offer, receivable) -> list[ChainIntent]:
    """Queue the supplier's acceptance, once the offer is on chain: it lets the exchange
    assign the receivable, then accepts (the exchange assigns it to the financier and pays
    the advance in the same transaction, or does neither)."""
    chain_id = _chain_id(session)
    exchange = _deployment(session, chain_id, EXCHANGE)
    made = _latest(session, OFFER_SUBJECT, offer.id, functions=("offer",))
    if made is None:
        raise Conflict("The offer is not on the ledger, so it cannot be accepted.", current_state=str(offer.state))
    common: dict[str, Any] = {"organization_id": receivable.holder_org_id, "subject": (OFFER_SUBJECT, offer.id)}
    return [
        outbox.enqueue(
            session,
            contract=REGISTRY,
            function="approve",
            args=[_fp(receivable), exchange.address],
            purpose="Let the receivable exchange assign the receivable to the financier",
            after=made,
            **common,
        ),
        outbox.enqueue(
            session,
            contract=EXCHANGE,
            function="accept",
            args=[to_bytes32(offer.id)],
            purpose=f"Accept the financing offer: the receivable for {offer.advance} {receivable.currency} now",
            **common,
        ),
    ]


def supplier_share(offer, amount_paid: Decimal) -> Decimal:
    """What of `amount_paid` goes back to the supplier: all beyond the financier's claim."""
    claim = offer.claim if offer.claim is not None else Decimal(0)
    return amount_paid - min(amount_paid, claim)


def settle(session: Session, *, offer, receivable, committed: Decimal) -> list[ChainIntent]:
    """Queue the financier's settlement of a financed receivable that was paid: it withdraws
    the escrow's payment (escrowed ones), allows the exchange the supplier's share (on top of
    `committed`, what the financier's other open offers may still take), and settles (the exchange pays the supplier its share and records the waterfall)."""
    if receivable.amount_paid is None:
        raise Conflict("The receivable has not been paid yet, so its financing cannot be settled.", current_state=str(receivable.state))
    chain_id = _chain_id(session)
    intents = []
    if receivable.escrowed:
        token = _deployment(session, chain_id, token_name(receivable.currency))
        intents.append(
            outbox.enqueue(
                session,
                organization_id=offer.financier_org_id,
                contract=ESCROW,
                function=EscrowStep.WITHDRAW.value,
                args=[token.address],
                purpose=f"Withdraw the escrow's payment of the financed receivable ({receivable.amount_paid} {receivable.currency})",
                subject=(OFFER_SUBJECT, offer.id),
            )
        )
    share = supplier_share(offer, receivable.amount_paid)
    intents.append(
        _allow_exchange(
            session, offer, receivable, committed + share, f"Allow the receivable exchange to pay the supplier its share of {share} {receivable.currency}"
        )
    )
    intents.append(
        outbox.enqueue(
            session,
            organization_id=offer.financier_org_id,
            contract=EXCHANGE,
            function="settle",
            args=[to_bytes32(offer.id)],
            purpose=f"Settle the financed receivable: {receivable.amount_paid} {receivable.currency} paid, {share} back to the supplier",
            subject=(OFFER_SUBJECT, offer.id),
            after=_latest(session, OFFER_SUBJECT, offer.id, functions=("accept",)),
        )
    )
    return intents


# -- confirmations and refusals -------------------------------------------------------------

StepHandler = Callable[[Session, str, uuid.UUID, ReceivableStep, ChainIntent], None]


def _adapter(handler: StepHandler, kind: str) -> Callable[[Session, ChainIntent], None]:
    def react(session: Session, intent: ChainIntent) -> None:
        step = step_of(intent)
        if step is not None and intent.subject_id is not None:
            handler(session, str(intent.subject_type), uuid.UUID(intent.subject_id), step, intent)

    react.__name__ = f"{kind}({getattr(handler, '__name__', handler)})"
    return react


def on_step(handler: StepHandler) -> Callable[[Session, ChainIntent], None]:
    """An outbox confirmation handler (wiring.on_confirmed) calling
    `handler(session, subject_type, subject_id, step, intent)` for each confirmed step of a
    receivable or a financing offer."""
    return _adapter(handler, "on_step")


def on_refused(handler: StepHandler) -> Callable[[Session, ChainIntent], None]:
    """The same for steps the chain refused or the outbox gave up on (wiring.on_failed)."""
    return _adapter(handler, "on_refused")


# -- reading the chain ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivableView:
    """A receivable as the registry holds it."""

    fingerprint: str
    order_ref: str
    issuer: str
    holder: str
    debtor: str
    token: str
    amount: Decimal
    amount_paid: Decimal
    due_date: date | None
    registered_at: datetime
    escrowed: bool
    acknowledged: bool
    settled: bool
    verified: bool


@dataclass(frozen=True)
class OfferView:
    """A financing offer as the exchange holds it (shares once settled)."""

    offer_ref: str
    fingerprint: str
    state: str
    financier: str
    supplier: str | None
    token: str
    advance: Decimal
    claim: Decimal
    expires_at: datetime
    amount_paid: Decimal
    financier_share: Decimal
    supplier_share: Decimal


OFFER_STATES = ("none", "open", "withdrawn", "accepted", "settled")


def _struct(contract, function: str, *args) -> dict[str, Any]:
    item = next(i for i in contract.abi if i.get("type") == "function" and i.get("name") == function)
    names = [component["name"] for component in item["outputs"][0]["components"]]
    return dict(zip(names, getattr(contract.functions, function)(*args).call(), strict=True))


def _contract(chain: Chain, name: str, address: str):
    return chain.contract(load_artifact(name).abi, address)


def _hex(value: str | bytes) -> bytes:
    return bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else value


def receivable_on_chain(chain: Chain, registry_address: str, fp: str | bytes) -> ReceivableView | None:
    """The registry's record of the receivable `fp`; None when it was never registered."""
    registry = _contract(chain, REGISTRY, registry_address)
    digest = _hex(fp)
    record = _struct(registry, "receivableOf", digest)
    if int(record["issuer"], 16) == 0:
        return None
    due = int(record["dueDate"])
    return ReceivableView(
        fingerprint="0x" + digest.hex(),
        order_ref="0x" + bytes(record["orderId"]).hex(),
        issuer=record["issuer"],
        holder=record["holder"],
        debtor=record["debtor"],
        token=record["token"],
        amount=from_units(record["amount"]),
        amount_paid=from_units(record["amountPaid"]),
        due_date=datetime.fromtimestamp(due, UTC).date() if due else None,
        registered_at=datetime.fromtimestamp(int(record["registeredAt"]), UTC),
        escrowed=bool(record["escrowed"]),
        acknowledged=bool(record["acknowledged"]),
        settled=bool(record["settled"]),
        verified=bool(registry.functions.isVerified(digest).call()),
    )


def offer_on_chain(chain: Chain, exchange_address: str, offer_id: uuid.UUID) -> OfferView | None:
    """The exchange's record of the offer `offer_id`; None when it was never made on chain."""
    record = _struct(_contract(chain, EXCHANGE, exchange_address), "offerOf", to_bytes32(offer_id))
    state = OFFER_STATES[int(record["state"])]
    if state == "none":
        return None
    return OfferView(
        offer_ref="0x" + to_bytes32(offer_id).hex(),
        fingerprint="0x" + bytes(record["fingerprint"]).hex(),
        state=state,
        financier=record["financier"],
        supplier=None if int(record["supplier"], 16) == 0 else record["supplier"],
        token=record["token"],
        advance=from_units(record["advance"]),
        claim=from_units(record["claim"]),
        expires_at=datetime.fromtimestamp(int(record["expiresAt"]), UTC),
        amount_paid=from_units(record["amountPaid"]),
        financier_share=from_units(record["financierShare"]),
        supplier_share=from_units(record["supplierShare"]),
    )


def exchange_address(session: Session) -> tuple[int, str]:
    """(chain id, address) of the ReceivableExchange the platform works with."""
    chain_id = _chain_id(session)
    return chain_id, _deployment(session, chain_id, EXCHANGE).address
