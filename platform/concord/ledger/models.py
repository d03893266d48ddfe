"""Ledger-side records kept in the database."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from concord.db import Base, TokenUnits
from concord.tenancy.models import str_enum  # one way to store enums, shared


class OrganizationKey(Base):
    """An organization's custodial secp256k1 signing key, encrypted at rest.

    `ciphertext` is AES-256-GCM under the master key named by `master_key_id`, with the
    organization id as associated data: a blob copied onto another organization's row
    fails to decrypt.
    """

    __tablename__ = "organization_keys"

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(42), unique=True)
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    master_key_id: Mapped[str] = mapped_column(sa.String(16), index=True)
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]


class IntentState(StrEnum):
    QUEUED = "queued"  # written with the business change; not yet signed
    SIGNED = "signed"  # signed with its nonce; submitted, or about to be (resubmitting is safe)
    CONFIRMED = "confirmed"  # mined with status 1
    FAILED = "failed"  # reverted on chain, or refused for good; `revert_reason`/`last_error` say why
    SKIPPED = "skipped"  # never sent: a check before signing found it moot; `last_error` says why


OPEN_STATES = (IntentState.QUEUED, IntentState.SIGNED)
#: The states a step waiting for this one may follow (a skipped step had nothing to do).
DONE_STATES = (IntentState.CONFIRMED, IntentState.SKIPPED)


class IntentKind(StrEnum):
    CALL = "call"
    DEPLOY = "deploy"


# An integer key orders the outbox (SQLite autoincrements only an INTEGER PRIMARY KEY);
# `uid` is the random identifier the API shows.
_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class ChainIntent(Base):
    """One transaction an organization means to send, written in the same database
    transaction as the business change it belongs to, and then driven to the chain by the
    outbox worker."""

    __tablename__ = "chain_intents"
    __public_key__ = "uid"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    uid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    sender: Mapped[str] = mapped_column(sa.String(42), index=True)
    kind: Mapped[IntentKind] = mapped_column(str_enum(IntentKind, "intent_kind"))
    # The deployment the call goes to ("Consortium", "SettlementToken.EUR"), or the
    # artifact a deploy intent creates.
    contract: Mapped[str] = mapped_column(sa.String(64))
    function: Mapped[str | None] = mapped_column(sa.String(64))
    args: Mapped[list] = mapped_column(sa.JSON)
    gas_limit: Mapped[int] = mapped_column(sa.Integer)
    purpose: Mapped[str] = mapped_column(sa.String(200))
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # An intent of another sender that must be confirmed first (an escrow's steps are taken
    # by buyer, supplier, carrier and arbiter in turn); if it fails, this one fails too.
    after_seq: Mapped[int | None] = mapped_column(_SEQ, sa.ForeignKey("chain_intents.seq"), index=True)
    state: Mapped[IntentState] = mapped_column(str_enum(IntentState, "intent_state"), default=IntentState.QUEUED, index=True)
    chain_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    nonce: Mapped[int | None] = mapped_column(sa.BigInteger)
    raw_tx: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    tx_hash: Mapped[str | None] = mapped_column(sa.String(66), index=True)
    block_number: Mapped[int | None] = mapped_column(sa.BigInteger)
    gas_used: Mapped[int | None] = mapped_column(sa.BigInteger)
    receipt_status: Mapped[int | None] = mapped_column(sa.SmallInteger)
    contract_address: Mapped[str | None] = mapped_column(sa.String(42))
    revert_reason: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]


class LedgerAccount(Base):
    """The next nonce of one sender on one chain: the outbox owns nonces, not the node."""

    __tablename__ = "ledger_accounts"

    chain_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    address: Mapped[str] = mapped_column(sa.String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(sa.BigInteger)


class ContractDeployment(Base):
    """Where a contract lives on one chain (`concord contracts deploy` writes these once)."""

    __tablename__ = "contract_deployments"

    chain_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    artifact: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(42))
    tx_hash: Mapped[str] = mapped_column(sa.String(66))
    block_number: Mapped[int] = mapped_column(sa.BigInteger)
    source_hash: Mapped[str] = mapped_column(sa.String(80))
    code_hash: Mapped[str] = mapped_column(sa.String(66))
    deployed_at: Mapped[datetime]


class ChainEvent(Base):
    """A contract event read back from the chain by the indexer."""

    __tablename__ = "chain_events"

    chain_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    tx_hash: Mapped[str] = mapped_column(sa.String(66), primary_key=True)
    log_index: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    contract: Mapped[str] = mapped_column(sa.String(64))
    event: Mapped[str] = mapped_column(sa.String(64))
    args: Mapped[dict] = mapped_column(sa.JSON)
    # The order an escrow event is about (its `orderId`), so an order's events are found by index.
    order_ref: Mapped[str | None] = mapped_column(sa.String(66), index=True)


class ChainMember(Base):
    """The consortium's membership as the chain's events tell it (indexer projection)."""

    __tablename__ = "chain_members"

    chain_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    address: Mapped[str] = mapped_column(sa.String(42), primary_key=True)
    organization_ref: Mapped[str] = mapped_column(sa.String(66))
    roles: Mapped[int] = mapped_column(sa.Integer)
    active: Mapped[bool]
    updated_block: Mapped[int] = mapped_column(sa.BigInteger)


class IndexerCursor(Base):
    """The next block the indexer reads, per chain."""

    __tablename__ = "indexer_cursors"

    chain_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    next_block: Mapped[int] = mapped_column(sa.BigInteger)


class TokenBalance(Base):
    """A settlement-token balance as the indexed Transfer events add it up (token units)."""

    __tablename__ = "token_balances"

    chain_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # the deployment, e.g. SettlementToken.EUR
    address: Mapped[str] = mapped_column(sa.String(42), primary_key=True)
    units: Mapped[int] = mapped_column(TokenUnits)
    updated_block: Mapped[int] = mapped_column(sa.BigInteger)


class LedgerVerification(Base):
    """One finished run of `concord ledger verify`: the block it compared the database with,
    what it checked and what disagreed. The latest run on a chain is where the next
    incremental run starts."""

    __tablename__ = "ledger_verifications"

    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    full: Mapped[bool]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    through_block: Mapped[int] = mapped_column(sa.BigInteger)
    indexed_through: Mapped[int | None] = mapped_column(sa.BigInteger)
    # {"contracts": n, "transactions": n, "members": n, "orders": n, ...}
    checked: Mapped[dict] = mapped_column(sa.JSON)
    # [{"key": ..., "subject": ..., "database": ..., "chain": ...}]
    problems: Mapped[list] = mapped_column(sa.JSON)
    # Keys of subjects that moved on chain after `through_block` while the run read them:
    # the next run checks them again.
    deferred: Mapped[list] = mapped_column(sa.JSON)
