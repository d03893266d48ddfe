"""Chain intents, written in the caller's database transaction with the business change
they belong to; the outbox worker (outbox.py) sends them.

Gas is set per function, never estimated per transaction. A sender's intents get their
sequence numbers under a lock of its key row, so each transaction's intents of one sender
form one unbroken run (see `lock_sender`).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, wiring
from concord.audit import service as audit
from concord.ledger import keys
from concord.ledger.abi import to_json
from concord.ledger.models import ChainIntent, IntentKind, IntentState, LedgerAccount, OrganizationKey

#: Gas limits are set per function, never estimated per transaction: generous caps
#: measured on the contracts (unused gas is not charged).
DEFAULT_CALL_GAS = 400_000
DEPLOY_GAS = 8_000_000
GAS_LIMITS: dict[str, int] = {
    "addMember": 200_000,
    "suspendMember": 120_000,
    "reinstateMember": 120_000,
    "updateMemberRoles": 120_000,
    "mint": 200_000,
    "burn": 200_000,
    "transfer": 200_000,
    "approve": 120_000,
    "listHolder": 120_000,
    "allowToken": 120_000,
    "linkEscrow": 120_000,
    "anchor": 250_000,
    # ReceivableRegistry and ReceivableExchange (measured: register 225k, registerOpenAccount
    # 234k, acknowledge 39k, pay 103k, assign 48k, offer 224k, withdrawOffer 42k, accept 165k,
    # settle 172k; an approval, of a receivable or of tokens, 57k).
    "register": 350_000,
    "registerOpenAccount": 350_000,
    "acknowledge": 100_000,
    "pay": 200_000,
    "assign": 120_000,
    "offer": 350_000,
    "withdrawOffer": 100_000,
    "accept": 300_000,
    "settle": 300_000,
}


def lock_sender(session: Session, organization_id: uuid.UUID) -> OrganizationKey:
    """Lock the sender's key row until the caller's transaction ends, and return it.

    A sender's intents go to the chain in the order of their sequence numbers. Sequence
    numbers are drawn at insert time, so two transactions of one sender that interleave
    their inserts would interleave its steps (an `approve` of one order between the
    `approve` and the `fund` of another, which then finds the allowance spent). Holding this
    lock from the first intent to the commit gives each transaction's intents of a sender one
    unbroken run, in commit order. (SQLite already serialises writing transactions.)"""
    key = session.get(OrganizationKey, organization_id, with_for_update=True)
    if key is None:
        raise keys.SigningKeyError(f"Organization {organization_id} has no signing key, so it cannot act on the ledger.")
    return key


def enqueue(
    session: Session,
    *,
    organization_id: uuid.UUID,
    contract: str,
    function: str | None,
    args: list[Any],
    purpose: str,
    subject: tuple[str, Any] | None = None,
    kind: IntentKind = IntentKind.CALL,
    gas_limit: int | None = None,
    after: ChainIntent | None = None,
) -> ChainIntent:
    """Add an intent to the caller's transaction (it commits with the business change).

    `after`: an intent (of any sender) that must be confirmed before this one is signed."""
    key = lock_sender(session, organization_id)
    if gas_limit is None:
        gas_limit = DEPLOY_GAS if kind == IntentKind.DEPLOY else GAS_LIMITS.get(function or "", DEFAULT_CALL_GAS)
    if after is not None and after.seq is None:
        session.flush()  # the prerequisite needs its sequence number
    now = clock.utcnow()
    intent = ChainIntent(
        organization_id=organization_id,
        sender=key.address,
        kind=kind,
        contract=contract,
        function=function,
        args=to_json(list(args)),
        gas_limit=gas_limit,
        purpose=purpose[:200],
        subject_type=subject[0] if subject else None,
        subject_id=str(subject[1]) if subject else None,
        state=IntentState.QUEUED,
        after_seq=after.seq if after is not None else None,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(intent)
    return intent


_AUDITED = {
    IntentState.CONFIRMED: audit.Action.LEDGER_TX_CONFIRMED,
    IntentState.FAILED: audit.Action.LEDGER_TX_FAILED,
    IntentState.SKIPPED: audit.Action.LEDGER_TX_SKIPPED,
}


def finish(session: Session, intent: ChainIntent, state: IntentState, *, error: str | None = None) -> None:
    """Settle the intent and write it to the audit trail, in the caller's transaction; a
    failed one is told to the app's `on_failed` reactions (concord.wiring) there too."""
    now = clock.utcnow()
    intent.state = state
    intent.last_error = error
    intent.updated_at = now
    intent.finished_at = now
    audit.record(
        session,
        _AUDITED[state],
        actor=None,
        subject_org_id=intent.organization_id,
        object_type="chain_transaction",
        object_id=intent.uid,
        after={"purpose": intent.purpose, "tx_hash": intent.tx_hash, "block_number": intent.block_number, "state": str(state)},
        error=error,
    )
    if state == IntentState.FAILED:
        for react in wiring.of_session(session).on_failed:
            react(session, intent)


def signed_after(intent: ChainIntent) -> sa.Select:
    """The same sender's intents signed with later nonces, in nonce order."""
    return (
        sa.select(ChainIntent)
        .where(
            ChainIntent.chain_id == intent.chain_id,
            ChainIntent.sender == intent.sender,
            ChainIntent.state == IntentState.SIGNED,
            ChainIntent.nonce > intent.nonce,
        )
        .order_by(ChainIntent.nonce)
    )


def requeue(intents: list[ChainIntent], account: LedgerAccount, next_nonce: int) -> None:
    """Queue signed, never-sent intents again (signed anew in order from `next_nonce`)."""
    account.next_nonce = next_nonce
    for intent in intents:
        intent.state = IntentState.QUEUED
        intent.chain_id = intent.nonce = intent.raw_tx = intent.tx_hash = None
        intent.updated_at = clock.utcnow()
