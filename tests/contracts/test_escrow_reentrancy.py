"""DeliveryEscrow against malicious contracts that try to re-enter it while it moves tokens.

Release and resolution only credit (pull payments), so the token calls an attacker can hook
into are the buyer's `fund` (transferFrom) and every `withdraw` (transfer) of a payment or
a refund. Two attackers from contracts/test:

- `ReentrantToken`, a malicious ERC-20 that calls the escrow back from inside its own
  transfer; it is admitted as a member, so only the reentrancy guard can stop it.
- `ReentrantReceiver`, a malicious member contract that receives a `HookedToken` payment
  (ERC-777-style receive hook) or refund and tries to withdraw it a second time.

Each attack runs twice: with the attacker swallowing the refused call (the outer call
succeeds and the books show exactly one payment) and with the attacker bubbling it (the
whole outer call reverts and nothing changes).
"""

from __future__ import annotations

import pytest
from concord.ledger.encoding import MemberRole

from tests.contracts.chain import (
    DISPUTE_WINDOW,
    UNIT,
    EscrowState,
    events,
    fund_escrow,
    order_id,
    org_id,
    struct,
)

ORDER = order_id("attack")
BYSTANDER = order_id("bystander")
AMOUNT = 100 * UNIT
ACCEPTED = 60 * UNIT
PROOF = b"\x01" * 32
GUARD = "ReentrancyGuardReentrantCall"


def escrow_state(concord, order) -> EscrowState:
    return EscrowState(struct(concord.escrow.functions.escrowOf(order))["state"])


def books_balance(concord, token) -> bool:
    """The escrow holds exactly what it owes."""
    escrow = concord.escrow
    return token.functions.balanceOf(escrow.address).call() == escrow.functions.liabilities(token.address).call()


def deliver_and_confirm(concord, order, accepted, buyer="buyer"):
    chain, escrow = concord.chain, concord.escrow
    chain.transact(escrow.functions.attestDelivery(order, PROOF), "carrier")
    chain.transact(escrow.functions.confirmReceipt(order, accepted), buyer)


# -- a malicious token ---------------------------------------------------------------------


@pytest.fixture
def evil(concord):
    """A re-entering token, allowed by the escrow, held by both buyers, and itself an active
    member with every role (so that no membership check stands in for the guard)."""
    chain = concord.chain
    token = chain.deploy("ReentrantToken", test=True)
    chain.transact(concord.escrow.functions.allowToken(token.address))
    chain.transact(concord.consortium.functions.addMember(token.address, org_id("evil-token"), int(sum(MemberRole))))
    for buyer in ("buyer", "buyer2"):
        chain.transact(token.functions.mint(chain[buyer], 1_000 * UNIT))
        chain.transact(token.functions.approve(concord.escrow.address, 2**256 - 1), buyer)
    return token


def releasable_bystander(concord, evil):
    """Another order in the evil token, ready to be released by anyone."""
    fund_escrow(concord, BYSTANDER, AMOUNT, buyer="buyer2", token=evil)
    deliver_and_confirm(concord, BYSTANDER, AMOUNT, buyer="buyer2")


def assert_refused_by_the_guard(concord, attacker):
    assert attacker.functions.attempted().call()
    assert not attacker.functions.reentrySucceeded().call()
    assert attacker.functions.reentryRevertData().call() == concord.chain.error_data(GUARD)


def test_a_token_re_entering_release_during_funding_is_refused(concord, evil):
    chain, escrow = concord.chain, concord.escrow
    releasable_bystander(concord, evil)
    chain.transact(evil.functions.arm(escrow.address, escrow.encode_abi("release", args=[BYSTANDER]), False))
    fund_escrow(concord, ORDER, AMOUNT, token=evil)
    assert_refused_by_the_guard(concord, evil)
    assert escrow_state(concord, ORDER) == EscrowState.FUNDED
    assert escrow_state(concord, BYSTANDER) == EscrowState.RECEIPT_CONFIRMED
    assert books_balance(concord, evil)
    # The same call outside the token's transfer goes through: the guard alone stopped it.
    chain.transact(escrow.functions.release(BYSTANDER), "keeper")
    assert escrow_state(concord, BYSTANDER) == EscrowState.RELEASED


def test_a_token_re_entering_fund_bubbles_up_and_nothing_is_funded(concord, evil):
    chain, escrow = concord.chain, concord.escrow
    payload = escrow.encode_abi("fund", args=[BYSTANDER, chain["supplier"], chain["carrier"], chain["arbiter"], evil.address, AMOUNT])
    chain.transact(evil.functions.arm(escrow.address, payload, True))
    with chain.reverts(GUARD):
        fund_escrow(concord, ORDER, AMOUNT, token=evil)
    for order in (ORDER, BYSTANDER):
        assert escrow_state(concord, order) == EscrowState.NONE
    assert escrow.functions.liabilities(evil.address).call() == 0
    assert books_balance(concord, evil)


