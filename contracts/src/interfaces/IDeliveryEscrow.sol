// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IReceivableRegistry} from "./IReceivableRegistry.sol";

/// @title Delivery escrow: the buyer's money held until delivery is proven and accepted
/// @notice One escrow per order id. The buyer funds it naming payee (supplier), carrier and
/// arbiter, or leaves the carrier unassigned for the payee to name once, when it ships; the
/// carrier attests proof of delivery; the buyer confirms receipt with the value it accepts;
/// release pays the accepted value to the payee (or to whoever holds the order's
/// receivable in the receivable registry, when that registry's linked escrow is this one)
/// and refunds the rest to the buyer. Buyer or payee
/// may open a dispute, which freezes the funds until the arbiter splits them. When the buyer
/// neither confirms nor disputes within the dispute window after proof of delivery, any
/// member may release the full value.
/// @dev Payouts are pull-based: release and resolution credit the recipients, who call
/// {withdraw}. All state-changing functions are `nonReentrant`; token calls come last. The
/// views of balances and escrows ({escrowOf}, {owedTo}, {liabilities}) revert while a
/// state-changing call is in progress, so that no contract a token calls into can read them
/// half updated (read-only reentrancy).
///
/// State machine (`release` needs the dispute window where noted):
///   None --fund--> Funded --attestDelivery--> Delivered --confirmReceipt--> ReceiptConfirmed
///   Funded --assignCarrier (once, only when funded without a carrier)--> Funded
///   Delivered --release (window over)--> Released; ReceiptConfirmed --release--> Released
///   Funded | Delivered | ReceiptConfirmed --openDispute--> Disputed --resolveDispute--> Resolved
interface IDeliveryEscrow {
    /// @notice Lifecycle of an order's escrow.
    enum EscrowState {
        None,
        Funded,
        Delivered,
        ReceiptConfirmed,
        Disputed,
        Released,
        Resolved
    }

    /// @notice An order's escrow.
    /// @param buyer funded the escrow and receives refunds
    /// @param payee the supplier to be paid (unless a receivable for the order was assigned)
    /// @param carrier the only account that may attest proof of delivery; the zero address
    /// until assigned when the escrow was funded without one
    /// @param arbiter the only account that may resolve a dispute
    /// @param token the settlement token held
    /// @param amount the value held
    /// @param acceptedValue the value the buyer accepted, then the value paid to the payee side
    /// @param deliveryProof hash of the proof-of-delivery document
    /// @param fundedAt block timestamp of funding
    /// @param deliveredAt block timestamp of the proof of delivery
    /// @param confirmedAt block timestamp of the buyer's receipt
    /// @param disputeWindow seconds the buyer has after delivery (and the payee after a
    /// partial acceptance) before release may happen without them, fixed at funding
    /// @param state where the escrow stands
    struct Escrow {
        address buyer;
        uint64 fundedAt;
        address payee;
        uint64 deliveredAt;
        address carrier;
        uint64 confirmedAt;
        address arbiter;
        uint64 disputeWindow;
        IERC20 token;
        EscrowState state;
        uint256 amount;
        uint256 acceptedValue;
        bytes32 deliveryProof;
    }

