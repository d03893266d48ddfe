"""ProvenanceAnchor: members anchor Merkle roots of event batches once; anyone reads them."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from tests.contracts.chain import ACCOUNT_NAMES, MEMBERS, NOT_ACTIVE, ZERO_ADDRESS, block_timestamp, events, org_id, struct

BATCH = keccak(text="batch:2024-06-01:0001")
OTHER_BATCH = keccak(text="batch:2024-06-01:0002")
ZERO = b"\0" * 32


def leaf(event: str) -> bytes:
    return keccak(text=event)


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def merkle(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """Root and per-leaf proofs of the tree OpenZeppelin's `MerkleProof` verifies (sorted
    pairs; an odd node is carried up unchanged)."""
    proofs: list[list[bytes]] = [[] for _ in leaves]
    positions = list(range(len(leaves)))  # each leaf's index in the current level
    level = list(leaves)
    while len(level) > 1:
        for index, position in enumerate(positions):
            sibling = position ^ 1
            if sibling < len(level):
                proofs[index].append(level[sibling])
            positions[index] = position // 2
        level = [_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0], proofs


def anchor_of(concord, batch=BATCH) -> dict:
    return struct(concord.anchor.functions.anchorOf(batch))


def test_a_member_anchors_a_batch(concord):
    chain = concord.chain
    root = keccak(text="root")
    receipt = chain.transact(concord.anchor.functions.anchor(BATCH, root, 250), "supplier")
    assert events(concord.anchor, receipt, "BatchAnchored") == [
        {
            "batchId": BATCH,
            "merkleRoot": root,
            "anchoredBy": chain["supplier"],
            "organizationId": org_id("supplier"),
            "batchSize": 250,
        }
    ]
    assert anchor_of(concord) == {
        "merkleRoot": root,
        "anchoredBy": chain["supplier"],
        "batchSize": 250,
        "anchoredAt": block_timestamp(chain, receipt),
        "organizationId": org_id("supplier"),
        "blockNumber": receipt["blockNumber"],
    }
    assert concord.anchor.functions.isAnchored(BATCH).call()
    assert not concord.anchor.functions.isAnchored(OTHER_BATCH).call()


@pytest.mark.parametrize("who", [name for name in MEMBERS if name != "suspended"])
def test_every_active_member_may_anchor(concord, who):
    chain = concord.chain
    chain.transact(concord.anchor.functions.anchor(BATCH, keccak(text=who), 1), who)
    assert anchor_of(concord)["anchoredBy"] == chain[who]
    assert anchor_of(concord)["organizationId"] == org_id(who)


@pytest.mark.parametrize("who", NOT_ACTIVE)
def test_accounts_that_are_no_active_members_cannot_anchor(concord, who):
    chain = concord.chain
    with chain.reverts("ConsortiumMemberNotActive", chain[who]):
        chain.transact(concord.anchor.functions.anchor(BATCH, keccak(text="root"), 1), who)
    assert not concord.anchor.functions.isAnchored(BATCH).call()


def test_a_member_suspended_after_anchoring_leaves_its_anchor_standing(concord):
    chain = concord.chain
    chain.transact(concord.anchor.functions.anchor(BATCH, keccak(text="root"), 3), "carrier")
    chain.transact(concord.consortium.functions.suspendMember(chain["carrier"]))
    with chain.reverts("ConsortiumMemberNotActive", chain["carrier"]):
        chain.transact(concord.anchor.functions.anchor(OTHER_BATCH, keccak(text="root"), 3), "carrier")
    assert anchor_of(concord)["anchoredBy"] == chain["carrier"]


@pytest.mark.parametrize(
    ("batch", "root", "size", "error"),
    [
        (ZERO, keccak(text="root"), 1, ("ProvenanceAnchorInvalidBatchId",)),
        (BATCH, ZERO, 1, ("ProvenanceAnchorInvalidRoot",)),
        (BATCH, keccak(text="root"), 0, ("ProvenanceAnchorEmptyBatch",)),
    ],
)
def test_anchor_refuses_empty_input(concord, batch, root, size, error):
    chain = concord.chain
    with chain.reverts(*error):
        chain.transact(concord.anchor.functions.anchor(batch, root, size), "supplier")


@pytest.mark.parametrize("second", ["supplier", "auditor"])
def test_a_batch_is_anchored_only_once(concord, second):
    chain = concord.chain
    chain.transact(concord.anchor.functions.anchor(BATCH, keccak(text="root"), 10), "supplier")
    with chain.reverts("ProvenanceAnchorBatchAlreadyAnchored", BATCH):
        chain.transact(concord.anchor.functions.anchor(BATCH, keccak(text="forged root"), 10), second)
    assert anchor_of(concord)["merkleRoot"] == keccak(text="root")


def test_the_largest_batch_size_fits(concord):
    concord.chain.transact(concord.anchor.functions.anchor(BATCH, keccak(text="root"), 2**32 - 1), "carrier")
    assert anchor_of(concord)["batchSize"] == 2**32 - 1


def test_an_unknown_batch_reads_as_zero(concord):
    assert anchor_of(concord) == {
        "merkleRoot": ZERO,
        "anchoredBy": ZERO_ADDRESS,
        "batchSize": 0,
        "anchoredAt": 0,
        "organizationId": ZERO,
        "blockNumber": 0,
    }


@pytest.mark.parametrize("size", [1, 2, 5, 8])
def test_inclusion_of_every_event_of_a_batch_verifies(concord, size):
    chain = concord.chain
    leaves = [leaf(f"shipment:{i}:scanned") for i in range(size)]
    root, proofs = merkle(leaves)
    chain.transact(concord.anchor.functions.anchor(BATCH, root, size), "carrier")
    verify = concord.anchor.functions.verifyInclusion
    for index, item in enumerate(leaves):
        # anyone may read, members or not
        assert verify(BATCH, item, proofs[index]).call({"from": chain[ACCOUNT_NAMES[index % len(ACCOUNT_NAMES)]]})
    assert not verify(BATCH, leaf("shipment:forged"), proofs[0]).call()
    if size > 1:
        assert not verify(BATCH, leaves[0], proofs[1]).call()
        assert not verify(BATCH, leaves[0], []).call()


def test_inclusion_in_an_unknown_batch_reverts(concord):
    chain = concord.chain
    data = chain.call_reverting(concord.anchor.functions.verifyInclusion(OTHER_BATCH, leaf("x"), []), "outsider")
    assert data == chain.error_data("ProvenanceAnchorBatchNotAnchored", OTHER_BATCH)


def test_anyone_reads_who_anchored_what_and_when(concord):
    chain = concord.chain
    receipt = chain.transact(concord.anchor.functions.anchor(BATCH, keccak(text="root"), 4), "auditor")
    for name in ("outsider", "operator", "suspended"):
        record = concord.anchor.functions.anchorOf(BATCH).call({"from": chain[name]})
        assert record[1] == chain["auditor"] and record[3] == block_timestamp(chain, receipt)
        assert concord.anchor.functions.isAnchored(BATCH).call({"from": chain[name]})


def test_wiring_and_constructor(concord):
    chain = concord.chain
    assert concord.anchor.functions.consortium().call() == concord.consortium.address
    with chain.reverts("ConsortiumZeroAddress"):
        chain.deploy("ProvenanceAnchor", ZERO_ADDRESS)
