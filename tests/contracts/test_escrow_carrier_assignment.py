"""DeliveryEscrow funded before the carrier is chosen: the buyer funds with the zero address
as carrier (when the supplier acknowledges the purchase order), the payee assigns the carrier
once (when it ships), and only then can delivery be attested. Disputes work without one."""

from __future__ import annotations

import pytest
from concord.ledger.encoding import MemberRole
from eth_utils import keccak

from tests.contracts.chain import (
    ACCOUNT_NAMES,
    DISPUTE_WINDOW,
    NOT_ACTIVE,
    UNIT,
    ZERO_ADDRESS,
    EscrowState,
    block_timestamp,
    events,
    fund_escrow,
    order_id,
    struct,
)

ORDER = order_id("late-carrier")
OTHER_ORDER = order_id("late-carrier-2")
AMOUNT = 100 * UNIT
PROOF = keccak(text="proof-of-delivery:late-carrier")
REASON = keccak(text="never shipped")


# -- helpers ------------------------------------------------------------------------------


def escrow_of(concord, order=ORDER) -> dict:
    return struct(concord.escrow.functions.escrowOf(order))


def state_of(concord, order=ORDER) -> EscrowState:
    return EscrowState(escrow_of(concord, order)["state"])


def carrier_of(concord, order=ORDER) -> str:
    return escrow_of(concord, order)["carrier"]


def owed(concord, name) -> int:
    return concord.escrow.functions.owedTo(concord[name], concord.token.address).call()


def liabilities(concord) -> int:
    return concord.escrow.functions.liabilities(concord.token.address).call()


def fund_unassigned(concord, order=ORDER, **parties):
    return fund_escrow(concord, order, AMOUNT, carrier=None, **parties)


def assign(concord, carrier="carrier", order=ORDER, by="supplier"):
    address = ZERO_ADDRESS if carrier is None else concord[carrier]
    return concord.chain.transact(concord.escrow.functions.assignCarrier(order, address), by)


def deliver(concord, order=ORDER, carrier="carrier"):
    return concord.chain.transact(concord.escrow.functions.attestDelivery(order, PROOF), carrier)


def dispute(concord, by="buyer", order=ORDER):
    return concord.chain.transact(concord.escrow.functions.openDispute(order, REASON), by)


def resolve(concord, payee_amount, order=ORDER):
    return concord.chain.transact(concord.escrow.functions.resolveDispute(order, payee_amount), "arbiter")


def release(concord, by="keeper", order=ORDER):
    return concord.chain.transact(concord.escrow.functions.release(order), by)


def not_active_or(concord, who, error, *args):
    """The error `who` meets: not an active member first, else `error(*args)`."""
    if who in NOT_ACTIVE:
        return ("ConsortiumMemberNotActive", concord[who])
    return (error, *args)


def grant(concord, name, role: MemberRole) -> None:
    chain, consortium = concord.chain, concord.consortium
    roles = consortium.functions.memberOf(chain[name]).call()[1]
    chain.transact(consortium.functions.updateMemberRoles(chain[name], roles | int(role)))


