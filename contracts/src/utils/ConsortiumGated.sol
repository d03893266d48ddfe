// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IConsortium} from "../interfaces/IConsortium.sol";

/// @title Membership checks shared by every Concord contract
/// @dev Reverts with the consortium's own errors ({IConsortium-ConsortiumMemberNotActive},
/// {IConsortium-ConsortiumMissingRole}) so that callers decode one vocabulary everywhere.
abstract contract ConsortiumGated {
    IConsortium private immutable _consortium;

    constructor(IConsortium consortium_) {
        if (address(consortium_) == address(0)) revert IConsortium.ConsortiumZeroAddress();
        _consortium = consortium_;
    }

    /// @notice The consortium register this contract checks its callers against.
    function consortium() public view returns (IConsortium) {
        return _consortium;
    }

    modifier onlyActiveMember() {
        _requireActiveMember(msg.sender);
        _;
    }

    modifier onlyMemberRole(uint256 role) {
        _requireMemberRole(msg.sender, role);
        _;
    }

    function _requireActiveMember(address account) internal view {
        if (!_consortium.isActiveMember(account)) revert IConsortium.ConsortiumMemberNotActive(account);
    }

    function _requireMemberRole(address account, uint256 role) internal view {
        IConsortium.Member memory member = _consortium.memberOf(account);
        if (member.status != IConsortium.MemberStatus.Active) revert IConsortium.ConsortiumMemberNotActive(account);
        if (member.roles & role != role) revert IConsortium.ConsortiumMissingRole(account, role);
    }
}
