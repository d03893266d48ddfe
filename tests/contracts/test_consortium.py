"""Consortium: the operator admits, re-roles, suspends and reinstates members."""

from __future__ import annotations

import pytest
from concord.ledger.encoding import MemberRole

from tests.contracts.chain import ACCOUNT_NAMES, MEMBERS, OPERATOR_ROLE, events, org_id

ACTIVE, SUSPENDED, NONE = 1, 2, 0


def test_role_flags_match_python(concord):
    consortium = concord.consortium.functions
    for role in MemberRole:
        assert getattr(consortium, role.name)().call() == role.value


def test_operator_adds_a_member(concord):
    chain, consortium = concord.chain, concord.consortium
    receipt = chain.transact(consortium.functions.addMember(chain["outsider"], org_id("newco"), int(MemberRole.BUYER | MemberRole.AUDITOR)))
    assert events(consortium, receipt, "MemberAdded") == [{"account": chain["outsider"], "organizationId": org_id("newco"), "roles": 0b10001}]
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    assert tuple(consortium.functions.memberOf(chain["outsider"]).call()) == (org_id("newco"), 0b10001, ACTIVE, block["timestamp"])
    assert consortium.functions.isActiveMember(chain["outsider"]).call()
    assert consortium.functions.organizationOf(chain["outsider"]).call() == org_id("newco")
    assert consortium.functions.hasMemberRole(chain["outsider"], int(MemberRole.BUYER)).call()
    assert consortium.functions.hasMemberRole(chain["outsider"], int(MemberRole.BUYER | MemberRole.AUDITOR)).call()
    assert not consortium.functions.hasMemberRole(chain["outsider"], int(MemberRole.SUPPLIER)).call()
    assert not consortium.functions.hasMemberRole(chain["outsider"], 0).call()


def test_a_member_without_roles_is_active_but_holds_no_role(concord):
    chain, consortium = concord.chain, concord.consortium
    assert consortium.functions.isActiveMember(chain["keeper"]).call()
    assert not any(consortium.functions.hasMemberRole(chain["keeper"], int(role)).call() for role in MemberRole)


def test_strangers_are_no_members(concord):
    chain, consortium = concord.chain, concord.consortium
    for name in ("operator", "outsider"):
        assert not consortium.functions.isActiveMember(chain[name]).call()
        assert tuple(consortium.functions.memberOf(chain[name]).call()) == (b"\0" * 32, 0, NONE, 0)
        assert consortium.functions.organizationOf(chain[name]).call() == b"\0" * 32


@pytest.mark.parametrize(
    ("account", "organization", "roles", "error"),
    [
        ("zero", org_id("x"), 1, ("ConsortiumZeroAddress",)),
        ("outsider", b"\0" * 32, 1, ("ConsortiumZeroOrganization",)),
        ("outsider", org_id("x"), 1 << 6, ("ConsortiumUnknownRoles", 1 << 6)),
        ("outsider", org_id("x"), 2**256 - 1, ("ConsortiumUnknownRoles", 2**256 - 1)),
        ("buyer", org_id("x"), 1, ("ConsortiumAlreadyMember", "buyer")),
        ("suspended", org_id("x"), 1, ("ConsortiumAlreadyMember", "suspended")),
    ],
)
def test_add_member_refuses_bad_input(concord, account, organization, roles, error):
    chain = concord.chain
    address = "0x" + "00" * 20 if account == "zero" else chain[account]
    name, *args = error
    args = [chain[arg] if isinstance(arg, str) else arg for arg in args]
    with chain.reverts(name, *args):
        chain.transact(concord.consortium.functions.addMember(address, organization, roles))


def test_operator_updates_roles(concord):
    chain, consortium = concord.chain, concord.consortium
    receipt = chain.transact(consortium.functions.updateMemberRoles(chain["buyer"], int(MemberRole.BUYER | MemberRole.SUPPLIER)))
    assert events(consortium, receipt, "MemberRolesUpdated") == [{"account": chain["buyer"], "previousRoles": 1, "roles": 3}]
    assert consortium.functions.hasMemberRole(chain["buyer"], int(MemberRole.SUPPLIER)).call()
    # A suspended member's roles can change too; it stays suspended.
    chain.transact(consortium.functions.updateMemberRoles(chain["suspended"], 0))
    assert tuple(consortium.functions.memberOf(chain["suspended"]).call()[1:3]) == (0, SUSPENDED)