def reach(concord, reached: str, *, assigned_at_funding: bool) -> None:
    """Drives ORDER into a named situation; its carrier named at funding or assigned later
    (a dispute before shipping leaves it unassigned)."""
    if assigned_at_funding:
        fund_escrow(concord, ORDER, AMOUNT)
    else:
        fund_unassigned(concord)
        if reached not in ("disputed", "resolved"):
            assign(concord)
    if reached in ("delivered", "confirmed", "released"):
        deliver(concord)
    if reached in ("confirmed", "released"):
        concord.chain.transact(concord.escrow.functions.confirmReceipt(ORDER, AMOUNT), "buyer")
    if reached == "released":
        release(concord)
    if reached in ("disputed", "resolved"):
        dispute(concord)
    if reached == "resolved":
        resolve(concord, AMOUNT // 2)


# -- fund without a carrier ---------------------------------------------------------------


def test_buyer_funds_without_a_carrier(concord):
    chain, token = concord.chain, concord.token
    receipt = fund_unassigned(concord)
    assert events(concord.escrow, receipt, "EscrowFunded") == [
        {
            "orderId": ORDER,
            "buyer": chain["buyer"],
            "payee": chain["supplier"],
            "carrier": ZERO_ADDRESS,
            "arbiter": chain["arbiter"],
            "token": token.address,
            "amount": AMOUNT,
            "disputeWindow": DISPUTE_WINDOW,
        }
    ]
    escrow = escrow_of(concord)
    assert (escrow["state"], escrow["carrier"], escrow["amount"]) == (EscrowState.FUNDED, ZERO_ADDRESS, AMOUNT)
    assert escrow["fundedAt"] == block_timestamp(chain, receipt)
    assert token.functions.balanceOf(concord.escrow.address).call() == AMOUNT == liabilities(concord)


#: Separation of duties still holds among buyer, payee and arbiter without a carrier.
CONFLICTS_WITHOUT_CARRIER = {
    "payee is the buyer": ({"buyer": MemberRole.SUPPLIER}, {"payee": "buyer"}, "buyer"),
    "arbiter is the buyer": ({"buyer": MemberRole.ARBITER}, {"arbiter": "buyer"}, "buyer"),
    "arbiter is the payee": ({"supplier": MemberRole.ARBITER}, {"arbiter": "supplier"}, "supplier"),
}


@pytest.mark.parametrize("case", sorted(CONFLICTS_WITHOUT_CARRIER))
def test_fund_without_a_carrier_still_separates_the_other_parties(concord, case):
    chain = concord.chain
    grants, parties, conflicting = CONFLICTS_WITHOUT_CARRIER[case]
    for name, role in grants.items():
        grant(concord, name, role)
    with chain.reverts("DeliveryEscrowConflictingParties", chain[conflicting]):
        fund_unassigned(concord, **parties)
    assert liabilities(concord) == 0


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"payee": "carrier"}, ("ConsortiumMissingRole", "carrier", MemberRole.SUPPLIER)),
        ({"payee": "suspended"}, ("ConsortiumMemberNotActive", "suspended")),
        ({"arbiter": "auditor"}, ("ConsortiumMissingRole", "auditor", MemberRole.ARBITER)),
        ({"arbiter": "outsider"}, ("ConsortiumMemberNotActive", "outsider")),
    ],
)
def test_fund_without_a_carrier_still_checks_payee_and_arbiter(concord, change, error):
    chain = concord.chain
    name, *args = error
    args = [chain[arg] if isinstance(arg, str) else int(arg) for arg in args]
    with chain.reverts(name, *args):
        fund_unassigned(concord, **change)


# -- assignCarrier: success ---------------------------------------------------------------


def test_payee_assigns_the_carrier(concord):
    chain = concord.chain
    fund_unassigned(concord)
    before = escrow_of(concord)
    receipt = assign(concord, "carrier2")
    assert events(concord.escrow, receipt, "CarrierAssigned") == [{"orderId": ORDER, "carrier": chain["carrier2"]}]
    assert escrow_of(concord) == before | {"carrier": chain["carrier2"]}
    assert liabilities(concord) == AMOUNT
    assert events(concord.token, receipt, "Transfer") == []


def test_assignment_touches_only_its_order(concord):
    chain = concord.chain
    fund_unassigned(concord)
    fund_unassigned(concord, OTHER_ORDER, buyer="buyer2", payee="supplier2", arbiter="arbiter2")
    assign(concord, "carrier2", OTHER_ORDER, by="supplier2")
    assert (carrier_of(concord), carrier_of(concord, OTHER_ORDER)) == (ZERO_ADDRESS, chain["carrier2"])
    with chain.reverts("DeliveryEscrowCallerNotPayee", ORDER, chain["supplier2"]):
        assign(concord, "carrier2", by="supplier2")


