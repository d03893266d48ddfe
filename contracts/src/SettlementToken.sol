// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

import {IConsortium} from "./interfaces/IConsortium.sol";
import {ISettlementToken} from "./interfaces/ISettlementToken.sol";
import {ConsortiumGated} from "./utils/ConsortiumGated.sol";

/// @title SettlementToken
/// @notice A tokenized deposit of one currency that moves only between allowed holders.
/// @dev Allowed holders are the active members of the consortium plus a holder list the
/// operator keeps for infrastructure contracts. The escrow goes on that list rather than
/// into the consortium: it is no organization, and membership would let it pass every
/// other contract's member checks.
contract SettlementToken is ERC20, AccessControl, ConsortiumGated, ISettlementToken {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    string private _currency;
    mapping(address account => bool) private _listedHolders;

    constructor(string memory name_, string memory symbol_, string memory currency_, IConsortium consortium_, address operator)
        ERC20(name_, symbol_)
        ConsortiumGated(consortium_)
    {
        if (operator == address(0)) revert SettlementTokenZeroAddress();
        _currency = currency_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @notice Amounts are in millionths of the currency unit.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @inheritdoc ISettlementToken
    function currency() external view returns (string memory) {
        return _currency;
    }

    /// @inheritdoc ISettlementToken
    function mint(address to, uint256 amount) external onlyRole(OPERATOR_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc ISettlementToken
    function burn(address from, uint256 amount) external onlyRole(OPERATOR_ROLE) {
        _burn(from, amount);
    }

    /// @inheritdoc ISettlementToken
    function listHolder(address account) external onlyRole(OPERATOR_ROLE) {
        if (account == address(0)) revert SettlementTokenZeroAddress();
        if (_listedHolders[account]) revert SettlementTokenHolderAlreadyListed(account);
        _listedHolders[account] = true;
        emit HolderListed(account);
    }

    /// @inheritdoc ISettlementToken
    function delistHolder(address account) external onlyRole(OPERATOR_ROLE) {
        if (!_listedHolders[account]) revert SettlementTokenHolderNotListed(account);
        _listedHolders[account] = false;
        emit HolderDelisted(account);
    }

    /// @inheritdoc ISettlementToken
    function isAllowedHolder(address account) public view returns (bool) {
        return _listedHolders[account] || consortium().isActiveMember(account);
    }

    /// @inheritdoc ISettlementToken
    function isListedHolder(address account) external view returns (bool) {
        return _listedHolders[account];
    }

    /// @notice `transferFrom` also requires its caller (the spender) to be an allowed holder.
    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        _requireAllowedHolder(_msgSender());
        return super.transferFrom(from, to, value);
    }

    /// @dev Transfers need both ends allowed, mints the receiver; burns are the operator's.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) _requireAllowedHolder(from);
        if (to != address(0)) _requireAllowedHolder(to);
        super._update(from, to, value);
    }

    /// @dev An explicit non-zero approval needs an allowed owner and spender; revoking an
    /// approval (value zero) and allowance spending (no event) are always possible.
    function _approve(address owner, address spender, uint256 value, bool emitEvent) internal override {
        if (emitEvent && value != 0) {
            _requireAllowedHolder(owner);
            _requireAllowedHolder(spender);
        }
        super._approve(owner, spender, value, emitEvent);
    }

    function _requireAllowedHolder(address account) private view {
        if (!isAllowedHolder(account)) revert SettlementTokenHolderNotAllowed(account);
    }
}
