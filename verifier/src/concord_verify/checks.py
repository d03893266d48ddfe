"""The checks of a proof bundle, each a named result (see the bundle format).

Offline checks use only the bundle: the event hash is recomputed from the event, the
signer recovered from the signature, the Merkle leaf recomputed from its values. Chain
checks ask a JSON-RPC node the auditor chooses: the chain id, the signer's membership at
the anchoring block, the root anchored under the batch id, the anchoring transaction.

A check that fails says why; a node that answers a call with an error (a revert, an unknown
block) fails that check. A node that cannot be reached raises `rpc.RpcUnavailable`: the
verdict is then "could not verify", not "forged".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from concord_verify import attestation, event_hash, merkle
from concord_verify.bundle import Bundle, BundleError, parse
from concord_verify.rpc import Client, RpcError

FORMAT = "format"
CHAIN_ID = "chain-id"
EVENT_HASH = "event-hash"
DOMAIN = "domain"
SIGNATURE = "signature"
MEMBER = "member"
MERKLE_PROOF = "merkle-proof"
ANCHORED = "anchored"
ANCHOR_TRANSACTION = "anchor-transaction"
DOCUMENT_HASH = "document-hash"


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "reason": self.reason}


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _org(bundle: Bundle) -> str:
    org = bundle.organization
    return f"{org.name} ({org.id})" if org.name else org.id


# -- offline ----------------------------------------------------------------------------------


def check_format(data: Any) -> tuple[Result, Bundle | None]:
    try:
        bundle = parse(data)
    except BundleError as error:
        return Result(FORMAT, False, "; ".join(error.problems)), None
    return Result(FORMAT, True, f"concord-proof-bundle/1, {bundle.kind}"), bundle


def check_event_hash(bundle: Bundle) -> Result:
    assert bundle.event is not None
    try:
        computed = event_hash.event_hash_id(bundle.event, bundle.context)
    except Exception as error:  # noqa: BLE001 (any event the algorithm cannot read is a failed check, not a crash)
        return Result(EVENT_HASH, False, f"the event hash cannot be computed from the event: {error}")
    if computed != bundle.event_hash_id:
        return Result(EVENT_HASH, False, f"the event hashes to {computed}, not {bundle.event_hash_id}")
    own = bundle.event.get("eventID")
    if isinstance(own, str) and own.startswith("ni:///") and own != computed:
        # The capturer's name for the event (the standard's own examples carry such IDs that
        # are not their hashes): outside what is hashed and signed, so it proves nothing.
        return Result(EVENT_HASH, True, f"{computed} (the event's eventID {own} is a name given at capture, not its hash)")
    return Result(EVENT_HASH, True, computed)


def _domain(bundle: Bundle) -> attestation.Domain:
    return attestation.Domain(bundle.chain.chain_id, bundle.chain.provenance_anchor)


def check_domain(bundle: Bundle) -> Result:
    assert bundle.attestation is not None
    given = bundle.attestation.domain
    expected = _domain(bundle).as_eip712()
    problems = []
    if set(given) != set(expected):
        problems.append(f"its fields are {sorted(given)}, not {sorted(expected)}")
    for key in ("name", "version", "chainId"):
        if key in given and given[key] != expected[key]:
            problems.append(f"{key} is {given[key]!r}, not {expected[key]!r}")
    contract = given.get("verifyingContract")
    if not isinstance(contract, str) or contract.lower() != expected["verifyingContract"].lower():
        problems.append(f"verifyingContract is {contract!r}, not the bundle's ProvenanceAnchor {expected['verifyingContract']}")
    if problems:
        return Result(DOMAIN, False, "the attestation's EIP-712 domain is not this deployment's: " + "; ".join(problems))
    return Result(DOMAIN, True, f"{expected['name']} v{expected['version']}, chain {expected['chainId']}, {expected['verifyingContract']}")


def check_signature(bundle: Bundle) -> Result:
    signed = bundle.attestation
    assert signed is not None and bundle.event_hash_id is not None
    try:
        recovered = attestation.recover(_domain(bundle), bundle.event_hash_id, bundle.organization.bytes32, signed.signature)
    except attestation.AttestationError as error:
        return Result(SIGNATURE, False, str(error))
    if recovered != signed.signer:
        return Result(SIGNATURE, False, f"recovers {recovered}, not {signed.signer}")
    return Result(SIGNATURE, True, f"signed by {signed.signer} for {_org(bundle)}")


def _leaf(bundle: Bundle) -> bytes | str:
    """The event's leaf in its batch, recomputed from its values (or why it cannot be)."""
    assert bundle.attestation is not None and bundle.event_hash_id is not None
    try:
        return merkle.Placement(bundle.chain.chain_id, bundle.chain.provenance_anchor, bundle.batch.batch_id).leaf(
            bundle.event_hash_id, bundle.organization.bytes32, bundle.attestation.signer
        )
    except (ValueError, TypeError) as error:
        return f"the leaf cannot be computed: {error}"