def test_the_assigned_carrier_delivers_and_the_escrow_releases(concord):
    chain, escrow = concord.chain, concord.escrow
    fund_unassigned(concord)
    assign(concord)
    with chain.reverts("DeliveryEscrowCallerNotCarrier", ORDER, chain["carrier2"]):
        deliver(concord, carrier="carrier2")
    receipt = deliver(concord)
    assert events(escrow, receipt, "DeliveryAttested") == [{"orderId": ORDER, "carrier": chain["carrier"], "proofHash": PROOF}]
    chain.transact(escrow.functions.confirmReceipt(ORDER, 60 * UNIT), "buyer")
    release(concord, by="supplier")
    assert state_of(concord) == EscrowState.RELEASED
    assert (owed(concord, "supplier"), owed(concord, "buyer")) == (60 * UNIT, 40 * UNIT)
    for name in ("supplier", "buyer"):
        chain.transact(escrow.functions.withdraw(concord.token.address), name)
    assert liabilities(concord) == 0 == concord.token.functions.balanceOf(escrow.address).call()


def test_release_after_the_window_once_the_assigned_carrier_delivered(concord):
    fund_unassigned(concord)
    assign(concord)
    delivered_at = block_timestamp(concord.chain, deliver(concord))
    concord.chain.travel_to(delivered_at + DISPUTE_WINDOW)
    release(concord)
    assert (state_of(concord), owed(concord, "supplier")) == (EscrowState.RELEASED, AMOUNT)


# -- before the carrier is assigned -------------------------------------------------------


@pytest.mark.parametrize("who", ACCOUNT_NAMES)
def test_nobody_attests_before_a_carrier_is_assigned(concord, who):
    chain = concord.chain
    fund_unassigned(concord)
    name, *args = not_active_or(concord, who, "DeliveryEscrowCarrierNotAssigned", ORDER)
    with chain.reverts(name, *args):
        deliver(concord, carrier=who)
    assert state_of(concord) == EscrowState.FUNDED


def test_nothing_is_released_without_a_carrier(concord):
    """No proof of delivery without a carrier, so no release, however long one waits."""
    chain = concord.chain
    fund_unassigned(concord)
    chain.advance(2 * DISPUTE_WINDOW)
    for who in ("keeper", "supplier", "buyer"):
        with chain.reverts("DeliveryEscrowInvalidState", ORDER, int(EscrowState.FUNDED)):
            release(concord, by=who)
    assert liabilities(concord) == AMOUNT


@pytest.mark.parametrize("by", ["buyer", "supplier"])
def test_a_dispute_without_a_carrier_is_resolved_by_the_arbiter(concord, by):
    chain = concord.chain
    fund_unassigned(concord)
    dispute(concord, by)
    with chain.reverts("DeliveryEscrowInvalidState", ORDER, int(EscrowState.DISPUTED)):
        assign(concord)
    with chain.reverts("DeliveryEscrowCarrierNotAssigned", ORDER):
        deliver(concord)
    resolve(concord, 30 * UNIT)
    assert (state_of(concord), carrier_of(concord)) == (EscrowState.RESOLVED, ZERO_ADDRESS)
    assert (owed(concord, "supplier"), owed(concord, "buyer")) == (30 * UNIT, 70 * UNIT)
    with chain.reverts("DeliveryEscrowInvalidState", ORDER, int(EscrowState.RESOLVED)):
        assign(concord)


# -- assignCarrier: refusals --------------------------------------------------------------


def test_assign_refuses_unknown_orders(concord):
    with concord.chain.reverts("DeliveryEscrowNotFound", ORDER):
        assign(concord)


@pytest.mark.parametrize("who", [name for name in ACCOUNT_NAMES if name != "supplier"])
def test_only_the_payee_assigns_the_carrier(concord, who):
    chain = concord.chain
    fund_unassigned(concord)
    name, *args = not_active_or(concord, who, "DeliveryEscrowCallerNotPayee", ORDER, chain[who])
    with chain.reverts(name, *args):
        assign(concord, by=who)
    assert carrier_of(concord) == ZERO_ADDRESS


