"""Merkle batches of provenance events, verifiable by `ProvenanceAnchor.verifyInclusion`.

A batch is a set of attested event hashes. Each becomes a leaf; the tree's root is anchored
on chain under the batch id; each event gets a proof (the sibling hashes from its leaf up to
the root) that anyone can check offline (`verify_event`) or against the chain.

**Hashing** is OpenZeppelin's: a parent is `keccak256` of its two children sorted (the
commutative pair hash of `MerkleProof`), so a proof is a plain list of 32-byte siblings,
without left/right flags. Leaves are double-hashed like OpenZeppelin's `StandardMerkleTree`:

    leaf = keccak256(keccak256(abi.encode(
        LEAF_TYPEHASH, chainId, anchor, batchId, eventHash, organizationId, attester)))

so the 64 bytes of an internal node (two children) can never be presented as a leaf's
preimage: whatever a prover hands over is hashed twice before it is compared.

**What a leaf says**: "organization `organizationId`, acting through its chain account
`attester`, attests event `eventHash` (the SHA-256 digest of the GS1 event hash ID), in
batch `batchId` of the `ProvenanceAnchor` at `anchor` on chain `chainId`". The type hash
tags the encoding as Concord's provenance leaf; the chain, contract and batch bind it to one
place, so a leaf (and its proof) moved to another batch, deployment or chain verifies
nowhere else. The organization's EIP-712 signature over the same event (see
`attestation.py`) binds the same chain and contract; a verifier checks both.

**Shape** is `StandardMerkleTree`'s: leaf hashes are sorted ascending (so a batch's root
does not depend on the order its events arrived in), duplicates are refused (one event
attested once by one organization per batch), and the tree is a complete binary tree in
one array (node `i` has children `2i+1` and `2i+2`; the leaf of rank `r` sits at index
`2n-2-r`). All nodes live in one `bytearray` (32 bytes each, `2n-1` nodes), so a
million-leaf tree holds 64 MB of hashes and nothing else.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from eth_hash.auto import keccak
from eth_utils import to_canonical_address, to_checksum_address

from concord_verify import _keccak, attestation
from concord_verify.attestation import EventHash, OrganizationId, event_digest
from concord_verify.ids import to_bytes32

LEAF_TYPE = "ProvenanceLeaf(uint256 chainId,address anchor,bytes32 batchId,bytes32 eventHash,bytes32 organizationId,address attester)"
LEAF_TYPEHASH = keccak(LEAF_TYPE.encode())
LEAF_TYPES = ["bytes32", "uint256", "address", "bytes32", "bytes32", "bytes32", "address"]
"""The ABI types of the encoded leaf values, in order (`LEAF_TYPEHASH` first)."""

_WORD = 32
_ADDRESS_PAD = b"\0" * 12


class MerkleError(ValueError):
    """A batch cannot be built (no leaves, a duplicate, a malformed leaf) or a leaf is not in it."""


def hash_pair(a: bytes, b: bytes) -> bytes:
    """The parent of two nodes: keccak256 of the pair sorted (OpenZeppelin `Hashes.commutativeKeccak256`)."""
    return _keccak.keccak256(a + b if a <= b else b + a)


@dataclass(frozen=True)
class Placement:
    """Where a batch is anchored: a chain, a `ProvenanceAnchor` deployment, a batch id."""

    chain_id: int
    anchor: str
    batch_id: bytes

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int) or not 0 < self.chain_id < 2**256:
            raise MerkleError("chain_id must be a positive integer")
        object.__setattr__(self, "batch_id", to_bytes32(self.batch_id))
        object.__setattr__(self, "anchor", to_checksum_address(self.anchor))

    @cached_property
    def _prefix(self) -> bytes:
        return LEAF_TYPEHASH + self.chain_id.to_bytes(_WORD, "big") + _ADDRESS_PAD + to_canonical_address(self.anchor) + self.batch_id

    def encode_leaf(self, event_hash: EventHash, organization_id: OrganizationId, attester: str | bytes) -> bytes:
        """`abi.encode(LEAF_TYPEHASH, chainId, anchor, batchId, eventHash, organizationId, attester)`.

        `event_hash`: the GS1 event hash ID (`ni:///sha-256;...?ver=CBV2.0`) or its 32-byte
        digest; `organization_id`: a UUID (or its string) or a bytes32 id; `attester`: an
        address (checksummed string or 20 bytes)."""
        address = attester if isinstance(attester, bytes) and len(attester) == 20 else to_canonical_address(attester)
        return self._prefix + event_digest(event_hash) + to_bytes32(organization_id) + _ADDRESS_PAD + address

    def leaf(self, event_hash: EventHash, organization_id: OrganizationId, attester: str | bytes) -> bytes:
        """The leaf of an attested event in this batch (double keccak256 of its encoding)."""
        return _keccak.double_keccak256(self.encode_leaf(event_hash, organization_id, attester))

    def leaves(self, attested: Iterable[tuple[EventHash, OrganizationId, str | bytes]]) -> list[bytes]:
        """The leaves of many attested events (what `leaf` gives each, with the organization
        and attester of consecutive events converted once)."""
        double = _keccak.double_keccak256
        prefix = self._prefix
        tail_of: dict[tuple[Any, Any], bytes] = {}
        found = []
        for event_hash, organization_id, attester in attested:
            tail = tail_of.get((organization_id, attester))
            if tail is None:
                address = attester if isinstance(attester, bytes) and len(attester) == 20 else to_canonical_address(attester)
                tail = tail_of[(organization_id, attester)] = to_bytes32(organization_id) + _ADDRESS_PAD + address
            found.append(double(prefix + event_digest(event_hash) + tail))
        return found


class MerkleTree:
    """A batch's tree over leaf hashes (32 bytes each, e.g. from `Placement.leaf`)."""

    __slots__ = ("_nodes", "_size")

    def __init__(self, leaves: Iterable[bytes]) -> None:
        ordered = sorted(leaves)
        size = len(ordered)
        if size == 0:
            raise MerkleError("a batch holds at least one leaf")
        if size >= 2**32:
            raise MerkleError("a batch holds fewer than 2**32 leaves (ProvenanceAnchor's batchSize is a uint32)")
        nodes = bytearray(_WORD * (2 * size - 1))
        previous = None
        position = (2 * size - 2) * _WORD
        for leaf in ordered:
            if len(leaf) != _WORD:
                raise MerkleError(f"a leaf is 32 bytes, not {len(leaf)}")
            if leaf == previous:
                raise MerkleError(f"leaf 0x{bytes(leaf).hex()} appears twice in the batch")
            nodes[position : position + _WORD] = leaf
            previous = leaf
            position -= _WORD
        del ordered
        view = memoryview(nodes)
        hash_ = _keccak.keccak256
        for index in range(size - 2, -1, -1):
            left = (2 * index + 1) * _WORD
            a = view[left : left + _WORD].tobytes()
            b = view[left + _WORD : left + 2 * _WORD].tobytes()
            offset = index * _WORD
            nodes[offset : offset + _WORD] = hash_(a + b if a <= b else b + a)
        view.release()
        self._nodes = nodes
        self._size = size

    def __len__(self) -> int:
        return self._size

    def _node(self, index: int) -> bytes:
        return bytes(self._nodes[index * _WORD : (index + 1) * _WORD])

    @property
    def root(self) -> bytes:
        return self._node(0)

    def leaf(self, rank: int) -> bytes:
        """The leaf of the given rank (leaves are sorted ascending)."""
        if not 0 <= rank < self._size:
            raise IndexError(rank)
        return self._node(2 * self._size - 2 - rank)

    @property
    def leaves(self) -> Sequence[bytes]:
        """The leaves, sorted ascending."""
        return _Leaves(self)

    def rank_of(self, leaf: bytes) -> int:
        """The rank of a leaf in the batch (binary search); `MerkleError` when absent."""
        rank = bisect_left(self.leaves, leaf)
        if rank == self._size or self.leaf(rank) != leaf:
            raise MerkleError(f"leaf 0x{bytes(leaf).hex()} is not in the batch")
        return rank

    def proof(self, leaf: bytes) -> list[bytes]:
        """The sibling hashes from `leaf` up to the root, as `MerkleProof.verify` takes them."""
        index = 2 * self._size - 2 - self.rank_of(leaf)
        steps = []
        while index > 0:
            steps.append(self._node(index + 1 if index % 2 else index - 1))
            index = (index - 1) // 2
        return steps


