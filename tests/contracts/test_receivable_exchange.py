"""ReceivableExchange: financiers offer to finance verified receivables, the holder accepts
one (assignment and advance in one transaction, or neither), and once the receivable is
paid the waterfall gives the financier at most its claim and the supplier the rest."""

from __future__ import annotations

import pytest
from concord.ledger.encoding import MemberRole

from tests.contracts.chain import ACCOUNT_NAMES, DISPUTE_WINDOW, MEMBERS, NOT_ACTIVE, UNIT, ZERO_ADDRESS, events, order_id
from tests.contracts.receivables import (
    AMOUNT,
    accept,
    balance,
    fingerprint_named,
    fund_financier,
    make_offer,
    offer_named,
    offer_of,
    receivable_of,
    register_open_account,
    verified_escrowed,
    verified_open_account,
)

ORDER = order_id("x-1")
FP = fingerprint_named("X-1")
OFFER = offer_named("x-1")
OTHER_OFFER = offer_named("x-2")
ADVANCE = 80 * UNIT
CLAIM = 90 * UNIT
OPEN, WITHDRAWN, ACCEPTED, SETTLED = 1, 2, 3, 4


@pytest.fixture
def offered(concord):
    """An open-account receivable the buyer acknowledged, and the financier's open offer."""
    verified_open_account(concord, FP, ORDER)
    fund_financier(concord)
    fund_financier(concord, "financier2")
    make_offer(concord, OFFER, FP, ADVANCE, CLAIM)
    return concord


def not_active_or(concord, who, error, *args):
    if who in NOT_ACTIVE:
        return ("ConsortiumMemberNotActive", concord[who])
    return (error, *args)


def pay(concord, amount):
    chain = concord.chain
    chain.transact(concord.token.functions.approve(concord.registry.address, amount), "buyer")
    chain.transact(concord.registry.functions.pay(FP, amount), "buyer")


# -- offer --------------------------------------------------------------------------------


def test_a_financier_offers_for_a_verified_receivable(concord):
    chain, exchange = concord.chain, concord.exchange
    verified_open_account(concord, FP, ORDER)
    expires_at = chain.next_timestamp() + 3600
    receipt = chain.transact(exchange.functions.offer(OFFER, FP, ADVANCE, CLAIM, expires_at), "financier")
    assert events(exchange, receipt, "OfferMade") == [
        {
            "offerId": OFFER,
            "fingerprint": FP,
            "financier": chain["financier"],
            "token": concord.token.address,
            "advance": ADVANCE,
            "claim": CLAIM,
            "expiresAt": expires_at,
        }
    ]
    assert offer_of(concord, OFFER) == {
        "fingerprint": FP,
        "financier": chain["financier"],
        "expiresAt": expires_at,
        "supplier": ZERO_ADDRESS,
        "state": OPEN,
        "token": concord.token.address,
        "advance": ADVANCE,
        "claim": CLAIM,
        "amountPaid": 0,
        "financierShare": 0,
        "supplierShare": 0,
    }
    assert balance(concord, exchange.address) == 0  # nothing is locked
    assert exchange.functions.registry().call() == concord.registry.address
    assert exchange.functions.consortium().call() == concord.consortium.address


