// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IConsortium} from "./interfaces/IConsortium.sol";
import {IProvenanceAnchor} from "./interfaces/IProvenanceAnchor.sol";
import {ConsortiumGated} from "./utils/ConsortiumGated.sol";

/// @title ProvenanceAnchor
/// @notice Write-once Merkle roots of provenance event batches. See {IProvenanceAnchor}.
contract ProvenanceAnchor is ConsortiumGated, IProvenanceAnchor {
    mapping(bytes32 batchId => Anchor) private _anchors;

    constructor(IConsortium consortium_) ConsortiumGated(consortium_) {}

    /// @inheritdoc IProvenanceAnchor
    function anchor(bytes32 batchId, bytes32 merkleRoot, uint32 batchSize) external onlyActiveMember {
        if (batchId == bytes32(0)) revert ProvenanceAnchorInvalidBatchId();
        if (merkleRoot == bytes32(0)) revert ProvenanceAnchorInvalidRoot();
        if (batchSize == 0) revert ProvenanceAnchorEmptyBatch();
        if (_anchors[batchId].anchoredBy != address(0)) revert ProvenanceAnchorBatchAlreadyAnchored(batchId);
        bytes32 organizationId = consortium().organizationOf(msg.sender);
        _anchors[batchId] = Anchor({
            merkleRoot: merkleRoot,
            anchoredBy: msg.sender,
            batchSize: batchSize,
            anchoredAt: uint64(block.timestamp),
            organizationId: organizationId,
            blockNumber: block.number
        });
        emit BatchAnchored(batchId, merkleRoot, msg.sender, organizationId, batchSize);
    }

    /// @inheritdoc IProvenanceAnchor
    function anchorOf(bytes32 batchId) external view returns (Anchor memory) {
        return _anchors[batchId];
    }

    /// @inheritdoc IProvenanceAnchor
    function isAnchored(bytes32 batchId) external view returns (bool) {
        return _anchors[batchId].anchoredBy != address(0);
    }

    /// @inheritdoc IProvenanceAnchor
    function verifyInclusion(bytes32 batchId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        Anchor storage anchored = _anchors[batchId];
        if (anchored.anchoredBy == address(0)) revert ProvenanceAnchorBatchNotAnchored(batchId);
        return MerkleProof.verifyCalldata(proof, anchored.merkleRoot, leaf);
    }
}
