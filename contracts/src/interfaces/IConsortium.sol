// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title Role flags of consortium members
/// @notice A member's roles are a bit set of these flags; an account may hold several.
/// @dev The Python side mirrors these values (`concord.ledger.roles`); never renumber them.
library MemberRoles {
    uint256 internal constant BUYER = 1 << 0;
    uint256 internal constant SUPPLIER = 1 << 1;
    uint256 internal constant CARRIER = 1 << 2;
    uint256 internal constant FINANCIER = 1 << 3;
    uint256 internal constant AUDITOR = 1 << 4;
    uint256 internal constant ARBITER = 1 << 5;
    /// @dev Every defined flag; any other bit is refused.
    uint256 internal constant ALL = BUYER | SUPPLIER | CARRIER | FINANCIER | AUDITOR | ARBITER;
}

/// @title The consortium register: who may act on Concord's ledger
/// @notice The operator admits accounts as members of an organization with role flags,
/// suspends and reinstates them. Every other Concord contract refuses a caller that is not
/// an active member, and checks role flags where a function belongs to one role.
interface IConsortium {
    /// @notice Lifecycle of a member account. `None` means the account was never admitted.
    enum MemberStatus {
        None,
        Active,
        Suspended
    }

    /// @notice A member account as the register holds it.
    /// @param organizationId the organization (tenant) the account acts for
    /// @param roles bit set of {MemberRoles} flags
    /// @param status whether the account may act now
    /// @param admittedAt block timestamp of admission
    struct Member {
        bytes32 organizationId;
        uint256 roles;
        MemberStatus status;
        uint64 admittedAt;
    }

    /// @notice The zero address was given where an account is required.
    error ConsortiumZeroAddress();
    /// @notice The zero organization id was given.
    error ConsortiumZeroOrganization();
    /// @notice `roles` holds bits that are not {MemberRoles} flags.
    error ConsortiumUnknownRoles(uint256 roles);
    /// @notice `account` is already a member (active or suspended).
    error ConsortiumAlreadyMember(address account);
    /// @notice `account` was never admitted.
    error ConsortiumNotMember(address account);
    /// @notice `account` is suspended already.
    error ConsortiumMemberAlreadySuspended(address account);
    /// @notice `account` is not suspended, so it cannot be reinstated.
    error ConsortiumMemberNotSuspended(address account);
    /// @notice Raised by every Concord contract: `account` is not an active member.
    error ConsortiumMemberNotActive(address account);
    /// @notice Raised by every Concord contract: active member `account` lacks the `role` flag.
    error ConsortiumMissingRole(address account, uint256 role);

    /// @notice `account` was admitted for `organizationId` with `roles`.
    event MemberAdded(address indexed account, bytes32 indexed organizationId, uint256 roles);
    /// @notice The role flags of `account` changed from `previousRoles` to `roles`.
    event MemberRolesUpdated(address indexed account, uint256 previousRoles, uint256 roles);
    /// @notice `account` was suspended: every contract refuses it until it is reinstated.
    event MemberSuspended(address indexed account, bytes32 indexed organizationId);
    /// @notice `account` was reinstated after a suspension.
    event MemberReinstated(address indexed account, bytes32 indexed organizationId);

    /// @notice Admits `account` as an active member acting for `organizationId`.
    /// @dev Operator only. `roles` may be zero (a member without a business role, such as the
    /// operator's own keeper account).
    /// @param account the member's signing address
    /// @param organizationId the organization it acts for (non-zero)
    /// @param roles bit set of {MemberRoles} flags
    function addMember(address account, bytes32 organizationId, uint256 roles) external;

    /// @notice Replaces the role flags of an existing member (active or suspended).
    /// @dev Operator only.
    function updateMemberRoles(address account, uint256 roles) external;

    /// @notice Suspends an active member.
    /// @dev Operator only. Funds credited to the member stay credited; it cannot move them
    /// until reinstated.
    function suspendMember(address account) external;

    /// @notice Reinstates a suspended member.
    /// @dev Operator only.
    function reinstateMember(address account) external;

    /// @notice Whether `account` is an admitted member that is not suspended.
    function isActiveMember(address account) external view returns (bool);

    /// @notice Whether `account` is an active member holding every flag of `role`.
    /// @dev False for `role == 0`.
    function hasMemberRole(address account, uint256 role) external view returns (bool);

    /// @notice The register's record of `account` (status `None` when never admitted).
    function memberOf(address account) external view returns (Member memory);

    /// @notice The organization `account` acts for, zero when never admitted.
    function organizationOf(address account) external view returns (bytes32);
}
