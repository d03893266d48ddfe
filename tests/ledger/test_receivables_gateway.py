"""The receivables gateway (concord.ledger.receivables): each verb queues its intents in the
caller's transaction, the real outbox worker sends them to the test app's embedded chain,
and the registry and the exchange hold what the verbs meant; confirmations and refusals
reach finance's handler as `ReceivableStep`s."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from concord import wiring
from concord.errors import Conflict
from concord.finance.models import FinancingOffer, Invoice, InvoiceKind, InvoiceState, OfferState, Receivable, ReceivableState, Settlement
from concord.finance.queries import committed_besides
from concord.ledger import escrow as escrow_gateway
from concord.ledger import outbox, runtime
from concord.ledger import receivables as gateway
from concord.ledger import service as ledger_service
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import IntentState
from concord.ledger.receivables import ReceivableStep

from tests import orders_factory
from tests.factories import world_in
from tests.ledger_helpers import contract, settle

UNIT = 10**6
NOTHING = Decimal(0)  # no other open offer of the financier's to keep covering
FINANCIER_FUNDS = Decimal("10000")


@pytest.fixture
def world(session, funded_world):
    return world_in(session, funded_world.ids)


@pytest.fixture
def worker(app, world, session):
    """A worker of the app's chain; the financier holds 10,000 EUR for advances."""
    chain_worker = outbox.Worker(app, runtime.chain(app), receipt_timeout=0)
    ledger_service.mint(session, world.operator.principal, world.financier.org.id, "EUR", FINANCIER_FUNDS)
    settle(app, chain_worker)
    return chain_worker


@pytest.fixture
def steps(worker, monkeypatch, app):
    """Every (subject, step, state) finance's handler is told, in order."""
    told: list[tuple[str, uuid.UUID, ReceivableStep, str]] = []

    def handler(_session, subject_type, subject_id, step, intent):
        told.append((subject_type, subject_id, step, str(intent.state)))

    worker.on_confirmed.append(gateway.on_step(handler))
    monkeypatch.setattr(wiring.of(app), "on_failed", [gateway.on_refused(handler)])
    return told


def balance(app, worker, member) -> int:
    return contract(app, worker, "SettlementToken.EUR").functions.balanceOf(member.signing_address(app)).call()


def invoice_and_receivable(session, world, order, *, escrowed: bool, amount: Decimal, number: str | None = None) -> Receivable:
    due = date.today() + timedelta(days=30)
    number = number or f"INV-{uuid.uuid4().hex[:8]}"
    invoice = Invoice(
        kind=InvoiceKind.INVOICE,
        number=number,
        supplier_org_id=world.supplier.org.id,
        buyer_org_id=world.buyer.org.id,
        order_id=order.id,
        currency="EUR",
        issue_date=date.today(),
        due_date=due,
        settlement=Settlement.ESCROW if escrowed else Settlement.OPEN_ACCOUNT,
        net_days=30,
        subtotal=amount,
        tax_total=Decimal("0.00"),
        total=amount,
        state=InvoiceState.APPROVED,
        created_by=world.supplier.admin.id,
    )
    session.add(invoice)
    session.flush()
    chain_id, registry = gateway.registry_address(session)
    fp = gateway.fingerprint_of(
        session,
        supplier_org_id=world.supplier.org.id,
        buyer_org_id=world.buyer.org.id,
        invoice_number=number,
        amount=amount,
        currency="EUR",
        due_date=due,
    )
    receivable = Receivable(
        invoice_id=invoice.id,
        order_id=order.id,
        supplier_org_id=world.supplier.org.id,
        buyer_org_id=world.buyer.org.id,
        holder_org_id=world.supplier.org.id,
        fingerprint=fp,
        chain_id=chain_id,
        registry_address=registry,
        escrowed=escrowed,
        amount=amount,
        currency="EUR",
        due_date=due,
        state=ReceivableState.REGISTERING,
    )
    session.add(receivable)
    session.flush()
    return receivable