@pytest.mark.parametrize(
    "case", ["zero id", "taken id", "zero advance", "advance above claim", "expiry now", "unknown", "not acknowledged", "paid", "escrow not received", "own"]
)
def test_offer_refusals(concord, case):
    chain = concord.chain
    fp, offer_id, advance, claim, expires_in, who = FP, OFFER, ADVANCE, CLAIM, 3600, "financier"
    if case != "not acknowledged" and case != "unknown" and case != "escrow not received":
        verified_open_account(concord, FP, ORDER)
    expected: tuple
    if case == "zero id":
        offer_id, expected = b"\0" * 32, ("ReceivableExchangeInvalidOfferId",)
    elif case == "taken id":
        make_offer(concord, OFFER, FP, ADVANCE, CLAIM, who="financier2")
        expected = ("ReceivableExchangeOfferExists", OFFER)
    elif case == "zero advance":
        advance, expected = 0, ("ReceivableExchangeInvalidTerms", 0, CLAIM)
    elif case == "advance above claim":
        advance, expected = CLAIM + 1, ("ReceivableExchangeInvalidTerms", CLAIM + 1, CLAIM)
    elif case == "expiry now":
        expires_in, expected = 0, ("ReceivableExchangeInvalidExpiry", chain.next_timestamp())
    elif case in ("unknown", "paid"):
        if case == "paid":
            pay(concord, AMOUNT)
        expected = ("ReceivableExchangeNotVerified", FP)
    elif case == "not acknowledged":
        register_open_account(concord, FP, ORDER)
        expected = ("ReceivableExchangeNotVerified", FP)
    elif case == "escrow not received":
        from tests.contracts.chain import fund_escrow

        fund_escrow(concord, ORDER)
        chain.transact(concord.registry.functions.register(FP, ORDER), "supplier")
        expected = ("ReceivableExchangeNotVerified", FP)
    else:
        chain.transact(concord.registry.functions.assign(FP, chain["financier"]), "supplier")
        expected = ("ReceivableExchangeFinancierIsHolder", FP)
    with chain.reverts(*expected):
        make_offer(concord, offer_id, fp, advance, claim, who=who, expires_in=expires_in)


@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name in NOT_ACTIVE or not MEMBERS[name] & MemberRole.FINANCIER])
def test_only_financiers_offer(concord, who):
    chain = concord.chain
    verified_open_account(concord, FP, ORDER)
    name, *args = not_active_or(concord, who, "ConsortiumMissingRole", chain[who], int(MemberRole.FINANCIER))
    with chain.reverts(name, *args):
        make_offer(concord, OFFER, FP, ADVANCE, CLAIM, who=who)


# -- withdrawOffer ------------------------------------------------------------------------


def test_the_financier_withdraws_its_open_offer(offered):
    chain, exchange = offered.chain, offered.exchange
    with chain.reverts("ReceivableExchangeCallerNotFinancier", OFFER, chain["financier2"]):
        chain.transact(exchange.functions.withdrawOffer(OFFER), "financier2")
    with chain.reverts("ReceivableExchangeOfferNotFound", OTHER_OFFER):
        chain.transact(exchange.functions.withdrawOffer(OTHER_OFFER), "financier")
    receipt = chain.transact(exchange.functions.withdrawOffer(OFFER), "financier")
    assert events(exchange, receipt, "OfferWithdrawn") == [{"offerId": OFFER, "fingerprint": FP, "financier": chain["financier"]}]
    assert offer_of(offered, OFFER)["state"] == WITHDRAWN
    with chain.reverts("ReceivableExchangeInvalidState", OFFER, WITHDRAWN):
        chain.transact(exchange.functions.withdrawOffer(OFFER), "financier")
    chain.transact(offered.registry.functions.approve(FP, exchange.address), "supplier")
    with chain.reverts("ReceivableExchangeInvalidState", OFFER, WITHDRAWN):
        chain.transact(exchange.functions.accept(OFFER), "supplier")


# -- accept -------------------------------------------------------------------------------


def test_acceptance_assigns_the_receivable_and_pays_the_advance_together(offered):
    chain, exchange, registry = offered.chain, offered.exchange, offered.registry
    financier_before = balance(offered, "financier")
    chain.transact(registry.functions.approve(FP, exchange.address), "supplier")
    receipt = chain.transact(exchange.functions.accept(OFFER), "supplier")
    assert events(exchange, receipt, "OfferAccepted") == [
        {"offerId": OFFER, "fingerprint": FP, "supplier": chain["supplier"], "financier": chain["financier"], "advance": ADVANCE}
    ]
    assert events(registry, receipt, "ReceivableAssigned") == [{"fingerprint": FP, "from": chain["supplier"], "to": chain["financier"]}]
    assert receivable_of(offered, FP)["holder"] == chain["financier"]
    assert (balance(offered, "supplier"), financier_before - balance(offered, "financier")) == (ADVANCE, ADVANCE)
    record = offer_of(offered, OFFER)
    assert (record["state"], record["supplier"]) == (ACCEPTED, chain["supplier"])
    with chain.reverts("ReceivableExchangeInvalidState", OFFER, ACCEPTED):
        chain.transact(exchange.functions.accept(OFFER), "supplier")
    with chain.reverts("ReceivableExchangeInvalidState", OFFER, ACCEPTED):
        chain.transact(exchange.functions.withdrawOffer(OFFER), "financier")


