"""What other domains ask of the ledger: keys for new members, and the chain intents that
mirror a membership change (written in the caller's transaction, sent by the outbox)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import policy
from concord.audit.service import Action, record
from concord.errors import Conflict, ValidationFailed
from concord.ledger import keys, outbox
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.encoding import MemberRole, to_bytes32
from concord.ledger.models import OPEN_STATES, ChainEvent, ChainIntent, ContractDeployment, IndexerCursor, IntentState, OrganizationKey, TokenBalance
from concord.policy import Principal

CONSORTIUM = "Consortium"
_ROLE_OF_CAPABILITY = {
    "buyer": MemberRole.BUYER,
    "supplier": MemberRole.SUPPLIER,
    "carrier": MemberRole.CARRIER,
    "financier": MemberRole.FINANCIER,
    "auditor": MemberRole.AUDITOR,
}


def keyring() -> keys.KeyRing:
    return keys.KeyRing.of(current_app._get_current_object())


def member_roles(capabilities, *, is_operator: bool = False) -> int:
    """The consortium role flags of an organization's capabilities (the operator arbitrates)."""
    roles = MemberRole(0)
    for capability in capabilities:
        roles |= _ROLE_OF_CAPABILITY[str(capability)]
    if is_operator:
        roles |= MemberRole.ARBITER
    return int(roles)


def provision_key(session: Session, organization_id: uuid.UUID) -> OrganizationKey:
    """Give an organization its custodial signing key (in the caller's transaction)."""
    return keys.create_key(session, keyring(), organization_id)


def _operator_id(session: Session) -> uuid.UUID:
    from concord.tenancy.models import Organization  # the operator is a tenancy fact

    return session.execute(sa.select(Organization.id).where(Organization.is_operator.is_(True))).scalar_one()


def admit_member(session: Session, organization) -> OrganizationKey:
    """Key the newly approved organization and queue its admission to the consortium,
    sent by the operator, in the same transaction as the approval."""
    key = provision_key(session, organization.id)
    outbox.enqueue(
        session,
        organization_id=_operator_id(session),
        contract=CONSORTIUM,
        function="addMember",
        args=[key.address, to_bytes32(organization.id), member_roles(organization.capabilities)],
        purpose=f"Admit {organization.legal_name} to the consortium",
        subject=("organization", organization.id),
    )
    return key


def change_membership(session: Session, organization, *, suspend: bool) -> ChainIntent | None:
    """Queue the suspension or reinstatement of an admitted organization's chain account."""
    key = session.get(OrganizationKey, organization.id)
    if key is None:
        return None
    return outbox.enqueue(
        session,
        organization_id=_operator_id(session),
        contract=CONSORTIUM,
        function="suspendMember" if suspend else "reinstateMember",
        args=[key.address],
        purpose=f"{'Suspend' if suspend else 'Reinstate'} {organization.legal_name} in the consortium",
        subject=("organization", organization.id),
    )


ARBITER_SUBJECT = "arbiter"


def grant_arbiter(session: Session, organization) -> ChainIntent:
    """Queue the operator's grant of the arbiter role to a member a partnership names (its
    other roles kept), so that escrows may name it to decide their disputes."""
    key = session.get(OrganizationKey, organization.id)
    return outbox.enqueue(
        session,
        organization_id=_operator_id(session),
        contract=CONSORTIUM,
        function="updateMemberRoles",
        args=[key.address, member_roles(organization.capabilities, is_operator=True)],
        purpose=f"Let {organization.legal_name} arbitrate escrow disputes",
        subject=(ARBITER_SUBJECT, organization.id),
    )


