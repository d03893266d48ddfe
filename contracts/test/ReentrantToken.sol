// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken (test only)
/// @notice A malicious ERC-20: once armed, the next transfer that `target` makes or pulls
/// calls `callee` (`target` itself unless armed with {armFor}) with `payload` from inside the
/// token call. With `bubble` the re-entrant call's revert is re-thrown, otherwise it is
/// swallowed and recorded; what a successful call returned is recorded too (a view read
/// half-way through the target's call).
contract ReentrantToken is ERC20 {
    address public target;
    address public callee;
    bytes public payload;
    bool public bubble;
    bool public armed;
    bool public attempted;
    bool public reentrySucceeded;
    bytes public reentryRevertData;
    bytes public reentryReturnData;

    constructor() ERC20("Reentrant Token", "EVIL") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_, bool bubble_) external {
        armFor(target_, target_, payload_, bubble_);
    }

    /// @notice The next transfer `target_` makes or pulls calls `callee_` with `payload_`.
    function armFor(address target_, address callee_, bytes calldata payload_, bool bubble_) public {
        target = target_;
        callee = callee_;
        payload = payload_;
        bubble = bubble_;
        armed = true;
        attempted = false;
        reentrySucceeded = false;
        delete reentryRevertData;
        delete reentryReturnData;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed && msg.sender == target) {
            armed = false;
            attempted = true;
            (bool ok, bytes memory data) = callee.call(payload);
            reentrySucceeded = ok;
            if (ok) {
                reentryReturnData = data;
            } else {
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
