// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IDeliveryEscrow} from "./IDeliveryEscrow.sol";

/// @title Receivable registry: one registration per invoice, who holds it, and its payment
/// @notice An invoice is registered under its fingerprint, once: the same fingerprint can
/// never be registered again, so that one invoice cannot be financed twice, by any platform
/// using this chain. Two kinds of receivable:
///
/// - escrowed: the supplier that is payee of an order's open escrow registers the order's
///   invoice ({register}); the escrow pays whoever holds it ({payeeOf}) and marks it settled;
/// - open account: a supplier registers an invoice for an order without escrow
///   ({registerOpenAccount}); the debtor (a buyer) acknowledges it as an approved payable and
///   pays it ({pay}) straight to whoever holds it then.
///
/// The holder may assign the receivable to a financier, itself or through an operator it
/// approved for that receivable (such as the receivable exchange).
/// @dev The fingerprint is the EIP-712 typed-data hash of the invoice under this registry's
/// domain ("Concord Receivables", version "1", chain id, this contract), see {fingerprint};
/// the invoice itself never goes on chain. Python computes the same value in
/// `concord.ledger.encoding.fingerprint`.
interface IReceivableRegistry {
    /// @notice A registered receivable.
    /// @param orderId the order the invoice is for
    /// @param issuer the supplier account that registered it
    /// @param registeredAt block timestamp of registration
    /// @param holder who is to be paid (issuer until assigned)
    /// @param settled whether it was paid (or its escrow closed)
    /// @param escrowed paid by the order's delivery escrow (else by the debtor, on open account)
    /// @param acknowledged the debtor acknowledged it (open account only)
    /// @param debtor the buyer account that owes it (the escrow's buyer when escrowed)
    /// @param dueDate Unix time the debtor owes it by (zero when escrowed: the escrow decides)
    /// @param token the settlement token it is paid in
    /// @param amount its face value in token units (the escrowed amount when escrowed)
    /// @param amountPaid the value paid to the holder when settled
    struct Receivable {
        bytes32 orderId;
        address issuer;
        uint64 registeredAt;
        address holder;
        bool settled;
        bool escrowed;
        bool acknowledged;
        address debtor;
        uint64 dueDate;
        IERC20 token;
        uint256 amount;
        uint256 amountPaid;
    }

    /// @notice The zero fingerprint was given.
    error ReceivableRegistryInvalidFingerprint();
    /// @notice The zero order id was given.
    error ReceivableRegistryInvalidOrderId();
    /// @notice `fingerprint` was registered before; it can never be registered again.
    error ReceivableRegistryAlreadyRegistered(bytes32 fingerprint);
    /// @notice No receivable is registered under `fingerprint`.
    error ReceivableRegistryNotRegistered(bytes32 fingerprint);
    /// @notice `orderId` has a receivable already (`fingerprint`).
    error ReceivableRegistryOrderAlreadyLinked(bytes32 orderId, bytes32 fingerprint);
    /// @notice `account` is not the payee of an open escrow for `orderId`.
    error ReceivableRegistryNotOrderPayee(bytes32 orderId, address account);
    /// @notice The linked escrow takes its receivables from `registry`, not from this registry.
    error ReceivableRegistryEscrowMismatch(address registry);
    /// @notice `orderId` has a delivery escrow: its receivable is registered with {register}.
    error ReceivableRegistryOrderEscrowed(bytes32 orderId);
    /// @notice `account` cannot be the debtor of a receivable its own issuer registers.
    error ReceivableRegistryConflictingParties(address account);
    /// @notice A zero amount was given.
    error ReceivableRegistryZeroAmount();
    /// @notice `account` does not hold the receivable `fingerprint`.
    error ReceivableRegistryNotHolder(bytes32 fingerprint, address account);
    /// @notice `account` neither holds the receivable `fingerprint` nor was approved by its holder.
    error ReceivableRegistryNotHolderOrApproved(bytes32 fingerprint, address account);
    /// @notice `account` is not the debtor of the receivable `fingerprint`.
    error ReceivableRegistryNotDebtor(bytes32 fingerprint, address account);
    /// @notice The receivable `fingerprint` is escrowed: its escrow acknowledges and pays it.
    error ReceivableRegistryEscrowedReceivable(bytes32 fingerprint);
    /// @notice The debtor acknowledged the receivable `fingerprint` already.
    error ReceivableRegistryAlreadyAcknowledged(bytes32 fingerprint);
    /// @notice The debtor has not acknowledged the receivable `fingerprint` yet.
    error ReceivableRegistryNotAcknowledged(bytes32 fingerprint);
    /// @notice `amount` exceeds the face value `faceValue` of the receivable `fingerprint`.
    error ReceivableRegistryAmountExceedsFace(bytes32 fingerprint, uint256 amount, uint256 faceValue);
    /// @notice The token moved `received` to the holder instead of `expected`.
    error ReceivableRegistryTransferMismatch(address token, uint256 expected, uint256 received);
    /// @notice The receivable `fingerprint` is settled; it cannot change hands any more.
    error ReceivableRegistryAlreadySettled(bytes32 fingerprint);
    /// @notice No open escrowed receivable is linked to `orderId`.
    error ReceivableRegistryNoOpenReceivable(bytes32 orderId);
    /// @notice Only the linked escrow may do this; `account` is not it.
    error ReceivableRegistryCallerNotEscrow(address account);
    /// @notice The escrow is linked already and cannot be replaced.
    error ReceivableRegistryEscrowAlreadyLinked(address escrow);
    /// @notice No escrow is linked yet.
    error ReceivableRegistryEscrowNotLinked();
    /// @notice The zero address was given.
    error ReceivableRegistryZeroAddress();