def _arbiter_ready(session: Session, organization_id: uuid.UUID) -> ChainIntent | None:
    """The grant of the arbiter role an escrow naming this member must wait for (None: the
    role is on chain, or it is the operator's own); a refused grant is asked for again."""
    if organization_id == _operator_id(session):
        return None
    latest = session.execute(
        sa.select(ChainIntent)
        .where(ChainIntent.subject_type == ARBITER_SUBJECT, ChainIntent.subject_id == str(organization_id))
        .order_by(ChainIntent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is not None and latest.state == IntentState.CONFIRMED:
        return None
    if latest is not None and latest.state in OPEN_STATES:
        return latest
    from concord.tenancy.models import Organization

    return grant_arbiter(session, session.get(Organization, organization_id))


def address_of(session: Session, organization_id) -> str | None:
    row = session.get(OrganizationKey, organization_id)
    return row.address if row else None


# -- settlement tokens ----------------------------------------------------------------------

TOKEN_DECIMALS = 6  # every settlement token (SettlementToken.decimals())


def token_units(amount: Decimal) -> int:
    """An exact decimal amount as token units; refuses anything finer than a unit."""
    units = amount.scaleb(TOKEN_DECIMALS)
    if units != units.to_integral_value():
        raise ValueError(f"{amount} has more than {TOKEN_DECIMALS} decimal places")
    return int(units)


def from_units(units: int) -> Decimal:
    return Decimal(int(units)).scaleb(-TOKEN_DECIMALS).quantize(Decimal(1).scaleb(-TOKEN_DECIMALS))


def token_name(currency: str) -> str:
    return f"SettlementToken.{currency}"


def mint(session: Session, principal: Principal, organization_id: uuid.UUID, currency: str, amount: Decimal) -> ChainIntent:
    """The operator issues settlement tokens (a tokenized deposit) to a member, via the outbox."""
    from concord.tenancy.models import Organization, OrgStatus

    policy.require_operator_admin(principal)
    errors = {}
    organization = session.get(Organization, organization_id)
    key = session.get(OrganizationKey, organization_id)
    if organization is None or organization.status != OrgStatus.ACTIVE or organization.is_operator or key is None:
        errors["organization_id"] = ["Not an active member of the consortium."]
    if currency not in current_app.config["SETTLEMENT_CURRENCIES"]:
        errors["currency"] = [f"Settlement tokens exist for {', '.join(current_app.config['SETTLEMENT_CURRENCIES'])}."]
    if errors:
        raise ValidationFailed(errors)
    intent = outbox.enqueue(
        session,
        organization_id=principal.org.id,
        contract=token_name(currency),
        function="mint",
        args=[key.address, token_units(amount)],
        purpose=f"Mint {amount} {currency} to {organization.legal_name}",
        subject=("mint", organization.id),
    )
    session.flush()
    record(
        session, Action.TOKENS_MINTED, actor=principal.actor, subject_org_id=principal.org.id, related_org_id=organization.id,
        object_type="chain_transaction", object_id=intent.uid, after={"currency": currency, "amount": str(amount), "to": key.address},
    )
    session.commit()
    return intent


def balances(session: Session, organization_id: uuid.UUID, chain_id: int | None) -> list[dict]:
    """The organization's settlement-token balances as indexed from the chain."""
    key = session.get(OrganizationKey, organization_id)
    if key is None or chain_id is None:
        return []
    cursor = session.get(IndexerCursor, chain_id)
    rows = {
        row.token: row
        for row in session.execute(sa.select(TokenBalance).where(TokenBalance.chain_id == chain_id, TokenBalance.address == key.address)).scalars()
    }
    deployed = session.execute(
        sa.select(ContractDeployment.name).where(ContractDeployment.chain_id == chain_id, ContractDeployment.name.like("SettlementToken.%"))
    ).scalars()
    return [
        {
            "currency": name.split(".", 1)[1],
            "balance": from_units(rows[name].units if name in rows else 0),
            "address": key.address,
            "as_of_block": (cursor.next_block - 1) if cursor else None,
        }
        for name in sorted(deployed)
    ]


def current_chain_id(session: Session) -> int | None:
    """The chain the contracts were last deployed on (what the platform works with)."""
    return session.execute(
        sa.select(ContractDeployment.chain_id).order_by(ContractDeployment.deployed_at.desc()).limit(1)
    ).scalar_one_or_none()


# -- delivery escrow ------------------------------------------------------------------------

ESCROW = "DeliveryEscrow"
ESCROW_SUBJECT = "order_escrow"
ZERO_ADDRESS = "0x" + "00" * 20
#: DeliveryEscrow events, newest deciding, and the escrow state each one leaves.
_ESCROW_EVENT_STATES = {
    "EscrowFunded": "funded",
    "CarrierAssigned": "funded",
    "DeliveryAttested": "delivered",
    "ReceiptConfirmed": "receipt_confirmed",
    "DisputeOpened": "disputed",
    "DisputeResolved": "resolved",
    "EscrowReleased": "released",
}


class LedgerNotReady(Conflict):
    title = "Ledger not ready"


def _deployment(session: Session, chain_id: int, name: str) -> ContractDeployment:
    row = session.get(ContractDeployment, (chain_id, name))
    if row is None:
        raise LedgerNotReady(f"{name} is not deployed on the ledger yet; try again once the operator has deployed the contracts.")
    return row


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
            ChainIntent.sender == buyer_address, ChainIntent.contract == ESCROW, ChainIntent.function == "fund",
            sa.or_(ChainIntent.state.in_(OPEN_STATES), sa.and_(ChainIntent.state == IntentState.CONFIRMED, ChainIntent.block_number >= indexed_to)),
        )
    ).scalars()
    return sum(int(f.args[5]) for f in fundings if str(f.args[4]).lower() == token_address.lower())


