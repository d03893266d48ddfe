"""The transaction outbox: chain intents written with business changes, sent by a worker.

An intent moves queued → signed → confirmed | failed, and every move is committed before
the worker talks to the chain about the next one:

1. **Sign** (one database transaction): lock the sender's nonce row, sign with the acting
   organization's key, with explicit gas and fee caps, store the signed bytes and their
   hash, advance the nonce. Nothing is sent yet.
2. **Submit**: send the stored bytes. A node that answers "already known", "nonce too low"
   or anything else is not trusted: the worker looks the hash up, and only when the chain
   does not have it decides between "try again later" and "failed for good".
3. **Record** the receipt: block, gas used, status; a revert's reason is decoded by
   replaying the call on the parent block.

A crash after (1) leaves a signed intent whose bytes are simply sent again: the same hash,
so at most one transaction per intent ever reaches the chain. A crash before (1) commits
leaves a queued intent and an unchanged nonce.

Intents of one sender go out strictly in order (an intent waits while an earlier one of
the same sender is open); different senders do not wait for each other, so a reverting or
stuck intent blocks only its own sender's later ones until it is settled. An intent may
name a prerequisite of another sender (`after`): it is not signed until that one is
confirmed, and fails unsent if that one fails. Several workers may share one PostgreSQL
database: a worker sends a sender's intents only while it holds that sender's claim
(ledger/claims.py), so they divide the senders and no nonce is used twice.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from eth_utils import keccak, to_checksum_address
from flask import Flask
from sqlalchemy import orm
from sqlalchemy.orm import Session

from concord import clock, wiring
from concord.audit import service as audit
from concord.db import database, get_or_raise
from concord.ledger import keys
from concord.ledger.abi import IntentError, arguments, artifact_name, describe_revert, to_json
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import CallReverted, Chain, ChainUnavailable, TransactionRejected, signed_sender
from concord.ledger.claims import SenderClaims
from concord.ledger.models import (
    DONE_STATES,
    OPEN_STATES,
    ChainIntent,
    ContractDeployment,
    IntentKind,
    IntentState,
    LedgerAccount,
    OrganizationKey,
)

log = logging.getLogger(__name__)

_AUDITED = {
    IntentState.CONFIRMED: audit.Action.LEDGER_TX_CONFIRMED,
    IntentState.FAILED: audit.Action.LEDGER_TX_FAILED,
    IntentState.SKIPPED: audit.Action.LEDGER_TX_SKIPPED,
}

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
}
MAX_BACKOFF_SECONDS = 300
_FUNDED = "funded"  # the sender needs gas money: top it up, then submit again at once
_KNOWN = "known"  # the chain has the transaction after all: go on to its receipt
#: Refusals of one signed transaction before the outbox gives up on it (with backoff, about
#: ten minutes), as long as its nonce is still unused on chain.
MAX_REJECTIONS = 10
#: The intent another one waits for (`after_seq`). One alias for every query: a new alias
#: per query makes SQLAlchemy adapt every column of the statement again, each round.
_prerequisite = orm.aliased(ChainIntent, name="prerequisite")


def _signed_bytes(intent: ChainIntent) -> tuple[bytes, str]:
    """The stored transaction and its hash of an intent that has been signed."""
    if intent.raw_tx is None or intent.tx_hash is None:
        raise LookupError(f"Intent {intent.seq} has not been signed")
    return intent.raw_tx, intent.tx_hash


def _nonce(intent: ChainIntent) -> int:
    if intent.nonce is None:
        raise LookupError(f"Intent {intent.seq} has no nonce yet")
    return intent.nonce


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


# -- the worker -----------------------------------------------------------------------------


class Worker:
    """Drives open intents to the chain. `drain()` runs until nothing is due; `run()` loops."""

    def __init__(self, app: Flask, chain: Chain, *, receipt_timeout: float | None = None) -> None:
        self.app = app
        self.chain = chain
        self.sessionmaker = database(app).sessionmaker
        #: The senders (and the funder) this worker sends for now, among several workers.
        self.claims = SenderClaims(database(app).engine)
        self.receipt_timeout = app.config["CHAIN_RECEIPT_TIMEOUT_SECONDS"] if receipt_timeout is None else receipt_timeout
        self.fee = {"maxFeePerGas": int(app.config["CHAIN_MAX_FEE_WEI"]), "maxPriorityFeePerGas": int(app.config["CHAIN_PRIORITY_FEE_WEI"])}
        self._signers: dict[uuid.UUID, Any] = {}
        self._chain_id: int | None = None
        self._presigned: dict[int, tuple[bytes, str]] = {}  # signed and committed, not yet sent
        self._contracts: dict[tuple[int, str], Any] = {}
        #: Called with (session, intent) when an intent is confirmed, in the recording transaction.
        self.on_confirmed: list[Callable[[Session, ChainIntent], None]] = list(wiring.of(app).on_confirmed)
        self.before_sign = list(wiring.of(app).before_sign)  # (session, intent, chain) -> why it is moot

    @property
    def chain_id(self) -> int:
        """Asked of the node once; a chain does not change its id."""
        if self._chain_id is None:
            self._chain_id = self.chain.chain_id
        return self._chain_id

    # -- choosing what to send next -----------------------------------------------------

    def due(self, session: Session, *, limit: int = 200, sender: str | None = None) -> list[tuple[int, str]]:
        """Open intents in the order they may go out, as (seq, sender): for each sender whose
        oldest open intent is due, that intent and the sender's later open intents (only
        `sender`'s, when given). Intents signed for another chain, and calls to contracts not
        deployed here, wait."""
        chain_id = self.chain_id
        deployed = sa.select(ContractDeployment.name).where(ContractDeployment.chain_id == chain_id)
        waiting = sa.and_(
            ChainIntent.state.in_(OPEN_STATES),
            sa.or_(ChainIntent.kind == IntentKind.DEPLOY, ChainIntent.contract.in_(deployed)),
            sa.or_(ChainIntent.chain_id.is_(None), ChainIntent.chain_id == chain_id),
            sa.true() if sender is None else ChainIntent.sender == sender,
        )
        heads = sa.select(sa.func.min(ChainIntent.seq).label("seq")).where(waiting).group_by(ChainIntent.sender).subquery()
        prerequisite = _prerequisite
        # A sender is due when its oldest open intent is: its retry time has come, and any
        # step of another sender it waits for is confirmed.
        due_senders = (
            sa.select(ChainIntent.sender)
            .join(heads, heads.c.seq == ChainIntent.seq)
            .outerjoin(prerequisite, prerequisite.seq == ChainIntent.after_seq)
            .where(ChainIntent.next_attempt_at <= clock.utcnow(), sa.or_(ChainIntent.after_seq.is_(None), prerequisite.state.in_(DONE_STATES)))
        )
        rows = session.execute(
            sa.select(ChainIntent.seq, ChainIntent.sender, prerequisite.state)
            .outerjoin(prerequisite, prerequisite.seq == ChainIntent.after_seq)
            .where(waiting, ChainIntent.sender.in_(due_senders))
            .order_by(ChainIntent.seq)
            .limit(limit)
        ).all()
        # A sender's intents stop at the first one still waiting for another sender's step.
        ready, waiting_senders = [], set()
        for seq, sender, prerequisite_state in rows:
            if sender in waiting_senders:
                continue
            if prerequisite_state is not None and prerequisite_state not in DONE_STATES:
                waiting_senders.add(sender)
                continue
            ready.append((seq, sender))
        return ready

    def fail_orphans(self) -> int:
        """Fail the queued intents whose prerequisite failed (they could never be sent)."""
        failed = 0
        while True:
            with self.sessionmaker() as session, session.begin():
                prerequisite = _prerequisite
                orphans = session.execute(
                    sa.select(ChainIntent, prerequisite.uid)
                    .join(prerequisite, prerequisite.seq == ChainIntent.after_seq)
                    .where(ChainIntent.state == IntentState.QUEUED, prerequisite.state == IntentState.FAILED)
                    .with_for_update(of=ChainIntent)
                ).all()
                for intent, prerequisite_uid in orphans:
                    self._finish(session, intent, IntentState.FAILED, error=f"not sent: the step it waited for ({prerequisite_uid}) failed")
            if not orphans:
                return failed
            failed += len(orphans)

    def drain(self, *, max_rounds: int = 10_000) -> int:
        """Process intents until none is due (or the chain is unreachable); returns how many
        intents were settled (confirmed, failed or skipped)."""
        # The worker acts for no one: in an app context of its own, no request's principal
        # (say, of a context a test keeps pushed) passes for who took the confirmed steps.
        with self.app.app_context():
            return self._drain(max_rounds)

    def _drain(self, max_rounds: int) -> int:
        settled = 0
        with self.claims.round():
            for _ in range(max_rounds):
                settled += self.fail_orphans()
                try:
                    with self.sessionmaker() as session:
                        senders = list(dict.fromkeys(sender for _seq, sender in self.due(session)))
                except ChainUnavailable as error:
                    log.warning("outbox: %s", error)
                    return settled
                progressed = False
                for sender in senders:
                    if not self.claims.take(sender):
                        continue  # another worker sends for this sender now
                    try:
                        done, reachable = self._drain_sender(sender)
                    finally:
                        self.claims.release(sender)
                    settled += done
                    progressed = progressed or done > 0
                    if not reachable:
                        return settled  # the chain is unreachable: stop this round
                if not progressed:
                    return settled
        return settled

    def _drain_sender(self, sender: str) -> tuple[int, bool]:
        """Send one claimed sender's due intents in order, until one stays open; returns how
        many were settled and whether the chain answered. The intents are read after the
        claim is taken: a worker that had the sender before may have sent some meanwhile."""
        try:
            with self.sessionmaker() as session:
                run = [seq for seq, _sender in self.due(session, sender=sender)]
        except ChainUnavailable as error:
            log.warning("outbox: %s", error)
            return 0, False
        settled = 0
        try:
            for position, seq in enumerate(run):
                following = run[position + 1] if position + 1 < len(run) else None
                state = self.process(seq, following=following)
                if state in (IntentState.CONFIRMED, IntentState.FAILED, IntentState.SKIPPED):
                    settled += 1
                elif state is None:
                    return settled, False
                else:
                    break  # still open: the sender's later intents wait for it
            return settled, True
        finally:
            for seq in run:  # signed ahead but not sent: another worker may send it from the database
                self._presigned.pop(seq, None)

    def run(self, stop: threading.Event, *, poll_seconds: float, after_round: Callable[[], None] | None = None) -> None:
        while not stop.is_set():
            try:
                self.drain()
                if after_round is not None:
                    after_round()
            except Exception:  # the worker must outlive any one bad round
                log.exception("outbox worker round failed")
            stop.wait(poll_seconds)

    # -- one intent -----------------------------------------------------------------------

    def process(self, seq: int, *, following: int | None = None) -> IntentState | None:
        """Take one intent as far as it goes now; returns its state, None if the chain is down.

        `following` is the same sender's next intent: it is signed in the transaction that
        records this one's receipt (one commit fewer per intent, and as crash-safe)."""
        try:
            signed = self._presigned.pop(seq, None) or self._sign_if_queued(seq)
            return self._submit_and_record(seq, signed=signed, following=following)
        except ChainUnavailable as error:
            self._defer(seq, f"chain unreachable: {error}")
            return None
        except Exception as error:  # one bad intent must not stall the others
            log.exception("outbox: intent %s failed unexpectedly; retrying later", seq)
            self._defer(seq, f"unexpected error: {error!r}")
            return IntentState.SIGNED

    def _sign_if_queued(self, seq: int) -> tuple[bytes, str] | None:
        """Sign a queued intent and commit it; returns (raw, hash) when it signed one now."""
        with self.sessionmaker() as session, session.begin():
            intent = session.get(ChainIntent, seq, with_for_update=True)
            return self._sign(session, intent)

    def _sign(self, session: Session, intent: ChainIntent | None) -> tuple[bytes, str] | None:
        """Sign `intent` (locked by the caller) in the caller's transaction, if it is queued."""
        if intent is None or intent.state != IntentState.QUEUED:
            return None
        if intent.after_seq is not None and get_or_raise(session, ChainIntent, intent.after_seq).state not in DONE_STATES:
            return None  # another sender's step comes first
        moot = next((why for check in self.before_sign if (why := check(session, intent, self.chain))), None)
        if moot is not None:
            self._finish(session, intent, IntentState.SKIPPED, error=f"not sent: {moot}")
            return None
        chain_id = self.chain_id
        account = session.get(LedgerAccount, (chain_id, intent.sender), with_for_update=True)
        if account is None:
            account = LedgerAccount(chain_id=chain_id, address=intent.sender, next_nonce=self.chain.nonce(intent.sender))
            session.add(account)
        try:
            transaction = self._transaction(session, intent, chain_id, account.next_nonce)
            signed = self._signer(session, intent.organization_id).sign_transaction(transaction)
        except (IntentError, keys.SigningKeyError) as error:
            self._finish(session, intent, IntentState.FAILED, error=str(error))
            return None
        intent.state = IntentState.SIGNED
        intent.chain_id = chain_id
        intent.nonce = account.next_nonce
        intent.raw_tx = bytes(signed.raw_transaction)
        intent.tx_hash = "0x" + bytes(signed.hash).hex()
        intent.updated_at = clock.utcnow()
        account.next_nonce += 1
        return intent.raw_tx, intent.tx_hash

    def _submit_and_record(
        self, seq: int, *, signed: tuple[bytes, str] | None = None, following: int | None = None, funded: bool = False
    ) -> IntentState | None:
        if signed is None:
            with self.sessionmaker() as session:
                intent = session.get(ChainIntent, seq)
                if intent is None or intent.state != IntentState.SIGNED:
                    return intent.state if intent else None
                signed = _signed_bytes(intent)
        raw, tx_hash = signed
        try:
            self.chain.send_raw(raw)
        except TransactionRejected as rejection:
            if self.chain.transaction(tx_hash) is None:
                outcome = self._rejected(seq, rejection, may_fund=not funded)
                if outcome == _FUNDED:
                    # Gas money goes out after the intent's transaction is closed: no
                    # database lock is held while the node mines the top-up.
                    try:
                        if self.chain.funder_address is not None:
                            with self.claims.funder(self.chain.funder_address):
                                self.chain.top_up(signed_sender(raw), self.fee)
                    except TransactionRejected as error:
                        self._defer(seq, f"gas top-up refused: {error}")
                        return IntentState.SIGNED
                    return self._submit_and_record(seq, signed=signed, following=following, funded=True)
                if outcome != _KNOWN:
                    return IntentState(outcome)
            # Known to the chain after all: go on to its receipt.
        receipt = self.chain.receipt(tx_hash, timeout=self.receipt_timeout)
        if receipt is None:
            self._defer(seq, "submitted; not mined yet")
            return IntentState.SIGNED
        return self._record(seq, receipt, following=following)

    def _rejected(self, seq: int, rejection: TransactionRejected, *, may_fund: bool) -> IntentState | str:
        """Decide what a refusal means, without ever signing a different transaction for a
        nonce the chain may still mine: most refusals are retried with the same bytes."""
        with self.sessionmaker() as session, session.begin():
            intent = get_or_raise(session, ChainIntent, seq, with_for_update=True)
            account = get_or_raise(session, LedgerAccount, (intent.chain_id, intent.sender), with_for_update=True)
            raw, tx_hash = _signed_bytes(intent)
            nonce = _nonce(intent)
            mined = self.chain.nonce(intent.sender)
            if mined > nonce:
                if self.chain.transaction(tx_hash) is not None:
                    return _KNOWN  # a lagging node did not know it a moment ago; the chain does
                # The nonce went to a transaction that is not ours: this one can never be mined.
                self._finish(
                    session, intent, IntentState.FAILED, error=f"nonce {intent.nonce} of {intent.sender} was used by another transaction ({rejection})"
                )
                account.next_nonce = max(account.next_nonce, mined)
                return IntentState.FAILED
            if mined < nonce:
                self._retry_later(intent, f"waiting for nonce {mined} of {intent.sender} to be mined first ({rejection})")
                return IntentState.SIGNED
            if rejection.cannot_pay and self.chain.funder_address and may_fund:
                intent.last_error = f"topping up gas money after: {rejection}"
                return _FUNDED
            if rejection.permanent or intent.attempts + 1 >= MAX_REJECTIONS:
                # Refused for good, and its nonce is still unused: it goes to the next intent.
                self._finish(session, intent, IntentState.FAILED, error=f"rejected by the node: {rejection}")
                if account.next_nonce == nonce + 1:
                    account.next_nonce = nonce
                return IntentState.FAILED
            # A full pool, a fee below the base fee, a rate limit: the same bytes, later.
            self._retry_later(intent, f"refused by the node, will retry: {rejection}")
            return IntentState.SIGNED

    def _record(self, seq: int, receipt: dict[str, Any], *, following: int | None = None) -> IntentState:
        reason = code_hash = None
        if receipt["status"] != 1:
            reason = self._revert_reason(seq, receipt)
        elif receipt.get("contractAddress"):
            code_hash = "0x" + keccak(self.chain.code(receipt["contractAddress"])).hex()
        with self.sessionmaker() as session, session.begin():
            intent = get_or_raise(session, ChainIntent, seq, with_for_update=True)
            if intent.state != IntentState.SIGNED:
                return IntentState(intent.state)
            intent.block_number = int(receipt["blockNumber"])
            intent.gas_used = int(receipt["gasUsed"])
            intent.receipt_status = int(receipt["status"])
            if receipt["status"] == 1:
                self._finish(session, intent, IntentState.CONFIRMED)
                if intent.kind == IntentKind.DEPLOY and session.get(ContractDeployment, (intent.chain_id, intent.contract)) is not None:
                    intent.contract_address = receipt["contractAddress"]
                    log.warning("outbox: %s was deployed twice on chain %s; keeping the first", intent.contract, intent.chain_id)
                elif intent.kind == IntentKind.DEPLOY:
                    intent.contract_address = receipt["contractAddress"]
                    self._contracts.pop((self.chain_id, intent.contract), None)
                    artifact = load_artifact(artifact_name(intent.contract))
                    session.add(
                        ContractDeployment(
                            chain_id=intent.chain_id,
                            name=intent.contract,
                            artifact=artifact.name,
                            address=intent.contract_address,
                            tx_hash=intent.tx_hash,
                            block_number=intent.block_number,
                            source_hash=artifact.source_hash,
                            code_hash=code_hash,
                            deployed_at=clock.utcnow(),
                        )
                    )
                for handler in self.on_confirmed:
                    handler(session, intent)
                state = IntentState.CONFIRMED
            else:
                intent.revert_reason = reason
                self._finish(session, intent, IntentState.FAILED, error=f"reverted: {reason}")
                state = IntentState.FAILED
            presigned = None
            if following is not None:
                next_intent = session.get(ChainIntent, following, with_for_update=True)
                if next_intent is not None and next_intent.sender == intent.sender:
                    presigned = self._sign(session, next_intent)
        if following is not None and presigned is not None:  # committed: only now may it be sent
            self._presigned[following] = presigned
        return state

    def _revert_reason(self, seq: int, receipt: dict[str, Any]) -> str:
        with self.sessionmaker() as session:
            intent = get_or_raise(session, ChainIntent, seq)
            transaction = self.chain.transaction(_signed_bytes(intent)[1]) or {}
        call = {"from": to_checksum_address(intent.sender), "data": transaction.get("input", b""), "gas": intent.gas_limit, "value": 0}
        if transaction.get("to"):
            call["to"] = transaction["to"]
        try:
            self.chain.call(call, max(int(receipt["blockNumber"]) - 1, 0))
        except CallReverted as revert:
            return describe_revert(revert.data)
        except ChainUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - some nodes answer a replay with a bare RPC error
            return f"reverted (the node gave no reason when replayed: {error})"
        if int(receipt["gasUsed"]) >= intent.gas_limit:
            return f"out of gas (limit {intent.gas_limit})"
        return "reverted (the replayed call did not revert)"

    # -- bookkeeping ----------------------------------------------------------------------

    def _finish(self, session: Session, intent: ChainIntent, state: IntentState, *, error: str | None = None) -> None:
        """Settle the intent and write it to the audit trail, in the caller's transaction."""
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

    def _retry_later(self, intent: ChainIntent, error: str) -> None:
        intent.attempts += 1
        intent.last_error = error[:2000]
        delay = min(2 ** min(intent.attempts, 16), MAX_BACKOFF_SECONDS)
        intent.next_attempt_at = clock.utcnow() + timedelta(seconds=delay)
        intent.updated_at = clock.utcnow()

    def _defer(self, seq: int, error: str) -> None:
        with self.sessionmaker() as session, session.begin():
            intent = session.get(ChainIntent, seq, with_for_update=True)
            if intent is not None and intent.state in OPEN_STATES:
                self._retry_later(intent, error)

    def _signer(self, session: Session, organization_id: uuid.UUID):
        """The organization's signing account, decrypted once per worker (a master-key
        rotation re-encrypts the same key, so a cached account stays right)."""
        signer = self._signers.get(organization_id)
        if signer is None:
            signer = self._signers[organization_id] = keys.signer_for(session, keys.KeyRing.of(self.app), organization_id)
        return signer

    def _transaction(self, session: Session, intent: ChainIntent, chain_id: int, nonce: int) -> dict[str, Any]:
        transaction: dict[str, Any] = {
            "chainId": chain_id,
            "nonce": nonce,
            "gas": intent.gas_limit,
            "value": 0,
            "type": 2,
            **self.fee,
        }
        if intent.kind == IntentKind.DEPLOY:
            artifact = load_artifact(artifact_name(intent.contract))
            factory = self.chain.contract(artifact.abi, bytecode=artifact.bytecode)
            constructor: dict[str, Any] = next((item for item in artifact.abi if item["type"] == "constructor"), {"inputs": []})
            args = arguments(constructor["inputs"], intent.args, intent.contract)
            try:
                transaction["data"] = factory.constructor(*args).data_in_transaction
            except Exception as error:  # noqa: BLE001 - web3 raises several types for bad arguments
                raise IntentError(f"{intent.contract}: constructor arguments do not fit the ABI: {error}") from None
            return transaction
        contract = self._contract(session, chain_id, intent.contract)
        function_abi = next(
            (item for item in contract.abi if item.get("type") == "function" and item["name"] == intent.function and len(item["inputs"]) == len(intent.args)),
            None,
        )
        if function_abi is None:
            raise IntentError(f"{intent.contract} has no function {intent.function} taking {len(intent.args)} argument(s)")
        args = arguments(function_abi["inputs"], intent.args, f"{intent.contract}.{intent.function}")
        try:
            transaction["data"] = contract.encode_abi(intent.function, args=args)
        except Exception as error:  # noqa: BLE001 - web3 raises several types for bad arguments
            raise IntentError(f"{intent.contract}.{intent.function}: arguments do not fit the ABI: {error}") from None
        transaction["to"] = contract.address
        return transaction

    def _contract(self, session: Session, chain_id: int, name: str):
        """The deployed contract (a deployment never moves, so it is looked up once)."""
        contract = self._contracts.get((chain_id, name))
        if contract is None:
            deployment = session.get(ContractDeployment, (chain_id, name))
            if deployment is None:
                raise IntentError(f"{name} is not deployed on chain {chain_id}")
            contract = self._contracts[(chain_id, name)] = self.chain.contract(load_artifact(deployment.artifact).abi, deployment.address)
        return contract