class _Leaves(Sequence[bytes]):
    """The sorted leaves of a tree, read from its node array (nothing copied)."""

    def __init__(self, tree: MerkleTree) -> None:
        self._tree = tree

    def __len__(self) -> int:
        return len(self._tree)

    def __getitem__(self, rank):
        if isinstance(rank, slice):
            return [self._tree.leaf(i) for i in range(*rank.indices(len(self._tree)))]
        return self._tree.leaf(rank if rank >= 0 else len(self._tree) + rank)


def process_proof(leaf: bytes, proof: Iterable[bytes]) -> bytes:
    """The root a proof leads to from a leaf (`MerkleProof.processProof`)."""
    computed = leaf
    for sibling in proof:
        computed = hash_pair(computed, sibling)
    return computed


def verify(root: bytes, leaf: bytes, proof: Iterable[bytes]) -> bool:
    """Whether `proof` leads from a leaf hash to `root` (`MerkleProof.verify`).

    This takes a leaf hash, as the contract does: only use it with a leaf computed here
    from its values (`Placement.leaf`), never with a hash a prover supplied, since any
    internal node with its remaining path passes this check. `verify_event` does that."""
    steps = list(proof)
    if len(leaf) != _WORD or any(len(sibling) != _WORD for sibling in steps):
        return False
    return process_proof(leaf, steps) == root


