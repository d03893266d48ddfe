"""SettlementToken: a 6-decimal deposit token that moves only between allowed holders."""

from __future__ import annotations

import pytest

from tests.contracts.chain import ACCOUNT_NAMES, NOT_ACTIVE, OPERATOR_ROLE, UNIT, events

ZERO = "0x" + "00" * 20


def balance(concord, name_or_address):
    address = concord[name_or_address] if name_or_address in concord.chain.accounts else name_or_address
    return concord.token.functions.balanceOf(address).call()


def test_metadata(concord):
    token = concord.token.functions
    assert token.name().call() == "Concord Euro"
    assert token.symbol().call() == "cEUR"
    assert token.currency().call() == "EUR"
    assert token.decimals().call() == 6
    assert token.consortium().call() == concord.consortium.address
    assert token.totalSupply().call() == 2 * 1_000_000 * UNIT


def test_operator_mints_to_a_member(concord):
    chain, token = concord.chain, concord.token
    receipt = chain.transact(token.functions.mint(chain["supplier"], 5 * UNIT))
    assert events(token, receipt, "Transfer") == [{"from": ZERO, "to": chain["supplier"], "value": 5 * UNIT}]
    assert balance(concord, "supplier") == 5 * UNIT


@pytest.mark.parametrize("who", NOT_ACTIVE)
def test_mint_refuses_accounts_that_may_not_hold(concord, who):
    chain = concord.chain
    with chain.reverts("SettlementTokenHolderNotAllowed", chain[who]):
        chain.transact(concord.token.functions.mint(chain[who], UNIT))


def test_operator_burns_even_from_a_suspended_member(concord):
    chain, token = concord.chain, concord.token
    chain.transact(token.functions.mint(chain["supplier"], 5 * UNIT))
    chain.transact(concord.consortium.functions.suspendMember(chain["supplier"]))
    receipt = chain.transact(token.functions.burn(chain["supplier"], 2 * UNIT))
    assert events(token, receipt, "Transfer") == [{"from": chain["supplier"], "to": ZERO, "value": 2 * UNIT}]
    assert balance(concord, "supplier") == 3 * UNIT


def test_burn_more_than_held_reverts(concord):
    chain = concord.chain
    with chain.reverts("ERC20InsufficientBalance", chain["supplier"], 0, UNIT):
        chain.transact(concord.token.functions.burn(chain["supplier"], UNIT))


def test_members_transfer_to_members(concord):
    chain, token = concord.chain, concord.token
    receipt = chain.transact(token.functions.transfer(chain["supplier"], 7 * UNIT), "buyer")
    assert events(token, receipt, "Transfer") == [{"from": chain["buyer"], "to": chain["supplier"], "value": 7 * UNIT}]
    assert balance(concord, "supplier") == 7 * UNIT


@pytest.mark.parametrize("who", NOT_ACTIVE)
def test_transfers_to_non_members_revert(concord, who):
    chain = concord.chain
    with chain.reverts("SettlementTokenHolderNotAllowed", chain[who]):
        chain.transact(concord.token.functions.transfer(chain[who], UNIT), "buyer")


def test_a_suspended_member_cannot_send(concord):
    chain, token = concord.chain, concord.token
    chain.transact(token.functions.mint(chain["supplier"], UNIT))
    chain.transact(concord.consortium.functions.suspendMember(chain["supplier"]))
    with chain.reverts("SettlementTokenHolderNotAllowed", chain["supplier"]):
        chain.transact(token.functions.transfer(chain["buyer"], UNIT), "supplier")
    chain.transact(concord.consortium.functions.reinstateMember(chain["supplier"]))
    chain.transact(token.functions.transfer(chain["buyer"], UNIT), "supplier")
    assert balance(concord, "supplier") == 0


def test_transfer_beyond_balance_reverts(concord):
    chain = concord.chain
    with chain.reverts("ERC20InsufficientBalance", chain["supplier"], 0, 1):
        chain.transact(concord.token.functions.transfer(chain["buyer"], 1), "supplier")


def test_approved_member_spends_for_another(concord):
    chain, token = concord.chain, concord.token
    receipt = chain.transact(token.functions.approve(chain["supplier"], 3 * UNIT), "buyer2")
    assert events(token, receipt, "Approval") == [{"owner": chain["buyer2"], "spender": chain["supplier"], "value": 3 * UNIT}]
    chain.transact(token.functions.transferFrom(chain["buyer2"], chain["supplier"], 2 * UNIT), "supplier")
    assert balance(concord, "supplier") == 2 * UNIT
    assert token.functions.allowance(chain["buyer2"], chain["supplier"]).call() == UNIT
    with chain.reverts("ERC20InsufficientAllowance", chain["supplier"], UNIT, 2 * UNIT):
        chain.transact(token.functions.transferFrom(chain["buyer2"], chain["supplier"], 2 * UNIT), "supplier")


