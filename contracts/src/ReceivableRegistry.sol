// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IConsortium, MemberRoles} from "./interfaces/IConsortium.sol";
import {IDeliveryEscrow} from "./interfaces/IDeliveryEscrow.sol";
import {IReceivableRegistry} from "./interfaces/IReceivableRegistry.sol";
import {ConsortiumGated} from "./utils/ConsortiumGated.sol";

/// @title ReceivableRegistry
/// @notice Invoice fingerprints registered once, assignable to financiers, paid through the
/// delivery escrow. See {IReceivableRegistry}.
/// @dev Deployed before the escrow (which takes this registry in its constructor); the
/// operator then links the escrow once with {linkEscrow}.
contract ReceivableRegistry is AccessControl, ConsortiumGated, IReceivableRegistry {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice EIP-712 type hash of the invoice fields a fingerprint covers.
    bytes32 public constant RECEIVABLE_TYPEHASH = keccak256(
        "Receivable(bytes32 issuer,bytes32 debtor,string invoiceNumber,uint256 amount,string currency,uint64 dueDate)"
    );

    IDeliveryEscrow private _escrow;
    mapping(bytes32 fingerprint => Receivable) private _receivables;
    mapping(bytes32 orderId => bytes32 fingerprint) private _fingerprintOfOrder;

    constructor(IConsortium consortium_, address operator) ConsortiumGated(consortium_) {
        if (operator == address(0)) revert ReceivableRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @inheritdoc IReceivableRegistry
    function register(bytes32 fingerprint_, bytes32 orderId) external onlyMemberRole(MemberRoles.SUPPLIER) {
        if (fingerprint_ == bytes32(0)) revert ReceivableRegistryInvalidFingerprint();
        if (_receivables[fingerprint_].issuer != address(0)) revert ReceivableRegistryAlreadyRegistered(fingerprint_);
        bytes32 linked = _fingerprintOfOrder[orderId];
        if (linked != bytes32(0)) revert ReceivableRegistryOrderAlreadyLinked(orderId, linked);
        if (address(_escrow) == address(0)) revert ReceivableRegistryEscrowNotLinked();
        IDeliveryEscrow.Escrow memory order = _escrow.escrowOf(orderId);
        if (order.payee != msg.sender || !_isOpen(order.state)) revert ReceivableRegistryNotOrderPayee(orderId, msg.sender);

        _receivables[fingerprint_] = Receivable({
            orderId: orderId,
            issuer: msg.sender,
            registeredAt: uint64(block.timestamp),
            holder: msg.sender,
            settled: false,
            amountPaid: 0
        });
        _fingerprintOfOrder[orderId] = fingerprint_;
        emit ReceivableRegistered(fingerprint_, orderId, msg.sender);
    }

    /// @inheritdoc IReceivableRegistry
    function assign(bytes32 fingerprint_, address financier) external onlyActiveMember {
        Receivable storage receivable = _receivables[fingerprint_];
        if (receivable.issuer == address(0)) revert ReceivableRegistryNotRegistered(fingerprint_);
        if (receivable.holder != msg.sender) revert ReceivableRegistryNotHolder(fingerprint_, msg.sender);
        if (receivable.settled) revert ReceivableRegistryAlreadySettled(fingerprint_);
        _requireMemberRole(financier, MemberRoles.FINANCIER);
        receivable.holder = financier;
        emit ReceivableAssigned(fingerprint_, msg.sender, financier);
    }

    /// @inheritdoc IReceivableRegistry
    function markSettled(bytes32 orderId, uint256 amountPaid) external {
        if (msg.sender != address(_escrow) || msg.sender == address(0)) revert ReceivableRegistryCallerNotEscrow(msg.sender);
        bytes32 fingerprint_ = _fingerprintOfOrder[orderId];
        Receivable storage receivable = _receivables[fingerprint_];
        if (fingerprint_ == bytes32(0) || receivable.settled) revert ReceivableRegistryNoOpenReceivable(orderId);
        receivable.settled = true;
        receivable.amountPaid = amountPaid;
        emit ReceivableSettled(fingerprint_, orderId, receivable.holder, amountPaid);
    }

    /// @inheritdoc IReceivableRegistry
    function linkEscrow(IDeliveryEscrow escrow_) external onlyRole(OPERATOR_ROLE) {
        if (address(escrow_) == address(0)) revert ReceivableRegistryZeroAddress();
        if (address(_escrow) != address(0)) revert ReceivableRegistryEscrowAlreadyLinked(address(_escrow));
        _escrow = escrow_;
        emit EscrowLinked(address(escrow_));
    }

    /// @inheritdoc IReceivableRegistry
    function payeeOf(bytes32 orderId) external view returns (address) {
        Receivable storage receivable = _receivables[_fingerprintOfOrder[orderId]];
        return receivable.settled ? address(0) : receivable.holder;
    }

    /// @inheritdoc IReceivableRegistry
    function receivableOf(bytes32 fingerprint_) external view returns (Receivable memory) {
        return _receivables[fingerprint_];
    }

    /// @inheritdoc IReceivableRegistry
    function fingerprintOfOrder(bytes32 orderId) external view returns (bytes32) {
        return _fingerprintOfOrder[orderId];
    }

    /// @inheritdoc IReceivableRegistry
    function escrow() external view returns (IDeliveryEscrow) {
        return _escrow;
    }

    /// @inheritdoc IReceivableRegistry
    function fingerprint(
        bytes32 issuer,
        bytes32 debtor,
        string calldata invoiceNumber,
        uint256 amount,
        string calldata currency,
        uint64 dueDate
    ) external pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RECEIVABLE_TYPEHASH,
                issuer,
                debtor,
                keccak256(bytes(invoiceNumber)),
                amount,
                keccak256(bytes(currency)),
                dueDate
            )
        );
    }

    function _isOpen(IDeliveryEscrow.EscrowState state) private pure returns (bool) {
        return state == IDeliveryEscrow.EscrowState.Funded || state == IDeliveryEscrow.EscrowState.Delivered
            || state == IDeliveryEscrow.EscrowState.ReceiptConfirmed || state == IDeliveryEscrow.EscrowState.Disputed;
    }
}
