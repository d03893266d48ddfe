"""Re-entry attacks on the receivables' token calls, and read-only reentrancy.

Token calls an attacker can hook into: the registry's `pay` (the debtor's payment pulled to
the holder), the exchange's `accept` (the advance pulled from the financier) and `settle`
(the supplier's share pulled from the financier), and the escrow's `fund`. Attackers from
contracts/test: `ReentrantToken` (a malicious token calling back from inside the transfer
the target makes), and `ReentrantReceiver` (a member contract receiving a `HookedToken`
payment and calling back from its receive hook). A view read while a state-changing call is
in progress must not answer from half-updated state: it reverts.
"""

from __future__ import annotations

import pytest
from concord.ledger.encoding import MemberRole

from tests.contracts.chain import UNIT, EscrowState, events, fund_escrow, order_id, org_id, struct
from tests.contracts.receivables import AMOUNT, PROOF, fingerprint_named, offer_named, offer_of, receivable_of

ORDER = order_id("re-1")
OTHER_ORDER = order_id("re-2")
FP = fingerprint_named("RE-1")
OTHER_FP = fingerprint_named("RE-2")
OFFER = offer_named("re-1")
OTHER_OFFER = offer_named("re-2")
ADVANCE, CLAIM = 80 * UNIT, 90 * UNIT
GUARD = "ReentrancyGuardReentrantCall"
ACCEPTED, SETTLED = 3, 4


@pytest.fixture
def evil(concord):
    """A re-entering token: held by the buyers and the financier, each of whom lets the escrow,
    the registry and the exchange take it; allowed by the escrow, and itself an active member
    with every role (so that no membership check stands in for the guard)."""
    chain = concord.chain
    token = chain.deploy("ReentrantToken", test=True)
    chain.transact(concord.escrow.functions.allowToken(token.address))
    chain.transact(concord.consortium.functions.addMember(token.address, org_id("evil-token"), int(sum(MemberRole))))
    for holder in ("buyer", "buyer2", "financier", "financier2"):
        chain.transact(token.functions.mint(chain[holder], 10_000 * UNIT))
        for spender in (concord.escrow, concord.registry, concord.exchange):
            chain.transact(token.functions.approve(spender.address, 2**256 - 1), holder)
    return token


def refused_by_the_guard(concord, attacker) -> bool:
    return (
        attacker.functions.attempted().call()
        and not attacker.functions.reentrySucceeded().call()
        and attacker.functions.reentryRevertData().call() == concord.chain.error_data(GUARD)
    )


def open_account(concord, token, fp=FP, order=ORDER):
    chain, registry = concord.chain, concord.registry
    chain.transact(registry.functions.registerOpenAccount(fp, order, chain["buyer"], token.address, AMOUNT, 1_800_000_000), "supplier")
    chain.transact(registry.functions.acknowledge(fp), "buyer")


def financed(concord, token, fp=FP, order=ORDER, offer=OFFER):
    """An acknowledged open-account receivable in `token`, assigned to the financier for its advance."""
    chain, exchange = concord.chain, concord.exchange
    open_account(concord, token, fp, order)
    chain.transact(exchange.functions.offer(offer, fp, ADVANCE, CLAIM, chain.next_timestamp() + 3600), "financier")
    chain.transact(concord.registry.functions.approve(fp, exchange.address), "supplier")
    chain.transact(exchange.functions.accept(offer), "supplier")


# -- read-only reentrancy --------------------------------------------------------------------


@pytest.mark.parametrize("view", ["liabilities", "owedTo", "escrowOf"])
def test_the_escrows_views_refuse_to_answer_during_funding(concord, evil, view):
    """Funding counts the liability before it pulls the tokens: a view read from inside the
    transfer would see the escrow owe more than it holds. It reverts instead."""
    chain, escrow = concord.chain, concord.escrow
    args = {"liabilities": [evil.address], "owedTo": [chain["supplier"], evil.address], "escrowOf": [ORDER]}[view]
    chain.transact(evil.functions.arm(escrow.address, escrow.encode_abi(view, args=args), False))
    fund_escrow(concord, ORDER, AMOUNT, token=evil)
    assert refused_by_the_guard(concord, evil)
    assert evil.functions.reentryReturnData().call() == b""
    # Outside the call they answer, and consistently.
    assert escrow.functions.liabilities(evil.address).call() == evil.functions.balanceOf(escrow.address).call() == AMOUNT
    assert EscrowState(struct(escrow.functions.escrowOf(ORDER))["state"]) == EscrowState.FUNDED


def test_the_registrys_views_refuse_to_answer_during_a_payment(concord, evil):
    chain, registry = concord.chain, concord.registry
    open_account(concord, evil)
    chain.transact(evil.functions.arm(registry.address, registry.encode_abi("receivableOf", args=[FP]), False))
    chain.transact(registry.functions.pay(FP, AMOUNT), "buyer")
    assert refused_by_the_guard(concord, evil)
    assert receivable_of(concord, FP)["settled"]


