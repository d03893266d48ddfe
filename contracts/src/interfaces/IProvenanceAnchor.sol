// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title Provenance anchors: Merkle roots of event batches, written once
/// @notice A member anchors the Merkle root of a batch of provenance events under a batch id;
/// anyone can read who anchored which root and when, and check a leaf's inclusion. A batch
/// id can be anchored only once.
/// @dev Trees follow OpenZeppelin's `MerkleProof` convention: each pair is hashed sorted
/// (commutative keccak256), leaves are given already hashed.
interface IProvenanceAnchor {
    /// @notice An anchored batch.
    /// @param merkleRoot root of the batch's Merkle tree
    /// @param anchoredBy the member account that anchored it
    /// @param batchSize how many events the batch holds
    /// @param anchoredAt block timestamp of anchoring
    /// @param organizationId the organization `anchoredBy` acted for
    /// @param blockNumber the block the anchor is in
    struct Anchor {
        bytes32 merkleRoot;
        address anchoredBy;
        uint32 batchSize;
        uint64 anchoredAt;
        bytes32 organizationId;
        uint256 blockNumber;
    }

    /// @notice The zero batch id was given.
    error ProvenanceAnchorInvalidBatchId();
    /// @notice The zero Merkle root was given.
    error ProvenanceAnchorInvalidRoot();
    /// @notice A batch must hold at least one event.
    error ProvenanceAnchorEmptyBatch();
    /// @notice `batchId` was anchored before; an anchor is never replaced.
    error ProvenanceAnchorBatchAlreadyAnchored(bytes32 batchId);
    /// @notice `batchId` has no anchor.
    error ProvenanceAnchorBatchNotAnchored(bytes32 batchId);

    /// @notice `anchoredBy` anchored `merkleRoot` of `batchSize` events as `batchId`.
    event BatchAnchored(
        bytes32 indexed batchId,
        bytes32 indexed merkleRoot,
        address indexed anchoredBy,
        bytes32 organizationId,
        uint32 batchSize
    );

    /// @notice Anchors `merkleRoot` of a batch of `batchSize` events under `batchId`.
    /// @dev Caller: any active member.
    function anchor(bytes32 batchId, bytes32 merkleRoot, uint32 batchSize) external;

    /// @notice The anchor of `batchId` (all zero when none).
    function anchorOf(bytes32 batchId) external view returns (Anchor memory);

    /// @notice Whether `batchId` has been anchored.
    function isAnchored(bytes32 batchId) external view returns (bool);

    /// @notice Whether `leaf` belongs to the anchored batch `batchId`, given its Merkle `proof`.
    /// @dev Reverts with {ProvenanceAnchorBatchNotAnchored} for an unknown batch.
    function verifyInclusion(bytes32 batchId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);
}
