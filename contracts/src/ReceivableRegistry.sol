// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IConsortium, MemberRoles} from "./interfaces/IConsortium.sol";
import {IDeliveryEscrow} from "./interfaces/IDeliveryEscrow.sol";
import {IReceivableRegistry} from "./interfaces/IReceivableRegistry.sol";
import {ConsortiumGated} from "./utils/ConsortiumGated.sol";

/// @title ReceivableRegistry
/// @notice Invoice fingerprints registered once, assignable to financiers, paid through the
/// delivery escrow or by the debtor on open account. See {IReceivableRegistry}.
/// @dev Deployed before the escrow (which takes this registry in its constructor); the
/// operator then links the escrow once with {linkEscrow}. Moving tokens ({pay}) needs this
/// contract on the settlement token's holder list (it is the spender of the debtor's allowance).
/// The views of a receivable revert while {pay} is in progress (no read-only reentrancy).
contract ReceivableRegistry is AccessControl, ReentrancyGuard, EIP712, ConsortiumGated, IReceivableRegistry {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice EIP-712 type hash of the invoice fields a fingerprint covers.
    bytes32 public constant RECEIVABLE_TYPEHASH = keccak256(
        "Receivable(bytes32 issuer,bytes32 debtor,string invoiceNumber,uint256 amount,string currency,uint64 dueDate)"
    );

    IDeliveryEscrow private _escrow;
    mapping(bytes32 fingerprint => Receivable) private _receivables;
    mapping(bytes32 fingerprint => address operator) private _approvals;
    mapping(bytes32 orderId => bytes32 fingerprint) private _fingerprintOfOrder;

    constructor(IConsortium consortium_, address operator)
        EIP712("Concord Receivables", "1")
        ConsortiumGated(consortium_)
    {
        if (operator == address(0)) revert ReceivableRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @inheritdoc IReceivableRegistry
    function register(bytes32 fingerprint_, bytes32 orderId) external onlyMemberRole(MemberRoles.SUPPLIER) {
        _requireUnregistered(fingerprint_, orderId);
        IDeliveryEscrow escrow_ = _escrow;
        if (address(escrow_) == address(0)) revert ReceivableRegistryEscrowNotLinked();
        address pointsTo = address(escrow_.receivables());
        if (pointsTo != address(this)) revert ReceivableRegistryEscrowMismatch(pointsTo);
        IDeliveryEscrow.Escrow memory order = escrow_.escrowOf(orderId);
        if (order.payee != msg.sender || !_isOpen(order.state)) revert ReceivableRegistryNotOrderPayee(orderId, msg.sender);
        _store(fingerprint_, orderId, order.buyer, order.token, order.amount, 0, true);
    }

    /// @inheritdoc IReceivableRegistry
    function registerOpenAccount(bytes32 fingerprint_, bytes32 orderId, address debtor, IERC20 token, uint256 amount, uint64 dueDate)
        external
        onlyMemberRole(MemberRoles.SUPPLIER)
    {
        _requireUnregistered(fingerprint_, orderId);
        if (address(token) == address(0)) revert ReceivableRegistryZeroAddress();
        if (amount == 0) revert ReceivableRegistryZeroAmount();
        if (debtor == msg.sender) revert ReceivableRegistryConflictingParties(debtor);
        _requireMemberRole(debtor, MemberRoles.BUYER);
        IDeliveryEscrow escrow_ = _escrow;
        if (address(escrow_) != address(0) && escrow_.escrowOf(orderId).state != IDeliveryEscrow.EscrowState.None) {
            revert ReceivableRegistryOrderEscrowed(orderId);
        }
        _store(fingerprint_, orderId, debtor, token, amount, dueDate, false);
    }

    /// @inheritdoc IReceivableRegistry
    function acknowledge(bytes32 fingerprint_) external onlyActiveMember {
        Receivable storage receivable = _openAccount(fingerprint_);
        if (receivable.acknowledged) revert ReceivableRegistryAlreadyAcknowledged(fingerprint_);
        receivable.acknowledged = true;
        emit ReceivableAcknowledged(fingerprint_, msg.sender);
    }

    /// @inheritdoc IReceivableRegistry
    function pay(bytes32 fingerprint_, uint256 amount) external nonReentrant onlyActiveMember {
        Receivable storage receivable = _openAccount(fingerprint_);
        if (!receivable.acknowledged) revert ReceivableRegistryNotAcknowledged(fingerprint_);
        if (amount == 0) revert ReceivableRegistryZeroAmount();
        if (amount > receivable.amount) revert ReceivableRegistryAmountExceedsFace(fingerprint_, amount, receivable.amount);
        address holder = receivable.holder;
        IERC20 token = receivable.token;
        receivable.settled = true;
        receivable.amountPaid = amount;
        delete _approvals[fingerprint_];
        emit ReceivableSettled(fingerprint_, receivable.orderId, holder, amount);

        uint256 balanceBefore = token.balanceOf(holder);
        token.safeTransferFrom(msg.sender, holder, amount);
        uint256 received = token.balanceOf(holder) - balanceBefore;
        if (received != amount) revert ReceivableRegistryTransferMismatch(address(token), amount, received);
    }

    /// @inheritdoc IReceivableRegistry
    function approve(bytes32 fingerprint_, address operator) external onlyActiveMember {
        Receivable storage receivable = _registered(fingerprint_);
        if (receivable.holder != msg.sender) revert ReceivableRegistryNotHolder(fingerprint_, msg.sender);
        if (receivable.settled) revert ReceivableRegistryAlreadySettled(fingerprint_);
        _approvals[fingerprint_] = operator;
        emit ReceivableApproved(fingerprint_, msg.sender, operator);
    }

    /// @inheritdoc IReceivableRegistry
    function assign(bytes32 fingerprint_, address to) external {
        Receivable storage receivable = _registered(fingerprint_);
        address holder = receivable.holder;
        if (msg.sender != holder && msg.sender != _approvals[fingerprint_]) {
            revert ReceivableRegistryNotHolderOrApproved(fingerprint_, msg.sender);
        }
        _requireActiveMember(holder);
        if (receivable.settled) revert ReceivableRegistryAlreadySettled(fingerprint_);
        _requireMemberRole(to, MemberRoles.FINANCIER);
        receivable.holder = to;
        delete _approvals[fingerprint_];
        emit ReceivableAssigned(fingerprint_, holder, to);
    }

    /// @inheritdoc IReceivableRegistry
    function markSettled(bytes32 orderId, uint256 amountPaid) external {
        if (msg.sender != address(_escrow) || msg.sender == address(0)) revert ReceivableRegistryCallerNotEscrow(msg.sender);
        bytes32 fingerprint_ = _fingerprintOfOrder[orderId];
        Receivable storage receivable = _receivables[fingerprint_];
        if (fingerprint_ == bytes32(0) || !receivable.escrowed || receivable.settled) revert ReceivableRegistryNoOpenReceivable(orderId);
        receivable.settled = true;
        receivable.amountPaid = amountPaid;
        delete _approvals[fingerprint_];
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
    function payeeOf(bytes32 orderId) external view nonReentrantView returns (address) {
        Receivable storage receivable = _receivables[_fingerprintOfOrder[orderId]];
        return receivable.escrowed && !receivable.settled ? receivable.holder : address(0);
    }

    /// @inheritdoc IReceivableRegistry
    function receivableOf(bytes32 fingerprint_) external view nonReentrantView returns (Receivable memory) {
        return _receivables[fingerprint_];
    }

    /// @inheritdoc IReceivableRegistry
    function isVerified(bytes32 fingerprint_) external view nonReentrantView returns (bool) {
        Receivable storage receivable = _receivables[fingerprint_];
        if (receivable.issuer == address(0) || receivable.settled) return false;
        if (!receivable.escrowed) return receivable.acknowledged;
        return _escrow.escrowOf(receivable.orderId).state == IDeliveryEscrow.EscrowState.ReceiptConfirmed;
    }

    /// @inheritdoc IReceivableRegistry
    function getApproved(bytes32 fingerprint_) external view returns (address) {
        return _approvals[fingerprint_];
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
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IReceivableRegistry
    function fingerprint(
        bytes32 issuer,
        bytes32 debtor,
        string calldata invoiceNumber,
        uint256 amount,
        string calldata currency,
        uint64 dueDate
    ) external view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    RECEIVABLE_TYPEHASH,
                    issuer,
                    debtor,
                    keccak256(bytes(invoiceNumber)),
                    amount,
                    keccak256(bytes(currency)),
                    dueDate
                )
            )
        );
    }

    function _requireUnregistered(bytes32 fingerprint_, bytes32 orderId) private view {
        if (fingerprint_ == bytes32(0)) revert ReceivableRegistryInvalidFingerprint();
        if (orderId == bytes32(0)) revert ReceivableRegistryInvalidOrderId();
        if (_receivables[fingerprint_].issuer != address(0)) revert ReceivableRegistryAlreadyRegistered(fingerprint_);
        bytes32 linked = _fingerprintOfOrder[orderId];
        if (linked != bytes32(0)) revert ReceivableRegistryOrderAlreadyLinked(orderId, linked);
    }

    function _store(
        bytes32 fingerprint_,
        bytes32 orderId,
        address debtor,
        IERC20 token,
        uint256 amount,
        uint64 dueDate,
        bool escrowed
    ) private {
        _receivables[fingerprint_] = Receivable({
            orderId: orderId,
            issuer: msg.sender,
            registeredAt: uint64(block.timestamp),
            holder: msg.sender,
            settled: false,
            escrowed: escrowed,
            acknowledged: false,
            debtor: debtor,
            dueDate: dueDate,
            token: token,
            amount: amount,
            amountPaid: 0
        });
        _fingerprintOfOrder[orderId] = fingerprint_;
        emit ReceivableRegistered(fingerprint_, orderId, msg.sender, debtor, address(token), amount, dueDate, escrowed);
    }

    function _registered(bytes32 fingerprint_) private view returns (Receivable storage receivable) {
        receivable = _receivables[fingerprint_];
        if (receivable.issuer == address(0)) revert ReceivableRegistryNotRegistered(fingerprint_);
    }

    /// @dev The open-account receivable `fingerprint_`, open, whose debtor is the caller.
    function _openAccount(bytes32 fingerprint_) private view returns (Receivable storage receivable) {
        receivable = _registered(fingerprint_);
        if (receivable.escrowed) revert ReceivableRegistryEscrowedReceivable(fingerprint_);
        if (receivable.debtor != msg.sender) revert ReceivableRegistryNotDebtor(fingerprint_, msg.sender);
        if (receivable.settled) revert ReceivableRegistryAlreadySettled(fingerprint_);
    }

    function _isOpen(IDeliveryEscrow.EscrowState state) private pure returns (bool) {
        return state == IDeliveryEscrow.EscrowState.Funded || state == IDeliveryEscrow.EscrowState.Delivered
            || state == IDeliveryEscrow.EscrowState.ReceiptConfirmed || state == IDeliveryEscrow.EscrowState.Disputed;
    }
}