def offer_for(session, world, receivable, *, advance: Decimal, claim: Decimal) -> FinancingOffer:
    now = datetime.now(UTC)
    offer = FinancingOffer(
        receivable_id=receivable.id,
        supplier_org_id=world.supplier.org.id,
        financier_org_id=world.financier.org.id,
        state=OfferState.OFFERED,
        requested_by=world.supplier.admin.id,
        requested_at=now,
        advance=advance,
        claim=claim,
        valid_until=now + timedelta(days=7),
    )
    session.add(offer)
    session.flush()
    return offer


def on_chain(app, worker, receivable):
    return gateway.receivable_on_chain(worker.chain, receivable.registry_address, receivable.fingerprint)


def offer_view(app, worker, session, offer):
    return gateway.offer_on_chain(worker.chain, gateway.exchange_address(session)[1], offer.id)


def commit_and_settle(app, session, worker) -> None:
    session.commit()
    settle(app, worker)


def test_the_fingerprint_is_the_deployed_registrys(app, session, world, worker):
    due = date(2026, 12, 31)
    fp = gateway.fingerprint_of(
        session,
        supplier_org_id=world.supplier.org.id,
        buyer_org_id=world.buyer.org.id,
        invoice_number="A-1",
        amount=Decimal("1250.00"),
        currency="EUR",
        due_date=due,
    )
    registry = contract(app, worker, "ReceivableRegistry")
    expected = registry.functions.fingerprint(to_bytes32(world.supplier.org.id), to_bytes32(world.buyer.org.id), "A-1", 125_000, "EUR", 1798675200).call()
    assert fp == "0x" + expected.hex()
    assert gateway.registry_address(session) == (worker.chain.chain_id, registry.address)
    with pytest.raises(ValueError):
        gateway.fingerprint_of(
            session,
            supplier_org_id=world.supplier.org.id,
            buyer_org_id=world.buyer.org.id,
            invoice_number="A-1",
            amount=Decimal("0.001"),
            currency="EUR",
            due_date=due,
        )


def test_an_open_account_receivable_is_registered_acknowledged_financed_paid_and_settled(app, session, world, worker, steps):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    receivable = invoice_and_receivable(session, world, order, escrowed=False, amount=Decimal("1000.00"))
    registered = gateway.register(session, receivable=receivable, order=order)
    assert [i.function for i in registered] == ["registerOpenAccount"] and registered[0].state == IntentState.QUEUED
    commit_and_settle(app, session, worker)
    view = on_chain(app, worker, receivable)
    assert view is not None and not view.escrowed and not view.verified
    assert (view.holder, view.debtor, view.amount) == (world.supplier.signing_address(app), world.buyer.signing_address(app), Decimal("1000.000000"))
    assert view.due_date == receivable.due_date

    gateway.acknowledge(session, receivable=receivable)
    commit_and_settle(app, session, worker)
    assert on_chain(app, worker, receivable).verified

    offer = offer_for(session, world, receivable, advance=Decimal("900.00"), claim=Decimal("950.00"))
    made = gateway.make_offer(session, offer=offer, receivable=receivable, committed=NOTHING)
    assert [i.function for i in made] == ["approve", "offer"]
    commit_and_settle(app, session, worker)
    assert offer_view(app, worker, session, offer).state == "open"

    supplier_before, financier_before = balance(app, worker, world.supplier), balance(app, worker, world.financier)
    gateway.accept_offer(session, offer=offer, receivable=receivable)
    commit_and_settle(app, session, worker)
    assert on_chain(app, worker, receivable).holder == world.financier.signing_address(app)
    assert balance(app, worker, world.supplier) - supplier_before == 900 * UNIT
    assert financier_before - balance(app, worker, world.financier) == 900 * UNIT
    assert offer_view(app, worker, session, offer).state == "accepted"

    gateway.pay(session, receivable=receivable, amount=Decimal("1000.00"))
    commit_and_settle(app, session, worker)
    paid = on_chain(app, worker, receivable)
    assert paid.settled and paid.amount_paid == Decimal("1000") and not paid.verified

    receivable.amount_paid = Decimal("1000.00")
    offer.state = OfferState.FINANCED
    gateway.settle(session, offer=offer, receivable=receivable, committed=NOTHING)
    commit_and_settle(app, session, worker)
    settled = offer_view(app, worker, session, offer)
    assert (settled.state, settled.amount_paid, settled.financier_share, settled.supplier_share) == ("settled", Decimal("1000"), Decimal("950"), Decimal("50"))
    assert balance(app, worker, world.supplier) - supplier_before == 950 * UNIT
    assert balance(app, worker, world.financier) - financier_before == 50 * UNIT  # 1000 in, 900 + 50 out

    told = [(kind, step) for kind, _id, step, state in steps if state == "confirmed"]
    assert told == [
        ("receivable", ReceivableStep.REGISTER),
        ("receivable", ReceivableStep.ACKNOWLEDGE),
        ("financing_offer", ReceivableStep.ALLOW_FINANCING),
        ("financing_offer", ReceivableStep.OFFER),
        ("financing_offer", ReceivableStep.ALLOW_ASSIGNMENT),
        ("financing_offer", ReceivableStep.ACCEPT),
        ("receivable", ReceivableStep.ALLOW_PAYMENT),
        ("receivable", ReceivableStep.PAY),
        ("financing_offer", ReceivableStep.ALLOW_FINANCING),
        ("financing_offer", ReceivableStep.SETTLE),
    ]
    assert {subject_id for kind, subject_id, _step, _state in steps if kind == "receivable"} == {receivable.id}


