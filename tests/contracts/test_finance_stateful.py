"""Money is conserved through escrow, receivable, offer and settlement (hypothesis state machine).

The machine drives DeliveryEscrow, ReceivableRegistry and ReceivableExchange together:
escrows funded, delivered, received in full or in part, disputed and split by the arbiter,
released; receivables registered (escrowed and open account), acknowledged, offered to two
financiers, offers withdrawn and accepted (advance paid), open-account receivables paid in
full or reduced, escrow credits withdrawn, and the exchange's waterfall settled. A model
predicts every step's outcome and what each account's worth (its tokens plus what the
escrow owes it) becomes; after every step the chain must agree, to the token unit:

- the token's supply never changes and the accounts and contracts hold all of it;
- every account's worth is what the model says, and the escrow holds exactly what it owes
  (open escrows plus credits), the registry and the exchange nothing;
- per receivable, what the buyer paid equals what sits in its escrow plus what supplier and
  financiers received; once settled, the buyer paid the amount the registry records, the
  financier kept min(paid, claim) less its advance and the supplier the advance plus the rest;
- no receivable is financed twice and no fingerprint registered twice (the attempts are made
  and must be refused).

Every sequence starts from a prepared state (`_prepare`: receivables at each stage of the
flow, offers open, some financed) so that short sequences reach settlement; steps run on
the py-evm state directly (tests/contracts/direct_evm.py), so that 1,000 sequences of six
steps take about 75 s of one core.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import partial

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.contracts.chain import DISPUTE_WINDOW, UNIT, Concord, EscrowState, Reverted, order_id, org_id
from tests.contracts.direct_evm import Call, DirectEVM

NONE, FUNDED, DELIVERED, CONFIRMED, DISPUTED, RELEASED, RESOLVED = EscrowState
OPEN = frozenset({FUNDED, DELIVERED, CONFIRMED, DISPUTED})
PROOF = b"\x01" * 32
DAY = 24 * 60 * 60
OFFER_VALIDITY = 10 * DAY
PEOPLE = ("buyer", "buyer2", "supplier", "supplier2", "financier", "financier2")
FINANCIERS = ("financier", "financier2")
CONTRACTS = ("escrow", "registry", "exchange")
FINANCIER_FUNDS = 10_000_000 * UNIT

# Offer states of IReceivableExchange.OfferState.
OFFER_OPEN, OFFER_WITHDRAWN, OFFER_ACCEPTED, OFFER_SETTLED = 1, 2, 3, 4

indexes = st.integers(min_value=0, max_value=11)  # picks among the candidates (modulo their number)
percent = st.integers(min_value=0, max_value=100)


@dataclass
class Receivable:
    """One invoice's order: escrowed (the escrow pays the holder) or on open account."""

    name: str
    escrowed: bool
    amount: int
    debtor: str
    supplier: str
    fingerprint: bytes = b""
    escrow: EscrowState = NONE
    delivered_at: int = 0
    confirmed_at: int = 0
    accepted_value: int = 0
    registered: bool = False
    acknowledged: bool = False
    settled: bool = False
    amount_paid: int = 0
    holder: str = ""
    #: Net worth each account gained (or lost) through this receivable, as the chain showed it.
    flows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PEOPLE, 0))

    @property
    def order(self) -> bytes:
        return order_id(f"finance-{self.name}")

    @property
    def held(self) -> int:
        return self.amount if self.escrow in OPEN else 0

    @property
    def verified(self) -> bool:
        if not self.registered or self.settled:
            return False
        return self.escrow == CONFIRMED if self.escrowed else self.acknowledged


@dataclass
class Offer:
    receivable: str
    financier: str
    advance: int
    claim: int
    expires_at: int
    id: bytes
    state: int = OFFER_OPEN
    financier_share: int = 0
    supplier_share: int = 0


@dataclass
class Books:
    """The model: receivables, offers and every account's worth and escrow credit."""

    receivables: dict[str, Receivable]
    offers: dict[bytes, Offer] = field(default_factory=dict)
    worth: dict[str, int] = field(default_factory=dict)
    credits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PEOPLE, 0))