# -- the registry's pay ------------------------------------------------------------------------


@pytest.mark.parametrize("bubble", [False, True])
def test_a_token_re_entering_pay_is_refused(concord, evil, bubble):
    chain, registry = concord.chain, concord.registry
    open_account(concord, evil)
    buyer_before = evil.functions.balanceOf(chain["buyer"]).call()
    chain.transact(evil.functions.arm(registry.address, registry.encode_abi("pay", args=[FP, AMOUNT]), bubble))
    if bubble:
        with chain.reverts(GUARD):
            chain.transact(registry.functions.pay(FP, AMOUNT), "buyer")
        assert not receivable_of(concord, FP)["settled"]
        assert evil.functions.balanceOf(chain["supplier"]).call() == 0
    else:
        chain.transact(registry.functions.pay(FP, AMOUNT), "buyer")
        assert refused_by_the_guard(concord, evil)
        assert evil.functions.balanceOf(chain["supplier"]).call() == AMOUNT  # paid once
        assert buyer_before - evil.functions.balanceOf(chain["buyer"]).call() == AMOUNT


def test_a_payment_cannot_settle_the_financing_from_inside_itself(concord, evil):
    """The exchange's settle reads the registry, which refuses while the payment runs: the
    waterfall is computed only from a payment that is complete."""
    chain, exchange, registry = concord.chain, concord.exchange, concord.registry
    financed(concord, evil)
    chain.transact(evil.functions.armFor(registry.address, exchange.address, exchange.encode_abi("settle", args=[OFFER]), False))
    chain.transact(registry.functions.pay(FP, AMOUNT), "buyer")
    assert refused_by_the_guard(concord, evil)
    assert offer_of(concord, OFFER)["state"] == ACCEPTED
    chain.transact(exchange.functions.settle(OFFER), "keeper")  # afterwards it goes through
    assert offer_of(concord, OFFER)["state"] == SETTLED


# -- the exchange's accept and settle ----------------------------------------------------------


@pytest.mark.parametrize("bubble", [False, True])
@pytest.mark.parametrize("payload", ["accept", "settle", "withdrawOffer"])
def test_a_token_re_entering_the_exchange_during_an_advance_is_refused(concord, evil, payload, bubble):
    chain, exchange, registry = concord.chain, concord.exchange, concord.registry
    # A second receivable, offered and ready to be accepted, or financed and paid (to settle).
    open_account(concord, evil, OTHER_FP, OTHER_ORDER)
    chain.transact(exchange.functions.offer(OTHER_OFFER, OTHER_FP, ADVANCE, CLAIM, chain.next_timestamp() + 3600), "financier")
    chain.transact(registry.functions.approve(OTHER_FP, exchange.address), "supplier")
    if payload == "settle":
        chain.transact(exchange.functions.accept(OTHER_OFFER), "supplier")
        chain.transact(registry.functions.pay(OTHER_FP, AMOUNT), "buyer")
    open_account(concord, evil)
    chain.transact(exchange.functions.offer(OFFER, FP, ADVANCE, CLAIM, chain.next_timestamp() + 3600), "financier")
    chain.transact(registry.functions.approve(FP, exchange.address), "supplier")
    before = offer_of(concord, OTHER_OFFER)["state"]
    chain.transact(evil.functions.arm(exchange.address, exchange.encode_abi(payload, args=[OTHER_OFFER]), bubble))

    if bubble:
        with chain.reverts(GUARD):
            chain.transact(exchange.functions.accept(OFFER), "supplier")
        assert receivable_of(concord, FP)["holder"] == chain["supplier"]  # neither half happened
        assert offer_of(concord, OFFER)["state"] == 1
    else:
        receipt = chain.transact(exchange.functions.accept(OFFER), "supplier")
        assert refused_by_the_guard(concord, evil)
        assert len(events(exchange, receipt, "OfferAccepted")) == 1
        assert receivable_of(concord, FP)["holder"] == chain["financier"]
    assert offer_of(concord, OTHER_OFFER)["state"] == before


@pytest.mark.parametrize("bubble", [False, True])
def test_a_token_re_entering_settle_cannot_pay_the_supplier_twice(concord, evil, bubble):
    chain, exchange, registry = concord.chain, concord.exchange, concord.registry
    financed(concord, evil)
    chain.transact(registry.functions.pay(FP, AMOUNT), "buyer")
    supplier_before = evil.functions.balanceOf(chain["supplier"]).call()
    chain.transact(evil.functions.arm(exchange.address, exchange.encode_abi("settle", args=[OFFER]), bubble))
    if bubble:
        with chain.reverts(GUARD):
            chain.transact(exchange.functions.settle(OFFER), "keeper")
        assert offer_of(concord, OFFER)["state"] == ACCEPTED
        assert evil.functions.balanceOf(chain["supplier"]).call() == supplier_before
    else:
        chain.transact(exchange.functions.settle(OFFER), "keeper")
        assert refused_by_the_guard(concord, evil)
        assert evil.functions.balanceOf(chain["supplier"]).call() - supplier_before == AMOUNT - CLAIM


