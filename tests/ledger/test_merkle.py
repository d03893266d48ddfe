"""Merkle batches: the trees Python builds are OpenZeppelin's (StandardMerkleTree's shape,
MerkleProof's hashing), their proofs pass `ProvenanceAnchor.verifyInclusion` once the root is
anchored through the outbox, and every tampered proof is refused offline and on chain."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid

import pytest
from concord.db import database
from concord.ledger import keys
from concord.ledger import service as ledger_service
from concord.ledger.encoding import to_bytes32
from concord_verify import attestation, merkle
from concord_verify.attestation import AttestationError
from eth_abi import encode
from eth_account import Account
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

ANCHOR = "0x00000000000000000000000000000000000A0c40"
SUPPLIER = uuid.UUID("7c3a1e64-2f59-4d0e-9d8e-5b8a7f9d1c20")
SUPPLIER_ACCOUNT = "0x80d628ff4AC2aFf620C3474663F1e559234bbE0c"
SIZES = [1, 2, 3, 5, 8, 13]


def event_hash(label: str) -> str:
    return f"ni:///sha-256;{hashlib.sha256(label.encode()).hexdigest()}?ver=CBV2.0"


def placement(batch: bytes = b"\x01" * 32, chain_id: int = 1337, anchor: str = ANCHOR) -> merkle.Placement:
    return merkle.Placement(chain_id, anchor, batch)


def random_leaves(count: int, seed: str = "") -> list[bytes]:
    return [keccak(f"{seed}leaf {i}".encode()) for i in range(count)]


# -- the tree, offline ------------------------------------------------------------------------


def test_the_tree_is_standard_merkle_trees_node_for_node():
    """A tree dumped by @openzeppelin/merkle-tree (standard-v1, leaves (address, uint256))."""
    values = [("0x80d628ff4AC2aFf620C3474663F1e559234bbE0c", i) for i in range(3)]
    tree = merkle.MerkleTree(keccak(keccak(encode(["address", "uint256"], list(v)))) for v in values)
    assert [tree._node(i).hex() for i in range(5)] == [
        "0fecce441c7468f17e3fe4a5f211b77a15b27c9ab3d33317df385dfbe5487034",
        "636ab2686ee3036244cf3d6b5574e051e4b20a3577b008975dbcca6dde2897d2",
        "d90245da324d7908326a3d56a9659741551a4603c397bf4dd373976bd85660e7",
        "36fb17c97ec80bb961ff0adff1af4a2a34847ecc40653c162e327117a76e3ec9",
        "1867c4ebd455913e429523a5c2d4b3a79f58068b5a25af911956245ed03a659d",
    ]
    # the dump's treeIndex of values 0, 1, 2
    assert [2 * 3 - 2 - tree.rank_of(keccak(keccak(encode(["address", "uint256"], list(v))))) for v in values] == [4, 3, 2]


def test_a_leaf_is_the_double_hash_of_its_abi_encoded_values():
    place = placement()
    event = event_hash("ship 1")
    expected = encode(
        merkle.LEAF_TYPES,
        [merkle.LEAF_TYPEHASH, 1337, ANCHOR, b"\x01" * 32, hashlib.sha256(b"ship 1").digest(), SUPPLIER.bytes.rjust(32, b"\0"), SUPPLIER_ACCOUNT],
    )
    assert place.encode_leaf(event, SUPPLIER, SUPPLIER_ACCOUNT) == expected
    assert place.leaf(event, SUPPLIER, SUPPLIER_ACCOUNT) == keccak(keccak(expected))
    assert merkle.LEAF_TYPEHASH == keccak(merkle.LEAF_TYPE.encode())


def test_a_leaf_is_bound_to_its_chain_contract_batch_event_organization_and_attester():
    base = placement().leaf(event_hash("e"), SUPPLIER, SUPPLIER_ACCOUNT)
    others = [
        placement(chain_id=1338).leaf(event_hash("e"), SUPPLIER, SUPPLIER_ACCOUNT),
        placement(anchor="0x00000000000000000000000000000000000A0c41").leaf(event_hash("e"), SUPPLIER, SUPPLIER_ACCOUNT),
        placement(batch=b"\x02" * 32).leaf(event_hash("e"), SUPPLIER, SUPPLIER_ACCOUNT),
        placement().leaf(event_hash("f"), SUPPLIER, SUPPLIER_ACCOUNT),
        placement().leaf(event_hash("e"), uuid.uuid4(), SUPPLIER_ACCOUNT),
        placement().leaf(event_hash("e"), SUPPLIER, "0x" + "22" * 20),
    ]
    assert base not in others and len(set(others)) == len(others)


@pytest.mark.parametrize(
    "bad", ["ni:///sha-256;" + "A" * 64 + "?ver=CBV2.0", "ni:///sha-256;" + "a" * 63 + "?ver=CBV2.0", "ni:///sha-256;" + "a" * 64, b"\x01" * 31]
)
def test_malformed_event_hashes_are_refused(bad):
    with pytest.raises(AttestationError):
        placement().leaf(bad, SUPPLIER, SUPPLIER_ACCOUNT)


def test_one_leaf_is_its_own_root_with_an_empty_proof():
    (leaf,) = random_leaves(1)
    tree = merkle.MerkleTree([leaf])
    assert tree.root == leaf and tree.proof(leaf) == [] and merkle.verify(tree.root, leaf, [])


@settings(max_examples=40, deadline=None)
@given(count=st.integers(min_value=1, max_value=70), data=st.data())
def test_every_leaf_of_any_size_proves_and_the_root_ignores_arrival_order(count, data):
    leaves = random_leaves(count)
    tree = merkle.MerkleTree(leaves)
    shuffled = data.draw(st.permutations(leaves))
    assert merkle.MerkleTree(shuffled).root == tree.root
    assert list(tree.leaves) == sorted(leaves)
    depth = (2 * count - 2).bit_length()  # the deepest leaf's index bounds its path
    for leaf in leaves:
        proof = tree.proof(leaf)
        assert merkle.verify(tree.root, leaf, proof)
        assert len(proof) <= depth


def test_an_empty_batch_and_duplicate_leaves_are_refused():
    with pytest.raises(merkle.MerkleError, match="at least one"):
        merkle.MerkleTree([])
    leaves = random_leaves(3)
    with pytest.raises(merkle.MerkleError, match="appears twice"):
        merkle.MerkleTree([*leaves, leaves[1]])
    with pytest.raises(merkle.MerkleError, match="32 bytes"):
        merkle.MerkleTree([b"\x01" * 31])
    with pytest.raises(merkle.MerkleError, match="not in the batch"):
        merkle.MerkleTree(leaves).proof(keccak(b"stranger"))


def tamperings(tree: merkle.MerkleTree, leaf: bytes, other_batch: tuple[merkle.MerkleTree, bytes]) -> dict[str, tuple[bytes, list[bytes]]]:
    """(leaf, proof) pairs that must not verify against `tree.root`."""
    proof = tree.proof(leaf)
    other_tree, other_leaf = other_batch
    flipped = [proof[0][:5] + bytes([proof[0][5] ^ 1]) + proof[0][6:], *proof[1:]]
    internal_index = (2 * len(tree) - 2 - tree.rank_of(leaf) - 1) // 2  # the leaf's parent
    left, right = tree._node(2 * internal_index + 1), tree._node(2 * internal_index + 2)
    preimage = min(left, right) + max(left, right)  # the 64 bytes the parent hashes
    return {
        "a flipped proof step": (leaf, flipped),
        "a reordered proof": (leaf, [proof[1], proof[0], *proof[2:]]),
        "a truncated proof": (leaf, proof[:-1]),
        "a wrong leaf": (keccak(b"not an event"), proof),
        "a leaf and proof from another batch": (other_leaf, other_tree.proof(other_leaf)),
        "an internal node's preimage as a leaf": (keccak(keccak(preimage)), proof[1:]),
    }


def test_tampered_proofs_are_refused_offline():
    leaves = random_leaves(11)
    tree = merkle.MerkleTree(leaves)
    other = merkle.MerkleTree(random_leaves(11, seed="other "))
    for name, (leaf, proof) in tamperings(tree, leaves[4], (other, other.leaf(3))).items():
        assert not merkle.verify(tree.root, leaf, proof), name
    assert not merkle.verify(tree.root, leaves[4], [b"\x00" * 31]), "a malformed step"
    assert merkle.verify(tree.root, leaves[4], iter(tree.proof(leaves[4]))), "a proof given as an iterator"


def test_verify_event_checks_an_attested_event_from_its_values():
    place = placement()
    attested = [(event_hash(f"e{i}"), SUPPLIER, SUPPLIER_ACCOUNT) for i in range(6)]
    tree = merkle.build(place, attested)
    proof = tree.proof(place.leaf(*attested[2]))
    assert merkle.verify_event(tree.root, place, *attested[2], proof)
    assert not merkle.verify_event(tree.root, place, *attested[3], proof)
    assert not merkle.verify_event(tree.root, placement(batch=b"\x02" * 32), *attested[2], proof)
    assert not merkle.verify_event(tree.root, placement(chain_id=1), *attested[2], proof)
    assert not merkle.verify_event(tree.root, place, attested[2][0], uuid.uuid4(), SUPPLIER_ACCOUNT, proof)
    assert not merkle.verify_event(tree.root, place, "not a hash id", SUPPLIER, SUPPLIER_ACCOUNT, proof)


# -- against ProvenanceAnchor on the chain ------------------------------------------------------


def anchor_batch(ledger, member, tree: merkle.MerkleTree, batch_id: uuid.UUID) -> None:
    with database(ledger.app).sessionmaker() as session, session.begin():
        ledger_service.anchor_proof(session, member.org.id, batch_id, tree.root.hex(), "Anchor a provenance batch", ("batch", batch_id), batch_size=len(tree))


def attested_events(world, app, count: int, label: str) -> list[tuple[str, uuid.UUID, str]]:
    """`count` events attested alternately by the supplier and the carrier (a mixed batch)."""
    members = [world.supplier, world.carrier]
    accounts = [m.signing_address(app) for m in members]
    return [(event_hash(f"{label} {i}"), members[i % 2].org.id, accounts[i % 2]) for i in range(count)]


def test_proofs_python_makes_pass_verify_inclusion_for_every_batch_size(ledger, world):
    anchor = ledger.contract("ProvenanceAnchor")
    batches = []
    for size in SIZES:
        batch_id = uuid.uuid4()
        place = merkle.Placement(ledger.chain_id, anchor.address, batch_id.bytes.rjust(32, b"\0"))
        events = attested_events(world, ledger.app, size, f"batch of {size}")
        tree = merkle.build(place, events)
        anchor_batch(ledger, world.supplier, tree, batch_id)
        batches.append((place, tree, events))
    assert ledger.worker.drain() == len(SIZES)
    for place, tree, events in batches:
        anchored = anchor.functions.anchorOf(place.batch_id).call()
        assert anchored[0] == tree.root and anchored[2] == len(events)
        for event in events:
            leaf = place.leaf(*event)
            proof = tree.proof(leaf)
            assert anchor.functions.verifyInclusion(place.batch_id, leaf, proof).call(), (len(events), event)
            assert merkle.verify_event(tree.root, place, *event, proof)


def test_tampered_proofs_are_refused_by_the_contract_and_by_python(ledger, world):
    anchor = ledger.contract("ProvenanceAnchor")
    trees = {}
    for label in ("first", "second"):
        batch_id = uuid.uuid4()
        place = merkle.Placement(ledger.chain_id, anchor.address, batch_id.bytes.rjust(32, b"\0"))
        tree = merkle.build(place, attested_events(world, ledger.app, 9, label))
        anchor_batch(ledger, world.supplier, tree, batch_id)
        trees[label] = (place, tree)
    ledger.worker.drain()
    (place, tree), (other_place, other_tree) = trees["first"], trees["second"]
    leaf = tree.leaf(4)
    cases = tamperings(tree, leaf, (other_tree, other_tree.leaf(2)))
    for name, (candidate, proof) in cases.items():
        assert not anchor.functions.verifyInclusion(place.batch_id, candidate, proof).call(), name
        assert not merkle.verify(tree.root, candidate, proof), name
    # the right leaf and proof under the wrong batch id
    assert anchor.functions.verifyInclusion(place.batch_id, leaf, tree.proof(leaf)).call()
    assert not anchor.functions.verifyInclusion(other_place.batch_id, leaf, tree.proof(leaf)).call()
    assert not merkle.verify(other_tree.root, leaf, tree.proof(leaf))


def test_the_contract_takes_leaves_already_hashed_so_verifiers_must_hash_them(ledger, world):
    """`verifyInclusion` accepts any node of the tree with the rest of its path (it cannot
    tell a leaf hash from an internal node): a verifier computes the leaf from the event's
    values (`merkle.verify_event`), and no values hash to an internal node."""
    anchor = ledger.contract("ProvenanceAnchor")
    batch_id = uuid.uuid4()
    place = merkle.Placement(ledger.chain_id, anchor.address, batch_id.bytes.rjust(32, b"\0"))
    tree = merkle.build(place, attested_events(world, ledger.app, 4, "internal"))
    anchor_batch(ledger, world.supplier, tree, batch_id)
    ledger.worker.drain()
    internal, path = tree._node(1), [tree._node(2)]
    assert anchor.functions.verifyInclusion(place.batch_id, internal, path).call()
    assert not merkle.verify_event(
        tree.root, place, "ni:///sha-256;" + internal.hex() + "?ver=CBV2.0", world.supplier.org.id, world.supplier.signing_address(ledger.app), path
    )


def test_an_event_proof_bundle_checks_out_offline_and_on_chain(ledger, world):
    """Signed (custodial keys), batched, anchored: the bundle a verifier gets, through JSON."""
    anchor = ledger.contract("ProvenanceAnchor")
    domain = attestation.Domain(ledger.chain_id, anchor.address)
    with database(ledger.app).sessionmaker() as session:
        ring = keys.KeyRing.of(ledger.app)
        signers = {m.org.id: keys.signer_for(session, ring, m.org.id) for m in (world.supplier, world.carrier)}
    signed = [attestation.sign(signers[who], domain, event, who) for event, who, _ in attested_events(world, ledger.app, 5, "bundle")]
    batch_id = uuid.uuid4()
    place = merkle.Placement(ledger.chain_id, anchor.address, batch_id.bytes.rjust(32, b"\0"))
    tree = merkle.MerkleTree(place.leaf(s.event_hash, s.organization_id, s.signer) for s in signed)
    anchor_batch(ledger, world.supplier, tree, batch_id)
    ledger.worker.drain()
    root = anchor.functions.anchorOf(place.batch_id).call()[0]
    for attested in signed:
        bundle = merkle.EventProof.from_json(json.loads(json.dumps(merkle.event_proof(tree, place, attested).to_json())))
        assert bundle.check(root)
        assert anchor.functions.verifyInclusion(bundle.batch_id, bundle.leaf(), list(bundle.proof)).call()
    forged = dataclasses.replace(bundle, signature=attestation.sign(Account.create(), domain, bundle.event_hash, bundle.organization_id).signature)
    assert not forged.check(root)
    assert not dataclasses.replace(bundle, organization_id=to_bytes32(world.buyer.org.id)).check(root)
    assert not dataclasses.replace(bundle, chain_id=ledger.chain_id + 1).check(root)