def fund_escrow(session: Session, order) -> list[ChainIntent]:
    """Queue the buyer's funding of the order's escrow with its confirmed total, in the
    caller's transaction; 409 when the buyer's settlement balance cannot cover it.

    The balance is the indexed one less what pending fundings will take, so the check
    holds while the chain is unreachable: the funding then queues in the outbox."""
    from concord.tenancy.models import Organization

    chain_id = current_chain_id(session)
    if chain_id is None:
        raise LedgerNotReady("The ledger's contracts are not deployed yet; the escrow cannot be funded.")
    token = _deployment(session, chain_id, token_name(order.currency))
    escrow = _deployment(session, chain_id, ESCROW)
    # Locked before the balance is read: a concurrent funding by the same buyer waits for
    # this one to commit, then sees its reservation (and its intents stay in one run).
    buyer, supplier = outbox.lock_sender(session, order.buyer_org_id), session.get(OrganizationKey, order.supplier_org_id)
    arbiter_id = order.arbiter_org_id or _operator_id(session)
    arbiter = session.get(OrganizationKey, arbiter_id)
    if session.get(Organization, arbiter_id).status != "active":
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
    buyer_name = session.get(Organization, order.buyer_org_id).legal_name
    common = {"organization_id": order.buyer_org_id, "subject": (ESCROW_SUBJECT, order.id)}
    return [
        outbox.enqueue(
            # A named arbiter must hold its role on chain before an escrow may name it.
            session, contract=token.name, function="approve", args=[escrow.address, units], after=_arbiter_ready(session, arbiter_id),
            purpose=f"Allow the escrow to take {order.confirmed_total} {order.currency} for order {order.number}", **common,
        ),
        outbox.enqueue(
            session, contract=ESCROW, function="fund",
            args=[to_bytes32(order.id), supplier.address, ZERO_ADDRESS, arbiter.address, token.address, units],
            purpose=f"{buyer_name} locks {order.confirmed_total} {order.currency} in escrow for order {order.number}", **common,
        ),
    ]


def escrow_intents(session: Session, order_id: uuid.UUID) -> list[ChainIntent]:
    return list(
        session.execute(
            sa.select(ChainIntent).where(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order_id)).order_by(ChainIntent.seq)
        ).scalars()
    )


def escrow_in_flight(session: Session, order_id: uuid.UUID) -> bool:
    """Whether a step of the order's escrow is queued or sent and not yet settled."""
    return session.execute(
        sa.select(ChainIntent.seq)
        .where(ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order_id), ChainIntent.state.in_(OPEN_STATES))
        .limit(1)
    ).first() is not None


def escrow_step(session: Session, order, organization_id: uuid.UUID, function: str, args: list, purpose: str) -> ChainIntent:
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
        session, organization_id=organization_id, contract=ESCROW, function=function, args=[to_bytes32(order.id), *args],
        purpose=purpose, subject=(ESCROW_SUBJECT, order.id), after=previous,
    )


def escrow_step_confirmed_at(session: Session, order_id: uuid.UUID, function: str) -> "datetime | None":
    """When the worker saw the order's escrow `function` confirmed (None: not yet)."""
    return session.execute(
        sa.select(ChainIntent.finished_at).where(
            ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order_id),
            ChainIntent.function == function, ChainIntent.state == IntentState.CONFIRMED,
        ).order_by(ChainIntent.seq.desc()).limit(1)
    ).scalar_one_or_none()


def escrow_step_failed(session: Session, order_id: uuid.UUID, function: str) -> bool:
    """Whether the order's latest escrow `function` step failed."""
    state = session.execute(
        sa.select(ChainIntent.state).where(
            ChainIntent.subject_type == ESCROW_SUBJECT, ChainIntent.subject_id == str(order_id), ChainIntent.function == function
        ).order_by(ChainIntent.seq.desc()).limit(1)
    ).scalar_one_or_none()
    return state == IntentState.FAILED


