// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Receiver side of {HookedToken} (an ERC-1363/ERC-777-like transfer hook).
interface ITokenReceiver {
    function onTokenReceived(address from, uint256 amount) external;
}

/// @title HookedToken (test only)
/// @notice An honest ERC-20 that, like ERC-777 tokens with their ERC-1820 registry, calls
/// each receiver that registered for it after a transfer: a door for a malicious receiver
/// to re-enter its payer.
contract HookedToken is ERC20 {
    mapping(address account => bool) public hookRegistered;

    constructor() ERC20("Hooked Token", "HOOK") {}

    /// @notice The caller asks to be called back on every transfer it receives.
    function registerHook() external {
        hookRegistered[msg.sender] = true;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && hookRegistered[to]) {
            ITokenReceiver(to).onTokenReceived(from, value);
        }
    }
}