def _receivables() -> dict[str, Receivable]:
    escrowed = [
        Receivable(name, True, amount, "buyer", "supplier")
        for name, amount in (("a", 120 * UNIT), ("b", 75 * UNIT), ("c", 333 * UNIT), ("d", 0), ("e", 250 * UNIT + 7), ("f", 64 * UNIT))
    ]
    open_account = [Receivable(name, False, amount, "buyer2", "supplier2") for name, amount in (("r", 480 * UNIT), ("s", 90 * UNIT + 1), ("t", 42 * UNIT))]
    return {receivable.name: receivable for receivable in escrowed + open_account}


@dataclass
class Slots:
    """Where the token and the escrow keep their books (found by `_locate`)."""

    balances: int
    total_supply: int
    owed: int
    liabilities: int


class Ledger:
    """Runs each operation on chain, predicting its outcome and its effect on the books."""

    def __init__(self, concord: Concord, evm: DirectEVM, books: Books, slots: Slots) -> None:
        self.concord, self.evm, self.books = concord, evm, books
        self.escrow = partial(evm.function, concord.escrow)
        self.registry = partial(evm.function, concord.registry)
        self.exchange = partial(evm.function, concord.exchange)
        self.token = concord.token
        token = concord.token.address
        holders = {name: concord[name] for name in PEOPLE} | {name: getattr(concord, name).address for name in CONTRACTS}
        self.balance = {name: evm.reader(concord.token, slots.balances, address) for name, address in holders.items()}
        self.owed = {name: evm.reader(concord.escrow, slots.owed, concord[name], token) for name in PEOPLE}
        self.total_supply = evm.reader(concord.token, slots.total_supply)
        self.liabilities = evm.reader(concord.escrow, slots.liabilities, token)
        self.supply = self.total_supply()

    # -- reading the chain ------------------------------------------------------------------

    def chain_worth(self) -> dict[str, int]:
        return {name: self.balance[name]() + self.owed[name]() for name in PEOPLE}

    # -- sending ----------------------------------------------------------------------------

    def send(self, function: Call, sender: str, error: tuple | None = None) -> bool:
        """Sends `function`: it must succeed when `error` is None; otherwise it must revert
        with exactly that custom error (name and arguments)."""
        if error is None:
            self.evm.transact(function, sender)
            return True
        name, *args = error
        with pytest.raises(Reverted) as raised:
            self.evm.transact(function, sender)
        expected = self.concord.chain.error_data(name, *args)
        assert raised.value.data == expected, f"expected {name}{args}, got {self.concord.chain.describe(raised.value.data)}"
        return False

    def moving(self, receivable: Receivable, function: Call, sender: str, deltas: dict[str, int]) -> None:
        """Sends `function` (which must succeed) and checks that each account's worth moved by
        exactly `deltas` from what the books said (which the chain showed after the last
        step); the moves are booked to `receivable`."""
        self.send(function, sender)
        after = self.chain_worth()
        moved = {name: after[name] - self.books.worth[name] for name in PEOPLE}
        assert moved == {name: deltas.get(name, 0) for name in PEOPLE}, (receivable.name, moved, deltas)
        for name, delta in moved.items():
            receivable.flows[name] += delta
        self.books.worth = after

    # -- escrow -----------------------------------------------------------------------------

    def fund(self, receivable: Receivable, amount: int) -> None:
        parties = (self.concord["supplier"], self.concord["carrier"], self.concord["arbiter"], self.token.address)
        self.moving(receivable, self.escrow("fund", receivable.order, *parties, amount), receivable.debtor, {receivable.debtor: -amount})
        receivable.escrow, receivable.amount = FUNDED, amount

    def attest(self, receivable: Receivable) -> None:
        self.send(self.escrow("attestDelivery", receivable.order, PROOF), "carrier")
        receivable.escrow, receivable.delivered_at = DELIVERED, self.evm.now

    def confirm(self, receivable: Receivable, accepted: int) -> None:
        self.send(self.escrow("confirmReceipt", receivable.order, accepted), receivable.debtor)
        receivable.escrow, receivable.accepted_value, receivable.confirmed_at = CONFIRMED, accepted, self.evm.now

    def dispute(self, receivable: Receivable, by: str) -> None:
        self.send(self.escrow("openDispute", receivable.order, b"\0" * 32), by)
        receivable.escrow = DISPUTED

    def close_escrow(self, receivable: Receivable, function, sender: str, payee_amount: int, final: EscrowState) -> None:
        """Release or resolution: the holder (or the supplier) is credited `payee_amount`,
        the buyer the rest, and a registered receivable is settled for `payee_amount`."""
        recipient = receivable.holder if receivable.registered else receivable.supplier
        refund = receivable.amount - payee_amount
        deltas = {recipient: payee_amount}
        deltas[receivable.debtor] = deltas.get(receivable.debtor, 0) + refund
        self.moving(receivable, function, sender, deltas)
        self.books.credits[recipient] += payee_amount
        self.books.credits[receivable.debtor] += refund
        receivable.escrow, receivable.accepted_value = final, payee_amount
        if receivable.registered:
            receivable.settled, receivable.amount_paid = True, payee_amount

    def withdraw(self, name: str) -> None:
        before = self.balance[name]()
        self.send(self.escrow("withdraw", self.token.address), name)
        assert self.balance[name]() == before + self.books.credits[name]
        self.books.credits[name] = 0

    # -- registry ---------------------------------------------------------------------------

    def register(self, receivable: Receivable) -> None:
        if receivable.escrowed:
            function = self.registry("register", receivable.fingerprint, receivable.order)
        else:
            debtor = self.concord[receivable.debtor]
            function = self.registry("registerOpenAccount", receivable.fingerprint, receivable.order, debtor, self.token.address, receivable.amount, 0)
        self.send(function, receivable.supplier)
        receivable.registered, receivable.holder = True, receivable.supplier

    def acknowledge(self, receivable: Receivable) -> None:
        self.send(self.registry("acknowledge", receivable.fingerprint), receivable.debtor)
        receivable.acknowledged = True

    def pay(self, receivable: Receivable, amount: int) -> None:
        function = self.registry("pay", receivable.fingerprint, amount)
        self.moving(receivable, function, receivable.debtor, {receivable.debtor: -amount, receivable.holder: amount})
        receivable.settled, receivable.amount_paid = True, amount

    # -- exchange ---------------------------------------------------------------------------

    def offer(self, receivable: Receivable, financier: str, advance_percent: int, claim_percent: int) -> Offer:
        claim = max(1, receivable.amount * claim_percent // 100)
        advance = max(1, claim * advance_percent // 100)
        offer_id = order_id(f"offer-{len(self.books.offers)}")
        made = Offer(receivable.name, financier, advance, claim, self.evm.now + OFFER_VALIDITY, offer_id)
        self.send(self.exchange("offer", made.id, receivable.fingerprint, advance, claim, made.expires_at), financier)
        self.books.offers[made.id] = made
        return made

    def withdraw_offer(self, made: Offer) -> None:
        self.send(self.exchange("withdrawOffer", made.id), made.financier)
        made.state = OFFER_WITHDRAWN

    def accept(self, made: Offer) -> None:
        """The supplier approves the exchange for the receivable and accepts: the receivable
        goes to the financier and the advance to the supplier, in one transaction."""
        receivable = self.books.receivables[made.receivable]
        self.send(self.registry("approve", receivable.fingerprint, self.concord.exchange.address), receivable.holder)
        deltas = {made.financier: -made.advance, receivable.holder: made.advance}
        self.moving(receivable, self.exchange("accept", made.id), receivable.holder, deltas)
        made.state, receivable.holder = OFFER_ACCEPTED, made.financier

    def settle(self, made: Offer) -> None:
        receivable = self.books.receivables[made.receivable]
        financier_share = min(receivable.amount_paid, made.claim)
        supplier_share = receivable.amount_paid - financier_share
        deltas = {made.financier: -supplier_share, receivable.supplier: supplier_share}
        self.moving(receivable, self.exchange("settle", made.id), "keeper", deltas)
        made.state, made.financier_share, made.supplier_share = OFFER_SETTLED, financier_share, supplier_share
        event("waterfall settled")
        settled = self.evm.call(self.exchange("offerOf", made.id))
        assert settled[4] == OFFER_SETTLED
        assert settled[8:] == (receivable.amount_paid, financier_share, supplier_share)


def _locate(concord: Concord, evm: DirectEVM) -> Slots:
    """The storage slots of the token's balances and supply and of the escrow's credits and
    liabilities, found against their views on a throwaway escrow released in part."""
    token, escrow = partial(evm.function, concord.token), partial(evm.function, concord.escrow)
    calibration, address = order_id("finance-calibration"), concord.token.address
    before = evm.snapshot()
    evm.transact(escrow("fund", calibration, concord["supplier"], concord["carrier"], concord["arbiter"], address, 10 * UNIT), "buyer")
    evm.transact(escrow("attestDelivery", calibration, PROOF), "carrier")
    evm.transact(escrow("confirmReceipt", calibration, 4 * UNIT), "buyer")
    evm.transact(escrow("release", calibration), "supplier")
    slots = Slots(
        balances=evm.find_mapping_slot(concord.token, (concord["buyer"],), evm.call(token("balanceOf", concord["buyer"]))),
        total_supply=evm.find_slot(concord.token, evm.call(token("totalSupply"))),
        owed=evm.find_mapping_slot(concord.escrow, (concord["supplier"], address), evm.call(escrow("owedTo", concord["supplier"], address))),
        liabilities=evm.find_mapping_slot(concord.escrow, (address,), evm.call(escrow("liabilities", address))),
    )
    evm.revert(before)
    return slots


def _prepare(concord: Concord, evm: DirectEVM) -> Ledger:
    """Financiers funded and approving the exchange, debtors approving the registry, and
    receivables brought to every stage of the flow, so that short sequences go deep: escrow
    A confirmed, registered, with two offers; B delivered and registered; C funded; D not
    yet; E confirmed in full and F in part, both financed; open-account R acknowledged with
    an offer, S not registered, T financed."""
    token = partial(evm.function, concord.token)
    for financier in FINANCIERS:
        evm.transact(token("mint", concord[financier], FINANCIER_FUNDS))
        evm.transact(token("approve", concord.exchange.address, 2**256 - 1), financier)
    for debtor in ("buyer", "buyer2"):
        evm.transact(token("approve", concord.registry.address, 2**256 - 1), debtor)
    books = Books(receivables=_receivables())
    ledger = Ledger(concord, evm, books, _locate(concord, evm))
    books.worth = ledger.chain_worth()
    for receivable in books.receivables.values():
        issuer, debtor = org_id(receivable.supplier), org_id(receivable.debtor)
        fingerprint = ledger.registry("fingerprint", issuer, debtor, f"INV-{receivable.name}", receivable.amount, "EUR", 0)
        receivable.fingerprint = evm.call(fingerprint)

    a, b, c, e, f, r, t = (books.receivables[name] for name in "abcefrt")
    for receivable in (a, b, c, e, f):
        ledger.fund(receivable, receivable.amount)
    for receivable in (a, b, e, f):
        ledger.attest(receivable)
        ledger.register(receivable)
    for receivable, accepted in ((a, a.amount), (e, e.amount), (f, f.amount * 80 // 100)):
        ledger.confirm(receivable, accepted)
    ledger.offer(a, "financier", 90, 98)
    ledger.offer(a, "financier2", 85, 97)
    for receivable in (r, t):
        ledger.register(receivable)
        ledger.acknowledge(receivable)
    ledger.offer(r, "financier", 80, 99)
    ledger.accept(ledger.offer(e, "financier", 90, 98))
    ledger.accept(ledger.offer(f, "financier2", 95, 100))  # its claim exceeds what the escrow will pay
    ledger.accept(ledger.offer(t, "financier2", 70, 90))
    return ledger


@pytest.fixture(scope="module")
def prepared(concord):
    evm = DirectEVM.on(concord.chain)
    base = evm.snapshot()
    ledger = _prepare(concord, evm)
    yield ledger, copy.deepcopy(ledger.books)
    evm.revert(base)


def _some(condition):
    """Precondition: some receivable satisfies `condition`."""
    return lambda machine: any(condition(receivable) for receivable in machine.books.receivables.values())


class FinanceMachine(RuleBasedStateMachine):
    def __init__(self, ledger: Ledger, books: Books) -> None:
        super().__init__()
        self.ledger, self.evm, self.concord = ledger, ledger.evm, ledger.concord
        ledger.books = self.books = copy.deepcopy(books)
        self.snapshot = self.evm.snapshot()

    def teardown(self) -> None:
        self.evm.revert(self.snapshot)

    # -- choosing ---------------------------------------------------------------------------

    def _pick(self, condition, index: int) -> Receivable:
        candidates = [receivable for receivable in self.books.receivables.values() if condition(receivable)]
        return candidates[index % len(candidates)]

    def _offers(self, condition) -> list[Offer]:
        return [made for made in self.books.offers.values() if condition(made, self.books.receivables[made.receivable])]

    @staticmethod
    def _acceptable(made: Offer, receivable: Receivable, now: int) -> bool:
        return made.state == OFFER_OPEN and receivable.verified and receivable.holder == receivable.supplier and now < made.expires_at

    def _then_settle(self, receivable: Receivable, settle_now: bool) -> None:
        """When `settle_now`, the waterfall of a financed receivable just paid is settled in
        the same step, after the books are checked as the payment left them (a separate rule
        settles later ones: a chain of three rules would be rare in short sequences)."""
        financed = [made for made in self.books.offers.values() if made.receivable == receivable.name and made.state == OFFER_ACCEPTED]
        if settle_now and financed and receivable.settled:
            self.money_is_conserved()
            self.each_receivable_pays_out_what_its_buyer_paid()
            if receivable.escrowed and self.books.credits[financed[0].financier]:
                self.ledger.withdraw(financed[0].financier)  # as the platform does before settling
            self.ledger.settle(financed[0])

    # -- escrow -----------------------------------------------------------------------------

    @precondition(_some(lambda r: r.escrowed and r.escrow == NONE))
    @rule(index=indexes, amount=st.integers(min_value=1, max_value=1_000 * UNIT))
    def fund(self, index, amount):
        self.ledger.fund(self._pick(lambda r: r.escrowed and r.escrow == NONE, index), amount)

    @precondition(_some(lambda r: r.escrow == FUNDED))
    @rule(index=indexes)
    def attest_delivery(self, index):
        self.ledger.attest(self._pick(lambda r: r.escrow == FUNDED, index))

    @precondition(_some(lambda r: r.escrow == DELIVERED))
    @rule(index=indexes, percentage=st.sampled_from([100, 100, 99, 50, 1, 0]))
    def confirm_receipt(self, index, percentage):
        """The buyer accepts all or part of the delivery (within its window)."""
        receivable = self._pick(lambda r: r.escrow == DELIVERED, index)
        if self.evm.now >= receivable.delivered_at + DISPUTE_WINDOW:
            window_end = receivable.delivered_at + DISPUTE_WINDOW
            error = ("DeliveryEscrowDisputeWindowClosed", receivable.order, window_end)
            self.ledger.send(self.ledger.escrow("confirmReceipt", receivable.order, 0), receivable.debtor, error)
            return
        self.ledger.confirm(receivable, receivable.amount * percentage // 100)

    @precondition(_some(lambda r: r.escrow in {FUNDED, DELIVERED, CONFIRMED}))
    @rule(index=indexes)
    def open_dispute(self, index):
        receivable = self._pick(lambda r: r.escrow in {FUNDED, DELIVERED, CONFIRMED}, index)
        self.ledger.dispute(receivable, "supplier")

    @precondition(_some(lambda r: r.escrow == DISPUTED))
    @rule(index=indexes, percentage=percent, settle_now=st.booleans())
    def arbiter_splits(self, index, percentage, settle_now):
        receivable = self._pick(lambda r: r.escrow == DISPUTED, index)
        payee_amount = receivable.amount * percentage // 100
        function = self.ledger.escrow("resolveDispute", receivable.order, payee_amount)
        self.ledger.close_escrow(receivable, function, "arbiter", payee_amount, RESOLVED)
        self._then_settle(receivable, settle_now)

    @precondition(_some(lambda r: r.escrow in {DELIVERED, CONFIRMED}))
    @rule(index=indexes, settle_now=st.booleans())
    def release(self, index, settle_now):
        """The payee releases a confirmed escrow; a delivered one is released by anyone once
        the buyer's window is over (time travels there)."""
        receivable = self._pick(lambda r: r.escrow in {DELIVERED, CONFIRMED}, index)
        if receivable.escrow == CONFIRMED:
            payee_amount, sender = receivable.accepted_value, "supplier"
        else:
            self.evm.travel_to(max(self.evm.now, receivable.delivered_at + DISPUTE_WINDOW))
            payee_amount, sender = receivable.amount, "keeper"
        function = self.ledger.escrow("release", receivable.order)
        self.ledger.close_escrow(receivable, function, sender, payee_amount, RELEASED)
        self._then_settle(receivable, settle_now)

    @precondition(lambda machine: any(machine.books.credits.values()))
    @rule(index=indexes)
    def withdraw_from_escrow(self, index):
        owed = [name for name in PEOPLE if self.books.credits[name]]
        self.ledger.withdraw(owed[index % len(owed)])

    # -- registry ---------------------------------------------------------------------------

    @precondition(_some(lambda r: not r.registered and (r.escrow in OPEN if r.escrowed else True)))
    @rule(index=indexes)
    def register(self, index):
        self.ledger.register(self._pick(lambda r: not r.registered and (r.escrow in OPEN if r.escrowed else True), index))

    @precondition(_some(lambda r: r.registered and not r.escrowed and not r.acknowledged))
    @rule(index=indexes)
    def acknowledge(self, index):
        self.ledger.acknowledge(self._pick(lambda r: r.registered and not r.escrowed and not r.acknowledged, index))

    @precondition(_some(lambda r: r.acknowledged and not r.settled))
    @rule(index=indexes, percentage=st.sampled_from([100, 100, 100, 90, 37, 1]), settle_now=st.booleans())
    def debtor_pays(self, index, percentage, settle_now):
        """The debtor pays an open-account receivable, in full or reduced, to its holder."""
        receivable = self._pick(lambda r: r.acknowledged and not r.settled, index)
        self.ledger.pay(receivable, max(1, receivable.amount * percentage // 100))
        self._then_settle(receivable, settle_now)

    # -- exchange ---------------------------------------------------------------------------

    @precondition(_some(lambda r: r.verified))
    @rule(
        index=indexes,
        financier=st.sampled_from(FINANCIERS),
        advance=st.integers(min_value=1, max_value=100),
        claim=st.integers(min_value=1, max_value=110),
    )
    def make_offer(self, index, financier, advance, claim):
        receivable = self._pick(lambda r: r.verified, index)
        if receivable.holder == financier:
            function = self.ledger.exchange("offer", order_id("offer-by-holder"), receivable.fingerprint, 1, 1, self.evm.now + DAY)
            self.ledger.send(function, financier, ("ReceivableExchangeFinancierIsHolder", receivable.fingerprint))
            return
        self.ledger.offer(receivable, financier, advance, claim)

    @precondition(lambda machine: any(made.state == OFFER_OPEN for made in machine.books.offers.values()))
    @rule(index=indexes)
    def withdraw_offer(self, index):
        open_offers = self._offers(lambda made, _: made.state == OFFER_OPEN)
        self.ledger.withdraw_offer(open_offers[index % len(open_offers)])

    @precondition(lambda machine: machine._offers(lambda made, r: FinanceMachine._acceptable(made, r, machine.evm.now)))
    @rule(index=indexes)
    def accept_offer(self, index):
        acceptable = self._offers(lambda made, r: self._acceptable(made, r, self.evm.now))
        self.ledger.accept(acceptable[index % len(acceptable)])

    @precondition(lambda machine: machine._offers(lambda made, r: made.state == OFFER_ACCEPTED and r.settled))
    @rule(index=indexes)
    def settle(self, index):
        due = self._offers(lambda made, r: made.state == OFFER_ACCEPTED and r.settled)
        self.ledger.settle(due[index % len(due)])

    @rule(seconds=st.sampled_from([60, DAY, DISPUTE_WINDOW, OFFER_VALIDITY]))
    def time_passes(self, seconds):
        self.evm.travel_to(self.evm.now + seconds)

    # -- what must be refused ---------------------------------------------------------------

    @precondition(_some(lambda r: r.registered))
    @rule(index=indexes, other_order=st.booleans())
    def register_again(self, index, other_order):
        """The same fingerprint again (for another order, or by the other supplier on its
        own order) is refused; so is a second invoice for an order already registered."""
        receivable = self._pick(lambda r: r.registered, index)
        if other_order:
            order = order_id(f"another-{receivable.name}")
            function = self.ledger.registry("registerOpenAccount", receivable.fingerprint, order, self.concord["buyer"], self.concord.token.address, 1, 0)
            self.ledger.send(function, "supplier2", ("ReceivableRegistryAlreadyRegistered", receivable.fingerprint))
        else:
            fingerprint = order_id(f"another-invoice-{receivable.name}")
            function = self.ledger.registry("register", fingerprint, receivable.order)
            error = ("ReceivableRegistryOrderAlreadyLinked", receivable.order, receivable.fingerprint)
            self.ledger.send(function, receivable.supplier, error)

    @precondition(lambda machine: machine._offers(lambda made, r: made.state == OFFER_OPEN and r.holder != r.supplier))
    @rule(index=indexes)
    def finance_again(self, index):
        """Once a receivable is financed, the supplier cannot accept another offer on it."""
        offers = self._offers(lambda made, r: made.state == OFFER_OPEN and r.holder != r.supplier)
        made = offers[index % len(offers)]
        receivable = self.books.receivables[made.receivable]
        if self.evm.now >= made.expires_at:
            error = ("ReceivableExchangeOfferExpired", made.id, made.expires_at)
        else:
            error = ("ReceivableExchangeCallerNotHolder", receivable.fingerprint, self.concord[receivable.supplier])
        self.ledger.send(self.ledger.exchange("accept", made.id), receivable.supplier, error)

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def money_is_conserved(self):
        ledger = self.ledger
        balances = {name: read() for name, read in ledger.balance.items()}
        owed = {name: read() for name, read in ledger.owed.items()}
        held = sum(receivable.held for receivable in self.books.receivables.values())
        assert owed == self.books.credits
        assert {name: balances[name] + owed[name] for name in PEOPLE} == self.books.worth
        # The escrow holds exactly what it owes, the registry and the exchange nothing, and
        # the supply, unchanged, is all with the people and the escrow.
        assert balances["escrow"] == ledger.liabilities() == held + sum(owed.values())
        assert balances["registry"] == balances["exchange"] == 0
        assert sum(balances.values()) == ledger.total_supply() == ledger.supply

    @invariant()
    def each_receivable_pays_out_what_its_buyer_paid(self):
        accepted: dict[str, list[Offer]] = {}
        for made in self.books.offers.values():
            if made.state in (OFFER_ACCEPTED, OFFER_SETTLED):
                accepted.setdefault(made.receivable, []).append(made)
        for receivable in self.books.receivables.values():
            flows = receivable.flows
            paid = -flows[receivable.debtor]
            received = flows[receivable.supplier] + sum(flows[name] for name in FINANCIERS)
            assert paid == receivable.held + received, receivable
            financings = accepted.get(receivable.name, [])
            assert len(financings) <= 1, f"{receivable.name} financed {len(financings)} times"
            if receivable.settled:
                assert paid == receivable.amount_paid <= receivable.amount
            if not financings:
                assert all(flows[name] == 0 for name in FINANCIERS)
                continue
            made = financings[0]
            if made.state == OFFER_SETTLED:
                assert made.financier_share <= made.claim
                assert made.financier_share + made.supplier_share == paid
                assert flows[receivable.supplier] == made.advance + made.supplier_share
                assert flows[made.financier] == made.financier_share - made.advance


MAX_EXAMPLES = 1_000  # distinct sequences (hypothesis never runs the same one twice)


def test_money_is_conserved_through_financing_and_settlement(prepared):
    ledger, books = prepared
    run_state_machine_as_test(
        lambda: FinanceMachine(ledger, books),
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            # A failure is reported as found: shrinking EVM sequences would take minutes.
            phases=[Phase.explicit, Phase.generate],
        ),
    )
