"""The transaction outbox: chain intents written with business changes (intents.py), sent
by a worker.

An intent moves queued → signed → confirmed | failed, and every move is committed before
the worker talks to the chain about it. The worker takes one sender's due intents a window
(`SIGN_AHEAD`) at a time:

1. **Sign** (one database transaction): lock the window's intents and the sender's nonce
   row, sign each with the acting organization's key, explicit gas and fee caps and the
   next nonce, store the signed bytes and their hashes, advance the nonce; commit. Nothing
   is sent before this commit.
2. **Submit** the stored bytes in nonce order. A node that answers "already known", "nonce
   too low" or anything else is not trusted: the worker looks the hash up, and only when the
   chain does not have it decides between "try again later" and "failed for good". A
   refusal ends the window: its later intents, never sent, are queued again and their
   nonces given back (so a nonce refused for good is reused).
3. **Record** the receipts (read without waiting when the node already has them) in one
   transaction: block, gas used, status; a revert's reason is decoded by replaying the call
   on the parent block.

A crash after (1) leaves signed intents whose bytes are simply sent again, in order: the
same hashes, so at most one transaction per intent ever reaches the chain. A crash before
(1) commits leaves queued intents and an unchanged nonce. A crash after (2) leaves signed
intents the chain has: resent, they are found by hash and recorded.

Intents of one sender go out strictly in nonce order, and an intent a check before signing
concerns (wiring.SignCheck) is signed only once the sender's earlier ones are settled;
different senders do not wait for each other, so a stuck intent blocks only its own
sender's later ones until it is settled. An intent may name a prerequisite of another
sender (`after`): it is not signed until that one is confirmed, and fails unsent if that
one fails. Several workers may share one PostgreSQL database: a worker sends a sender's
intents only while it holds that sender's claim (ledger/claims.py), so they divide the
senders and no nonce is used twice.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from eth_utils import keccak
from flask import Flask
from sqlalchemy import orm
from sqlalchemy.orm import Session

from concord import clock, wiring
from concord.db import database, get_or_raise
from concord.ledger import keys
from concord.ledger.abi import IntentError, artifact_name
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain, ChainUnavailable, TransactionRejected, signed_sender
from concord.ledger.claims import SenderClaims
from concord.ledger.intents import DEFAULT_CALL_GAS, DEPLOY_GAS, GAS_LIMITS, enqueue, finish, lock_sender, requeue, signed_after
from concord.ledger.models import DONE_STATES, OPEN_STATES, ChainIntent, ContractDeployment, IntentKind, IntentState, LedgerAccount
from concord.ledger.transactions import TransactionBuilder, revert_reason

__all__ = ["DEFAULT_CALL_GAS", "DEPLOY_GAS", "GAS_LIMITS", "MAX_REJECTIONS", "SIGN_AHEAD", "Worker", "enqueue", "lock_sender"]

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300
#: The intent another one waits for (`after_seq`). One alias for every query: a new alias
#: per query makes SQLAlchemy adapt every column of the statement again, each round.
_prerequisite = orm.aliased(ChainIntent, name="prerequisite")
_SETTLED = (IntentState.CONFIRMED, IntentState.FAILED, IntentState.SKIPPED)
#: Intents of one sender signed in one transaction, then sent, then recorded in one more.
SIGN_AHEAD = 32
_GO, _STOP, _DOWN = "go", "stop", "down"  # after a window: next window, next sender, end the round
_FUNDED = "funded"  # the sender needs gas money: top it up, then submit again at once
_KNOWN = "known"  # the chain has the transaction after all: go on to its receipt
#: Refusals of one signed transaction before the outbox gives up on it (with backoff, about
#: ten minutes), as long as its nonce is still unused on chain.
MAX_REJECTIONS = 10


def _signed_bytes(intent: ChainIntent) -> tuple[bytes, str]:
    """The stored transaction and its hash of an intent that has been signed."""
    if intent.raw_tx is None or intent.tx_hash is None:
        raise LookupError(f"Intent {intent.seq} has not been signed")
    return intent.raw_tx, intent.tx_hash


def _nonce(intent: ChainIntent) -> int:
    if intent.nonce is None:
        raise LookupError(f"Intent {intent.seq} has no nonce yet")
    return intent.nonce


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
        self.builder = TransactionBuilder(chain, self.fee)
        #: Called with (session, intent) when an intent is confirmed, in the recording transaction.
        self.on_confirmed: list[Callable[[Session, ChainIntent], None]] = list(wiring.of(app).on_confirmed)
        self.before_sign = list(wiring.of(app).before_sign)

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
                    finish(session, intent, IntentState.FAILED, error=f"not sent: the step it waited for ({prerequisite_uid}) failed")
            if not orphans:
                return failed
            failed += len(orphans)

    def drain(self, *, max_rounds: int = 10_000) -> int:
        """Process intents until none is due (or the chain is unreachable); returns how many
        intents were settled (confirmed or failed)."""
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
        """Send one claimed sender's due intents in order, a window at a time, until one stays
        open; returns how many were settled and whether the chain answered. The intents are
        read after the claim is taken: a worker that had the sender before may have sent some
        meanwhile."""
        try:
            with self.sessionmaker() as session:
                run = [seq for seq, _sender in self.due(session, sender=sender)]
        except ChainUnavailable as error:
            log.warning("outbox: %s", error)
            return 0, False
        settled = 0
        while run:
            done, taken, how = self._window(run[:SIGN_AHEAD])
            settled += done
            if how == _DOWN:
                return settled, False
            if how == _STOP or taken == 0:
                break  # an intent stays open: the sender's later intents wait for it
            run = run[taken:]
        return settled, True

    def run(self, stop: threading.Event, *, poll_seconds: float, after_round: Callable[[], None] | None = None) -> None:
        while not stop.is_set():
            try:
                self.drain()
                if after_round is not None:
                    after_round()
            except Exception:  # the worker must outlive any one bad round
                log.exception("outbox worker round failed")
            stop.wait(poll_seconds)

    # -- a window of one sender's intents -------------------------------------------------

    def _window(self, seqs: list[int]) -> tuple[int, int, str]:
        """Sign `seqs` (one sender's, in order) ahead in one committed transaction, send them
        in nonce order, read their receipts and record them in one more transaction. Returns
        how many were settled, how many of `seqs` are done with, and whether to go on."""
        try:
            signed, fresh, settled, taken = self._sign_ahead(seqs)
        except ChainUnavailable as error:
            self._defer(seqs[0], f"chain unreachable: {error}")
            return 0, 0, _DOWN
        except Exception as error:  # one bad intent must not stall the other senders
            log.exception("outbox: signing from intent %s failed unexpectedly; retrying later", seqs[0])
            self._defer(seqs[0], f"unexpected error: {error!r}")
            return 0, 0, _STOP
        sent: list[tuple[int, str]] = []
        how = _GO
        for position, (seq, raw, tx_hash) in enumerate(signed):  # committed: only now may they be sent
            try:
                try:
                    self.chain.send_raw(raw)
                except TransactionRejected as rejection:
                    # The window's later intents were signed by this call and never sent: their
                    # nonces go back before the refusal is judged (a nonce it frees is reused).
                    self._unsign([later for later, _raw, _hash in signed[position + 1 :] if later in fresh])
                    taken = seqs.index(seq) + 1
                    state = self._refused(seq, (raw, tx_hash), rejection)
                    if state is None:
                        sent.append((seq, tx_hash))
                    elif state == IntentState.FAILED:
                        settled += 1
                    else:
                        how = _STOP
                    break
            except ChainUnavailable as error:
                self._defer(seq, f"chain unreachable: {error}")
                return settled, 0, _DOWN
            except Exception as error:
                log.exception("outbox: intent %s failed unexpectedly; retrying later", seq)
                self._defer(seq, f"unexpected error: {error!r}")
                how = _STOP
                break
            sent.append((seq, tx_hash))
        receipts, unread = self._receipts(sent)
        for seq, tx_hash in unread:
            try:
                receipt = self.chain.receipt(tx_hash, timeout=self.receipt_timeout)
            except ChainUnavailable as error:
                self._defer(seq, f"chain unreachable: {error}")
                how = _DOWN
                break
            except Exception as error:  # one bad intent must not stall the other senders
                log.exception("outbox: intent %s failed unexpectedly; retrying later", seq)
                self._defer(seq, f"unexpected error: {error!r}")
                how = _STOP
                break
            if receipt is None:
                self._defer(seq, "submitted; not mined yet")
                how = _STOP
                break
            receipts.append((seq, receipt))
        states = self._record_each(receipts)
        settled += sum(state in _SETTLED for state in states)
        if None in states:
            how = _DOWN
        elif IntentState.SIGNED in states and how == _GO:
            how = _STOP
        return settled, taken, how

    def _receipts(self, sent: list[tuple[int, str]]) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
        """The receipts of the sent intents the node has already, asked together (most often
        all of them), and the sent intents left to wait for one by one."""
        if len(sent) < 2:
            return [], sent
        try:
            receipts = self.chain.receipts([tx_hash for _seq, tx_hash in sent])
        except Exception:  # noqa: BLE001 - asked again one by one, where each failure is handled
            return [], sent
        found = [(seq, receipt) for seq, tx_hash in sent if (receipt := receipts.get(tx_hash)) is not None]
        return (found, []) if len(found) == len(sent) else ([], sent)

    def _sign_ahead(self, seqs: list[int]) -> tuple[list[tuple[int, bytes, str]], set[int], int, int]:
        """Sign the queued intents of `seqs` in one transaction, with consecutive nonces, and
        commit; returns every signed one in order as (seq, raw, hash) (with those signed
        before), which of them were signed now, how many failed unsent, and how many of `seqs`
        were taken. The window ends before an intent that cannot be signed yet, and before one
        a check before signing concerns unless every earlier one is settled."""
        signed: list[tuple[int, bytes, str]] = []
        fresh: set[int] = set()
        failed = 0
        with self.sessionmaker() as session, session.begin():
            query = sa.select(ChainIntent).where(ChainIntent.seq.in_(seqs)).with_for_update()
            intents = {intent.seq: intent for intent in session.scalars(query)}
            account: LedgerAccount | None = None
            for position, seq in enumerate(seqs):
                intent = intents.get(seq)
                if intent is None:
                    return signed, fresh, failed, position
                if intent.state == IntentState.SIGNED:
                    signed.append((seq, *_signed_bytes(intent)))
                    continue
                if intent.state != IntentState.QUEUED:
                    continue  # settled meanwhile
                if signed and any(check.concerns(intent) for check in self.before_sign):
                    return signed, fresh, failed, position
                if account is None:
                    account = self._account(session, intent.sender)
                done = self._sign(session, intent, account)
                if done is not None:
                    signed.append((seq, *done))
                    fresh.add(seq)
                elif intent.state in (IntentState.FAILED, IntentState.SKIPPED):
                    failed += 1
                else:
                    return signed, fresh, failed, position
        return signed, fresh, failed, len(seqs)

    def _account(self, session: Session, sender: str) -> LedgerAccount:
        """The sender's nonce row, locked until the caller's transaction ends."""
        account = session.get(LedgerAccount, (self.chain_id, sender), with_for_update=True)
        if account is None:
            account = LedgerAccount(chain_id=self.chain_id, address=sender, next_nonce=self.chain.nonce(sender))
            session.add(account)
        return account

    def _sign(self, session: Session, intent: ChainIntent, account: LedgerAccount) -> tuple[bytes, str] | None:
        """Sign queued `intent` (locked by the caller) with the account's next nonce, in the
        caller's transaction; None when it cannot be signed yet or failed unsent."""
        if intent.after_seq is not None and get_or_raise(session, ChainIntent, intent.after_seq).state not in DONE_STATES:
            return None  # another sender's step comes first
        moot = next((why for check in self.before_sign if check.concerns(intent) and (why := check.check(session, intent, self.chain))), None)
        if moot is not None:
            finish(session, intent, IntentState.SKIPPED, error=f"not sent: {moot}")
            return None
        try:
            transaction = self.builder.build(session, intent, account.chain_id, account.next_nonce)
            signed = self._signer(session, intent.organization_id).sign_transaction(transaction)
        except (IntentError, keys.SigningKeyError) as error:
            finish(session, intent, IntentState.FAILED, error=str(error))
            return None
        intent.state = IntentState.SIGNED
        intent.chain_id = account.chain_id
        intent.nonce = account.next_nonce
        intent.raw_tx = bytes(signed.raw_transaction)
        intent.tx_hash = "0x" + bytes(signed.hash).hex()
        intent.updated_at = clock.utcnow()
        account.next_nonce += 1
        return intent.raw_tx, intent.tx_hash

    def _unsign(self, seqs: list[int]) -> None:
        """Give the nonces of intents signed ahead and never sent back to their sender: they
        are queued again, to be signed anew in order. Only the sender's last nonces can go back."""
        if not seqs:
            return
        with self.sessionmaker() as session, session.begin():
            query = sa.select(ChainIntent).where(ChainIntent.seq.in_(seqs), ChainIntent.state == IntentState.SIGNED).order_by(ChainIntent.nonce)
            intents = list(session.scalars(query.with_for_update()))
            if not intents:
                return
            account = get_or_raise(session, LedgerAccount, (intents[0].chain_id, intents[0].sender), with_for_update=True)
            if account.next_nonce != _nonce(intents[-1]) + 1 or _nonce(intents[-1]) - _nonce(intents[0]) != len(intents) - 1:
                return  # not the last ones, or not a run: the signed bytes stay and are sent later
            requeue(intents, account, _nonce(intents[0]))

    def _submit(self, seq: int, signed: tuple[bytes, str], *, funded: bool = False) -> IntentState | None:
        """Send signed bytes; None when the chain has them now, else the intent's state."""
        try:
            self.chain.send_raw(signed[0])
        except TransactionRejected as rejection:
            return self._refused(seq, signed, rejection, funded=funded)
        return None

    def _refused(self, seq: int, signed: tuple[bytes, str], rejection: TransactionRejected, *, funded: bool = False) -> IntentState | None:
        """What a node's refusal of `signed` means: None when the chain has the transaction
        after all (or took it after a gas top-up), else the intent's state."""
        raw, tx_hash = signed
        if self.chain.transaction(tx_hash) is not None:
            return None  # known to the chain after all: go on to its receipt
        outcome = self._rejected(seq, rejection, may_fund=not funded)
        if outcome == _FUNDED:
            # Gas money goes out after the intent's transaction is closed: no database lock
            # is held while the node mines the top-up.
            try:
                if self.chain.funder_address is not None:
                    with self.claims.funder(self.chain.funder_address):
                        self.chain.top_up(signed_sender(raw), self.fee)
            except TransactionRejected as error:
                self._defer(seq, f"gas top-up refused: {error}")
                return IntentState.SIGNED
            return self._submit(seq, signed, funded=True)
        return None if outcome == _KNOWN else IntentState(outcome)

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
                finish(session, intent, IntentState.FAILED, error=f"nonce {intent.nonce} of {intent.sender} was used by another transaction ({rejection})")
                account.next_nonce = max(account.next_nonce, mined)
                return IntentState.FAILED
            if mined < nonce:
                self._retry_later(intent, f"waiting for nonce {mined} of {intent.sender} to be mined first ({rejection})")
                return IntentState.SIGNED
            if rejection.cannot_pay and self.chain.funder_address and may_fund:
                intent.last_error = f"topping up gas money after: {rejection}"
                return _FUNDED
            if rejection.permanent or intent.attempts + 1 >= MAX_REJECTIONS:
                # Refused for good, and its nonce is still unused: it goes to the next intent,
                # with the nonces of any later ones signed after it (by a worker that died
                # before sending them) and unknown to the chain: they are signed again.
                finish(session, intent, IntentState.FAILED, error=f"rejected by the node: {rejection}")
                later = list(session.scalars(signed_after(intent).with_for_update()))
                if account.next_nonce == nonce + 1 + len(later) and all(self.chain.transaction(i.tx_hash or "") is None for i in later):
                    requeue(later, account, nonce)
                return IntentState.FAILED
            # A full pool, a fee below the base fee, a rate limit: the same bytes, later.
            self._retry_later(intent, f"refused by the node, will retry: {rejection}")
            return IntentState.SIGNED

    def _record_each(self, receipts: list[tuple[int, dict[str, Any]]]) -> list[IntentState | None]:
        """Record the receipts in one transaction; should that fail, one by one, in order,
        until one cannot be (it stays signed: None when the chain was unreachable)."""
        if len(receipts) > 1:
            try:
                return list(self._record(receipts))
            except Exception:  # noqa: BLE001 - isolated below, where each failure is reported
                log.info("outbox: recording %d receipts together failed; recording them one by one", len(receipts))
        states: list[IntentState | None] = []
        for seq, receipt in receipts:
            try:
                states.extend(self._record([(seq, receipt)]))
            except ChainUnavailable as error:
                self._defer(seq, f"chain unreachable: {error}")
                return [*states, None]
            except Exception as error:  # one bad intent must not stall the other senders
                log.exception("outbox: intent %s failed unexpectedly; retrying later", seq)
                self._defer(seq, f"unexpected error: {error!r}")
                return [*states, IntentState.SIGNED]
        return states

    def _record(self, receipts: list[tuple[int, dict[str, Any]]]) -> list[IntentState]:
        # What the chain says beyond the receipt is read before the transaction opens.
        found = [(seq, receipt, *self._findings(seq, receipt)) for seq, receipt in receipts]
        with self.sessionmaker() as session, session.begin():
            query = sa.select(ChainIntent).where(ChainIntent.seq.in_([seq for seq, _receipt in receipts])).with_for_update()
            intents = {intent.seq: intent for intent in session.scalars(query)}
            states = []
            for seq, receipt, reason, code_hash in found:
                intent = intents.get(seq)
                if intent is None:
                    raise LookupError(f"Intent {seq} is gone")
                states.append(self._apply(session, intent, receipt, reason, code_hash))
            return states

    def _findings(self, seq: int, receipt: dict[str, Any]) -> tuple[str | None, str | None]:
        """A revert's reason, or a deployed contract's code hash."""
        if receipt["status"] != 1:
            with self.sessionmaker() as session:
                intent = get_or_raise(session, ChainIntent, seq)
                return revert_reason(self.chain, intent.sender, intent.gas_limit, _signed_bytes(intent)[1], receipt), None
        if receipt.get("contractAddress"):
            return None, "0x" + keccak(self.chain.code(receipt["contractAddress"])).hex()
        return None, None

    def _apply(self, session: Session, intent: ChainIntent, receipt: dict[str, Any], reason: str | None, code_hash: str | None) -> IntentState:
        """Settle a signed intent by its receipt, in the caller's transaction."""
        if intent.state != IntentState.SIGNED:
            return IntentState(intent.state)
        intent.block_number = int(receipt["blockNumber"])
        intent.gas_used = int(receipt["gasUsed"])
        intent.receipt_status = int(receipt["status"])
        if receipt["status"] != 1:
            intent.revert_reason = reason
            finish(session, intent, IntentState.FAILED, error=f"reverted: {reason}")
            return IntentState.FAILED
        finish(session, intent, IntentState.CONFIRMED)
        if intent.kind == IntentKind.DEPLOY and session.get(ContractDeployment, (intent.chain_id, intent.contract)) is not None:
            intent.contract_address = receipt["contractAddress"]
            log.warning("outbox: %s was deployed twice on chain %s; keeping the first", intent.contract, intent.chain_id)
        elif intent.kind == IntentKind.DEPLOY:
            intent.contract_address = receipt["contractAddress"]
            self.builder.forget(self.chain_id, intent.contract)
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
        return IntentState.CONFIRMED

    # -- bookkeeping ----------------------------------------------------------------------

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
