// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken (test only)
/// @notice A malicious ERC-20: once armed, the next transfer that `target` makes or pulls
/// calls `target` back with `payload` from inside the token call. With `bubble` the
/// re-entrant call's revert is re-thrown, otherwise it is swallowed and recorded.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public bubble;
    bool public armed;
    bool public attempted;
    bool public reentrySucceeded;
    bytes public reentryRevertData;

    constructor() ERC20("Reentrant Token", "EVIL") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_, bool bubble_) external {
        target = target_;
        payload = payload_;
        bubble = bubble_;
        armed = true;
        attempted = false;
        reentrySucceeded = false;
        delete reentryRevertData;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed && msg.sender == target) {
            armed = false;
            attempted = true;
            (bool ok, bytes memory data) = target.call(payload);
            reentrySucceeded = ok;
            if (!ok) {
                reentryRevertData = data;
                if (bubble) {
                    assembly {
                        revert(add(data, 0x20), mload(data))
                    }
                }
            }
        }
    }
}
