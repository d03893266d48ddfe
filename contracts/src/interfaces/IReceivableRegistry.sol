// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IDeliveryEscrow} from "./IDeliveryEscrow.sol";

/// @title Receivable registry: one registration per invoice, and who is to be paid
/// @notice The supplier that is payee of an escrowed order registers the order's invoice
/// under its fingerprint; the same fingerprint can never be registered again, so that one
/// invoice cannot be financed twice. The holder may assign the receivable to a financier;
/// the delivery escrow pays whoever holds it ({payeeOf}) and marks it settled.
/// @dev The fingerprint is the EIP-712 struct hash of the invoice (see {fingerprint}); the
/// invoice itself never goes on chain. Python computes the same value in
/// `concord.ledger.receivables.fingerprint`.
interface IReceivableRegistry {
    /// @notice A registered receivable.
    /// @param orderId the escrowed order the invoice is for
    /// @param issuer the supplier account that registered it
    /// @param holder who is to be paid (issuer until assigned)
    /// @param registeredAt block timestamp of registration
    /// @param settled whether the escrow paid it (or closed without paying)
    /// @param amountPaid the value the escrow credited to the holder
    struct Receivable {
        bytes32 orderId;
        address issuer;
        uint64 registeredAt;
        address holder;
        bool settled;
        uint256 amountPaid;
    }

    /// @notice The zero fingerprint was given.
    error ReceivableRegistryInvalidFingerprint();
    /// @notice `fingerprint` was registered before; it can never be registered again.
    error ReceivableRegistryAlreadyRegistered(bytes32 fingerprint);
    /// @notice No receivable is registered under `fingerprint`.
    error ReceivableRegistryNotRegistered(bytes32 fingerprint);
    /// @notice `orderId` has a receivable already (`fingerprint`).
    error ReceivableRegistryOrderAlreadyLinked(bytes32 orderId, bytes32 fingerprint);
    /// @notice `account` is not the payee of an open escrow for `orderId`.
    error ReceivableRegistryNotOrderPayee(bytes32 orderId, address account);
    /// @notice `account` does not hold the receivable `fingerprint`.
    error ReceivableRegistryNotHolder(bytes32 fingerprint, address account);
    /// @notice The receivable `fingerprint` is settled; it cannot change hands any more.
    error ReceivableRegistryAlreadySettled(bytes32 fingerprint);
    /// @notice No open receivable is linked to `orderId`.
    error ReceivableRegistryNoOpenReceivable(bytes32 orderId);
    /// @notice Only the linked escrow may do this; `account` is not it.
    error ReceivableRegistryCallerNotEscrow(address account);
    /// @notice The escrow is linked already and cannot be replaced.
    error ReceivableRegistryEscrowAlreadyLinked(address escrow);
    /// @notice No escrow is linked yet.
    error ReceivableRegistryEscrowNotLinked();
    /// @notice The zero address was given.
    error ReceivableRegistryZeroAddress();

    /// @notice `issuer` registered the receivable `fingerprint` for `orderId`.
    event ReceivableRegistered(bytes32 indexed fingerprint, bytes32 indexed orderId, address indexed issuer);
    /// @notice The receivable `fingerprint` passed from `from` to `to`.
    event ReceivableAssigned(bytes32 indexed fingerprint, address indexed from, address indexed to);
    /// @notice The escrow credited `amountPaid` to `holder` for `fingerprint`; it is closed.
    event ReceivableSettled(bytes32 indexed fingerprint, bytes32 indexed orderId, address indexed holder, uint256 amountPaid);
    /// @notice The operator linked the delivery escrow whose orders receivables are for.
    event EscrowLinked(address indexed escrow);

    /// @notice Registers the receivable `fingerprint` for `orderId`; the caller holds it.
    /// @dev Caller: active member with the SUPPLIER flag that is the payee of the order's
    /// open escrow (funded and neither released nor resolved). One receivable per order.
    function register(bytes32 fingerprint, bytes32 orderId) external;

    /// @notice The holder assigns the receivable to `financier` (an active FINANCIER member).
    function assign(bytes32 fingerprint, address financier) external;

    /// @notice Closes the open receivable of `orderId`, recording `amountPaid` to its holder.
    /// @dev Linked escrow only, when it releases or resolves the order.
    function markSettled(bytes32 orderId, uint256 amountPaid) external;

    /// @notice Links the delivery escrow, once. Operator only.
    function linkEscrow(IDeliveryEscrow escrow) external;

    /// @notice Whom the escrow pays for `orderId`: the holder of its open receivable, or the
    /// zero address when there is none (then the escrow pays its payee).
    function payeeOf(bytes32 orderId) external view returns (address);

    /// @notice The receivable registered under `fingerprint` (issuer zero when none).
    function receivableOf(bytes32 fingerprint) external view returns (Receivable memory);

    /// @notice The fingerprint of the receivable registered for `orderId`, or zero.
    function fingerprintOfOrder(bytes32 orderId) external view returns (bytes32);

    /// @notice The linked delivery escrow (zero until linked).
    function escrow() external view returns (IDeliveryEscrow);

    /// @notice The canonical fingerprint of an invoice: the EIP-712 struct hash of
    /// `Receivable(bytes32 issuer,bytes32 debtor,string invoiceNumber,uint256 amount,string currency,uint64 dueDate)`.
    /// @param issuer organization id of the supplier issuing the invoice
    /// @param debtor organization id of the buyer owing it
    /// @param invoiceNumber the issuer's invoice number, exactly as printed
    /// @param amount the invoice total in minor units of `currency` (cents for EUR)
    /// @param currency ISO 4217 code, upper case ("EUR")
    /// @param dueDate the due date as the Unix time of its midnight UTC
    function fingerprint(
        bytes32 issuer,
        bytes32 debtor,
        string calldata invoiceNumber,
        uint256 amount,
        string calldata currency,
        uint64 dueDate
    ) external pure returns (bytes32);
}