def test_a_suspended_payee_assigns_only_once_reinstated(concord):
    chain, consortium = concord.chain, concord.consortium
    fund_unassigned(concord)
    chain.transact(consortium.functions.suspendMember(chain["supplier"]))
    with chain.reverts("ConsortiumMemberNotActive", chain["supplier"]):
        assign(concord)
    chain.transact(consortium.functions.reinstateMember(chain["supplier"]))
    assign(concord)
    assert carrier_of(concord) == chain["carrier"]


@pytest.mark.parametrize("assigned_at_funding", [True, False], ids=["named-at-funding", "assigned-later"])
@pytest.mark.parametrize("reached", ["delivered", "confirmed", "disputed", "released", "resolved"])
def test_assign_is_possible_only_while_funded(concord, reached, assigned_at_funding):
    chain = concord.chain
    reach(concord, reached, assigned_at_funding=assigned_at_funding)
    carrier = carrier_of(concord)
    with chain.reverts("DeliveryEscrowInvalidState", ORDER, int(state_of(concord))):
        assign(concord, "carrier2")
    assert carrier_of(concord) == carrier


def test_a_carrier_named_at_funding_cannot_be_replaced(concord):
    chain = concord.chain
    fund_escrow(concord, ORDER, AMOUNT)
    for carrier in ("carrier2", "carrier"):
        with chain.reverts("DeliveryEscrowCarrierAlreadyAssigned", ORDER, chain["carrier"]):
            assign(concord, carrier)


def test_the_carrier_is_assigned_only_once(concord):
    chain = concord.chain
    fund_unassigned(concord)
    assign(concord)
    for carrier in ("carrier2", "carrier", None):
        with chain.reverts("DeliveryEscrowCarrierAlreadyAssigned", ORDER, chain["carrier"]):
            assign(concord, carrier)
    assert carrier_of(concord) == chain["carrier"]


@pytest.mark.parametrize(
    ("carrier", "error"),
    [
        (None, ("DeliveryEscrowZeroAddress",)),
        ("supplier2", ("ConsortiumMissingRole", "supplier2", MemberRole.CARRIER)),
        ("arbiter2", ("ConsortiumMissingRole", "arbiter2", MemberRole.CARRIER)),
        ("keeper", ("ConsortiumMissingRole", "keeper", MemberRole.CARRIER)),
        ("suspended", ("ConsortiumMemberNotActive", "suspended")),
        ("outsider", ("ConsortiumMemberNotActive", "outsider")),
        ("operator", ("ConsortiumMemberNotActive", "operator")),
    ],
)
def test_assign_refuses_an_account_that_is_not_an_active_carrier(concord, carrier, error):
    chain = concord.chain
    fund_unassigned(concord)
    name, *args = error
    args = [chain[arg] if isinstance(arg, str) else int(arg) for arg in args]
    with chain.reverts(name, *args):
        assign(concord, carrier)
    assert carrier_of(concord) == ZERO_ADDRESS
    assign(concord)  # a valid carrier is still accepted after a refusal
    assert carrier_of(concord) == chain["carrier"]


def test_assign_refuses_a_carrier_suspended_since_it_was_admitted(concord):
    chain, consortium = concord.chain, concord.consortium
    fund_unassigned(concord)
    chain.transact(consortium.functions.suspendMember(chain["carrier"]))
    with chain.reverts("ConsortiumMemberNotActive", chain["carrier"]):
        assign(concord)
    chain.transact(consortium.functions.reinstateMember(chain["carrier"]))
    assign(concord)
    assert carrier_of(concord) == chain["carrier"]


@pytest.mark.parametrize("party", ["buyer", "supplier", "arbiter"])
def test_the_assigned_carrier_takes_no_other_part(concord, party):
    """Separation of duties, as at funding: a buyer, payee or arbiter holding CARRIER too
    cannot become the carrier of the same escrow."""
    chain = concord.chain
    grant(concord, party, MemberRole.CARRIER)
    fund_unassigned(concord)
    with chain.reverts("DeliveryEscrowConflictingParties", chain[party]):
        assign(concord, party)
    assert carrier_of(concord) == ZERO_ADDRESS