def verify_event(
    root: bytes, placement: Placement, event_hash: EventHash, organization_id: OrganizationId, attester: str | bytes, proof: Iterable[bytes]
) -> bool:
    """Whether the attested event is in the batch with this `root`, from its values."""
    try:
        leaf = placement.leaf(event_hash, organization_id, attester)
    except (ValueError, TypeError):
        return False
    return verify(root, leaf, proof)


def build(placement: Placement, attested: Iterable[tuple[EventHash, OrganizationId, str | bytes]]) -> MerkleTree:
    """The tree of a batch of (event hash, organization id, attester) at `placement`."""
    return MerkleTree(placement.leaves(attested))


@dataclass(frozen=True)
class EventProof:
    """Everything a verifier needs to check one attested event against the chain, with no
    access to Concord: the batch's place, the statement, the organization's signature and
    the Merkle proof. It checks out when the signature recovers to `attester`
    (`attestation.verify`), the leaf computed from these values reaches the root anchored
    under `batch_id` (`ProvenanceAnchor.verifyInclusion(batch_id, leaf(), proof)`, or
    `check(anchorOf(batch_id).merkleRoot)` offline), and the Consortium maps `attester` to
    `organization_id`."""

    chain_id: int
    anchor: str
    batch_id: bytes
    event_hash: bytes
    organization_id: bytes
    attester: str
    signature: bytes
    proof: tuple[bytes, ...]

    @property
    def placement(self) -> Placement:
        return Placement(self.chain_id, self.anchor, self.batch_id)

    def leaf(self) -> bytes:
        return self.placement.leaf(self.event_hash, self.organization_id, self.attester)

    def check(self, root: bytes) -> bool:
        """Whether the signature is the attester's and the event is in the batch with `root`."""
        domain = attestation.Domain(self.chain_id, self.anchor)
        if not attestation.verify(domain, self.event_hash, self.organization_id, self.signature, self.attester):
            return False
        return verify_event(root, self.placement, self.event_hash, self.organization_id, self.attester, self.proof)

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "anchor": self.anchor,
            "batch_id": "0x" + self.batch_id.hex(),
            "event_hash": "0x" + self.event_hash.hex(),
            "organization_id": "0x" + self.organization_id.hex(),
            "attester": self.attester,
            "signature": "0x" + self.signature.hex(),
            "proof": ["0x" + step.hex() for step in self.proof],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventProof:
        def raw(value: str) -> bytes:
            return bytes.fromhex(value.removeprefix("0x"))

        return cls(
            chain_id=int(data["chain_id"]),
            anchor=to_checksum_address(data["anchor"]),
            batch_id=raw(data["batch_id"]),
            event_hash=raw(data["event_hash"]),
            organization_id=raw(data["organization_id"]),
            attester=to_checksum_address(data["attester"]),
            signature=raw(data["signature"]),
            proof=tuple(raw(step) for step in data["proof"]),
        )


def event_proof(tree: MerkleTree, placement: Placement, signed: attestation.Attestation) -> EventProof:
    """The proof bundle of an attested event of the batch `tree` at `placement`."""
    leaf = placement.leaf(signed.event_hash, signed.organization_id, signed.signer)
    return EventProof(
        chain_id=placement.chain_id,
        anchor=placement.anchor,
        batch_id=placement.batch_id,
        event_hash=signed.event_hash,
        organization_id=signed.organization_id,
        attester=to_checksum_address(signed.signer),
        signature=signed.signature,
        proof=tuple(tree.proof(leaf)),
    )