def test_an_escrowed_receivable_is_verified_by_the_receipt_and_paid_by_the_release(app, client, session, world, worker, steps):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    body = {"lines": [{"line_no": line.line_no, "confirmed_quantity": str(line.quantity), "confirmed_date": date.today().isoformat()} for line in order.lines]}
    assert client.post(f"/api/v1/orders/{order.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200
    session.refresh(order)
    total = order.confirmed_total
    receivable = invoice_and_receivable(session, world, order, escrowed=True, amount=total)
    [registered] = gateway.register(session, receivable=receivable, order=order)
    assert registered.after_seq is not None  # waits for the escrow's funding
    commit_and_settle(app, session, worker)
    view = on_chain(app, worker, receivable)
    assert view.escrowed and view.amount == total and not view.verified

    escrow_gateway.assign_carrier(session, order, world.carrier.org.id, "carrier")
    escrow_gateway.attest_delivery(session, order, world.carrier.org.id, "0x" + "01" * 32, "delivered")
    escrow_gateway.confirm_receipt(session, order, total, "received")
    commit_and_settle(app, session, worker)
    assert on_chain(app, worker, receivable).verified

    advance, claim = (total * Decimal("0.8")).quantize(Decimal("0.01")), (total * Decimal("0.9")).quantize(Decimal("0.01"))
    offer = offer_for(session, world, receivable, advance=advance, claim=claim)
    gateway.make_offer(session, offer=offer, receivable=receivable, committed=NOTHING)
    gateway.accept_offer(session, offer=offer, receivable=receivable)
    commit_and_settle(app, session, worker)
    assert on_chain(app, worker, receivable).holder == world.financier.signing_address(app)

    escrow_gateway.release(session, order, world.supplier.org.id, "release")
    commit_and_settle(app, session, worker)
    assert on_chain(app, worker, receivable).settled
    supplier_before, financier_before = balance(app, worker, world.supplier), balance(app, worker, world.financier)
    receivable.amount_paid = total
    intents = gateway.settle(session, offer=offer, receivable=receivable, committed=NOTHING)
    assert [i.function for i in intents] == ["withdraw", "approve", "settle"]
    commit_and_settle(app, session, worker)
    settled = offer_view(app, worker, session, offer)
    assert (settled.financier_share, settled.supplier_share) == (claim, total - claim)
    assert balance(app, worker, world.supplier) - supplier_before == ledger_service.token_units(total - claim)
    assert balance(app, worker, world.financier) - financier_before == ledger_service.token_units(claim)
    assert [step for _k, _i, step, state in steps if state == "confirmed"][-3:] == [
        ReceivableStep.COLLECT,
        ReceivableStep.ALLOW_FINANCING,
        ReceivableStep.SETTLE,
    ]


def test_a_refused_step_reaches_the_refusal_handler(app, session, world, worker, steps):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    receivable = invoice_and_receivable(session, world, order, escrowed=False, amount=Decimal("10.00"))
    gateway.register(session, receivable=receivable, order=order)
    gateway.pay(session, receivable=receivable, amount=Decimal("10.00"))  # never acknowledged
    commit_and_settle(app, session, worker)
    assert (receivable.id, ReceivableStep.PAY, "failed") in [(i, step, state) for _k, i, step, state in steps]
    assert not on_chain(app, worker, receivable).settled


def test_an_offer_is_withdrawn(app, session, world, worker, steps):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    receivable = invoice_and_receivable(session, world, order, escrowed=False, amount=Decimal("100.00"))
    gateway.register(session, receivable=receivable, order=order)
    gateway.acknowledge(session, receivable=receivable)
    offer = offer_for(session, world, receivable, advance=Decimal("50.00"), claim=Decimal("60.00"))
    gateway.make_offer(session, offer=offer, receivable=receivable, committed=NOTHING)
    gateway.withdraw_offer(session, offer=offer)
    commit_and_settle(app, session, worker)
    assert offer_view(app, worker, session, offer).state == "withdrawn"
    assert steps[-1][2:] == (ReceivableStep.WITHDRAW_OFFER, "confirmed")


def test_the_financiers_allowance_covers_every_open_offer(app, session, world, worker, steps):
    """An allowance is set, not added to: the second offer's approval still covers the first
    (what the financier's other open offers may take, as concord.finance reckons it)."""
    offers = []
    for amount, advance in ((Decimal("400.00"), Decimal("300.00")), (Decimal("500.00"), Decimal("400.00"))):
        with app.test_request_context():
            order = orders_factory.issued_order(session, world.buyer, world.supplier)
        receivable = invoice_and_receivable(session, world, order, escrowed=False, amount=amount)
        gateway.register(session, receivable=receivable, order=order)
        gateway.acknowledge(session, receivable=receivable)
        offer = offer_for(session, world, receivable, advance=advance, claim=amount)
        allow, _made = gateway.make_offer(session, offer=offer, receivable=receivable, committed=committed_besides(session, offer, receivable.currency))
        offers.append((offer, receivable, allow))
    assert [allow.args[1] for _o, _r, allow in offers] == [300 * UNIT, 700 * UNIT]
    commit_and_settle(app, session, worker)
    supplier_before = balance(app, worker, world.supplier)
    for offer, receivable, _allow in reversed(offers):
        gateway.accept_offer(session, offer=offer, receivable=receivable)
    commit_and_settle(app, session, worker)
    assert [offer_view(app, worker, session, offer).state for offer, _r, _a in offers] == ["accepted", "accepted"]
    assert balance(app, worker, world.supplier) - supplier_before == 700 * UNIT
    assert all(state == "confirmed" for _k, _i, _s, state in steps)


@pytest.mark.parametrize("case", ["escrow not funded", "acknowledge escrowed", "pay too much", "pay nothing", "accept before offer", "settle before paid"])
def test_verbs_refuse_what_cannot_go_on_chain(app, session, world, worker, case):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    escrowed = case in ("escrow not funded", "acknowledge escrowed")
    receivable = invoice_and_receivable(session, world, order, escrowed=escrowed, amount=Decimal("10.00"))
    offer = offer_for(session, world, receivable, advance=Decimal("5.00"), claim=Decimal("6.00"))
    calls = {
        "escrow not funded": lambda: gateway.register(session, receivable=receivable, order=order),
        "acknowledge escrowed": lambda: gateway.acknowledge(session, receivable=receivable),
        "pay too much": lambda: gateway.pay(session, receivable=receivable, amount=Decimal("10.01")),
        "pay nothing": lambda: gateway.pay(session, receivable=receivable, amount=Decimal("0")),
        "accept before offer": lambda: gateway.accept_offer(session, offer=offer, receivable=receivable),
        "settle before paid": lambda: gateway.settle(session, offer=offer, receivable=receivable, committed=NOTHING),
    }
    with pytest.raises(Conflict):
        calls[case]()
    session.flush()
    assert ledger_service.intents_about(session, gateway.RECEIVABLE_SUBJECT, receivable.id) == []
    assert ledger_service.intents_about(session, gateway.OFFER_SUBJECT, offer.id) == []
