"""ReceivableRegistry: one registration per invoice fingerprint, assignment to financiers,
and the escrow paying (and settling) whoever holds the receivable."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from concord.ledger.encoding import MemberRole, domain_separator, fingerprint
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.contracts.chain import (
    ACCOUNT_NAMES,
    DISPUTE_WINDOW,
    MEMBERS,
    NOT_ACTIVE,
    OPERATOR_ROLE,
    UNIT,
    ZERO_ADDRESS,
    EscrowState,
    block_timestamp,
    events,
    fund_escrow,
    order_id,
    org_id,
    struct,
)

ORDER = order_id("r-1")
OTHER_ORDER = order_id("r-2")
AMOUNT = 100 * UNIT
SUPPLIER_ORG = uuid.UUID("8d1d7c36-6a3e-4c55-9d0e-2f1f3e9b8a01")
BUYER_ORG = uuid.UUID("1b2a4c6e-8f00-4e11-a222-333344445555")
# The registry takes any non-zero fingerprint: these stand for two invoices' fingerprints.
INVOICE = keccak(text="invoice:INV-2024-0042")
OTHER_INVOICE = keccak(text="invoice:INV-2024-0043")
ZERO = b"\0" * 32


def receivable_of(concord, fp=INVOICE) -> dict:
    return struct(concord.registry.functions.receivableOf(fp))


def register(concord, fp=INVOICE, order=ORDER, who="supplier"):
    return concord.chain.transact(concord.registry.functions.register(fp, order), who)


def assign(concord, to, fp=INVOICE, who="supplier"):
    address = concord[to] if to in concord.chain.accounts else to
    return concord.chain.transact(concord.registry.functions.assign(fp, address), who)


def owed(concord, name) -> int:
    return concord.escrow.functions.owedTo(concord[name], concord.token.address).call()


def funded_and_registered(concord, order=ORDER, fp=INVOICE):
    fund_escrow(concord, order, AMOUNT)
    return register(concord, fp, order)


def not_active_or(concord, who, error, *args):
    if who in NOT_ACTIVE:
        return ("ConsortiumMemberNotActive", concord[who])
    return (error, *args)


# -- the fingerprint ----------------------------------------------------------------------


def bound(concord, *args) -> bytes:
    """Python's fingerprint of an invoice under `concord`'s registry and chain."""
    return fingerprint(*args, chain_id=concord.chain.w3.eth.chain_id, registry=concord.registry.address)


def test_fingerprint_of_a_known_invoice(concord):
    registry = concord.registry
    on_chain = registry.functions.fingerprint(
        SUPPLIER_ORG.bytes.rjust(32, b"\0"), BUYER_ORG.bytes.rjust(32, b"\0"), "INV-2024-0042", 10_000, "EUR", 1722384000
    ).call()
    assert on_chain == bound(concord, SUPPLIER_ORG, BUYER_ORG, "INV-2024-0042", 10_000, "EUR", date(2024, 7, 31))
    assert registry.functions.RECEIVABLE_TYPEHASH().call() == keccak(
        text="Receivable(bytes32 issuer,bytes32 debtor,string invoiceNumber,uint256 amount,string currency,uint64 dueDate)"
    )
    domain = registry.functions.eip712Domain().call()
    assert tuple(domain[1:5]) == ("Concord Receivables", "1", concord.chain.w3.eth.chain_id, registry.address)
    assert registry.functions.domainSeparator().call() == domain_separator(concord.chain.w3.eth.chain_id, registry.address)


def test_the_domain_binds_the_fingerprint_to_its_registry_and_chain(concord):
    """The same invoice has another fingerprint in another registry, or on another chain."""
    chain = concord.chain
    other = chain.deploy("ReceivableRegistry", concord.consortium.address, chain["operator"])
    invoice = (SUPPLIER_ORG.bytes.rjust(32, b"\0"), BUYER_ORG.bytes.rjust(32, b"\0"), "INV-1", 500, "EUR", 0)
    here, there = (registry.functions.fingerprint(*invoice).call() for registry in (concord.registry, other))
    assert here != there
    assert there == fingerprint(SUPPLIER_ORG, BUYER_ORG, "INV-1", 500, "EUR", 0, chain_id=chain.w3.eth.chain_id, registry=other.address)
    assert here != fingerprint(SUPPLIER_ORG, BUYER_ORG, "INV-1", 500, "EUR", 0, chain_id=chain.w3.eth.chain_id + 1, registry=concord.registry.address)


@settings(max_examples=25, deadline=None)
@given(
    issuer=st.uuids(),
    debtor=st.uuids(),
    number=st.text(max_size=40),
    amount=st.integers(min_value=0, max_value=2**256 - 1),
    currency=st.from_regex(r"\A[A-Z]{3}\Z"),
    due=st.integers(min_value=0, max_value=2**64 - 1),
)
def test_python_and_the_contract_compute_the_same_fingerprint(concord, issuer, debtor, number, amount, currency, due):
    expected = bound(concord, issuer, debtor, number, amount, currency, due)
    on_chain = concord.registry.functions.fingerprint(issuer.bytes.rjust(32, b"\0"), debtor.bytes.rjust(32, b"\0"), number, amount, currency, due).call()
    assert on_chain == expected


def test_every_invoice_field_changes_the_fingerprint():
    base = dict(issuer=SUPPLIER_ORG, debtor=BUYER_ORG, invoice_number="INV-1", amount=1, currency="EUR", due_date=0, chain_id=1, registry="0x" + "11" * 20)
    changes = dict(
        issuer=BUYER_ORG, debtor=SUPPLIER_ORG, invoice_number="INV-2", amount=2, currency="USD", due_date=86400, chain_id=2, registry="0x" + "22" * 20
    )
    prints = {fingerprint(**base)} | {fingerprint(**{**base, key: value}) for key, value in changes.items()}
    assert len(prints) == 1 + len(changes)


# -- register -----------------------------------------------------------------------------


def test_the_payee_registers_a_receivable(concord):
    chain, registry = concord.chain, concord.registry
    fund_escrow(concord, ORDER)
    receipt = register(concord)
    assert events(registry, receipt, "ReceivableRegistered") == [
        {
            "fingerprint": INVOICE,
            "orderId": ORDER,
            "issuer": chain["supplier"],
            "debtor": chain["buyer"],
            "token": concord.token.address,
            "amount": AMOUNT,
            "dueDate": 0,
            "escrowed": True,
        }
    ]
    assert receivable_of(concord) == {
        "orderId": ORDER,
        "issuer": chain["supplier"],
        "registeredAt": block_timestamp(chain, receipt),
        "holder": chain["supplier"],
        "settled": False,
        "escrowed": True,
        "acknowledged": False,
        "debtor": chain["buyer"],
        "dueDate": 0,
        "token": concord.token.address,
        "amount": AMOUNT,
        "amountPaid": 0,
    }
    assert registry.functions.fingerprintOfOrder(ORDER).call() == INVOICE
    assert registry.functions.payeeOf(ORDER).call() == chain["supplier"]


@pytest.mark.parametrize("reached", ["funded", "delivered", "confirmed", "disputed"])
def test_a_receivable_may_be_registered_while_the_escrow_is_open(concord, reached):
    chain, escrow = concord.chain, concord.escrow
    fund_escrow(concord, ORDER)
    if reached in ("delivered", "confirmed"):
        chain.transact(escrow.functions.attestDelivery(ORDER, b"\1" * 32), "carrier")
    if reached == "confirmed":
        chain.transact(escrow.functions.confirmReceipt(ORDER, AMOUNT), "buyer")
    if reached == "disputed":
        chain.transact(escrow.functions.openDispute(ORDER, ZERO), "buyer")
    register(concord)
    assert receivable_of(concord)["holder"] == chain["supplier"]


def test_the_same_fingerprint_is_never_registered_twice(concord):
    chain = concord.chain
    funded_and_registered(concord)
    fund_escrow(concord, OTHER_ORDER, payee="supplier2")
    fund_escrow(concord, order_id("r-3"))
    for who, order in (("supplier", ORDER), ("supplier2", OTHER_ORDER), ("supplier", order_id("r-3"))):
        with chain.reverts("ReceivableRegistryAlreadyRegistered", INVOICE):
            register(concord, INVOICE, order, who)


def test_a_settled_fingerprint_is_never_registered_again(concord):
    chain, escrow = concord.chain, concord.escrow
    funded_and_registered(concord)
    chain.transact(escrow.functions.attestDelivery(ORDER, b"\1" * 32), "carrier")
    chain.transact(escrow.functions.confirmReceipt(ORDER, AMOUNT), "buyer")
    chain.transact(escrow.functions.release(ORDER), "keeper")
    assert receivable_of(concord)["settled"]
    fund_escrow(concord, OTHER_ORDER)
    with chain.reverts("ReceivableRegistryAlreadyRegistered", INVOICE):
        register(concord, INVOICE, OTHER_ORDER)


def test_an_order_has_one_receivable(concord):
    funded_and_registered(concord)
    with concord.chain.reverts("ReceivableRegistryOrderAlreadyLinked", ORDER, INVOICE):
        register(concord, OTHER_INVOICE, ORDER)


def test_register_refuses_the_zero_fingerprint(concord):
    fund_escrow(concord, ORDER)
    with concord.chain.reverts("ReceivableRegistryInvalidFingerprint"):
        register(concord, ZERO)


@pytest.mark.parametrize("case", ["no escrow", "another supplier", "released", "resolved"])
def test_only_the_payee_of_an_open_escrow_registers(concord, case):
    chain, escrow = concord.chain, concord.escrow
    who = "supplier2" if case == "another supplier" else "supplier"
    if case != "no escrow":
        fund_escrow(concord, ORDER)
    if case == "released":
        chain.transact(escrow.functions.attestDelivery(ORDER, b"\1" * 32), "carrier")
        chain.advance(DISPUTE_WINDOW)
        chain.transact(escrow.functions.release(ORDER), "keeper")
    if case == "resolved":
        chain.transact(escrow.functions.openDispute(ORDER, ZERO), "supplier")
        chain.transact(escrow.functions.resolveDispute(ORDER, AMOUNT), "arbiter")
    with chain.reverts("ReceivableRegistryNotOrderPayee", ORDER, chain[who]):
        register(concord, who=who)


def test_register_needs_a_linked_escrow(concord):
    chain = concord.chain
    registry = chain.deploy("ReceivableRegistry", concord.consortium.address, chain["operator"])
    with chain.reverts("ReceivableRegistryEscrowNotLinked"):
        chain.transact(registry.functions.register(INVOICE, ORDER), "supplier")


@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name in NOT_ACTIVE or not MEMBERS[name] & MemberRole.SUPPLIER])
def test_only_suppliers_register(concord, who):
    chain = concord.chain
    fund_escrow(concord, ORDER)
    name, *args = not_active_or(concord, who, "ConsortiumMissingRole", chain[who], int(MemberRole.SUPPLIER))
    with chain.reverts(name, *args):
        register(concord, who=who)


# -- assign -------------------------------------------------------------------------------


def test_the_holder_assigns_to_a_financier_who_may_assign_on(concord):
    chain, registry = concord.chain, concord.registry
    funded_and_registered(concord)
    receipt = assign(concord, "financier")
    assert events(registry, receipt, "ReceivableAssigned") == [{"fingerprint": INVOICE, "from": chain["supplier"], "to": chain["financier"]}]
    assert receivable_of(concord)["holder"] == chain["financier"]
    assert registry.functions.payeeOf(ORDER).call() == chain["financier"]
    # the issuer no longer holds it
    with chain.reverts("ReceivableRegistryNotHolderOrApproved", INVOICE, chain["supplier"]):
        assign(concord, "financier2")
    receipt = assign(concord, "financier2", who="financier")
    assert events(registry, receipt, "ReceivableAssigned") == [{"fingerprint": INVOICE, "from": chain["financier"], "to": chain["financier2"]}]
    assert registry.functions.payeeOf(ORDER).call() == chain["financier2"]
    assert receivable_of(concord)["issuer"] == chain["supplier"]


@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name != "supplier"])
def test_only_the_holder_assigns(concord, who):
    chain = concord.chain
    funded_and_registered(concord)
    with chain.reverts("ReceivableRegistryNotHolderOrApproved", INVOICE, chain[who]):
        assign(concord, "financier", who=who)


@pytest.mark.parametrize("to", [name for name in ACCOUNT_NAMES if name in NOT_ACTIVE or not MEMBERS[name] & MemberRole.FINANCIER])
def test_receivables_go_only_to_active_financiers(concord, to):
    chain = concord.chain
    funded_and_registered(concord)
    name, *args = not_active_or(concord, to, "ConsortiumMissingRole", chain[to], int(MemberRole.FINANCIER))
    with chain.reverts(name, *args):
        assign(concord, to)


def test_assign_refuses_unknown_and_settled_receivables(concord):
    chain, escrow = concord.chain, concord.escrow
    with chain.reverts("ReceivableRegistryNotRegistered", INVOICE):
        assign(concord, "financier")
    funded_and_registered(concord)
    with chain.reverts("ConsortiumMemberNotActive", ZERO_ADDRESS):
        assign(concord, ZERO_ADDRESS)
    chain.transact(escrow.functions.openDispute(ORDER, ZERO), "buyer")
    chain.transact(escrow.functions.resolveDispute(ORDER, 0), "arbiter")
    with chain.reverts("ReceivableRegistryAlreadySettled", INVOICE):
        assign(concord, "financier")


def test_a_suspended_holder_cannot_assign(concord):
    chain = concord.chain
    funded_and_registered(concord)
    chain.transact(concord.consortium.functions.suspendMember(chain["supplier"]))
    with chain.reverts("ConsortiumMemberNotActive", chain["supplier"]):
        assign(concord, "financier")


# -- payment through the escrow -----------------------------------------------------------


@pytest.mark.parametrize("assigned", [False, True])
def test_release_pays_the_holder_and_settles_the_receivable(concord, assigned):
    chain, escrow, registry = concord.chain, concord.escrow, concord.registry
    funded_and_registered(concord)
    holder = "financier" if assigned else "supplier"
    if assigned:
        assign(concord, "financier")
    chain.transact(escrow.functions.attestDelivery(ORDER, b"\1" * 32), "carrier")
    chain.transact(escrow.functions.confirmReceipt(ORDER, 70 * UNIT), "buyer")
    chain.advance(DISPUTE_WINDOW)
    receipt = chain.transact(escrow.functions.release(ORDER), "keeper")
    assert events(escrow, receipt, "EscrowReleased")[0]["recipient"] == chain[holder]
    assert events(registry, receipt, "ReceivableSettled") == [{"fingerprint": INVOICE, "orderId": ORDER, "holder": chain[holder], "amountPaid": 70 * UNIT}]
    assert (owed(concord, holder), owed(concord, "buyer")) == (70 * UNIT, 30 * UNIT)
    if assigned:
        assert owed(concord, "supplier") == 0
    record = receivable_of(concord)
    assert (record["settled"], record["amountPaid"], record["holder"]) == (True, 70 * UNIT, chain[holder])
    assert registry.functions.payeeOf(ORDER).call() == ZERO_ADDRESS
    chain.transact(escrow.functions.withdraw(concord.token.address), holder)
    assert concord.token.functions.balanceOf(chain[holder]).call() == 70 * UNIT


@pytest.mark.parametrize("payee_amount", [0, 40 * UNIT])
def test_a_resolution_pays_the_holder_and_settles_the_receivable(concord, payee_amount):
    chain, escrow, registry = concord.chain, concord.escrow, concord.registry
    funded_and_registered(concord)
    assign(concord, "financier")
    chain.transact(escrow.functions.openDispute(ORDER, ZERO), "supplier")
    receipt = chain.transact(escrow.functions.resolveDispute(ORDER, payee_amount), "arbiter")
    assert events(escrow, receipt, "DisputeResolved")[0]["recipient"] == chain["financier"]
    assert events(registry, receipt, "ReceivableSettled") == [
        {"fingerprint": INVOICE, "orderId": ORDER, "holder": chain["financier"], "amountPaid": payee_amount}
    ]
    assert (owed(concord, "financier"), owed(concord, "buyer")) == (payee_amount, AMOUNT - payee_amount)
    assert EscrowState(struct(escrow.functions.escrowOf(ORDER))["state"]) == EscrowState.RESOLVED


def test_without_a_receivable_the_escrow_pays_its_payee(concord):
    chain, escrow = concord.chain, concord.escrow
    fund_escrow(concord, ORDER)
    assert concord.registry.functions.payeeOf(ORDER).call() == ZERO_ADDRESS
    chain.transact(escrow.functions.attestDelivery(ORDER, b"\1" * 32), "carrier")
    chain.transact(escrow.functions.confirmReceipt(ORDER, AMOUNT), "buyer")
    receipt = chain.transact(escrow.functions.release(ORDER), "keeper")
    assert events(concord.registry, receipt, "ReceivableSettled") == []
    assert owed(concord, "supplier") == AMOUNT


# -- markSettled and linkEscrow -----------------------------------------------------------


@pytest.mark.parametrize("who", ACCOUNT_NAMES)
def test_only_the_linked_escrow_marks_settled(concord, who):
    chain = concord.chain
    funded_and_registered(concord)
    with chain.reverts("ReceivableRegistryCallerNotEscrow", chain[who]):
        chain.transact(concord.registry.functions.markSettled(ORDER, AMOUNT), who)
    assert not receivable_of(concord)["settled"]


def test_mark_settled_needs_an_open_receivable(concord):
    """Seen from a registry whose linked escrow is a plain account."""
    chain = concord.chain
    registry = chain.deploy("ReceivableRegistry", concord.consortium.address, chain["operator"])
    chain.transact(registry.functions.linkEscrow(chain["extra1"]))
    with chain.reverts("ReceivableRegistryNoOpenReceivable", ORDER):
        chain.transact(registry.functions.markSettled(ORDER, 0), "extra1")


def test_mark_settled_refuses_everyone_before_an_escrow_is_linked(concord):
    chain = concord.chain
    registry = chain.deploy("ReceivableRegistry", concord.consortium.address, chain["operator"])
    for who in ("operator", "supplier", "extra1"):
        with chain.reverts("ReceivableRegistryCallerNotEscrow", chain[who]):
            chain.transact(registry.functions.markSettled(ORDER, 0), who)


def test_the_operator_links_the_escrow_once(concord):
    chain = concord.chain
    registry = chain.deploy("ReceivableRegistry", concord.consortium.address, chain["operator"])
    assert registry.functions.escrow().call() == ZERO_ADDRESS
    with chain.reverts("ReceivableRegistryZeroAddress"):
        chain.transact(registry.functions.linkEscrow(ZERO_ADDRESS))
    receipt = chain.transact(registry.functions.linkEscrow(concord.escrow.address))
    assert events(registry, receipt, "EscrowLinked") == [{"escrow": concord.escrow.address}]
    assert registry.functions.escrow().call() == concord.escrow.address
    with chain.reverts("ReceivableRegistryEscrowAlreadyLinked", concord.escrow.address):
        chain.transact(registry.functions.linkEscrow(chain["extra1"]))
    assert concord.registry.functions.escrow().call() == concord.escrow.address


@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name != "operator"])
def test_only_the_operator_links_the_escrow(concord, who):
    chain = concord.chain
    registry = chain.deploy("ReceivableRegistry", concord.consortium.address, chain["operator"])
    with chain.reverts("AccessControlUnauthorizedAccount", chain[who], OPERATOR_ROLE):
        chain.transact(registry.functions.linkEscrow(concord.escrow.address), who)


def test_views_of_unknown_receivables_and_the_constructor(concord):
    chain, registry = concord.chain, concord.registry
    assert registry.functions.consortium().call() == concord.consortium.address
    assert registry.functions.payeeOf(ORDER).call() == ZERO_ADDRESS
    assert registry.functions.fingerprintOfOrder(ORDER).call() == ZERO
    assert receivable_of(concord)["issuer"] == ZERO_ADDRESS
    with chain.reverts("ReceivableRegistryZeroAddress"):
        chain.deploy("ReceivableRegistry", concord.consortium.address, ZERO_ADDRESS)
    with chain.reverts("ConsortiumZeroAddress"):
        chain.deploy("ReceivableRegistry", ZERO_ADDRESS, chain["operator"])
    assert org_id("supplier") == concord.consortium.functions.organizationOf(chain["supplier"]).call()


@pytest.mark.parametrize(
    ("reached", "verified"),
    [("funded", False), ("delivered", False), ("confirmed", True), ("confirmed then disputed", False), ("released", False)],
)
def test_an_escrowed_receivable_is_verified_while_the_receipt_stands_confirmed(concord, reached, verified):
    chain, escrow, registry = concord.chain, concord.escrow, concord.registry
    assert not registry.functions.isVerified(INVOICE).call()  # unknown
    funded_and_registered(concord)
    if reached != "funded":
        chain.transact(escrow.functions.attestDelivery(ORDER, b"\1" * 32), "carrier")
    if reached.startswith("confirmed") or reached == "released":
        chain.transact(escrow.functions.confirmReceipt(ORDER, AMOUNT), "buyer")
    if reached == "confirmed then disputed":
        chain.transact(escrow.functions.openDispute(ORDER, ZERO), "supplier")
    if reached == "released":
        chain.transact(escrow.functions.release(ORDER), "keeper")
    assert registry.functions.isVerified(INVOICE).call() is verified
