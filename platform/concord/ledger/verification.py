"""`concord ledger verify`: does the database agree with the chain?

A run reads the chain at one block, `through` (the head when it starts), and compares the
indexer's projections with the chain at the block the indexer has reached, so it can run
beside the platform (with the embedded chain, on a read-only snapshot of its state on disk):
it writes nothing but its own record, a `LedgerVerification` row. It compares

* every deployed contract's code hash;
* each confirmed transaction (mined with status 1 in the recorded block), and each failed
  one that has a hash (not mined with status 1);
* the indexed membership with the Consortium contract, and each organization's status with
  its membership (all of them on every run: one call per member);
* what other domains register in `wiring.verify_checks` (concord.bootstrap): each order
  with its escrow.

A full run (`--full`, or the first on a chain) checks everything. An incremental run checks
what changed since the previous run started (`CHANGE_MARGIN` earlier, for transactions that
were still being written then), what moved on chain since the block the previous run read,
and whatever the previous run found wrong or deferred. Something that moves on chain after
`through` while a run reads it is deferred to the next run, not reported.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from eth_utils import keccak, to_checksum_address
from sqlalchemy.orm import Session

from concord import clock, wiring
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import (
    OPEN_STATES,
    ChainIntent,
    ChainMember,
    ContractDeployment,
    IndexerCursor,
    IntentState,
    LedgerVerification,
    OrganizationKey,
)
from concord.tenancy.models import Organization, OrgStatus

#: How long before the previous run's start an incremental run looks for changes: a row
#: stamped just before that run started may have been committed only after it read.
CHANGE_MARGIN = timedelta(minutes=5)
#: Rows read from the database at a time.
BATCH = 500
_MEMBER_ACTIVE = 1  # IConsortium.MemberStatus.Active

T = TypeVar("T")


@dataclass(frozen=True)
class Disagreement:
    subject: str
    database: str
    chain: str
    #: What the next incremental run checks again ("intent:12", "order:<uuid>", ...).
    key: str = ""

    def __str__(self) -> str:
        return f"{self.subject}: database says {self.database}; chain says {self.chain}"


Progress = Callable[[str, int, int], None]


def _silent(_what: str, _done: int, _total: int) -> None:
    pass


@dataclass
class Scope:
    """What one run reads and where: handed to every check."""

    chain_id: int
    through_block: int
    indexed_through: int | None  # the last block the indexer has read (None: nothing yet)
    previous: LedgerVerification | None  # None: check everything
    progress: Progress = _silent
    checked: Counter = field(default_factory=Counter)
    deferred: list[str] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return self.previous is None

    @property
    def changed_since(self) -> datetime | None:
        return self.previous.started_at - CHANGE_MARGIN if self.previous is not None else None

    @property
    def moved_after_block(self) -> int | None:
        """The block the previous run read the chain at (what moved after it is checked)."""
        return self.previous.through_block if self.previous is not None else None

    def again(self, kind: str) -> set[str]:
        """Subjects of `kind` the previous run found wrong or deferred."""
        if self.previous is None:
            return set()
        keys = [problem.get("key", "") for problem in self.previous.problems] + list(self.previous.deferred)
        prefix = kind + ":"
        return {key[len(prefix) :] for key in keys if key.startswith(prefix)}

    def defer(self, key: str) -> None:
        self.deferred.append(key)

    def batches(self, what: str, items: list[T]) -> Iterator[list[T]]:
        """`items` in batches of BATCH, reporting progress after each one."""
        size = BATCH
        for start in range(0, len(items), size):
            yield items[start : start + size]
            self.progress(what, min(start + size, len(items)), len(items))
        self.checked[what] += len(items)


@dataclass
class Run:
    """What one run found (`record` keeps it as the next run's starting point)."""

    scope: Scope
    started_at: datetime
    problems: list[Disagreement]
    seconds: float


def verify(session: Session, chain: Chain) -> list[Disagreement]:
    """Every disagreement between the database and the chain, everything checked."""
    return check(session, chain, full=True).problems


def check(session: Session, chain: Chain, *, full: bool = False, progress: Progress = _silent, through_block: int | None = None) -> Run:
    """One run: incremental from the chain's latest recorded run unless `full`."""
    started, started_at = time.perf_counter(), clock.utcnow()
    chain_id = chain.chain_id
    previous = None
    if not full:
        previous = session.execute(
            sa.select(LedgerVerification).where(LedgerVerification.chain_id == chain_id).order_by(LedgerVerification.id.desc()).limit(1)
        ).scalar_one_or_none()
    cursor = session.get(IndexerCursor, chain_id)
    # The database is read before the head is pinned: whatever it says was mined is at or below it.
    through = chain.block_number() if through_block is None else through_block
    scope = Scope(
        chain_id=chain_id,
        through_block=through,
        indexed_through=min(cursor.next_block - 1, through) if cursor is not None else None,
        previous=previous,
        progress=progress,
    )
    problems = _contracts(session, chain, scope) + _transactions(session, chain, scope) + _membership(session, chain, scope)
    for domain_check in wiring.of_session(session).verify_checks:  # other domains' (concord.bootstrap)
        problems.extend(domain_check(session, chain, scope))
    return Run(scope=scope, started_at=started_at, problems=problems, seconds=time.perf_counter() - started)


def record(session: Session, run: Run) -> LedgerVerification:
    """Keep the run (its own row is the only thing verify writes)."""
    row = LedgerVerification(
        chain_id=run.scope.chain_id,
        full=run.scope.full,
        started_at=run.started_at,
        finished_at=clock.utcnow(),
        through_block=run.scope.through_block,
        indexed_through=run.scope.indexed_through,
        checked=dict(run.scope.checked),
        problems=[{"key": p.key, "subject": p.subject, "database": p.database, "chain": p.chain} for p in run.problems],
        deferred=sorted(set(run.scope.deferred)),
    )
    session.add(row)
    session.commit()
    return row


# -- the ledger's own records ---------------------------------------------------------------


def _contracts(session: Session, chain: Chain, scope: Scope) -> list[Disagreement]:
    problems = []
    rows = list(session.execute(sa.select(ContractDeployment).where(ContractDeployment.chain_id == scope.chain_id)).scalars())
    for row in rows:
        code = chain.code(row.address)
        actual = "0x" + keccak(code).hex() if code else "no code"
        if actual != row.code_hash:
            problems.append(Disagreement(f"contract {row.name} at {row.address}", f"code hash {row.code_hash}", actual, key=f"contract:{row.name}"))
    scope.checked["contracts"] += len(rows)
    return problems


def _transactions(session: Session, chain: Chain, scope: Scope) -> list[Disagreement]:
    settled = sa.and_(
        ChainIntent.chain_id == scope.chain_id,
        ChainIntent.tx_hash.is_not(None),
        ChainIntent.state.in_([IntentState.CONFIRMED, IntentState.FAILED]),
    )
    if not scope.full:
        again = [int(seq) for seq in scope.again("intent")]
        settled = sa.and_(settled, sa.or_(ChainIntent.updated_at >= scope.changed_since, ChainIntent.seq.in_(again)))
    seqs = list(session.execute(sa.select(ChainIntent.seq).where(settled).order_by(ChainIntent.seq)).scalars())
    problems: list[Disagreement] = []
    for batch in scope.batches("transactions", seqs):
        intents = list(session.execute(sa.select(ChainIntent).where(ChainIntent.seq.in_(batch)).order_by(ChainIntent.seq)).scalars())
        receipts = chain.receipts([intent.tx_hash for intent in intents if intent.tx_hash is not None])  # one round trip per batch
        for intent in intents:
            problems.extend(_transaction(scope, intent, receipts.get(intent.tx_hash or "")))
    return problems


def _transaction(scope: Scope, intent: ChainIntent, receipt: dict | None) -> Iterable[Disagreement]:
    key = f"intent:{intent.seq}"
    subject = f"transaction {intent.tx_hash} ({intent.purpose})"
    if intent.state == IntentState.CONFIRMED and intent.block_number is not None and intent.block_number > scope.through_block:
        scope.defer(key)  # mined after the block this run reads
        return
    if receipt is not None and int(receipt["blockNumber"]) > scope.through_block:
        receipt = None  # not mined yet at the block this run reads
    if intent.state == IntentState.CONFIRMED:
        if receipt is None:
            yield Disagreement(subject, f"confirmed in block {intent.block_number}", "no such transaction", key=key)
        elif int(receipt["status"]) != 1 or int(receipt["blockNumber"]) != intent.block_number:
            yield Disagreement(subject, f"confirmed in block {intent.block_number}", f"status {receipt['status']} in block {receipt['blockNumber']}", key=key)
    elif receipt is not None and int(receipt["status"]) == 1:
        yield Disagreement(subject, "failed", f"mined with status 1 in block {receipt['blockNumber']}", key=key)


# -- membership -----------------------------------------------------------------------------


def _membership(session: Session, chain: Chain, scope: Scope) -> list[Disagreement]:
    consortium = session.get(ContractDeployment, (scope.chain_id, "Consortium"))
    if consortium is None:
        return []
    contract = chain.contract(load_artifact("Consortium").abi, consortium.address)

    def member_at(address: str, block: int) -> tuple[str, int, bool]:
        organization_id, roles, status, _admitted = contract.functions.memberOf(to_checksum_address(address)).call(block_identifier=block)
        return "0x" + bytes(organization_id).hex(), int(roles), status == _MEMBER_ACTIVE

    problems: list[Disagreement] = []
    if scope.indexed_through is not None:  # the projection against the chain at the block it was read to
        projected = list(session.execute(sa.select(ChainMember).where(ChainMember.chain_id == scope.chain_id)).scalars())
        for member in projected:
            indexed = member_at(member.address, scope.indexed_through)
            if indexed != (member.organization_ref, member.roles, member.active):
                problems.append(
                    Disagreement(
                        f"indexed member {member.address}",
                        _member_text(member.organization_ref, member.roles, member.active),
                        _member_text(*indexed),
                        key=f"member:{member.address}",
                    )
                )
        scope.checked["indexed members"] += len(projected)

    # An organization whose membership is still on its way, or was mined after `through`, is not compared.
    moving = set(
        session.execute(
            sa.select(ChainIntent.subject_id).where(
                ChainIntent.subject_type == "organization",
                sa.or_(ChainIntent.state.in_(OPEN_STATES), ChainIntent.block_number > scope.through_block),
            )
        ).scalars()
    )
    deploying = session.execute(sa.select(ChainIntent.seq).where(ChainIntent.subject_type == "deployment", ChainIntent.state.in_(OPEN_STATES)).limit(1)).first()
    organizations = session.execute(
        sa.select(Organization, OrganizationKey.address).join(OrganizationKey, OrganizationKey.organization_id == Organization.id)
    ).all()
    for organization, address in organizations:
        if organization.status not in (OrgStatus.ACTIVE, OrgStatus.SUSPENDED):
            continue
        if str(organization.id) in moving:
            scope.defer(f"organization:{organization.id}")
            continue
        if organization.is_operator and deploying:
            continue  # the deployment admits the operator; it is still under way
        reference, roles, active = member_at(address, scope.through_block)
        expected_active = organization.status == OrgStatus.ACTIVE
        if reference != "0x" + to_bytes32(organization.id).hex() or active != expected_active:
            problems.append(
                Disagreement(
                    f"organization {organization.legal_name} ({address})",
                    f"{'an active' if expected_active else 'a suspended'} member",
                    "not a member" if reference == "0x" + bytes(32).hex() else _member_text(reference, roles, active),
                    key=f"organization:{organization.id}",
                )
            )
    scope.checked["organizations"] += len(organizations)
    return problems


def _member_text(reference: str, roles: int, active: bool) -> str:
    return f"{'active' if active else 'suspended'} member of organization {reference} with roles {roles}"
