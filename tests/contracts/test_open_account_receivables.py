"""ReceivableRegistry on open account: a supplier registers an invoice for an order without
escrow, the buyer acknowledges it (an approved payable) and pays it straight to whoever
holds it; and per-receivable approval of an operator that may assign it."""

from __future__ import annotations

import pytest
from concord.ledger.encoding import MemberRole

from tests.contracts.chain import ACCOUNT_NAMES, MEMBERS, NOT_ACTIVE, ZERO_ADDRESS, block_timestamp, events, fund_escrow, order_id
from tests.contracts.receivables import (
    AMOUNT,
    DUE,
    balance,
    fingerprint_named,
    receivable_of,
    register_open_account,
    verified_escrowed,
    verified_open_account,
)

ORDER = order_id("oa-1")
OTHER_ORDER = order_id("oa-2")
FP = fingerprint_named("OA-1")
OTHER_FP = fingerprint_named("OA-2")
ZERO = b"\0" * 32


def not_active_or(concord, who, error, *args):
    if who in NOT_ACTIVE:
        return ("ConsortiumMemberNotActive", concord[who])
    return (error, *args)


def pay(concord, amount=AMOUNT, fp=FP, who="buyer"):
    chain = concord.chain
    chain.transact(concord.token.functions.approve(concord.registry.address, amount), who)
    return chain.transact(concord.registry.functions.pay(fp, amount), who)


# -- registerOpenAccount ------------------------------------------------------------------


def test_a_supplier_registers_an_open_account_receivable(concord):
    chain, registry = concord.chain, concord.registry
    receipt = register_open_account(concord, FP, ORDER)
    assert events(registry, receipt, "ReceivableRegistered") == [
        {
            "fingerprint": FP,
            "orderId": ORDER,
            "issuer": chain["supplier"],
            "debtor": chain["buyer"],
            "token": concord.token.address,
            "amount": AMOUNT,
            "dueDate": DUE,
            "escrowed": False,
        }
    ]
    assert receivable_of(concord, FP) == {
        "orderId": ORDER,
        "issuer": chain["supplier"],
        "registeredAt": block_timestamp(chain, receipt),
        "holder": chain["supplier"],
        "settled": False,
        "escrowed": False,
        "acknowledged": False,
        "debtor": chain["buyer"],
        "dueDate": DUE,
        "token": concord.token.address,
        "amount": AMOUNT,
        "amountPaid": 0,
    }
    assert registry.functions.fingerprintOfOrder(ORDER).call() == FP
    # The escrow never pays an open-account receivable's holder.
    assert registry.functions.payeeOf(ORDER).call() == ZERO_ADDRESS
    assert not registry.functions.isVerified(FP).call()


def test_an_open_account_fingerprint_or_order_is_registered_once(concord):
    chain = concord.chain
    register_open_account(concord, FP, ORDER)
    with chain.reverts("ReceivableRegistryAlreadyRegistered", FP):
        register_open_account(concord, FP, OTHER_ORDER, who="supplier2")
    with chain.reverts("ReceivableRegistryOrderAlreadyLinked", ORDER, FP):
        register_open_account(concord, OTHER_FP, ORDER)
    # nor through an escrow of another order
    fund_escrow(concord, OTHER_ORDER)
    with chain.reverts("ReceivableRegistryAlreadyRegistered", FP):
        chain.transact(concord.registry.functions.register(FP, OTHER_ORDER), "supplier")


@pytest.mark.parametrize(
    "case",
    ["zero fingerprint", "zero order", "zero token", "zero amount", "debtor is the supplier", "debtor not a buyer", "debtor not active", "escrowed order"],
)
def test_register_open_account_refusals(concord, case):
    chain = concord.chain
    fp, order, token, amount, debtor, who = FP, ORDER, concord.token.address, AMOUNT, chain["buyer"], "supplier"
    expected: tuple = ()
    if case == "zero fingerprint":
        fp, expected = ZERO, ("ReceivableRegistryInvalidFingerprint",)
    elif case == "zero order":
        order, expected = ZERO, ("ReceivableRegistryInvalidOrderId",)
    elif case == "zero token":
        token, expected = ZERO_ADDRESS, ("ReceivableRegistryZeroAddress",)
    elif case == "zero amount":
        amount, expected = 0, ("ReceivableRegistryZeroAmount",)
    elif case == "debtor is the supplier":
        chain.transact(concord.consortium.functions.updateMemberRoles(chain["supplier2"], int(MemberRole.SUPPLIER | MemberRole.BUYER)))
        debtor, who, expected = chain["supplier2"], "supplier2", ("ReceivableRegistryConflictingParties", chain["supplier2"])
    elif case == "debtor not a buyer":
        debtor, expected = chain["financier"], ("ConsortiumMissingRole", chain["financier"], int(MemberRole.BUYER))
    elif case == "debtor not active":
        debtor, expected = chain["suspended"], ("ConsortiumMemberNotActive", chain["suspended"])
    else:
        fund_escrow(concord, ORDER)
        expected = ("ReceivableRegistryOrderEscrowed", ORDER)
    with chain.reverts(*expected):
        chain.transact(concord.registry.functions.registerOpenAccount(fp, order, debtor, token, amount, DUE), who)


