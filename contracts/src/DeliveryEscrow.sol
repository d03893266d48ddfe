// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IConsortium, MemberRoles} from "./interfaces/IConsortium.sol";
import {IDeliveryEscrow} from "./interfaces/IDeliveryEscrow.sol";
import {IReceivableRegistry} from "./interfaces/IReceivableRegistry.sol";
import {ConsortiumGated} from "./utils/ConsortiumGated.sol";

/// @title DeliveryEscrow
/// @notice Holds a buyer's payment per order until delivery is proven and accepted, or an
/// arbiter decides. See {IDeliveryEscrow} for the state machine.
/// @dev Pull payments: release and resolution only credit; {withdraw} moves tokens. Every
/// state-changing function is `nonReentrant` and touches tokens only after its effects; the
/// views of balances and escrows are `nonReentrantView` (no read-only reentrancy).
/// The contract must be on each settlement token's holder list to hold it.
contract DeliveryEscrow is AccessControl, ReentrancyGuard, ConsortiumGated, IDeliveryEscrow {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    uint64 public constant MIN_DISPUTE_WINDOW = 1 hours;
    uint64 public constant MAX_DISPUTE_WINDOW = 365 days;

    IReceivableRegistry private immutable _receivables;
    uint64 private _disputeWindow;
    mapping(bytes32 orderId => Escrow) private _escrows;
    mapping(address account => mapping(IERC20 token => uint256)) private _owed;
    mapping(IERC20 token => uint256) private _liabilities;
    mapping(IERC20 token => bool) private _allowedTokens;

    constructor(IConsortium consortium_, IReceivableRegistry receivables_, address operator, uint64 disputeWindow_)
        ConsortiumGated(consortium_)
    {
        if (address(receivables_) == address(0) || operator == address(0)) revert DeliveryEscrowZeroAddress();
        _requireValidWindow(disputeWindow_);
        _receivables = receivables_;
        _disputeWindow = disputeWindow_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @inheritdoc IDeliveryEscrow
    function receivables() external view returns (IReceivableRegistry) {
        return _receivables;
    }

    /// @inheritdoc IDeliveryEscrow
    function fund(bytes32 orderId, address payee, address carrier, address arbiter, IERC20 token, uint256 amount)
        external
        nonReentrant
        onlyMemberRole(MemberRoles.BUYER)
    {
        if (orderId == bytes32(0)) revert DeliveryEscrowInvalidOrderId();
        if (_escrows[orderId].state != EscrowState.None) revert DeliveryEscrowAlreadyFunded(orderId);
        if (amount == 0) revert DeliveryEscrowZeroAmount();
        if (!_allowedTokens[token]) revert DeliveryEscrowTokenNotAllowed(address(token));
        // A zero carrier is "to be assigned" by the payee ({assignCarrier}).
        bool hasCarrier = carrier != address(0);
        _requireMemberRole(payee, MemberRoles.SUPPLIER);
        if (hasCarrier) _requireMemberRole(carrier, MemberRoles.CARRIER);
        _requireMemberRole(arbiter, MemberRoles.ARBITER);
        // Separation of duties: no account may attest, accept or decide a step that belongs
        // to another party (a payee that is also the carrier could prove its own delivery).
        if (payee == msg.sender) revert DeliveryEscrowConflictingParties(payee);
        if (hasCarrier) _requireDistinctCarrier(carrier, msg.sender, payee, arbiter);
        if (arbiter == msg.sender || arbiter == payee) revert DeliveryEscrowConflictingParties(arbiter);

        Escrow storage escrow = _escrows[orderId];
        escrow.buyer = msg.sender;
        escrow.payee = payee;
        escrow.carrier = carrier;
        escrow.arbiter = arbiter;
        escrow.token = token;
        escrow.amount = amount;
        escrow.fundedAt = uint64(block.timestamp);
        escrow.disputeWindow = _disputeWindow;
        escrow.state = EscrowState.Funded;
        _liabilities[token] += amount;
        emit EscrowFunded(orderId, msg.sender, payee, carrier, arbiter, address(token), amount, _disputeWindow);

        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        if (received != amount) revert DeliveryEscrowTransferMismatch(address(token), amount, received);
    }

    /// @inheritdoc IDeliveryEscrow
    function assignCarrier(bytes32 orderId, address carrier) external nonReentrant onlyActiveMember {
        Escrow storage escrow = _existing(orderId);
        if (msg.sender != escrow.payee) revert DeliveryEscrowCallerNotPayee(orderId, msg.sender);
        if (escrow.state != EscrowState.Funded) revert DeliveryEscrowInvalidState(orderId, escrow.state);
        if (escrow.carrier != address(0)) revert DeliveryEscrowCarrierAlreadyAssigned(orderId, escrow.carrier);
        if (carrier == address(0)) revert DeliveryEscrowZeroAddress();
        _requireMemberRole(carrier, MemberRoles.CARRIER);
        _requireDistinctCarrier(carrier, escrow.buyer, escrow.payee, escrow.arbiter);
        escrow.carrier = carrier;
        emit CarrierAssigned(orderId, carrier);
    }

    /// @inheritdoc IDeliveryEscrow
    function attestDelivery(bytes32 orderId, bytes32 proofHash) external nonReentrant onlyActiveMember {
        Escrow storage escrow = _existing(orderId);
        if (escrow.carrier == address(0)) revert DeliveryEscrowCarrierNotAssigned(orderId);
        if (msg.sender != escrow.carrier) revert DeliveryEscrowCallerNotCarrier(orderId, msg.sender);
        if (escrow.state != EscrowState.Funded) revert DeliveryEscrowInvalidState(orderId, escrow.state);
        if (proofHash == bytes32(0)) revert DeliveryEscrowInvalidProof();
        escrow.deliveryProof = proofHash;
        escrow.deliveredAt = uint64(block.timestamp);
        escrow.state = EscrowState.Delivered;
        emit DeliveryAttested(orderId, msg.sender, proofHash);
    }

    /// @inheritdoc IDeliveryEscrow
    function confirmReceipt(bytes32 orderId, uint256 acceptedValue) external nonReentrant onlyActiveMember {
        Escrow storage escrow = _existing(orderId);
        if (msg.sender != escrow.buyer) revert DeliveryEscrowCallerNotBuyer(orderId, msg.sender);
        if (escrow.state != EscrowState.Delivered) revert DeliveryEscrowInvalidState(orderId, escrow.state);
        uint64 windowEnd = escrow.deliveredAt + escrow.disputeWindow;
        if (block.timestamp >= windowEnd) revert DeliveryEscrowDisputeWindowClosed(orderId, windowEnd);
        if (acceptedValue > escrow.amount) {
            revert DeliveryEscrowValueExceedsAmount(orderId, acceptedValue, escrow.amount);
        }
        escrow.acceptedValue = acceptedValue;
        escrow.confirmedAt = uint64(block.timestamp);
        escrow.state = EscrowState.ReceiptConfirmed;
        emit ReceiptConfirmed(orderId, msg.sender, acceptedValue);
    }

    /// @inheritdoc IDeliveryEscrow
    function openDispute(bytes32 orderId, bytes32 reasonHash) external nonReentrant onlyActiveMember {
        Escrow storage escrow = _existing(orderId);
        bool byBuyer = msg.sender == escrow.buyer;
        if (!byBuyer && msg.sender != escrow.payee) revert DeliveryEscrowCallerNotParty(orderId, msg.sender);
        EscrowState state = escrow.state;
        if (state == EscrowState.Delivered) {
            uint64 windowEnd = escrow.deliveredAt + escrow.disputeWindow;
            if (byBuyer && block.timestamp >= windowEnd) revert DeliveryEscrowDisputeWindowClosed(orderId, windowEnd);
        } else if (state != EscrowState.Funded && !(state == EscrowState.ReceiptConfirmed && !byBuyer)) {
            revert DeliveryEscrowInvalidState(orderId, state);
        }
        escrow.state = EscrowState.Disputed;
        emit DisputeOpened(orderId, msg.sender, reasonHash);
    }

    /// @inheritdoc IDeliveryEscrow
    function resolveDispute(bytes32 orderId, uint256 payeeAmount) external nonReentrant onlyActiveMember {
        Escrow storage escrow = _existing(orderId);
        if (msg.sender != escrow.arbiter) revert DeliveryEscrowCallerNotArbiter(orderId, msg.sender);
        if (escrow.state != EscrowState.Disputed) revert DeliveryEscrowInvalidState(orderId, escrow.state);
        if (payeeAmount > escrow.amount) revert DeliveryEscrowValueExceedsAmount(orderId, payeeAmount, escrow.amount);
        (address recipient, uint256 buyerAmount, bool hasReceivable) =
            _settle(orderId, escrow, payeeAmount, EscrowState.Resolved);
        emit DisputeResolved(orderId, msg.sender, recipient, payeeAmount, buyerAmount);
        if (hasReceivable) _receivables.markSettled(orderId, payeeAmount);
    }

    /// @inheritdoc IDeliveryEscrow
    function release(bytes32 orderId) external nonReentrant onlyActiveMember {
        Escrow storage escrow = _existing(orderId);
        uint256 payeeAmount;
        if (escrow.state == EscrowState.ReceiptConfirmed) {
            payeeAmount = escrow.acceptedValue;
            if (payeeAmount != escrow.amount && msg.sender != escrow.payee) {
                _requireWindowOver(orderId, escrow.confirmedAt + escrow.disputeWindow);
            }
        } else if (escrow.state == EscrowState.Delivered) {
            _requireWindowOver(orderId, escrow.deliveredAt + escrow.disputeWindow);
            payeeAmount = escrow.amount;
        } else {
            revert DeliveryEscrowInvalidState(orderId, escrow.state);
        }
        (address recipient, uint256 refund, bool hasReceivable) =
            _settle(orderId, escrow, payeeAmount, EscrowState.Released);
        emit EscrowReleased(orderId, msg.sender, recipient, payeeAmount, refund);
        if (hasReceivable) _receivables.markSettled(orderId, payeeAmount);
    }

    /// @inheritdoc IDeliveryEscrow
    function withdraw(IERC20 token) external nonReentrant onlyActiveMember {
        uint256 amount = _owed[msg.sender][token];
        if (amount == 0) revert DeliveryEscrowNothingToWithdraw(msg.sender, address(token));
        _owed[msg.sender][token] = 0;
        _liabilities[token] -= amount;
        emit Withdrawn(msg.sender, address(token), amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IDeliveryEscrow
    function allowToken(IERC20 token) external onlyRole(OPERATOR_ROLE) {
        if (address(token) == address(0)) revert DeliveryEscrowZeroAddress();
        if (_allowedTokens[token]) revert DeliveryEscrowTokenAlreadyAllowed(address(token));
        _allowedTokens[token] = true;
        emit TokenAllowed(address(token));
    }

    /// @inheritdoc IDeliveryEscrow
    function disallowToken(IERC20 token) external onlyRole(OPERATOR_ROLE) {
        if (!_allowedTokens[token]) revert DeliveryEscrowTokenNotAllowed(address(token));
        _allowedTokens[token] = false;
        emit TokenDisallowed(address(token));
    }

    /// @inheritdoc IDeliveryEscrow
    function setDisputeWindow(uint64 window) external onlyRole(OPERATOR_ROLE) {
        _requireValidWindow(window);
        uint64 previousWindow = _disputeWindow;
        _disputeWindow = window;
        emit DisputeWindowChanged(previousWindow, window);
    }

    /// @inheritdoc IDeliveryEscrow
    function escrowOf(bytes32 orderId) external view nonReentrantView returns (Escrow memory) {
        return _escrows[orderId];
    }

    /// @inheritdoc IDeliveryEscrow
    function owedTo(address account, IERC20 token) external view nonReentrantView returns (uint256) {
        return _owed[account][token];
    }

    /// @inheritdoc IDeliveryEscrow
    function liabilities(IERC20 token) external view nonReentrantView returns (uint256) {
        return _liabilities[token];
    }

    /// @inheritdoc IDeliveryEscrow
    function isTokenAllowed(IERC20 token) external view returns (bool) {
        return _allowedTokens[token];
    }

    /// @inheritdoc IDeliveryEscrow
    function disputeWindow() external view returns (uint64) {
        return _disputeWindow;
    }

    /// @dev Closes the escrow in `finalState`: credits `payeeAmount` to the receivable holder
    /// (or the payee) and the rest to the buyer. The registry is told by the caller, last.
    /// A registry that links another escrow is not asked: it could name anyone as payee.
    function _settle(bytes32 orderId, Escrow storage escrow, uint256 payeeAmount, EscrowState finalState)
        private
        returns (address recipient, uint256 refund, bool hasReceivable)
    {
        address holder = address(_receivables.escrow()) == address(this) ? _receivables.payeeOf(orderId) : address(0);
        hasReceivable = holder != address(0);
        recipient = hasReceivable ? holder : escrow.payee;
        refund = escrow.amount - payeeAmount;
        escrow.acceptedValue = payeeAmount;
        escrow.state = finalState;
        _credit(orderId, recipient, escrow.token, payeeAmount);
        _credit(orderId, escrow.buyer, escrow.token, refund);
    }

    function _credit(bytes32 orderId, address account, IERC20 token, uint256 amount) private {
        if (amount == 0) return;
        _owed[account][token] += amount;
        emit PaymentCredited(orderId, account, address(token), amount);
    }

    function _existing(bytes32 orderId) private view returns (Escrow storage escrow) {
        escrow = _escrows[orderId];
        if (escrow.state == EscrowState.None) revert DeliveryEscrowNotFound(orderId);
    }

    /// @dev Separation of duties for the carrier: it must be none of the other parties.
    function _requireDistinctCarrier(address carrier, address buyer, address payee, address arbiter) private pure {
        if (carrier == buyer || carrier == payee || carrier == arbiter) {
            revert DeliveryEscrowConflictingParties(carrier);
        }
    }

    function _requireWindowOver(bytes32 orderId, uint64 windowEnd) private view {
        if (block.timestamp < windowEnd) revert DeliveryEscrowDisputeWindowOpen(orderId, windowEnd);
    }

    function _requireValidWindow(uint64 window) private pure {
        if (window < MIN_DISPUTE_WINDOW || window > MAX_DISPUTE_WINDOW) revert DeliveryEscrowInvalidDisputeWindow(window);
    }
}