    /// @notice The zero order id was given.
    error DeliveryEscrowInvalidOrderId();
    /// @notice An escrow for `orderId` exists already.
    error DeliveryEscrowAlreadyFunded(bytes32 orderId);
    /// @notice No escrow exists for `orderId`.
    error DeliveryEscrowNotFound(bytes32 orderId);
    /// @notice A zero amount cannot be escrowed.
    error DeliveryEscrowZeroAmount();
    /// @notice `token` is not accepted for new escrows.
    error DeliveryEscrowTokenNotAllowed(address token);
    /// @notice `token` is accepted already.
    error DeliveryEscrowTokenAlreadyAllowed(address token);
    /// @notice `account` cannot take two parts in one escrow (buyer, payee, carrier and
    /// arbiter are four different accounts).
    error DeliveryEscrowConflictingParties(address account);
    /// @notice The token moved `received` into the escrow instead of `expected`.
    error DeliveryEscrowTransferMismatch(address token, uint256 expected, uint256 received);
    /// @notice The escrow of `orderId` is in `state`, where this action is not possible.
    error DeliveryEscrowInvalidState(bytes32 orderId, EscrowState state);
    /// @notice `account` is not the buyer of `orderId`.
    error DeliveryEscrowCallerNotBuyer(bytes32 orderId, address account);
    /// @notice `account` is not the carrier of `orderId`.
    error DeliveryEscrowCallerNotCarrier(bytes32 orderId, address account);
    /// @notice `account` is not the payee of `orderId`.
    error DeliveryEscrowCallerNotPayee(bytes32 orderId, address account);
    /// @notice `orderId` has no carrier yet: the payee must assign one first.
    error DeliveryEscrowCarrierNotAssigned(bytes32 orderId);
    /// @notice `orderId` has its carrier, `carrier`, already; it cannot be changed.
    error DeliveryEscrowCarrierAlreadyAssigned(bytes32 orderId, address carrier);
    /// @notice `account` is not the arbiter of `orderId`.
    error DeliveryEscrowCallerNotArbiter(bytes32 orderId, address account);
    /// @notice `account` is neither buyer nor payee of `orderId`.
    error DeliveryEscrowCallerNotParty(bytes32 orderId, address account);
    /// @notice The zero hash was given as a proof of delivery.
    error DeliveryEscrowInvalidProof();
    /// @notice `value` exceeds the `amount` held for `orderId`.
    error DeliveryEscrowValueExceedsAmount(bytes32 orderId, uint256 value, uint256 amount);
    /// @notice Release must wait until `endsAt`, when the dispute window closes.
    error DeliveryEscrowDisputeWindowOpen(bytes32 orderId, uint64 endsAt);
    /// @notice The buyer's dispute window closed at `endedAt`.
    error DeliveryEscrowDisputeWindowClosed(bytes32 orderId, uint64 endedAt);
    /// @notice Nothing is credited to `account` in `token`.
    error DeliveryEscrowNothingToWithdraw(address account, address token);
    /// @notice `window` is not a valid dispute window (1 hour to 365 days).
    error DeliveryEscrowInvalidDisputeWindow(uint64 window);
    /// @notice The zero address was given.
    error DeliveryEscrowZeroAddress();

    /// @notice `buyer` escrowed `amount` of `token` for `orderId`.
    event EscrowFunded(
        bytes32 indexed orderId,
        address indexed buyer,
        address indexed payee,
        address carrier,
        address arbiter,
        address token,
        uint256 amount,
        uint64 disputeWindow
    );
    /// @notice The payee assigned `carrier` to `orderId`, funded without a carrier.
    event CarrierAssigned(bytes32 indexed orderId, address indexed carrier);
    /// @notice The carrier attested delivery of `orderId` with the proof `proofHash`.
    event DeliveryAttested(bytes32 indexed orderId, address indexed carrier, bytes32 proofHash);
    /// @notice The buyer confirmed receipt of `orderId`, accepting `acceptedValue`.
    event ReceiptConfirmed(bytes32 indexed orderId, address indexed buyer, uint256 acceptedValue);
    /// @notice `openedBy` disputed `orderId`; the funds are frozen until the arbiter decides.
    event DisputeOpened(bytes32 indexed orderId, address indexed openedBy, bytes32 reasonHash);
    /// @notice The arbiter split `orderId`: `payeeAmount` to `recipient`, `buyerAmount` back.
    event DisputeResolved(
        bytes32 indexed orderId, address indexed arbiter, address indexed recipient, uint256 payeeAmount, uint256 buyerAmount
    );
    /// @notice `orderId` was released: `payeeAmount` to `recipient`, `refundAmount` to the buyer.
    event EscrowReleased(
        bytes32 indexed orderId, address indexed releasedBy, address indexed recipient, uint256 payeeAmount, uint256 refundAmount
    );
    /// @notice `amount` of `token` was credited to `account` out of the escrow of `orderId`.
    event PaymentCredited(bytes32 indexed orderId, address indexed account, address indexed token, uint256 amount);
    /// @notice `account` withdrew `amount` of `token` credited to it.
    event Withdrawn(address indexed account, address indexed token, uint256 amount);
    /// @notice The operator accepted `token` for new escrows.
    event TokenAllowed(address indexed token);
    /// @notice The operator stopped accepting `token` for new escrows (existing ones go on).
    event TokenDisallowed(address indexed token);
    /// @notice The operator changed the dispute window given to new escrows.
    event DisputeWindowChanged(uint64 previousWindow, uint64 newWindow);

