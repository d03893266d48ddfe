"""The indexer: reads the contracts' events back into the database (verification.py checks
that the database and the chain agree)."""

from __future__ import annotations

import weakref
from typing import Any

import sqlalchemy as sa
from eth_utils import event_abi_to_log_topic, to_checksum_address
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from concord.db import get_or_raise
from concord.ledger.abi import to_json
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.models import (
    ChainEvent,
    ChainMember,
    ContractDeployment,
    IndexerCursor,
    TokenBalance,
)

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