def check_merkle_proof(bundle: Bundle) -> Result:
    batch = bundle.batch
    leaf = _leaf(bundle)
    if isinstance(leaf, str):
        return Result(MERKLE_PROOF, False, leaf)
    reached = merkle.process_proof(leaf, batch.proof)
    if reached != batch.root:
        return Result(MERKLE_PROOF, False, f"the proof leads from leaf {_hex(leaf)} to {_hex(reached)}, not to the root {_hex(batch.root)}")
    if batch.leaf is not None and batch.leaf != leaf:
        return Result(MERKLE_PROOF, False, f"the bundle's leaf {_hex(batch.leaf)} is not the leaf of its values {_hex(leaf)}")
    return Result(MERKLE_PROOF, True, f"leaf {_hex(leaf)} reaches the root in {len(batch.proof)} steps")


def check_document_hash(bundle: Bundle) -> Result:
    document = bundle.document
    assert document is not None
    digest = hashlib.sha256(document.content).hexdigest()
    if digest != document.sha256:
        return Result(DOCUMENT_HASH, False, f"the content hashes to {digest}, not to the document's sha256 {document.sha256}")
    if bundle.batch.root.hex() != digest:
        return Result(DOCUMENT_HASH, False, f"the batch root {_hex(bundle.batch.root)} is not the document's sha256 {digest}")
    return Result(DOCUMENT_HASH, True, f"SHA-256 {digest} ({len(document.content)} bytes, {document.filename})")


# -- against the chain ------------------------------------------------------------------------


def check_chain_id(bundle: Bundle, client: Client) -> Result:
    actual = client.chain_id()
    if actual != bundle.chain.chain_id:
        return Result(CHAIN_ID, False, f"the node is on chain {actual}, the bundle on chain {bundle.chain.chain_id}")
    return Result(CHAIN_ID, True, str(actual))


def _membership(name: str, bundle: Bundle, client: Client, account: str) -> Result:
    block = bundle.batch.anchor_block
    consortium = bundle.chain.consortium
    organization = client.organization_of(consortium, account, block)
    if organization != bundle.organization.bytes32:
        return Result(name, False, f"at block {block} the Consortium at {consortium} maps {account} to {_hex(organization)}, not to {_org(bundle)}")
    if not client.is_active_member(consortium, account, block):
        return Result(name, False, f"{account} was not an active member at block {block} (suspended or removed)")
    return Result(name, True, f"{account} was an active member of {_org(bundle)} at block {block}")


def check_member(bundle: Bundle, client: Client) -> Result:
    assert bundle.attestation is not None
    return _membership(MEMBER, bundle, client, bundle.attestation.signer)


def _anchored(bundle: Bundle, client: Client) -> tuple[str | None, Result | None]:
    """The account that anchored the batch, or the failed `anchored` result."""
    batch, contract = bundle.batch, bundle.chain.provenance_anchor
    anchored = client.anchor_of(contract, batch.batch_id)
    if anchored.anchored_by == to_checksum_address(b"\0" * 20):
        return None, Result(ANCHORED, False, f"batch {_hex(batch.batch_id)} is not anchored in the ProvenanceAnchor at {contract}")
    if anchored.merkle_root != batch.root:
        return None, Result(ANCHORED, False, f"batch {_hex(batch.batch_id)} is anchored with root {_hex(anchored.merkle_root)}, not {_hex(batch.root)}")
    if anchored.organization_id != bundle.organization.bytes32:
        return None, Result(
            ANCHORED, False, f"batch {_hex(batch.batch_id)} was anchored by {anchored.anchored_by} of {_hex(anchored.organization_id)}, not of {_org(bundle)}"
        )
    if anchored.block_number != batch.anchor_block:
        return None, Result(ANCHORED, False, f"batch {_hex(batch.batch_id)} was anchored at block {anchored.block_number}, not {batch.anchor_block}")
    if anchored.batch_size != batch.size:
        return None, Result(ANCHORED, False, f"batch {_hex(batch.batch_id)} was anchored with {anchored.batch_size} leaves, not {batch.size}")
    return anchored.anchored_by, None


