// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IConsortium, MemberRoles} from "./interfaces/IConsortium.sol";

/// @title Consortium
/// @notice The register of member accounts, their organizations and role flags.
/// @dev The operator holds `DEFAULT_ADMIN_ROLE` and `OPERATOR_ROLE`; only `OPERATOR_ROLE`
/// manages members.
contract Consortium is AccessControl, IConsortium {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    uint256 public constant BUYER = MemberRoles.BUYER;
    uint256 public constant SUPPLIER = MemberRoles.SUPPLIER;
    uint256 public constant CARRIER = MemberRoles.CARRIER;
    uint256 public constant FINANCIER = MemberRoles.FINANCIER;
    uint256 public constant AUDITOR = MemberRoles.AUDITOR;
    uint256 public constant ARBITER = MemberRoles.ARBITER;

    mapping(address account => Member) private _members;

    constructor(address operator) {
        if (operator == address(0)) revert ConsortiumZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @inheritdoc IConsortium
    function addMember(address account, bytes32 organizationId, uint256 roles) external onlyRole(OPERATOR_ROLE) {
        if (account == address(0)) revert ConsortiumZeroAddress();
        if (organizationId == bytes32(0)) revert ConsortiumZeroOrganization();
        _requireKnownRoles(roles);
        if (_members[account].status != MemberStatus.None) revert ConsortiumAlreadyMember(account);
        _members[account] = Member({
            organizationId: organizationId,
            roles: roles,
            status: MemberStatus.Active,
            admittedAt: uint64(block.timestamp)
        });
        emit MemberAdded(account, organizationId, roles);
    }

    /// @inheritdoc IConsortium
    function updateMemberRoles(address account, uint256 roles) external onlyRole(OPERATOR_ROLE) {
        _requireKnownRoles(roles);
        Member storage member = _existing(account);
        uint256 previousRoles = member.roles;
        member.roles = roles;
        emit MemberRolesUpdated(account, previousRoles, roles);
    }

    /// @inheritdoc IConsortium
    function suspendMember(address account) external onlyRole(OPERATOR_ROLE) {
        Member storage member = _existing(account);
        if (member.status == MemberStatus.Suspended) revert ConsortiumMemberAlreadySuspended(account);
        member.status = MemberStatus.Suspended;
        emit MemberSuspended(account, member.organizationId);
    }

    /// @inheritdoc IConsortium
    function reinstateMember(address account) external onlyRole(OPERATOR_ROLE) {
        Member storage member = _existing(account);
        if (member.status != MemberStatus.Suspended) revert ConsortiumMemberNotSuspended(account);
        member.status = MemberStatus.Active;
        emit MemberReinstated(account, member.organizationId);
    }

    /// @inheritdoc IConsortium
    function isActiveMember(address account) external view returns (bool) {
        return _members[account].status == MemberStatus.Active;
    }

    /// @inheritdoc IConsortium
    function hasMemberRole(address account, uint256 role) external view returns (bool) {
        Member storage member = _members[account];
        return role != 0 && member.status == MemberStatus.Active && member.roles & role == role;
    }

    /// @inheritdoc IConsortium
    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc IConsortium
    function organizationOf(address account) external view returns (bytes32) {
        return _members[account].organizationId;
    }

    function _existing(address account) private view returns (Member storage member) {
        member = _members[account];
        if (member.status == MemberStatus.None) revert ConsortiumNotMember(account);
    }

    function _requireKnownRoles(uint256 roles) private pure {
        if (roles & ~MemberRoles.ALL != 0) revert ConsortiumUnknownRoles(roles);
    }
}