def test_once_one_offer_is_accepted_the_others_cannot_be(offered):
    chain = offered.chain
    make_offer(offered, OTHER_OFFER, FP, 85 * UNIT, 95 * UNIT, who="financier2")
    accept(offered, OTHER_OFFER, FP)
    with chain.reverts("ReceivableExchangeCallerNotHolder", FP, chain["supplier"]):
        chain.transact(offered.exchange.functions.accept(OFFER), "supplier")
    assert balance(offered, "supplier") == 85 * UNIT


@pytest.mark.parametrize("failure", ["no approval in the registry", "advance not allowed", "financier cannot pay", "financier suspended"])
def test_a_failing_half_undoes_the_other(offered, failure):
    """The receivable is never assigned without the advance, nor the advance paid without it."""
    chain, exchange, registry, token = offered.chain, offered.exchange, offered.registry, offered.token
    if failure != "no approval in the registry":
        chain.transact(registry.functions.approve(FP, exchange.address), "supplier")
    if failure == "no approval in the registry":
        expected: tuple = ("ReceivableRegistryNotHolderOrApproved", FP, exchange.address)
    elif failure == "advance not allowed":
        chain.transact(token.functions.approve(exchange.address, ADVANCE - 1), "financier")
        expected = ("ERC20InsufficientAllowance", exchange.address, ADVANCE - 1, ADVANCE)
    elif failure == "financier cannot pay":
        funds = balance(offered, "financier")
        chain.transact(token.functions.transfer(chain["financier2"], funds - ADVANCE + 1), "financier")
        expected = ("ERC20InsufficientBalance", chain["financier"], ADVANCE - 1, ADVANCE)
    else:
        chain.transact(offered.consortium.functions.suspendMember(chain["financier"]))
        expected = ("ConsortiumMemberNotActive", chain["financier"])
    before = (balance(offered, "supplier"), balance(offered, "financier"))
    with chain.reverts(*expected):
        chain.transact(exchange.functions.accept(OFFER), "supplier")
    assert receivable_of(offered, FP)["holder"] == chain["supplier"]
    assert (balance(offered, "supplier"), balance(offered, "financier")) == before
    assert offer_of(offered, OFFER)["state"] == OPEN


@pytest.mark.parametrize("case", ["not holder", "expired", "settled", "unknown"])
def test_accept_refusals(offered, case):
    chain, exchange = offered.chain, offered.exchange
    who, offer_id = "supplier", OFFER
    chain.transact(offered.registry.functions.approve(FP, exchange.address), "supplier")
    if case == "not holder":
        who, expected = "supplier2", ("ReceivableExchangeCallerNotHolder", FP, chain["supplier2"])
    elif case == "expired":
        expires_at = offer_of(offered, OFFER)["expiresAt"]
        chain.travel_to(expires_at)
        expected = ("ReceivableExchangeOfferExpired", OFFER, expires_at)
    elif case == "settled":
        pay(offered, AMOUNT)
        expected = ("ReceivableExchangeNotVerified", FP)
    else:
        offer_id, expected = OTHER_OFFER, ("ReceivableExchangeOfferNotFound", OTHER_OFFER)
    with chain.reverts(*expected):
        chain.transact(exchange.functions.accept(offer_id), who)


def test_accept_needs_an_active_member(offered):
    with offered.chain.reverts("ConsortiumMemberNotActive", offered["outsider"]):
        offered.chain.transact(offered.exchange.functions.accept(OFFER), "outsider")