@pytest.mark.parametrize("payload", ["withdraw", "release"])
def test_a_token_re_entering_during_a_refund_is_refused(concord, evil, payload):
    """The buyer withdraws its refund; the token calls the escrow back from inside the
    transfer: to withdraw its own credit (it is the payee of another order) or to release
    another order."""
    chain, escrow = concord.chain, concord.escrow
    fund_escrow(concord, ORDER, AMOUNT, token=evil)
    deliver_and_confirm(concord, ORDER, ACCEPTED)
    chain.transact(escrow.functions.release(ORDER), "supplier")
    # The token is the payee of a released bystander order, so it has a credit of its own.
    chain.transact(escrow.functions.fund(BYSTANDER, evil.address, chain["carrier"], chain["arbiter"], evil.address, AMOUNT), "buyer2")
    deliver_and_confirm(concord, BYSTANDER, AMOUNT, buyer="buyer2")
    if payload == "withdraw":
        chain.transact(escrow.functions.release(BYSTANDER), "keeper")
        data = escrow.encode_abi("withdraw", args=[evil.address])
    else:
        data = escrow.encode_abi("release", args=[BYSTANDER])
    buyer_before = evil.functions.balanceOf(chain["buyer"]).call()
    chain.transact(evil.functions.arm(escrow.address, data, False))

    receipt = chain.transact(escrow.functions.withdraw(evil.address), "buyer")

    assert_refused_by_the_guard(concord, evil)
    assert events(escrow, receipt, "Withdrawn") == [{"account": chain["buyer"], "token": evil.address, "amount": AMOUNT - ACCEPTED}]
    assert evil.functions.balanceOf(chain["buyer"]).call() == buyer_before + AMOUNT - ACCEPTED
    assert escrow.functions.owedTo(chain["buyer"], evil.address).call() == 0
    if payload == "withdraw":
        assert escrow.functions.owedTo(evil.address, evil.address).call() == AMOUNT
    else:
        assert escrow_state(concord, BYSTANDER) == EscrowState.RECEIPT_CONFIRMED
    assert books_balance(concord, evil)


def test_a_token_bubbling_a_refused_re_entry_undoes_the_withdrawal(concord, evil):
    chain, escrow = concord.chain, concord.escrow
    fund_escrow(concord, ORDER, AMOUNT, token=evil)
    deliver_and_confirm(concord, ORDER, ACCEPTED)
    chain.transact(escrow.functions.release(ORDER), "supplier")
    chain.transact(evil.functions.arm(escrow.address, escrow.encode_abi("withdraw", args=[evil.address]), True))
    with chain.reverts(GUARD):
        chain.transact(escrow.functions.withdraw(evil.address), "supplier")
    assert escrow.functions.owedTo(chain["supplier"], evil.address).call() == ACCEPTED
    assert evil.functions.balanceOf(chain["supplier"]).call() == 0
    assert books_balance(concord, evil)


@pytest.mark.parametrize("ending", ["release", "auto-release", "resolution"])
def test_release_and_resolution_make_no_token_call_to_hook_into(concord, evil, ending):
    chain, escrow = concord.chain, concord.escrow
    fund_escrow(concord, ORDER, AMOUNT, token=evil)
    receipt = None
    chain.transact(evil.functions.arm(escrow.address, escrow.encode_abi("withdraw", args=[evil.address]), True))
    if ending == "release":
        deliver_and_confirm(concord, ORDER, ACCEPTED)
        receipt = chain.transact(escrow.functions.release(ORDER), "supplier")
    elif ending == "auto-release":
        chain.transact(escrow.functions.attestDelivery(ORDER, PROOF), "carrier")
        chain.advance(DISPUTE_WINDOW)
        receipt = chain.transact(escrow.functions.release(ORDER), "keeper")
    else:
        chain.transact(escrow.functions.openDispute(ORDER, b"\0" * 32), "buyer")
        receipt = chain.transact(escrow.functions.resolveDispute(ORDER, ACCEPTED), "arbiter")
    assert not evil.functions.attempted().call()
    assert events(evil, receipt, "Transfer") == []
    assert books_balance(concord, evil)


# -- a malicious member contract -----------------------------------------------------------


@pytest.fixture
def hooked(concord):
    chain = concord.chain
    token = chain.deploy("HookedToken", test=True)
    chain.transact(concord.escrow.functions.allowToken(token.address))
    chain.transact(token.functions.mint(chain["buyer"], 1_000 * UNIT))
    chain.transact(token.functions.approve(concord.escrow.address, 2**256 - 1), "buyer")
    return token


