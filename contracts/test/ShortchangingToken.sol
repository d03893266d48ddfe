// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ShortchangingToken (test only)
/// @notice A fee-on-transfer ERC-20: every transfer between two accounts delivers one unit
/// less than asked (the unit is burnt), while reporting success.
contract ShortchangingToken is ERC20 {
    constructor() ERC20("Shortchanging Token", "SHORT") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0) && value > 0) {
            super._update(from, address(0), 1);
            super._update(from, to, value - 1);
        } else {
            super._update(from, to, value);
        }
    }
}