def check_anchored(bundle: Bundle, client: Client) -> Result:
    anchored_by, failed = _anchored(bundle, client)
    if failed is not None:
        return failed
    batch = bundle.batch
    leaf = _leaf(bundle)
    if isinstance(leaf, str):
        return Result(ANCHORED, False, leaf)
    if not client.verify_inclusion(bundle.chain.provenance_anchor, batch.batch_id, leaf, list(batch.proof)):
        return Result(ANCHORED, False, f"ProvenanceAnchor.verifyInclusion refuses leaf {_hex(leaf)} with this proof in batch {_hex(batch.batch_id)}")
    return Result(
        ANCHORED,
        True,
        f"root {_hex(batch.root)} of batch {_hex(batch.batch_id)} anchored at block {batch.anchor_block} by {anchored_by}; verifyInclusion agrees",
    )


def check_document_anchored(bundle: Bundle, client: Client) -> Result:
    anchored_by, failed = _anchored(bundle, client)
    if failed is not None:
        return failed
    return Result(
        ANCHORED, True, f"SHA-256 {bundle.batch.root.hex()} anchored under {_hex(bundle.batch.batch_id)} at block {bundle.batch.anchor_block} by {anchored_by}"
    )


def check_document_member(bundle: Bundle, client: Client) -> Result:
    anchored = client.anchor_of(bundle.chain.provenance_anchor, bundle.batch.batch_id)
    if anchored.anchored_by == to_checksum_address(b"\0" * 20):
        return Result(MEMBER, False, f"batch {_hex(bundle.batch.batch_id)} is not anchored: no member anchored it")
    return _membership(MEMBER, bundle, client, anchored.anchored_by)


def check_anchor_transaction(bundle: Bundle, client: Client) -> Result:
    batch = bundle.batch
    receipt = client.receipt(batch.anchor_transaction)
    if receipt is None:
        return Result(ANCHOR_TRANSACTION, False, f"the node knows no transaction {batch.anchor_transaction}")
    try:
        block = int(str(receipt.get("blockNumber")), 16)
        status = int(str(receipt.get("status")), 16)
    except (TypeError, ValueError):
        return Result(ANCHOR_TRANSACTION, False, f"the receipt of {batch.anchor_transaction} has no block number or status")
    to = receipt.get("to")
    if block != batch.anchor_block:
        return Result(ANCHOR_TRANSACTION, False, f"{batch.anchor_transaction} is in block {block}, not {batch.anchor_block}")
    if status != 1:
        return Result(ANCHOR_TRANSACTION, False, f"{batch.anchor_transaction} failed (status {status})")
    if not isinstance(to, str) or to.lower() != bundle.chain.provenance_anchor.lower():
        return Result(ANCHOR_TRANSACTION, False, f"{batch.anchor_transaction} was sent to {to}, not to the ProvenanceAnchor {bundle.chain.provenance_anchor}")
    return Result(ANCHOR_TRANSACTION, True, f"{batch.anchor_transaction} in block {block}, status 1")


Check = Callable[[Bundle, Client], Result]


def _offline(check: Callable[[Bundle], Result]) -> Check:
    return lambda bundle, _client: check(bundle)


EVENT_CHECKS: tuple[tuple[str, Check], ...] = (
    (CHAIN_ID, check_chain_id),
    (EVENT_HASH, _offline(check_event_hash)),
    (DOMAIN, _offline(check_domain)),
    (SIGNATURE, _offline(check_signature)),
    (MEMBER, check_member),
    (MERKLE_PROOF, _offline(check_merkle_proof)),
    (ANCHORED, check_anchored),
    (ANCHOR_TRANSACTION, check_anchor_transaction),
)
DOCUMENT_CHECKS: tuple[tuple[str, Check], ...] = (
    (CHAIN_ID, check_chain_id),
    (DOCUMENT_HASH, _offline(check_document_hash)),
    (ANCHORED, check_document_anchored),
    (MEMBER, check_document_member),
    (ANCHOR_TRANSACTION, check_anchor_transaction),
)


def run(data: Any, client: Client) -> tuple[Bundle | None, list[Result]]:
    """Every check of the bundle in `data` (a decoded JSON value), in order. A malformed
    bundle stops at `format`. `rpc.RpcUnavailable` propagates (the node is unreachable)."""
    first, bundle = check_format(data)
    if bundle is None:
        return None, [first]
    results = [first]
    for name, check in EVENT_CHECKS if bundle.kind == "event" else DOCUMENT_CHECKS:
        try:
            result = check(bundle, client)
        except RpcError as error:
            result = Result(name, False, f"the node refused the call: {error}")
        results.append(result)
    return bundle, results