@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name in NOT_ACTIVE or not MEMBERS[name] & MemberRole.SUPPLIER])
def test_only_suppliers_register_on_open_account(concord, who):
    chain = concord.chain
    name, *args = not_active_or(concord, who, "ConsortiumMissingRole", chain[who], int(MemberRole.SUPPLIER))
    with chain.reverts(name, *args):
        register_open_account(concord, FP, ORDER, who=who)


# -- acknowledge --------------------------------------------------------------------------


def test_the_debtor_acknowledges_and_the_receivable_is_verified(concord):
    chain, registry = concord.chain, concord.registry
    register_open_account(concord, FP, ORDER)
    receipt = chain.transact(registry.functions.acknowledge(FP), "buyer")
    assert events(registry, receipt, "ReceivableAcknowledged") == [{"fingerprint": FP, "debtor": chain["buyer"]}]
    assert receivable_of(concord, FP)["acknowledged"]
    assert registry.functions.isVerified(FP).call()
    with chain.reverts("ReceivableRegistryAlreadyAcknowledged", FP):
        chain.transact(registry.functions.acknowledge(FP), "buyer")


@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name != "buyer"])
def test_only_the_debtor_acknowledges(concord, who):
    chain = concord.chain
    register_open_account(concord, FP, ORDER)
    name, *args = not_active_or(concord, who, "ReceivableRegistryNotDebtor", FP, chain[who])
    with chain.reverts(name, *args):
        chain.transact(concord.registry.functions.acknowledge(FP), who)


def test_acknowledge_refuses_unknown_escrowed_and_settled_receivables(concord):
    chain, registry = concord.chain, concord.registry
    with chain.reverts("ReceivableRegistryNotRegistered", FP):
        chain.transact(registry.functions.acknowledge(FP), "buyer")
    verified_escrowed(concord, OTHER_FP, OTHER_ORDER)
    with chain.reverts("ReceivableRegistryEscrowedReceivable", OTHER_FP):
        chain.transact(registry.functions.acknowledge(OTHER_FP), "buyer")
    with chain.reverts("ReceivableRegistryEscrowedReceivable", OTHER_FP):
        chain.transact(registry.functions.pay(OTHER_FP, 1), "buyer")


# -- pay ----------------------------------------------------------------------------------


@pytest.mark.parametrize("assigned", [False, True])
def test_the_debtor_pays_the_holder_straight(concord, assigned):
    chain, registry = concord.chain, concord.registry
    verified_open_account(concord, FP, ORDER)
    holder = "financier" if assigned else "supplier"
    if assigned:
        chain.transact(registry.functions.assign(FP, chain["financier"]), "supplier")
    buyer_before = balance(concord, "buyer")
    receipt = pay(concord, 70 * 10**6)
    assert events(registry, receipt, "ReceivableSettled") == [{"fingerprint": FP, "orderId": ORDER, "holder": chain[holder], "amountPaid": 70 * 10**6}]
    assert balance(concord, holder) == 70 * 10**6
    assert buyer_before - balance(concord, "buyer") == 70 * 10**6
    assert balance(concord, registry.address) == 0
    record = receivable_of(concord, FP)
    assert (record["settled"], record["amountPaid"]) == (True, 70 * 10**6)
    assert not registry.functions.isVerified(FP).call()
    with chain.reverts("ReceivableRegistryAlreadySettled", FP):
        pay(concord, 1)
    with chain.reverts("ReceivableRegistryAlreadySettled", FP):
        chain.transact(registry.functions.assign(FP, chain["financier2"]), holder)


