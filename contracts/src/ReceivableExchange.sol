// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IConsortium, MemberRoles} from "./interfaces/IConsortium.sol";
import {IReceivableExchange} from "./interfaces/IReceivableExchange.sol";
import {IReceivableRegistry} from "./interfaces/IReceivableRegistry.sol";
import {ConsortiumGated} from "./utils/ConsortiumGated.sol";

/// @title ReceivableExchange
/// @notice Financing offers for verified receivables, accepted all or nothing and settled by
/// a waterfall. See {IReceivableExchange}.
/// @dev Holds no tokens. `accept` and `settle` are `nonReentrant` and record their effects
/// before any call out; the views of an offer revert while one of them is in progress.
contract ReceivableExchange is ReentrancyGuard, ConsortiumGated, IReceivableExchange {
    using SafeERC20 for IERC20;

    IReceivableRegistry private immutable _registry;
    mapping(bytes32 offerId => Offer) private _offers;

    constructor(IConsortium consortium_, IReceivableRegistry registry_) ConsortiumGated(consortium_) {
        if (address(registry_) == address(0)) revert ReceivableExchangeZeroAddress();
        _registry = registry_;
    }

    /// @inheritdoc IReceivableExchange
    function offer(bytes32 offerId, bytes32 fingerprint, uint256 advance, uint256 claim, uint64 expiresAt)
        external
        nonReentrant
        onlyMemberRole(MemberRoles.FINANCIER)
    {
        if (offerId == bytes32(0)) revert ReceivableExchangeInvalidOfferId();
        if (_offers[offerId].state != OfferState.None) revert ReceivableExchangeOfferExists(offerId);
        if (advance == 0 || advance > claim) revert ReceivableExchangeInvalidTerms(advance, claim);
        if (expiresAt <= block.timestamp) revert ReceivableExchangeInvalidExpiry(expiresAt);
        if (!_registry.isVerified(fingerprint)) revert ReceivableExchangeNotVerified(fingerprint);
        IReceivableRegistry.Receivable memory receivable = _registry.receivableOf(fingerprint);
        if (receivable.holder == msg.sender) revert ReceivableExchangeFinancierIsHolder(fingerprint);
        Offer storage made = _offers[offerId];
        made.fingerprint = fingerprint;
        made.financier = msg.sender;
        made.expiresAt = expiresAt;
        made.state = OfferState.Open;
        made.token = receivable.token;
        made.advance = advance;
        made.claim = claim;
        emit OfferMade(offerId, fingerprint, msg.sender, address(receivable.token), advance, claim, expiresAt);
    }

    /// @inheritdoc IReceivableExchange
    function withdrawOffer(bytes32 offerId) external nonReentrant onlyActiveMember {
        Offer storage made = _existing(offerId);
        if (made.financier != msg.sender) revert ReceivableExchangeCallerNotFinancier(offerId, msg.sender);
        if (made.state != OfferState.Open) revert ReceivableExchangeInvalidState(offerId, made.state);
        made.state = OfferState.Withdrawn;
        emit OfferWithdrawn(offerId, made.fingerprint, msg.sender);
    }

    /// @inheritdoc IReceivableExchange
    function accept(bytes32 offerId) external nonReentrant onlyActiveMember {
        Offer storage made = _existing(offerId);
        if (made.state != OfferState.Open) revert ReceivableExchangeInvalidState(offerId, made.state);
        if (block.timestamp >= made.expiresAt) revert ReceivableExchangeOfferExpired(offerId, made.expiresAt);
        bytes32 fingerprint = made.fingerprint;
        if (_registry.receivableOf(fingerprint).holder != msg.sender) revert ReceivableExchangeCallerNotHolder(fingerprint, msg.sender);
        if (!_registry.isVerified(fingerprint)) revert ReceivableExchangeNotVerified(fingerprint);
        address financier = made.financier;
        uint256 advance = made.advance;
        made.supplier = msg.sender;
        made.state = OfferState.Accepted;
        emit OfferAccepted(offerId, fingerprint, msg.sender, financier, advance);

        // The registry checks this exchange's approval and the financier's role; any refusal,
        // here or in the transfer below, undoes the whole acceptance.
        _registry.assign(fingerprint, financier);
        _pull(made.token, financier, msg.sender, advance);
    }

    /// @inheritdoc IReceivableExchange
    function settle(bytes32 offerId) external nonReentrant onlyActiveMember {
        Offer storage made = _existing(offerId);
        if (made.state != OfferState.Accepted) revert ReceivableExchangeInvalidState(offerId, made.state);
        bytes32 fingerprint = made.fingerprint;
        IReceivableRegistry.Receivable memory receivable = _registry.receivableOf(fingerprint);
        if (!receivable.settled) revert ReceivableExchangeNotSettled(fingerprint);
        uint256 amountPaid = receivable.amountPaid;
        uint256 claim = made.claim;
        uint256 financierShare = amountPaid < claim ? amountPaid : claim;
        uint256 supplierShare = amountPaid - financierShare;
        made.state = OfferState.Settled;
        made.amountPaid = amountPaid;
        made.financierShare = financierShare;
        made.supplierShare = supplierShare;
        emit OfferSettled(
            offerId, fingerprint, made.financier, made.supplier, amountPaid, financierShare, supplierShare, claim - financierShare
        );

        if (supplierShare != 0) _pull(made.token, made.financier, made.supplier, supplierShare);
    }

    /// @inheritdoc IReceivableExchange
    function offerOf(bytes32 offerId) external view nonReentrantView returns (Offer memory) {
        return _offers[offerId];
    }

    /// @inheritdoc IReceivableExchange
    function registry() external view returns (IReceivableRegistry) {
        return _registry;
    }

    /// @dev Moves exactly `amount` of `token` from `from` (who approved this exchange) to `to`.
    function _pull(IERC20 token, address from, address to, uint256 amount) private {
        uint256 balanceBefore = token.balanceOf(to);
        token.safeTransferFrom(from, to, amount);
        uint256 received = token.balanceOf(to) - balanceBefore;
        if (received != amount) revert ReceivableExchangeTransferMismatch(address(token), amount, received);
    }

    function _existing(bytes32 offerId) private view returns (Offer storage made) {
        made = _offers[offerId];
        if (made.state == OfferState.None) revert ReceivableExchangeOfferNotFound(offerId);
    }
}