# -- settle -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "financier_share", "supplier_share"),
    [(AMOUNT, CLAIM, AMOUNT - CLAIM), (CLAIM, CLAIM, 0), (70 * UNIT + 1, 70 * UNIT + 1, 0)],
    ids=["in full", "exactly the claim", "short of the claim"],
)
def test_settlement_gives_the_financier_its_claim_and_the_supplier_the_rest(offered, paid, financier_share, supplier_share):
    chain, exchange = offered.chain, offered.exchange
    accept(offered, OFFER, FP)
    with chain.reverts("ReceivableExchangeNotSettled", FP):
        chain.transact(exchange.functions.settle(OFFER), "keeper")
    pay(offered, paid)
    supplier_before, financier_before = balance(offered, "supplier"), balance(offered, "financier")
    receipt = chain.transact(exchange.functions.settle(OFFER), "keeper")
    assert events(exchange, receipt, "OfferSettled") == [
        {
            "offerId": OFFER,
            "fingerprint": FP,
            "financier": chain["financier"],
            "supplier": chain["supplier"],
            "amountPaid": paid,
            "financierShare": financier_share,
            "supplierShare": supplier_share,
            "shortfall": CLAIM - financier_share,
        }
    ]
    assert balance(offered, "supplier") - supplier_before == supplier_share
    assert financier_before - balance(offered, "financier") == supplier_share
    record = offer_of(offered, OFFER)
    assert (record["state"], record["amountPaid"], record["financierShare"], record["supplierShare"]) == (SETTLED, paid, financier_share, supplier_share)
    # Money is conserved: what the buyer paid went to the supplier and the financier.
    assert record["financierShare"] + record["supplierShare"] == paid
    with chain.reverts("ReceivableExchangeInvalidState", OFFER, SETTLED):
        chain.transact(exchange.functions.settle(OFFER), "keeper")


def test_an_escrowed_receivable_is_financed_and_settled_after_the_release(concord):
    chain, escrow, exchange = concord.chain, concord.escrow, concord.exchange
    verified_escrowed(concord, FP, ORDER)
    fund_financier(concord)
    make_offer(concord, OFFER, FP, ADVANCE, CLAIM)
    accept(concord, OFFER, FP)
    chain.transact(escrow.functions.release(ORDER), "keeper")
    assert receivable_of(concord, FP)["amountPaid"] == AMOUNT
    chain.transact(escrow.functions.withdraw(concord.token.address), "financier")
    chain.transact(exchange.functions.settle(OFFER), "financier")
    assert balance(concord, "supplier") == ADVANCE + AMOUNT - CLAIM
    assert balance(concord, "financier") == 10_000 * UNIT - ADVANCE + CLAIM


def test_a_dispute_split_reduces_what_the_financier_receives(concord):
    chain, escrow, exchange = concord.chain, concord.escrow, concord.exchange
    verified_escrowed(concord, FP, ORDER)
    fund_financier(concord)
    make_offer(concord, OFFER, FP, ADVANCE, CLAIM)
    accept(concord, OFFER, FP)
    chain.transact(escrow.functions.openDispute(ORDER, b"\0" * 32), "supplier")
    chain.advance(DISPUTE_WINDOW)
    chain.transact(escrow.functions.resolveDispute(ORDER, 60 * UNIT), "arbiter")
    receipt = chain.transact(exchange.functions.settle(OFFER), "keeper")
    [settled] = events(exchange, receipt, "OfferSettled")
    assert (settled["amountPaid"], settled["financierShare"], settled["supplierShare"], settled["shortfall"]) == (60 * UNIT, 60 * UNIT, 0, CLAIM - 60 * UNIT)


def test_settle_refusals(offered):
    chain, exchange = offered.chain, offered.exchange
    with chain.reverts("ReceivableExchangeOfferNotFound", OTHER_OFFER):
        chain.transact(exchange.functions.settle(OTHER_OFFER), "keeper")
    with chain.reverts("ReceivableExchangeInvalidState", OFFER, OPEN):
        chain.transact(exchange.functions.settle(OFFER), "keeper")
    with chain.reverts("ConsortiumMemberNotActive", chain["outsider"]):
        chain.transact(exchange.functions.settle(OFFER), "outsider")
    accept(offered, OFFER, FP)
    pay(offered, AMOUNT)
    chain.transact(offered.token.functions.approve(exchange.address, 0), "financier")
    with chain.reverts("ERC20InsufficientAllowance", exchange.address, 0, AMOUNT - CLAIM):
        chain.transact(exchange.functions.settle(OFFER), "keeper")
    assert offer_of(offered, OFFER)["state"] == ACCEPTED


def test_the_constructor_refuses_zero_addresses(concord):
    chain = concord.chain
    with chain.reverts("ReceivableExchangeZeroAddress"):
        chain.deploy("ReceivableExchange", concord.consortium.address, ZERO_ADDRESS)
    with chain.reverts("ConsortiumZeroAddress"):
        chain.deploy("ReceivableExchange", ZERO_ADDRESS, concord.registry.address)