def escrow_event(session: Session, order_id: uuid.UUID, event: str) -> ChainEvent | None:
    """The order's latest indexed DeliveryEscrow `event`, if any."""
    chain_id = current_chain_id(session)
    if chain_id is None:
        return None
    return session.execute(
        sa.select(ChainEvent)
        .where(
            ChainEvent.order_ref == "0x" + to_bytes32(order_id).hex(), ChainEvent.chain_id == chain_id,
            ChainEvent.contract == ESCROW, ChainEvent.event == event,
        )
        .order_by(ChainEvent.block_number.desc(), ChainEvent.log_index.desc())
        .limit(1)
    ).scalar_one_or_none()


def withdraw(session: Session, order, organization_id: uuid.UUID, *, after: ChainIntent | None) -> ChainIntent | None:
    """Queue `organization_id`'s withdrawal of what the escrow credited it in the order's
    currency, unless one is still queued: a withdrawal takes everything credited when it is
    mined, so a queued one covers this credit too (a signed one may have been mined already)."""
    chain_id = current_chain_id(session)
    token = _deployment(session, chain_id, token_name(order.currency))
    sender = address_of(session, organization_id)
    pending = session.execute(
        sa.select(ChainIntent.seq).where(
            ChainIntent.sender == sender, ChainIntent.contract == ESCROW, ChainIntent.function == "withdraw",
            ChainIntent.state == IntentState.QUEUED, ChainIntent.args[0].as_string() == token.address,
        ).limit(1)
    ).first() if sender else None
    if sender is None or pending is not None:
        return None
    return outbox.enqueue(
        session, organization_id=organization_id, contract=ESCROW, function="withdraw", args=[token.address],
        purpose=f"Withdraw {order.currency} paid out by the escrow (order {order.number})", subject=(ESCROW_SUBJECT, order.id), after=after,
    )


def anchor_proof(session: Session, organization_id: uuid.UUID, batch_id: uuid.UUID, proof_hash: str, purpose: str, subject: tuple[str, uuid.UUID]) -> ChainIntent:
    """Anchor one record's hash on ProvenanceAnchor under `batch_id`, with the organization's key."""
    chain_id = current_chain_id(session)
    if chain_id is None:
        raise LedgerNotReady("The ledger's contracts are not deployed yet.")
    _deployment(session, chain_id, "ProvenanceAnchor")
    return outbox.enqueue(
        session, organization_id=organization_id, contract="ProvenanceAnchor", function="anchor",
        args=[to_bytes32(batch_id), bytes.fromhex(proof_hash.removeprefix("0x")), 1], purpose=purpose, subject=subject,
    )


#: IDeliveryEscrow.EscrowState, by its index on chain.
ESCROW_STATES = ("none", "funded", "delivered", "receipt_confirmed", "disputed", "released", "resolved")


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
        buyer=fields_["buyer"], payee=fields_["payee"], carrier=fields_["carrier"], arbiter=fields_["arbiter"], token=fields_["token"],
        amount=from_units(fields_["amount"]), accepted_value=from_units(fields_["acceptedValue"]),
    )


def _escrow_struct(abi: list[dict]) -> list[dict]:
    function = next(item for item in abi if item.get("type") == "function" and item.get("name") == "escrowOf")
    return function["outputs"][0]["components"]


def escrow_status(session: Session, order) -> dict:
    """The order's escrow as the outbox and the indexed chain events tell it."""
    intents = escrow_intents(session, order.id)
    reference = "0x" + to_bytes32(order.id).hex()
    chain_id = current_chain_id(session)
    events = []
    if chain_id is not None:
        events = list(
            session.execute(
                sa.select(ChainEvent)
                .where(ChainEvent.order_ref == reference, ChainEvent.chain_id == chain_id, ChainEvent.contract == ESCROW)
                .order_by(ChainEvent.block_number, ChainEvent.log_index)
            ).scalars()
        )
    deciding = [event.event for event in events if event.event in _ESCROW_EVENT_STATES]
    if deciding:
        state = _ESCROW_EVENT_STATES[deciding[-1]]
    elif any(i.state == IntentState.FAILED for i in intents):
        state = "failed"
    elif intents:
        state = "pending"  # queued for the ledger, or mined and not indexed yet
    else:
        state = "none"
    return {
        "order_id": order.id,
        "state": state,
        "currency": order.currency,
        "amount": order.confirmed_total,
        "escrow_reference": reference,
        # Steps recorded by the parties that the chain has not confirmed yet (queued while
        # the ledger is unreachable, or waiting for an earlier party's step).
        "pending_steps": [intent.function for intent in intents if intent.state in OPEN_STATES],
        # Steps the chain refused: the escrow stays where the chain left it (see `state`).
        "failed_steps": [intent.function for intent in intents if intent.state == IntentState.FAILED],
        "transactions": intents,
        "events": events,
    }