    /// @notice Escrows `amount` of `token` for `orderId`, pulling it from the caller (the buyer).
    /// @dev Caller: active member with the BUYER flag, having approved this contract for
    /// `amount`. `payee` must hold SUPPLIER, `carrier` CARRIER and `arbiter` ARBITER; buyer,
    /// payee, carrier and arbiter must be four different accounts, so that no party can
    /// attest, accept or decide a step that belongs to another.
    /// @param carrier the carrier, or the zero address when it is not chosen yet: the payee
    /// then names it with {assignCarrier}, and nobody can attest delivery until it does
    function fund(bytes32 orderId, address payee, address carrier, address arbiter, IERC20 token, uint256 amount)
        external;

    /// @notice The payee (supplier) names the carrier of an escrow funded without one.
    /// @dev Caller: the escrow's payee, an active member. Only while the escrow is `Funded`
    /// and its carrier unassigned; the carrier is final once assigned. `carrier` must be an
    /// active member holding CARRIER and differ from buyer, payee and arbiter, as in {fund}.
    function assignCarrier(bytes32 orderId, address carrier) external;

    /// @notice The assigned carrier attests delivery; the buyer's dispute window starts.
    /// @dev Reverts with {DeliveryEscrowCarrierNotAssigned} while no carrier is assigned.
    /// @param proofHash hash of the proof-of-delivery document (non-zero)
    function attestDelivery(bytes32 orderId, bytes32 proofHash) external;

    /// @notice The buyer confirms receipt, accepting `acceptedValue` (at most the amount held;
    /// the rest is refunded on release). Possible only within the dispute window.
    function confirmReceipt(bytes32 orderId, uint256 acceptedValue) external;

    /// @notice Buyer or payee opens a dispute, freezing the funds until the arbiter decides.
    /// @dev The buyer may dispute before delivery, and after delivery within the dispute
    /// window, but not once it confirmed receipt; the payee may dispute until release.
    /// @param reasonHash hash of the statement of the dispute (may be zero)
    function openDispute(bytes32 orderId, bytes32 reasonHash) external;

    /// @notice The arbiter ends a dispute: `payeeAmount` to the payee side, the rest to the buyer.
    function resolveDispute(bytes32 orderId, uint256 payeeAmount) external;

    /// @notice Credits the payee side and refunds the buyer.
    /// @dev Any active member may call it. After receipt, release is immediate when the
    /// whole amount was accepted or the payee releases; after a partial acceptance, others
    /// wait for the dispute window (the payee's time to dispute). Without receipt, release of
    /// the full amount is possible once the dispute window after delivery is over.
    function release(bytes32 orderId) external;

    /// @notice Pays the caller everything credited to it in `token`.
    function withdraw(IERC20 token) external;

    /// @notice Accepts `token` for new escrows. Operator only.
    function allowToken(IERC20 token) external;

    /// @notice Stops accepting `token` for new escrows. Operator only.
    function disallowToken(IERC20 token) external;

    /// @notice Sets the dispute window given to escrows funded from now on. Operator only.
    function setDisputeWindow(uint64 window) external;

    /// @notice The receivable registry consulted for whom to pay (when it links back to this escrow).
    function receivables() external view returns (IReceivableRegistry);

    /// @notice The escrow of `orderId` (state `None` when there is none).
    function escrowOf(bytes32 orderId) external view returns (Escrow memory);

    /// @notice The value credited to `account` in `token`, waiting for {withdraw}.
    function owedTo(address account, IERC20 token) external view returns (uint256);

    /// @notice Everything this contract owes in `token`: held in open escrows plus credited.
    /// @dev Always equal to this contract's balance of a well-behaved `token`.
    function liabilities(IERC20 token) external view returns (uint256);

    /// @notice Whether new escrows may be funded in `token`.
    function isTokenAllowed(IERC20 token) external view returns (bool);

    /// @notice The dispute window, in seconds, given to escrows funded from now on.
    function disputeWindow() external view returns (uint64);
}