    /// @notice `issuer` registered the receivable `fingerprint` for `orderId`, owed by
    /// `debtor`: `amount` of `token` due at `dueDate` (paid by the escrow when `escrowed`).
    event ReceivableRegistered(
        bytes32 indexed fingerprint,
        bytes32 indexed orderId,
        address indexed issuer,
        address debtor,
        address token,
        uint256 amount,
        uint64 dueDate,
        bool escrowed
    );
    /// @notice The debtor acknowledged the open-account receivable `fingerprint` (an approved payable).
    event ReceivableAcknowledged(bytes32 indexed fingerprint, address indexed debtor);
    /// @notice `holder` approved `operator` to assign the receivable `fingerprint` (zero: none).
    event ReceivableApproved(bytes32 indexed fingerprint, address indexed holder, address indexed operator);
    /// @notice The receivable `fingerprint` passed from `from` to `to`.
    event ReceivableAssigned(bytes32 indexed fingerprint, address indexed from, address indexed to);
    /// @notice `amountPaid` went to `holder` for `fingerprint` (through the escrow, or from the
    /// debtor); the receivable is closed.
    event ReceivableSettled(bytes32 indexed fingerprint, bytes32 indexed orderId, address indexed holder, uint256 amountPaid);
    /// @notice The operator linked the delivery escrow whose orders receivables are for.
    event EscrowLinked(address indexed escrow);

    /// @notice Registers the escrowed receivable `fingerprint` for `orderId`; the caller holds it.
    /// @dev Caller: active member with the SUPPLIER flag that is the payee of the order's
    /// open escrow (funded and neither released nor resolved), in the linked escrow, which
    /// must take its receivables from this registry. One receivable per order.
    function register(bytes32 fingerprint, bytes32 orderId) external;

    /// @notice Registers the open-account receivable `fingerprint` for `orderId`: `amount` of
    /// `token` that `debtor` owes by `dueDate`. The caller holds it; it waits for the debtor's
    /// {acknowledge}.
    /// @dev Caller: active member with the SUPPLIER flag. `debtor` must be an active member
    /// with the BUYER flag other than the caller; the order must have no delivery escrow.
    function registerOpenAccount(bytes32 fingerprint, bytes32 orderId, address debtor, IERC20 token, uint256 amount, uint64 dueDate)
        external;

    /// @notice The debtor acknowledges the open-account receivable `fingerprint` as owed.
    function acknowledge(bytes32 fingerprint) external;

    /// @notice The debtor pays `amount` (at most the face value) of the acknowledged
    /// receivable `fingerprint` straight to its holder, and the receivable is settled.
    /// @dev The debtor must have approved this registry for `amount` of the token. A payment
    /// below the face value settles it too: what is short is the debtor's to answer for off chain.
    function pay(bytes32 fingerprint, uint256 amount) external;

    /// @notice The holder lets `operator` assign the receivable `fingerprint` once (the zero
    /// address clears it). An assignment clears the approval.
    function approve(bytes32 fingerprint, address operator) external;

    /// @notice The holder, or the operator it approved, assigns the receivable to `to` (an
    /// active FINANCIER member).
    /// @dev The holder must be an active member. Refused once settled.
    function assign(bytes32 fingerprint, address to) external;

    /// @notice Closes the open escrowed receivable of `orderId`, recording `amountPaid` to its holder.
    /// @dev Linked escrow only, when it releases or resolves the order.
    function markSettled(bytes32 orderId, uint256 amountPaid) external;

    /// @notice Links the delivery escrow, once. Operator only.
    function linkEscrow(IDeliveryEscrow escrow) external;

    /// @notice Whom the escrow pays for `orderId`: the holder of its open escrowed receivable,
    /// or the zero address when there is none (then the escrow pays its payee).
    function payeeOf(bytes32 orderId) external view returns (address);

    /// @notice The receivable registered under `fingerprint` (issuer zero when none).
    function receivableOf(bytes32 fingerprint) external view returns (Receivable memory);

    /// @notice Whether the receivable `fingerprint` is verified and open: escrowed, its
    /// escrow shows the buyer's receipt confirmed; on open account, the debtor acknowledged it.
    function isVerified(bytes32 fingerprint) external view returns (bool);

    /// @notice The operator the holder approved to assign the receivable `fingerprint` (zero: none).
    function getApproved(bytes32 fingerprint) external view returns (address);

    /// @notice The fingerprint of the receivable registered for `orderId`, or zero.
    function fingerprintOfOrder(bytes32 orderId) external view returns (bytes32);

    /// @notice The linked delivery escrow (zero until linked).
    function escrow() external view returns (IDeliveryEscrow);

    /// @notice The EIP-712 domain separator fingerprints are bound to (this chain, this registry).
    function domainSeparator() external view returns (bytes32);

    /// @notice The canonical fingerprint of an invoice: the EIP-712 typed-data hash, under this
    /// registry's domain, of
    /// `Receivable(bytes32 issuer,bytes32 debtor,string invoiceNumber,uint256 amount,string currency,uint64 dueDate)`.
    /// @param issuer organization id of the supplier issuing the invoice
    /// @param debtor organization id of the buyer owing it
    /// @param invoiceNumber the issuer's invoice number, exactly as printed
    /// @param amount the invoice total in hundredths of `currency` (cents for EUR)
    /// @param currency ISO 4217 code, upper case ("EUR")
    /// @param dueDate the due date as the Unix time of its midnight UTC
    function fingerprint(
        bytes32 issuer,
        bytes32 debtor,
        string calldata invoiceNumber,
        uint256 amount,
        string calldata currency,
        uint64 dueDate
    ) external view returns (bytes32);
}