def test_update_roles_refuses_unknown_members_and_flags(concord):
    chain = concord.chain
    with chain.reverts("ConsortiumNotMember", chain["outsider"]):
        chain.transact(concord.consortium.functions.updateMemberRoles(chain["outsider"], 1))
    with chain.reverts("ConsortiumUnknownRoles", 1 << 7):
        chain.transact(concord.consortium.functions.updateMemberRoles(chain["buyer"], 1 << 7))


def test_suspend_and_reinstate(concord):
    chain, consortium = concord.chain, concord.consortium
    receipt = chain.transact(consortium.functions.suspendMember(chain["supplier"]))
    assert events(consortium, receipt, "MemberSuspended") == [{"account": chain["supplier"], "organizationId": org_id("supplier")}]
    assert not consortium.functions.isActiveMember(chain["supplier"]).call()
    assert not consortium.functions.hasMemberRole(chain["supplier"], int(MemberRole.SUPPLIER)).call()
    assert consortium.functions.memberOf(chain["supplier"]).call()[2] == SUSPENDED

    receipt = chain.transact(consortium.functions.reinstateMember(chain["supplier"]))
    assert events(consortium, receipt, "MemberReinstated") == [{"account": chain["supplier"], "organizationId": org_id("supplier")}]
    assert consortium.functions.isActiveMember(chain["supplier"]).call()
    assert consortium.functions.hasMemberRole(chain["supplier"], int(MemberRole.SUPPLIER)).call()


def test_suspend_and_reinstate_refuse_wrong_states(concord):
    chain, consortium = concord.chain, concord.consortium
    with chain.reverts("ConsortiumNotMember", chain["outsider"]):
        chain.transact(consortium.functions.suspendMember(chain["outsider"]))
    with chain.reverts("ConsortiumMemberAlreadySuspended", chain["suspended"]):
        chain.transact(consortium.functions.suspendMember(chain["suspended"]))
    with chain.reverts("ConsortiumNotMember", chain["outsider"]):
        chain.transact(consortium.functions.reinstateMember(chain["outsider"]))
    with chain.reverts("ConsortiumMemberNotSuspended", chain["buyer"]):
        chain.transact(consortium.functions.reinstateMember(chain["buyer"]))


OPERATOR_CALLS = {
    "addMember": lambda c: c.consortium.functions.addMember(c["extra0"], org_id("x"), 1),
    "updateMemberRoles": lambda c: c.consortium.functions.updateMemberRoles(c["buyer"], 3),
    "suspendMember": lambda c: c.consortium.functions.suspendMember(c["buyer"]),
    "reinstateMember": lambda c: c.consortium.functions.reinstateMember(c["suspended"]),
}


@pytest.mark.parametrize("call", sorted(OPERATOR_CALLS))
@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name != "operator"])
def test_only_the_operator_manages_members(concord, call, who):
    chain = concord.chain
    with chain.reverts("AccessControlUnauthorizedAccount", chain[who], OPERATOR_ROLE):
        chain.transact(OPERATOR_CALLS[call](concord), who)


def test_members_cannot_grant_themselves_the_operator_role(concord):
    chain, consortium = concord.chain, concord.consortium
    admin_role = b"\0" * 32
    with chain.reverts("AccessControlUnauthorizedAccount", chain["buyer"], admin_role):
        chain.transact(consortium.functions.grantRole(OPERATOR_ROLE, chain["buyer"]), "buyer")


def test_every_member_is_admitted_as_deployed(concord):
    chain, consortium = concord.chain, concord.consortium
    for name, roles in MEMBERS.items():
        record = consortium.functions.memberOf(chain[name]).call()
        assert (record[0], record[1], record[2]) == (org_id(name), int(roles), SUSPENDED if name == "suspended" else ACTIVE)