@pytest.mark.parametrize("case", ["not acknowledged", "zero", "above face", "not debtor", "no allowance"])
def test_pay_refusals(concord, case):
    chain, registry = concord.chain, concord.registry
    register_open_account(concord, FP, ORDER)
    if case != "not acknowledged":
        chain.transact(registry.functions.acknowledge(FP), "buyer")
    amount, who = AMOUNT, "buyer"
    expected: tuple = ()
    if case == "not acknowledged":
        expected = ("ReceivableRegistryNotAcknowledged", FP)
    elif case == "zero":
        amount, expected = 0, ("ReceivableRegistryZeroAmount",)
    elif case == "above face":
        amount, expected = AMOUNT + 1, ("ReceivableRegistryAmountExceedsFace", FP, AMOUNT + 1, AMOUNT)
    elif case == "not debtor":
        who, expected = "buyer2", ("ReceivableRegistryNotDebtor", FP, chain["buyer2"])
    else:
        expected = ("ERC20InsufficientAllowance", registry.address, 0, AMOUNT)
    if case == "no allowance":
        with chain.reverts(*expected):
            chain.transact(registry.functions.pay(FP, amount), who)
    else:
        with chain.reverts(*expected):
            pay(concord, amount, who=who)
    assert not receivable_of(concord, FP)["settled"]


def test_a_token_that_shortchanges_the_holder_is_refused(concord):
    chain = concord.chain
    short = chain.deploy("ShortchangingToken", test=True)
    chain.transact(short.functions.mint(chain["buyer"], AMOUNT))
    verified_open_account(concord, FP, ORDER, token=short)
    chain.transact(short.functions.approve(concord.registry.address, AMOUNT), "buyer")
    with chain.reverts("ReceivableRegistryTransferMismatch", short.address, AMOUNT, AMOUNT - 1):
        chain.transact(concord.registry.functions.pay(FP, AMOUNT), "buyer")
    assert not receivable_of(concord, FP)["settled"]


# -- approve and assign by an operator -----------------------------------------------------


def test_an_approved_operator_assigns_once(concord):
    chain, registry = concord.chain, concord.registry
    verified_open_account(concord, FP, ORDER)
    operator = chain["extra0"]  # any account, say a contract the holder trusts
    receipt = chain.transact(registry.functions.approve(FP, operator), "supplier")
    assert events(registry, receipt, "ReceivableApproved") == [{"fingerprint": FP, "holder": chain["supplier"], "operator": operator}]
    assert registry.functions.getApproved(FP).call() == operator
    receipt = chain.transact(registry.functions.assign(FP, chain["financier"]), "extra0")
    assert events(registry, receipt, "ReceivableAssigned") == [{"fingerprint": FP, "from": chain["supplier"], "to": chain["financier"]}]
    assert receivable_of(concord, FP)["holder"] == chain["financier"]
    assert registry.functions.getApproved(FP).call() == ZERO_ADDRESS  # the assignment cleared it
    with chain.reverts("ReceivableRegistryNotHolderOrApproved", FP, operator):
        chain.transact(registry.functions.assign(FP, chain["financier2"]), "extra0")


def test_an_approval_can_be_cleared_and_only_the_holder_gives_it(concord):
    chain, registry = concord.chain, concord.registry
    register_open_account(concord, FP, ORDER)
    with chain.reverts("ReceivableRegistryNotHolder", FP, chain["financier"]):
        chain.transact(registry.functions.approve(FP, chain["financier"]), "financier")
    with chain.reverts("ConsortiumMemberNotActive", chain["outsider"]):
        chain.transact(registry.functions.approve(FP, chain["outsider"]), "outsider")
    with chain.reverts("ReceivableRegistryNotRegistered", OTHER_FP):
        chain.transact(registry.functions.approve(OTHER_FP, chain["extra0"]), "supplier")
    chain.transact(registry.functions.approve(FP, chain["extra0"]), "supplier")
    chain.transact(registry.functions.approve(FP, ZERO_ADDRESS), "supplier")
    with chain.reverts("ReceivableRegistryNotHolderOrApproved", FP, chain["extra0"]):
        chain.transact(registry.functions.assign(FP, chain["financier"]), "extra0")


def test_an_operator_cannot_move_a_suspended_holders_receivable_nor_a_settled_one(concord):
    chain, registry = concord.chain, concord.registry
    verified_open_account(concord, FP, ORDER)
    chain.transact(registry.functions.approve(FP, chain["extra0"]), "supplier")
    chain.transact(concord.consortium.functions.suspendMember(chain["supplier"]))
    with chain.reverts("ConsortiumMemberNotActive", chain["supplier"]):
        chain.transact(registry.functions.assign(FP, chain["financier"]), "extra0")
    chain.transact(concord.consortium.functions.reinstateMember(chain["supplier"]))
    pay(concord)
    assert registry.functions.getApproved(FP).call() == ZERO_ADDRESS  # settling cleared it
    with chain.reverts("ReceivableRegistryAlreadySettled", FP):
        chain.transact(registry.functions.approve(FP, chain["extra0"]), "supplier")
