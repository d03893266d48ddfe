// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title A permissioned settlement token (tokenized deposit), one per currency
/// @notice ERC-20 with 6 decimals, minted and burned by the operator. Tokens move only
/// between allowed holders: active consortium members, and the infrastructure contracts
/// (such as the delivery escrow) that the operator puts on the token's holder list.
/// @dev The ERC-20 functions are those of OpenZeppelin's `ERC20`; this interface adds the
/// permissioning. A transfer, a `transferFrom` (whose caller must be an allowed holder too)
/// and a non-zero approval all require allowed holders; the operator may burn from any
/// account, so that a suspended member's deposit can still be redeemed.
interface ISettlementToken {
    /// @notice `account` is neither an active member nor on the holder list.
    error SettlementTokenHolderNotAllowed(address account);
    /// @notice `account` is on the holder list already.
    error SettlementTokenHolderAlreadyListed(address account);
    /// @notice `account` is not on the holder list.
    error SettlementTokenHolderNotListed(address account);
    /// @notice The zero address was given.
    error SettlementTokenZeroAddress();

    /// @notice The operator put `account` (a contract such as the escrow) on the holder list.
    event HolderListed(address indexed account);
    /// @notice The operator took `account` off the holder list.
    event HolderDelisted(address indexed account);

    /// @notice ISO 4217 code of the currency this token is a deposit of, such as "EUR".
    function currency() external view returns (string memory);

    /// @notice Creates `amount` units (of 10^-6 currency units) for allowed holder `to`.
    /// @dev Operator only.
    function mint(address to, uint256 amount) external;

    /// @notice Destroys `amount` units held by `from` (redemption of the deposit).
    /// @dev Operator only; `from` need not be an allowed holder any more.
    function burn(address from, uint256 amount) external;

    /// @notice Puts `account` on the holder list: it may hold and move tokens without being
    /// a consortium member.
    /// @dev Operator only. Meant for Concord's own contracts, such as the delivery escrow.
    function listHolder(address account) external;

    /// @notice Takes `account` off the holder list.
    /// @dev Operator only.
    function delistHolder(address account) external;

    /// @notice Whether `account` may hold, send and receive tokens now.
    function isAllowedHolder(address account) external view returns (bool);

    /// @notice Whether `account` is on the holder list (regardless of membership).
    function isListedHolder(address account) external view returns (bool);
}