@pytest.fixture
def mallory(concord, hooked):
    """A member contract (supplier and buyer) whose owner is the account `extra0`; it asks
    the hooked token to call it back on every transfer it receives."""
    chain = concord.chain
    receiver = chain.deploy("ReentrantReceiver", sender="extra0", test=True)
    roles = int(MemberRole.SUPPLIER | MemberRole.BUYER)
    chain.transact(concord.consortium.functions.addMember(receiver.address, org_id("mallory"), roles))
    act(concord, receiver, hooked, "registerHook")
    return receiver


def act(concord, receiver, contract, function, *args):
    """The receiver calls `contract.function(*args)` on its owner's orders."""
    data = contract.encode_abi(function, args=list(args))
    return concord.chain.transact(receiver.functions.execute(contract.address, data), "extra0")


@pytest.mark.parametrize("bubble", [False, True])
def test_a_payee_contract_cannot_withdraw_its_payment_twice(concord, hooked, mallory, bubble):
    chain, escrow = concord.chain, concord.escrow
    chain.transact(escrow.functions.fund(ORDER, mallory.address, chain["carrier"], chain["arbiter"], hooked.address, AMOUNT), "buyer")
    fund_escrow(concord, BYSTANDER, AMOUNT, token=hooked)  # more of the token sits in the escrow
    deliver_and_confirm(concord, ORDER, AMOUNT)
    chain.transact(escrow.functions.release(ORDER), "keeper")
    assert escrow.functions.owedTo(mallory.address, hooked.address).call() == AMOUNT
    arm = mallory.functions.arm(escrow.address, escrow.encode_abi("withdraw", args=[hooked.address]), bubble)
    chain.transact(arm, "extra0")

    if bubble:
        with chain.reverts(GUARD):
            act(concord, mallory, escrow, "withdraw", hooked.address)
        assert hooked.functions.balanceOf(mallory.address).call() == 0
        assert escrow.functions.owedTo(mallory.address, hooked.address).call() == AMOUNT
    else:
        act(concord, mallory, escrow, "withdraw", hooked.address)
        assert_refused_by_the_guard(concord, mallory)
        assert hooked.functions.balanceOf(mallory.address).call() == AMOUNT
        assert escrow.functions.owedTo(mallory.address, hooked.address).call() == 0
    assert hooked.functions.balanceOf(escrow.address).call() == (2 * AMOUNT if bubble else AMOUNT)
    assert books_balance(concord, hooked)


@pytest.mark.parametrize("bubble", [False, True])
@pytest.mark.parametrize("payload", ["withdraw", "openDispute", "release"])
def test_a_buyer_contract_cannot_re_enter_while_withdrawing_its_refund(concord, hooked, mallory, payload, bubble):
    chain, escrow = concord.chain, concord.escrow
    chain.transact(hooked.functions.mint(mallory.address, AMOUNT))
    act(concord, mallory, hooked, "approve", escrow.address, AMOUNT)
    act(concord, mallory, escrow, "fund", ORDER, chain["supplier"], chain["carrier"], chain["arbiter"], hooked.address, AMOUNT)
    fund_escrow(concord, BYSTANDER, AMOUNT, token=hooked)
    chain.transact(escrow.functions.attestDelivery(ORDER, PROOF), "carrier")
    act(concord, mallory, escrow, "confirmReceipt", ORDER, ACCEPTED)
    chain.transact(escrow.functions.release(ORDER), "supplier")
    refund = AMOUNT - ACCEPTED
    data = {
        "withdraw": escrow.encode_abi("withdraw", args=[hooked.address]),
        "openDispute": escrow.encode_abi("openDispute", args=[BYSTANDER, b"\0" * 32]),
        "release": escrow.encode_abi("release", args=[BYSTANDER]),
    }[payload]
    chain.transact(mallory.functions.arm(escrow.address, data, bubble), "extra0")

    if bubble:
        with chain.reverts(GUARD):
            act(concord, mallory, escrow, "withdraw", hooked.address)
        assert escrow.functions.owedTo(mallory.address, hooked.address).call() == refund
        assert hooked.functions.balanceOf(mallory.address).call() == 0
    else:
        act(concord, mallory, escrow, "withdraw", hooked.address)
        assert_refused_by_the_guard(concord, mallory)
        assert escrow.functions.owedTo(mallory.address, hooked.address).call() == 0
        assert hooked.functions.balanceOf(mallory.address).call() == refund
    assert escrow_state(concord, BYSTANDER) == EscrowState.FUNDED
    assert books_balance(concord, hooked)
