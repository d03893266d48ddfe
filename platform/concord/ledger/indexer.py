"""The indexer: reads the contracts' events back into the database, and checks that the
database and the chain agree (`concord ledger verify`)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from concord import wiring
from concord.db import get_or_raise
from concord.ledger.abi import to_json
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import (
    OPEN_STATES,
    ChainEvent,
    ChainIntent,
    ChainMember,
    ContractDeployment,
    IndexerCursor,
    IntentState,
    OrganizationKey,
    TokenBalance,
)
from concord.tenancy.models import Organization, OrgStatus

#: Blocks read per `eth_getLogs` request.
PAGE = 2_000
_MEMBER_ACTIVE = 1  # IConsortium.MemberStatus.Active


#: Event decoders per chain connection and set of deployments (built once: web3 walks the
#: whole ABI for every event object it hands out).
_decoders: weakref.WeakKeyDictionary[Chain, dict[tuple, dict[tuple[str, bytes], tuple[str, Any]]]] = weakref.WeakKeyDictionary()


def _event_decoders(chain: Chain, rows: list[ContractDeployment]) -> dict[tuple[str, bytes], tuple[str, Any]]:
    key = tuple(sorted((row.name, row.artifact, row.address.lower()) for row in rows))
    known = _decoders.setdefault(chain, {})
    if key not in known:
        known[key] = _build_event_decoders(chain, rows)
    return known[key]


def _build_event_decoders(chain: Chain, rows: list[ContractDeployment]) -> dict[tuple[str, bytes], tuple[str, Any]]:
    decoders = {}
    for row in rows:
        contract = chain.contract(load_artifact(row.artifact).abi, row.address)
        for item in contract.abi:
            if item.get("type") == "event":
                decoders[(row.address.lower(), event_abi_to_log_topic(item))] = (row.name, getattr(contract.events, item["name"])())
    return decoders


def sync(session: Session, chain: Chain) -> int:
    """Index every block from the cursor to the chain head; returns the events added."""
    chain_id = chain.chain_id
    rows = list(session.execute(sa.select(ContractDeployment).where(ContractDeployment.chain_id == chain_id)).scalars())
    if not rows:
        return 0
    head = chain.block_number()
    current = session.get(IndexerCursor, chain_id, populate_existing=True)
    if current is not None and current.next_block > head:
        session.commit()
        return 0  # nothing mined since: no lock taken, nothing decoded (most worker rounds)
    # A peer worker may be creating the cursor at the same moment: the second insert does
    # nothing, and the row lock below makes each page indexed by one worker, once.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(IndexerCursor).values(chain_id=chain_id, next_block=min(row.block_number for row in rows)).on_conflict_do_nothing(index_elements=["chain_id"])
    )
    cursor = get_or_raise(session, IndexerCursor, chain_id, with_for_update=True, populate_existing=True)
    decoders = _event_decoders(chain, rows)
    added = 0
    while cursor.next_block <= head:
        last = min(head, cursor.next_block + PAGE - 1)
        for entry in chain.logs([row.address for row in rows], cursor.next_block, last):
            added += _index(session, chain_id, entry, decoders)
        cursor.next_block = last + 1
        session.commit()  # page by page: a failure later keeps what was read
        cursor = get_or_raise(session, IndexerCursor, chain_id, with_for_update=True, populate_existing=True)
    session.commit()
    return added


def _index(session: Session, chain_id: int, entry: dict[str, Any], decoders) -> int:
    topics = entry.get("topics") or []
    if not topics:
        return 0
    found = decoders.get((entry["address"].lower(), bytes(topics[0])))
    if found is None:
        return 0
    contract_name, event = found
    decoded = event.process_log(entry)
    key = (chain_id, "0x" + bytes(entry["transactionHash"]).hex(), int(entry["logIndex"]))
    if session.get(ChainEvent, key) is not None:
        return 0
    args = {name: to_json(value) for name, value in dict(decoded["args"]).items()}
    session.add(
        ChainEvent(
            chain_id=chain_id,
            tx_hash=key[1],
            log_index=key[2],
            block_number=int(entry["blockNumber"]),
            contract=contract_name,
            event=decoded["event"],
            args=args,
            order_ref=args.get("orderId"),
        )
    )
    if contract_name == "Consortium":
        _project_membership(session, chain_id, decoded["event"], args, int(entry["blockNumber"]))
    elif contract_name.startswith("SettlementToken.") and decoded["event"] == "Transfer":
        _project_transfer(session, chain_id, contract_name, args, int(entry["blockNumber"]))
    session.flush()
    return 1


def _project_membership(session: Session, chain_id: int, event: str, args: dict[str, Any], block: int) -> None:
    if event not in ("MemberAdded", "MemberRolesUpdated", "MemberSuspended", "MemberReinstated"):
        return
    address = to_checksum_address(args["account"])
    member = session.get(ChainMember, (chain_id, address))
    if event == "MemberAdded":
        member = member or ChainMember(chain_id=chain_id, address=address)
        member.organization_ref = args["organizationId"]
        member.roles = int(args["roles"])
        member.active = True
        session.add(member)
    elif member is not None:
        if event == "MemberRolesUpdated":
            member.roles = int(args["roles"])
        else:
            member.active = event == "MemberReinstated"
    if member is not None:
        member.updated_block = block


def _project_transfer(session: Session, chain_id: int, token: str, args: dict[str, Any], block: int) -> None:
    value = int(args["value"])
    for address, delta in ((args["from"], -value), (args["to"], value)):
        if int(address, 16) == 0:
            continue  # minted from, or burned to, nobody
        key = (chain_id, token, to_checksum_address(address))
        balance = session.get(TokenBalance, key) or TokenBalance(chain_id=chain_id, token=token, address=key[2], units=0, updated_block=block)
        balance.units = int(balance.units) + delta
        balance.updated_block = block
        session.add(balance)


# -- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    subject: str
    database: str
    chain: str

    def __str__(self) -> str:
        return f"{self.subject}: database says {self.database}; chain says {self.chain}"


def verify(session: Session, chain: Chain) -> list[Disagreement]:
    """Every disagreement between the database and the chain (after indexing to the head)."""
    problems = _verify_ledger(session, chain)
    for check in wiring.of_session(session).verify_checks:  # other domains' (concord.bootstrap)
        problems.extend(check(session, chain))
    return problems


def _verify_ledger(session: Session, chain: Chain) -> list[Disagreement]:
    chain_id = chain.chain_id
    problems: list[Disagreement] = []
    rows = {row.name: row for row in session.execute(sa.select(ContractDeployment).where(ContractDeployment.chain_id == chain_id)).scalars()}
    for row in rows.values():
        code = chain.code(row.address)
        actual = "0x" + keccak(code).hex() if code else "no code"
        if actual != row.code_hash:
            problems.append(Disagreement(f"contract {row.name} at {row.address}", f"code hash {row.code_hash}", actual))

    confirmed = list(
        session.execute(
            sa.select(ChainIntent).where(ChainIntent.chain_id == chain_id, ChainIntent.state == IntentState.CONFIRMED).order_by(ChainIntent.seq)
        ).scalars()
    )
    receipts = chain.receipts([intent.tx_hash for intent in confirmed if intent.tx_hash is not None])
    for intent in confirmed:
        receipt = receipts.get(intent.tx_hash) if intent.tx_hash is not None else None
        if receipt is None:
            problems.append(
                Disagreement(f"transaction {intent.tx_hash} ({intent.purpose})", f"confirmed in block {intent.block_number}", "no such transaction")
            )
        elif int(receipt["status"]) != 1 or int(receipt["blockNumber"]) != intent.block_number:
            problems.append(
                Disagreement(
                    f"transaction {intent.tx_hash} ({intent.purpose})",
                    f"confirmed in block {intent.block_number}",
                    f"status {receipt['status']} in block {receipt['blockNumber']}",
                )
            )

    failed_but_mined = session.execute(
        sa.select(ChainIntent).where(ChainIntent.chain_id == chain_id, ChainIntent.state == IntentState.FAILED, ChainIntent.tx_hash.is_not(None))
    ).scalars()
    for intent in failed_but_mined:
        receipt = chain.receipt(intent.tx_hash) if intent.tx_hash is not None else None
        if receipt is not None and int(receipt["status"]) == 1:
            problems.append(
                Disagreement(f"transaction {intent.tx_hash} ({intent.purpose})", "failed", f"mined with status 1 in block {receipt['blockNumber']}")
            )

    consortium = rows.get("Consortium")
    if consortium is None:
        return problems
    contract = chain.contract(load_artifact("Consortium").abi, consortium.address)
    projected = {m.address: m for m in session.execute(sa.select(ChainMember).where(ChainMember.chain_id == chain_id)).scalars()}
    on_chain: dict[str, tuple[str, int, bool]] = {}
    for address in projected:
        organization_id, roles, status, _admitted = contract.functions.memberOf(address).call()
        on_chain[address] = ("0x" + bytes(organization_id).hex(), int(roles), status == _MEMBER_ACTIVE)
        member = projected[address]
        if on_chain[address] != (member.organization_ref, member.roles, member.active):
            problems.append(
                Disagreement(f"indexed member {address}", _member_text(member.organization_ref, member.roles, member.active), _member_text(*on_chain[address]))
            )

    pending = set(
        session.execute(sa.select(ChainIntent.subject_id).where(ChainIntent.subject_type == "organization", ChainIntent.state.in_(OPEN_STATES))).scalars()
    )
    deploying = session.execute(sa.select(ChainIntent.seq).where(ChainIntent.subject_type == "deployment", ChainIntent.state.in_(OPEN_STATES)).limit(1)).first()
    organizations = session.execute(
        sa.select(Organization, OrganizationKey.address).join(OrganizationKey, OrganizationKey.organization_id == Organization.id)
    ).all()
    for organization, address in organizations:
        if organization.status not in (OrgStatus.ACTIVE, OrgStatus.SUSPENDED) or str(organization.id) in pending:
            continue
        if organization.is_operator and deploying:
            continue  # the deployment admits the operator; it is still under way
        if address not in on_chain:
            organization_id, roles, status, _admitted = contract.functions.memberOf(address).call()
            on_chain[address] = ("0x" + bytes(organization_id).hex(), int(roles), status == _MEMBER_ACTIVE)
        reference, _roles, active = on_chain[address]
        expected_active = organization.status == OrgStatus.ACTIVE
        if reference != "0x" + to_bytes32(organization.id).hex() or active != expected_active:
            problems.append(
                Disagreement(
                    f"organization {organization.legal_name} ({address})",
                    f"{'an active' if expected_active else 'a suspended'} member",
                    "not a member" if reference == "0x" + bytes(32).hex() else _member_text(reference, _roles, active),
                )
            )
    return problems


def _member_text(reference: str, roles: int, active: bool) -> str:
    return f"{'active' if active else 'suspended'} member of organization {reference} with roles {roles}"