@pytest.mark.parametrize("who", NOT_ACTIVE)
def test_approving_a_non_member_spender_reverts(concord, who):
    chain = concord.chain
    with chain.reverts("SettlementTokenHolderNotAllowed", chain[who]):
        chain.transact(concord.token.functions.approve(chain[who], UNIT), "buyer")


def test_a_spender_suspended_after_approval_cannot_spend(concord):
    chain, token = concord.chain, concord.token
    chain.transact(token.functions.approve(chain["supplier"], UNIT), "buyer")
    chain.transact(concord.consortium.functions.suspendMember(chain["supplier"]))
    with chain.reverts("SettlementTokenHolderNotAllowed", chain["supplier"]):
        chain.transact(token.functions.transferFrom(chain["buyer"], chain["buyer2"], UNIT), "supplier")


def test_a_suspended_owner_cannot_approve_but_can_revoke(concord):
    chain, token = concord.chain, concord.token
    chain.transact(concord.consortium.functions.reinstateMember(chain["suspended"]))
    chain.transact(token.functions.approve(chain["carrier"], UNIT), "suspended")
    chain.transact(concord.consortium.functions.suspendMember(chain["suspended"]))
    with chain.reverts("SettlementTokenHolderNotAllowed", chain["suspended"]):
        chain.transact(token.functions.approve(chain["carrier"], 2 * UNIT), "suspended")
    chain.transact(token.functions.approve(chain["carrier"], 0), "suspended")
    assert token.functions.allowance(chain["suspended"], chain["carrier"]).call() == 0


def test_listed_contracts_hold_tokens_without_membership(concord):
    chain, token = concord.chain, concord.token
    assert token.functions.isListedHolder(concord.escrow.address).call()
    assert token.functions.isAllowedHolder(concord.escrow.address).call()
    assert not concord.consortium.functions.isActiveMember(concord.escrow.address).call()
    receipt = chain.transact(token.functions.listHolder(chain["outsider"]))
    assert events(token, receipt, "HolderListed") == [{"account": chain["outsider"]}]
    chain.transact(token.functions.transfer(chain["outsider"], UNIT), "buyer")
    chain.transact(token.functions.transfer(chain["buyer2"], UNIT), "outsider")
    receipt = chain.transact(token.functions.delistHolder(chain["outsider"]))
    assert events(token, receipt, "HolderDelisted") == [{"account": chain["outsider"]}]
    assert not token.functions.isAllowedHolder(chain["outsider"]).call()
    with chain.reverts("SettlementTokenHolderNotAllowed", chain["outsider"]):
        chain.transact(token.functions.transfer(chain["outsider"], UNIT), "buyer")


def test_allowed_holder_views(concord):
    chain, token = concord.chain, concord.token
    for name in ACCOUNT_NAMES:
        assert token.functions.isAllowedHolder(chain[name]).call() == (name not in NOT_ACTIVE)
        assert not token.functions.isListedHolder(chain[name]).call()


def test_holder_list_refuses_no_op_changes(concord):
    chain, token = concord.chain, concord.token
    with chain.reverts("SettlementTokenHolderAlreadyListed", concord.escrow.address):
        chain.transact(token.functions.listHolder(concord.escrow.address))
    with chain.reverts("SettlementTokenHolderNotListed", chain["outsider"]):
        chain.transact(token.functions.delistHolder(chain["outsider"]))
    with chain.reverts("SettlementTokenZeroAddress"):
        chain.transact(token.functions.listHolder(ZERO))


def test_constructor_refuses_zero_addresses(concord):
    chain = concord.chain
    with chain.reverts("SettlementTokenZeroAddress"):
        chain.deploy("SettlementToken", "X", "X", "EUR", concord.consortium.address, ZERO)
    with chain.reverts("ConsortiumZeroAddress"):
        chain.deploy("SettlementToken", "X", "X", "EUR", ZERO, chain["operator"])


OPERATOR_CALLS = {
    "mint": lambda c: c.token.functions.mint(c["buyer"], UNIT),
    "burn": lambda c: c.token.functions.burn(c["buyer"], UNIT),
    "listHolder": lambda c: c.token.functions.listHolder(c["outsider"]),
    "delistHolder": lambda c: c.token.functions.delistHolder(c.escrow.address),
}


@pytest.mark.parametrize("call", sorted(OPERATOR_CALLS))
@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name != "operator"])
def test_only_the_operator_mints_burns_and_lists(concord, call, who):
    chain = concord.chain
    with chain.reverts("AccessControlUnauthorizedAccount", chain[who], OPERATOR_ROLE):
        chain.transact(OPERATOR_CALLS[call](concord), who)
