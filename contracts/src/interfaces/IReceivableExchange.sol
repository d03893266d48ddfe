// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IReceivableRegistry} from "./IReceivableRegistry.sol";

/// @title Receivable exchange: a verified receivable sold to a financier, all or nothing
/// @notice A financier offers to finance a verified receivable: an `advance` paid to the
/// supplier now, against a `claim` (advance plus discount and fees) on what the debtor pays.
/// The receivable's holder accepts one offer: in one transaction the registry assigns the
/// receivable to the financier and the advance moves from the financier to the holder; if
/// either fails, neither happens. Once the receivable is paid (to the financier, its holder),
/// anyone settles the offer: the financier keeps at most its claim and the rest is pulled
/// from it to the supplier.
/// @dev Nothing is locked in the exchange: the financier approves it for the advance (and
/// later the supplier's share), the holder approves it in the registry for the receivable.
/// The exchange must be on each settlement token's holder list (it is the spender of the
/// financier's allowance).
///
/// State machine: None --offer--> Open --withdrawOffer--> Withdrawn;
///   Open --accept--> Accepted --settle (receivable settled)--> Settled
interface IReceivableExchange {
    /// @notice Lifecycle of an offer.
    enum OfferState {
        None,
        Open,
        Withdrawn,
        Accepted,
        Settled
    }

    /// @notice An offer and, once settled, its waterfall.
    /// @param fingerprint the receivable offered for
    /// @param financier who offered (and, once accepted, holds the receivable)
    /// @param supplier the holder that accepted (zero until accepted)
    /// @param token the receivable's settlement token
    /// @param advance token units paid to the supplier on acceptance
    /// @param claim token units the financier keeps at most of what the debtor pays
    /// @param expiresAt the offer cannot be accepted from this Unix time on
    /// @param state where the offer stands
    /// @param amountPaid what the receivable's payment brought (settled offers)
    /// @param financierShare min(amountPaid, claim)
    /// @param supplierShare amountPaid - financierShare, pulled from the financier to the supplier
    struct Offer {
        bytes32 fingerprint;
        address financier;
        uint64 expiresAt;
        address supplier;
        OfferState state;
        IERC20 token;
        uint256 advance;
        uint256 claim;
        uint256 amountPaid;
        uint256 financierShare;
        uint256 supplierShare;
    }

    /// @notice The zero offer id was given.
    error ReceivableExchangeInvalidOfferId();
    /// @notice An offer `offerId` exists already.
    error ReceivableExchangeOfferExists(bytes32 offerId);
    /// @notice No offer `offerId` exists.
    error ReceivableExchangeOfferNotFound(bytes32 offerId);
    /// @notice The offer `offerId` is in `state`, where this action is not possible.
    error ReceivableExchangeInvalidState(bytes32 offerId, OfferState state);
    /// @notice The receivable `fingerprint` is not verified (or is settled): it cannot be financed.
    error ReceivableExchangeNotVerified(bytes32 fingerprint);
    /// @notice The advance must be positive and at most the claim.
    error ReceivableExchangeInvalidTerms(uint256 advance, uint256 claim);
    /// @notice `expiresAt` is not in the future.
    error ReceivableExchangeInvalidExpiry(uint64 expiresAt);
    /// @notice The offer `offerId` expired at `expiredAt`.
    error ReceivableExchangeOfferExpired(bytes32 offerId, uint64 expiredAt);
    /// @notice `account` is not the financier of `offerId`.
    error ReceivableExchangeCallerNotFinancier(bytes32 offerId, address account);
    /// @notice `account` does not hold the receivable `fingerprint`.
    error ReceivableExchangeCallerNotHolder(bytes32 fingerprint, address account);
    /// @notice The financier holds the receivable `fingerprint` already.
    error ReceivableExchangeFinancierIsHolder(bytes32 fingerprint);
    /// @notice The receivable `fingerprint` is not settled yet.
    error ReceivableExchangeNotSettled(bytes32 fingerprint);
    /// @notice The token moved `received` to the supplier instead of `expected`.
    error ReceivableExchangeTransferMismatch(address token, uint256 expected, uint256 received);
    /// @notice The zero address was given.
    error ReceivableExchangeZeroAddress();

    /// @notice `financier` offered to finance `fingerprint`: `advance` now against `claim`.
    event OfferMade(
        bytes32 indexed offerId,
        bytes32 indexed fingerprint,
        address indexed financier,
        address token,
        uint256 advance,
        uint256 claim,
        uint64 expiresAt
    );
    /// @notice The financier withdrew the offer `offerId`.
    event OfferWithdrawn(bytes32 indexed offerId, bytes32 indexed fingerprint, address indexed financier);
    /// @notice `supplier` accepted `offerId`: the receivable went to `financier`, `advance` to `supplier`.
    event OfferAccepted(
        bytes32 indexed offerId, bytes32 indexed fingerprint, address indexed supplier, address financier, uint256 advance
    );
    /// @notice The waterfall of `offerId`, to the token unit: of `amountPaid`, `financierShare`
    /// stays with the financier and `supplierShare` went to the supplier; `shortfall` of the
    /// claim was not covered.
    event OfferSettled(
        bytes32 indexed offerId,
        bytes32 indexed fingerprint,
        address indexed financier,
        address supplier,
        uint256 amountPaid,
        uint256 financierShare,
        uint256 supplierShare,
        uint256 shortfall
    );

    /// @notice Offers to finance the verified, unsettled receivable `fingerprint`.
    /// @dev Caller: active member with the FINANCIER flag, not its holder. `0 < advance <= claim`;
    /// `expiresAt` in the future. The token is the receivable's.
    function offer(bytes32 offerId, bytes32 fingerprint, uint256 advance, uint256 claim, uint64 expiresAt) external;

    /// @notice The financier withdraws its open offer.
    function withdrawOffer(bytes32 offerId) external;

    /// @notice The receivable's holder accepts an open, unexpired offer: the receivable is
    /// assigned to the financier and the advance pulled from the financier to the holder, in
    /// this one transaction.
    /// @dev The holder must have approved this exchange for the receivable in the registry,
    /// the financier this exchange for the advance in the token; the receivable must still be verified.
    function accept(bytes32 offerId) external;

    /// @notice Settles an accepted offer once the registry shows its receivable settled:
    /// the supplier's share of the payment is pulled from the financier to the supplier.
    /// @dev Any active member may call it; once per offer.
    function settle(bytes32 offerId) external;

    /// @notice The offer `offerId` (state `None` when there is none).
    function offerOf(bytes32 offerId) external view returns (Offer memory);

    /// @notice The registry whose receivables are exchanged.
    function registry() external view returns (IReceivableRegistry);
}
