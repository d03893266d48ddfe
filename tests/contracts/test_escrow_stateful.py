"""DeliveryEscrow under random sequences of operations (hypothesis state machine).

A model of the escrow predicts the outcome of every step, down to the custom error of a
refused one. After each step the escrow's token balance must equal everything it still owes
(value held in open escrows plus credits not yet withdrawn) as the model counts it, and the
contract's own `liabilities` must say the same; the chain's record of every escrow and
credit a step touches must match the model.

Each operation has a rule that runs when some order is in a state where it can happen (so
that runs get deep: funded, delivered, confirmed, released, withdrawn), and one more rule
tries any operation on any order, which mostly exercises refusals. Orders are funded with or
without a carrier; one funded without waits for the supplier to assign it before delivery.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from tests.contracts.chain import (
    DISPUTE_WINDOW,
    UNIT,
    ZERO_ADDRESS,
    Concord,
    EscrowState,
    block_timestamp,
    order_id,
    struct,
)

ORDERS = tuple(order_id(f"stateful-{index}") for index in range(4))
PROOF = keccak(text="proof")
NONE, FUNDED, DELIVERED, CONFIRMED, DISPUTED = (
    EscrowState.NONE,
    EscrowState.FUNDED,
    EscrowState.DELIVERED,
    EscrowState.RECEIPT_CONFIRMED,
    EscrowState.DISPUTED,
)
OPEN = frozenset({FUNDED, DELIVERED, CONFIRMED, DISPUTED})
WITHDRAWERS = ("buyer", "supplier", "financier")  # the financier is paid when it holds the receivable

amounts = st.integers(min_value=1, max_value=1_000 * UNIT)
percent = st.integers(min_value=0, max_value=101)  # 101: one unit more than the escrow holds
indexes = st.integers(min_value=0, max_value=len(ORDERS) - 1)


@dataclass
class Model:
    state: EscrowState = NONE
    amount: int = 0
    accepted: int = 0
    delivered_at: int = 0
    confirmed_at: int = 0
    financed: bool = False
    has_carrier: bool = False


def _share(model: Model, percentage: int) -> int:
    return model.amount + 1 if percentage == 101 else model.amount * percentage // 100


def _any(states):
    """Precondition: some order is in one of `states`."""
    return lambda machine: any(model.state in states for model in machine.orders.values())


class EscrowMachine(RuleBasedStateMachine):
    def __init__(self, concord: Concord) -> None:
        super().__init__()
        self.concord = concord
        self.chain = concord.chain
        self.escrow = concord.escrow.functions
        self.token = concord.token.address
        self.snapshot = self.chain.tester.take_snapshot()
        self.orders = {order: Model() for order in ORDERS}
        self.credits = {name: 0 for name in WITHDRAWERS}

    def teardown(self) -> None:
        self.chain.tester.revert_to_snapshot(self.snapshot)

    # -- helpers --------------------------------------------------------------------------

    def _in(self, states, index: int) -> bytes:
        candidates = [order for order, model in self.orders.items() if model.state in states]
        return candidates[index % len(candidates)]

    def _send(self, function, sender: str, error: tuple | None):
        """Sends `function`: it must succeed when `error` is None (returning the receipt),
        and otherwise revert with exactly `error` (returning None)."""
        if error is None:
            return self.chain.transact(function, sender)
        name, *args = error
        with self.chain.reverts(name, *args):
            self.chain.transact(function, sender)
        return None

    def _check_state(self, order: bytes) -> None:
        escrow, model = struct(self.escrow.escrowOf(order)), self.orders[order]
        assert escrow["state"] == model.state
        assert escrow["carrier"] == (self.concord["carrier"] if model.has_carrier else ZERO_ADDRESS)

    def _not_found_or(self, order: bytes, wanted) -> tuple | None:
        """NotFound for an unfunded order, InvalidState outside `wanted`, else None."""
        state = self.orders[order].state
        if state == NONE:
            return ("DeliveryEscrowNotFound", order)
        if state not in wanted:
            return ("DeliveryEscrowInvalidState", order, int(state))
        return None

    def _settle(self, order: bytes, payee_amount: int, final: EscrowState) -> None:
        """The order closed: the payee side and the buyer are credited what the model says."""
        model = self.orders[order]
        recipient = "financier" if model.financed else "supplier"
        self.credits[recipient] += payee_amount
        self.credits["buyer"] += model.amount - payee_amount
        model.state = final
        self._check_state(order)
        for name in (recipient, "buyer"):
            assert self.escrow.owedTo(self.concord[name], self.token).call() == self.credits[name]

    # -- the operations, each predicting its outcome ---------------------------------------

    def _fund(self, order: bytes, amount: int, with_carrier: bool) -> None:
        model = self.orders[order]
        error = None if model.state == NONE else ("DeliveryEscrowAlreadyFunded", order)
        carrier = self.concord["carrier"] if with_carrier else ZERO_ADDRESS
        parties = (self.concord["supplier"], carrier, self.concord["arbiter"])
        if self._send(self.escrow.fund(order, *parties, self.token, amount), "buyer", error):
            model.state, model.amount, model.has_carrier = FUNDED, amount, with_carrier
            self._check_state(order)

    def _assign(self, order: bytes, by: str) -> None:
        model = self.orders[order]
        if model.state == NONE:
            error = ("DeliveryEscrowNotFound", order)
        elif by != "supplier":
            error = ("DeliveryEscrowCallerNotPayee", order, self.concord[by])
        elif model.state != FUNDED:
            error = ("DeliveryEscrowInvalidState", order, int(model.state))
        elif model.has_carrier:
            error = ("DeliveryEscrowCarrierAlreadyAssigned", order, self.concord["carrier"])
        else:
            error = None
        if self._send(self.escrow.assignCarrier(order, self.concord["carrier"]), by, error):
            model.has_carrier = True
            self._check_state(order)

    def _attest(self, order: bytes) -> None:
        model = self.orders[order]
        error = self._not_found_or(order, {FUNDED})
        if model.state != NONE and not model.has_carrier:
            error = ("DeliveryEscrowCarrierNotAssigned", order)
        receipt = self._send(self.escrow.attestDelivery(order, PROOF), "carrier", error)
        if receipt:
            model.state, model.delivered_at = DELIVERED, block_timestamp(self.chain, receipt)
            self._check_state(order)

    def _confirm(self, order: bytes, percentage: int) -> None:
        model = self.orders[order]
        accepted = _share(model, percentage)
        window_end = model.delivered_at + DISPUTE_WINDOW
        error = self._not_found_or(order, {DELIVERED})
        if error is None and self.chain.next_timestamp() >= window_end:
            error = ("DeliveryEscrowDisputeWindowClosed", order, window_end)
        if error is None and accepted > model.amount:
            error = ("DeliveryEscrowValueExceedsAmount", order, accepted, model.amount)
        receipt = self._send(self.escrow.confirmReceipt(order, accepted), "buyer", error)
        if receipt:
            model.state, model.accepted, model.confirmed_at = CONFIRMED, accepted, block_timestamp(self.chain, receipt)
            self._check_state(order)

    def _dispute(self, order: bytes, by: str) -> None:
        model = self.orders[order]
        window_end = model.delivered_at + DISPUTE_WINDOW
        if model.state == NONE:
            error = ("DeliveryEscrowNotFound", order)
        elif by not in ("buyer", "supplier"):
            error = ("DeliveryEscrowCallerNotParty", order, self.concord[by])
        else:
            error = self._not_found_or(order, {FUNDED, DELIVERED} | ({CONFIRMED} if by == "supplier" else set()))
            late = model.state == DELIVERED and by == "buyer" and self.chain.next_timestamp() >= window_end
            if error is None and late:
                error = ("DeliveryEscrowDisputeWindowClosed", order, window_end)
        if self._send(self.escrow.openDispute(order, b"\0" * 32), by, error):
            model.state = DISPUTED
            self._check_state(order)

    def _resolve(self, order: bytes, percentage: int) -> None:
        model = self.orders[order]
        payee_amount = _share(model, percentage)
        error = self._not_found_or(order, {DISPUTED})
        if error is None and payee_amount > model.amount:
            error = ("DeliveryEscrowValueExceedsAmount", order, payee_amount, model.amount)
        if self._send(self.escrow.resolveDispute(order, payee_amount), "arbiter", error):
            self._settle(order, payee_amount, EscrowState.RESOLVED)

    def _release(self, order: bytes, by: str) -> None:
        model = self.orders[order]
        now = self.chain.next_timestamp()
        error = self._not_found_or(order, {DELIVERED, CONFIRMED})
        if model.state == CONFIRMED:
            payee_amount, window_end = model.accepted, model.confirmed_at + DISPUTE_WINDOW
            waits = model.accepted != model.amount and by != "supplier" and now < window_end
        else:
            payee_amount, window_end = model.amount, model.delivered_at + DISPUTE_WINDOW
            waits = now < window_end
        if error is None and waits:
            error = ("DeliveryEscrowDisputeWindowOpen", order, window_end)
        if self._send(self.escrow.release(order), by, error):
            self._settle(order, payee_amount, EscrowState.RELEASED)

    def _finance(self, order: bytes) -> None:
        """The supplier registers the order's invoice and assigns it to the financier, who is
        paid instead of the supplier from then on."""
        model = self.orders[order]
        fingerprint = keccak(b"invoice:" + order)
        if model.financed:
            error = ("ReceivableRegistryAlreadyRegistered", fingerprint)
        elif model.state not in OPEN:
            error = ("ReceivableRegistryNotOrderPayee", order, self.concord["supplier"])
        else:
            error = None
        registry = self.concord.registry.functions
        if self._send(registry.register(fingerprint, order), "supplier", error):
            self.chain.transact(registry.assign(fingerprint, self.concord["financier"]), "supplier")
            model.financed = True
            assert registry.payeeOf(order).call() == self.concord["financier"]

    def _withdraw(self, who: str) -> None:
        account, credit = self.concord[who], self.credits[who]
        assert self.escrow.owedTo(account, self.token).call() == credit
        before = self.concord.token.functions.balanceOf(account).call()
        error = None if credit else ("DeliveryEscrowNothingToWithdraw", account, self.token)
        if self._send(self.escrow.withdraw(self.token), who, error):
            self.credits[who] = 0
            assert self.concord.token.functions.balanceOf(account).call() == before + credit

    # -- rules: possible steps -------------------------------------------------------------

    @initialize(amount=amounts, with_carrier=st.booleans())
    def first_order_is_funded(self, amount, with_carrier) -> None:
        assert self.escrow.liabilities(self.token).call() == 0
        self._fund(ORDERS[0], amount, with_carrier)

    @precondition(_any({NONE}))
    @rule(index=indexes, amount=amounts, with_carrier=st.booleans())
    def fund(self, index, amount, with_carrier):
        self._fund(self._in({NONE}, index), amount, with_carrier)

    @precondition(lambda machine: any(model.state == FUNDED and not model.has_carrier for model in machine.orders.values()))
    @rule(index=indexes)
    def assign_carrier(self, index):
        candidates = [order for order, model in self.orders.items() if model.state == FUNDED and not model.has_carrier]
        self._assign(candidates[index % len(candidates)], "supplier")

    @precondition(_any({FUNDED}))
    @rule(index=indexes)
    def attest_delivery(self, index):
        self._attest(self._in({FUNDED}, index))

    @precondition(_any({DELIVERED}))
    @rule(index=indexes, percentage=percent)
    def confirm_receipt(self, index, percentage):
        self._confirm(self._in({DELIVERED}, index), percentage)

    @precondition(_any({FUNDED, DELIVERED, CONFIRMED}))
    @rule(index=indexes, by=st.sampled_from(["buyer", "supplier"]))
    def open_dispute(self, index, by):
        self._dispute(self._in({FUNDED, DELIVERED, CONFIRMED}, index), by)

    @precondition(_any({DISPUTED}))
    @rule(index=indexes, percentage=percent)
    def resolve_dispute(self, index, percentage):
        self._resolve(self._in({DISPUTED}, index), percentage)

    @precondition(_any({DELIVERED, CONFIRMED}))
    @rule(index=indexes, by=st.sampled_from(["keeper", "supplier", "buyer"]))
    def release(self, index, by):
        self._release(self._in({DELIVERED, CONFIRMED}, index), by)

    @precondition(_any({DELIVERED}))
    @rule(index=indexes)
    def auto_release_after_the_window(self, index):
        """Time travels past the buyer's window after delivery; then anyone releases it all."""
        order = self._in({DELIVERED}, index)
        window_end = self.orders[order].delivered_at + DISPUTE_WINDOW
        if self.chain.next_timestamp() < window_end:
            self.chain.travel_to(window_end)
        self._release(order, "keeper")
        assert self.orders[order].state == EscrowState.RELEASED

    @precondition(lambda machine: any(model.state in OPEN and not model.financed for model in machine.orders.values()))
    @rule(index=indexes)
    def finance_the_receivable(self, index):
        candidates = [order for order, model in self.orders.items() if model.state in OPEN and not model.financed]
        self._finance(candidates[index % len(candidates)])

    @precondition(lambda machine: any(machine.credits.values()))
    @rule(index=st.integers(min_value=0, max_value=len(WITHDRAWERS) - 1))
    def withdraw(self, index):
        owed = [name for name in WITHDRAWERS if self.credits[name]]
        self._withdraw(owed[index % len(owed)])

    @rule(seconds=st.sampled_from([1, 60 * 60, 24 * 60 * 60, DISPUTE_WINDOW - 1, DISPUTE_WINDOW, 2 * DISPUTE_WINDOW]))
    def time_passes(self, seconds):
        self.chain.advance(seconds)

    @precondition(_any({DELIVERED, CONFIRMED}))
    @rule(index=indexes, offset=st.sampled_from([-1, 0]))
    def time_reaches_a_window_end(self, index, offset):
        """The next step happens on the last second of an order's window, or its first after."""
        model = self.orders[self._in({DELIVERED, CONFIRMED}, index)]
        since = model.delivered_at if model.state == DELIVERED else model.confirmed_at
        target = since + DISPUTE_WINDOW + offset
        if self.chain.next_timestamp() < target:
            self.chain.travel_to(target)

    # -- rule: any step on any order -------------------------------------------------------

    @rule(
        action=st.sampled_from(["fund", "assign", "attest", "confirm", "dispute", "resolve", "release", "finance", "withdraw"]),
        index=indexes,
        amount=amounts,
        percentage=percent,
        by=st.sampled_from(["buyer", "supplier", "keeper"]),
        with_carrier=st.booleans(),
    )
    def any_step(self, action, index, amount, percentage, by, with_carrier):
        order = ORDERS[index]
        if action == "fund":
            self._fund(order, amount, with_carrier)
        elif action == "assign":
            self._assign(order, by)
        elif action == "attest":
            self._attest(order)
        elif action == "confirm":
            self._confirm(order, percentage)
        elif action == "dispute":
            self._dispute(order, by)
        elif action == "resolve":
            self._resolve(order, percentage)
        elif action == "release":
            self._release(order, by)
        elif action == "finance":
            self._finance(order)
        else:
            self._withdraw(WITHDRAWERS[index % len(WITHDRAWERS)])

    # -- the invariant --------------------------------------------------------------------

    @invariant()
    def the_escrow_holds_exactly_what_it_owes(self):
        held = sum(model.amount for model in self.orders.values() if model.state in OPEN)
        owed = held + sum(self.credits.values())
        assert self.concord.token.functions.balanceOf(self.concord.escrow.address).call() == owed
        assert self.escrow.liabilities(self.token).call() == owed


def test_escrow_balance_always_equals_what_it_owes(concord):
    run_state_machine_as_test(
        lambda: EscrowMachine(concord),
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            # Every step is an EVM transaction: shrinking a failure would take minutes, so a
            # failure is reported as found (at most 30 steps, each printed).
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