# -- a malicious supplier contract -------------------------------------------------------------


@pytest.mark.parametrize("payload", ["accept", "settle"])
def test_a_supplier_contract_receiving_its_advance_cannot_re_enter(concord, payload):
    chain, exchange, registry = concord.chain, concord.exchange, concord.registry
    hooked = chain.deploy("HookedToken", test=True)
    mallory = chain.deploy("ReentrantReceiver", sender="extra0", test=True)
    chain.transact(concord.consortium.functions.addMember(mallory.address, org_id("mallory"), int(MemberRole.SUPPLIER)))
    chain.transact(hooked.functions.mint(chain["financier"], 10_000 * UNIT))
    chain.transact(hooked.functions.approve(exchange.address, 2**256 - 1), "financier")
    chain.transact(hooked.functions.mint(chain["buyer"], 10_000 * UNIT))
    chain.transact(hooked.functions.approve(registry.address, 2**256 - 1), "buyer")

    def act(contract, function, *args):
        return chain.transact(mallory.functions.execute(contract.address, contract.encode_abi(function, args=list(args))), "extra0")

    act(hooked, "registerHook")
    for fp, order, offer in ((FP, ORDER, OFFER), (OTHER_FP, OTHER_ORDER, OTHER_OFFER)):
        act(registry, "registerOpenAccount", fp, order, chain["buyer"], hooked.address, AMOUNT, 1_800_000_000)
        chain.transact(registry.functions.acknowledge(fp), "buyer")
        chain.transact(exchange.functions.offer(offer, fp, ADVANCE, CLAIM, chain.next_timestamp() + 3600), "financier")
        act(registry, "approve", fp, exchange.address)
    if payload == "settle":
        act(exchange, "accept", OTHER_OFFER)
        chain.transact(registry.functions.pay(OTHER_FP, AMOUNT), "buyer")
    # The advance reaches mallory from the financier (pulled by the exchange): mallory then
    # calls the exchange from its receive hook.
    chain.transact(mallory.functions.armFor(chain["financier"], exchange.address, exchange.encode_abi(payload, args=[OTHER_OFFER]), False), "extra0")
    before = offer_of(concord, OTHER_OFFER)["state"]
    act(exchange, "accept", OFFER)
    assert refused_by_the_guard(concord, mallory)
    assert hooked.functions.balanceOf(mallory.address).call() == ADVANCE * (2 if payload == "settle" else 1)
    assert offer_of(concord, OTHER_OFFER)["state"] == before


# -- the escrow asks only a registry that links back to it -------------------------------------


def test_an_escrow_whose_registry_links_another_escrow_pays_its_payee(concord):
    """An escrow deployed with a registry linked to another escrow never lets that registry
    redirect its payments (nor fails on it): it pays its own payee."""
    chain, token = concord.chain, concord.token
    stray = chain.deploy("DeliveryEscrow", concord.consortium.address, concord.registry.address, chain["operator"], 7 * 24 * 3600)
    chain.transact(token.functions.listHolder(stray.address))
    chain.transact(stray.functions.allowToken(token.address))
    chain.transact(token.functions.approve(stray.address, 2**256 - 1), "buyer")
    # The same order id has an escrow in each; its receivable (in the registry, linked to the
    # platform's escrow) is assigned to a financier.
    fund_escrow(concord, ORDER)
    chain.transact(concord.registry.functions.register(FP, ORDER), "supplier")
    chain.transact(concord.registry.functions.assign(FP, chain["financier"]), "supplier")
    chain.transact(stray.functions.fund(ORDER, chain["supplier2"], chain["carrier"], chain["arbiter"], token.address, AMOUNT), "buyer")
    chain.transact(stray.functions.attestDelivery(ORDER, PROOF), "carrier")
    chain.transact(stray.functions.confirmReceipt(ORDER, AMOUNT), "buyer")
    receipt = chain.transact(stray.functions.release(ORDER), "keeper")
    assert events(stray, receipt, "EscrowReleased")[0]["recipient"] == chain["supplier2"]
    assert stray.functions.owedTo(chain["supplier2"], token.address).call() == AMOUNT
    assert stray.functions.owedTo(chain["financier"], token.address).call() == 0
    assert not receivable_of(concord, FP)["settled"]


def test_a_registry_refuses_an_escrow_that_does_not_point_back(concord):
    chain = concord.chain
    registry = chain.deploy("ReceivableRegistry", concord.consortium.address, chain["operator"])
    chain.transact(registry.functions.linkEscrow(concord.escrow.address))  # which takes concord.registry
    fund_escrow(concord, ORDER)
    with chain.reverts("ReceivableRegistryEscrowMismatch", concord.registry.address):
        chain.transact(registry.functions.register(FP, ORDER), "supplier")
