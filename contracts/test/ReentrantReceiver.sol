// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ITokenReceiver} from "./HookedToken.sol";

/// @title ReentrantReceiver (test only)
/// @notice A malicious member contract: its owner makes it act (fund, withdraw, ...) through
/// {execute}; once armed, the next token it receives from `target` makes it call `callee`
/// (`target` itself unless armed with {armFor}) with `payload`. With `bubble` the re-entrant
/// call's revert is re-thrown, otherwise it is swallowed and recorded.
contract ReentrantReceiver is ITokenReceiver {
    address public immutable owner;
    address public target;
    address public callee;
    bytes public payload;
    bool public bubble;
    bool public armed;
    bool public attempted;
    bool public reentrySucceeded;
    bytes public reentryRevertData;

    error ReentrantReceiverNotOwner();

    constructor() {
        owner = msg.sender;
    }

    function arm(address target_, bytes calldata payload_, bool bubble_) external {
        armFor(target_, target_, payload_, bubble_);
    }

    /// @notice The next token received from `target_` makes this contract call `callee_`.
    function armFor(address target_, address callee_, bytes calldata payload_, bool bubble_) public {
        if (msg.sender != owner) revert ReentrantReceiverNotOwner();
        target = target_;
        callee = callee_;
        payload = payload_;
        bubble = bubble_;
        armed = true;
        attempted = false;
        reentrySucceeded = false;
        delete reentryRevertData;
    }

    /// @notice Calls `to` with `data` as this contract, re-throwing any revert.
    function execute(address to, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != owner) revert ReentrantReceiverNotOwner();
        bool ok;
        (ok, result) = to.call(data);
        if (!ok) {
            assembly {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    function onTokenReceived(address from, uint256) external {
        if (!armed || from != target) return;
        armed = false;
        attempted = true;
        (bool ok, bytes memory data) = callee.call(payload);
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
