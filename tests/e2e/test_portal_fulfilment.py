"""The whole order story in a real browser, from the buyer's order to the supplier's payment:
the buyer writes and issues an order; the supplier acknowledges it (funding the escrow) and
ships it in two parts, by lot, with its carrier partner; the carrier finds both shipments,
records a milestone and the proof of delivery on each; the buyer confirms receipt; the
escrow settles and the buyer sees the order closed, the escrow released and every chain
transaction on the order's timeline. The test mines what the outbox queued, as the ledger
worker would, and checks the token balances on chain to the last unit."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from concord.ledger import service as ledger_service
from playwright.sync_api import expect

from tests import orders_factory
from tests.e2e.helpers import go_to, sign_in, sign_out
from tests.ledger_helpers import contract, settle

# A live server answers from its own threads: commits are real.
pytestmark = [pytest.mark.browser, pytest.mark.real_commits]

FUNDS = Decimal("10000")
TOTAL = Decimal("73.50")  # 10 x 2.50 + 4 x 12.125
UNIT = 10**6  # token units per currency unit


@pytest.fixture
def funded_buyer(app, session, world, chain_worker):
    ledger_service.mint(session, world.operator.principal, world.buyer.org.id, "EUR", FUNDS)
    session.commit()
    settle(app, chain_worker)
    return chain_worker


@pytest.fixture
def shop(session, world):
    """The buyer's two products and its plant, as its catalog pages would have made them."""
    products, location = orders_factory.catalog_of(session, world.buyer)
    session.commit()
    return products, location


def open_order(page, number: str) -> None:
    go_to(page, "Orders")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=re.compile(f"^Order {number}"))).to_be_visible()


def ship(page, rows: dict[str, str], expected: str) -> None:
    """Fill the shipment form's lot rows (label -> value, others left as they are) and send it."""
    form = page.locator("form").filter(has=page.get_by_role("heading", name="Create shipment"))
    for label, value in rows.items():
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Create shipment").click()
    expect(page.get_by_text(expected)).to_be_visible()


def test_order_to_payment_with_partial_shipments_milestones_proof_and_receipt(live_server, page, app, world, shop, funded_buyer):
    number = "PO-E2E-FULFIL-1"
    (bracket, bolt), plant = shop
    due = (date.today() + timedelta(days=21)).isoformat()
    supplier_name, carrier_name, buyer_name = world.supplier.org.legal_name, world.carrier.org.legal_name, world.buyer.org.legal_name

    # The buyer writes the order with two lines and issues it.
    sign_in(page, live_server, world.buyer.admin.email)
    go_to(page, "Orders")
    page.get_by_role("link", name="New order").click()
    page.get_by_label("PO number").fill(number)
    page.get_by_label("Supplier", exact=True).select_option(label=supplier_name)
    page.get_by_label("Ship to").select_option(label=f"{plant.name} (Stuttgart, DE)")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Incoterm").select_option("DAP")
    page.get_by_label("Payment terms").fill("Escrow, released on receipt")
    for row, (product, quantity, price) in enumerate(((bracket, "10", "2.50"), (bolt, "4", "12.125")), start=1):
        page.get_by_label(f"Product, line {row}").select_option(label=f"{product.sku} · {product.name} (H87)")
        page.get_by_label(f"Quantity, line {row}").fill(quantity)
        page.get_by_label(f"Unit price, line {row}").fill(price)
        page.get_by_label(f"Requested date, line {row}").fill(due)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text(f"Draft order {number} saved (73.50 EUR).")).to_be_visible()
    page.get_by_role("button", name="Issue order").click()
    expect(page.get_by_text(f"Order {number} issued to {supplier_name}.")).to_be_visible()
    sign_out(page)

    # The supplier acknowledges every line; the buyer's tokens go into escrow.
    sign_in(page, live_server, world.supplier.admin.email)
    open_order(page, number)
    page.get_by_role("button", name="Acknowledge order").click()
    expect(page.get_by_text(f"Order {number} acknowledged: 73.50 EUR go into escrow")).to_be_visible()
    settle(app, funded_buyer)

    # ... then ships part of it: line 1 in lot L-A, line 2 in two lots.
    page.reload()
    expect(page.get_by_label("Carrier", exact=True)).to_have_value(str(world.carrier.org.id))  # its one carrier partner
    expect(page.get_by_label("Quantity, line 1", exact=True)).to_have_value("10")  # what is left, offered
    page.get_by_label("Tracking number").fill("SWF-0001")
    ship(
        page,
        {
            "Quantity, line 1": "6",
            "Lot number, line 1": "L-A",
            "Quantity, line 2": "2",
            "Lot number, line 2": "L-B",
            "Second lot quantity, line 2": "1",
            "Second lot number, line 2": "L-C",
        },
        f"Shipment 1 of order {number} created with {carrier_name}",
    )
    expect(page.locator("#order-state")).to_contain_text("partially shipped")
    # ... and the rest, which the form offers: 4 of line 1 and 1 of line 2.
    expect(page.get_by_label("Quantity, line 1", exact=True)).to_have_value("4")
    expect(page.get_by_label("Quantity, line 2", exact=True)).to_have_value("1")
    ship(
        page,
        {"Lot number, line 1": "L-D", "Lot number, line 2": "L-C"},
        f"Shipment 2 of order {number} created with {carrier_name} (line 1: 4 (lot L-D), line 2: 1 (lot L-C)): everything confirmed is on its way.",
    )
    expect(page.locator("#order-state")).to_have_text(re.compile(r"^\s*shipped"))
    shipments = page.locator("#shipments")
    expect(shipments.get_by_role("heading", name=re.compile("^Shipment [12] in transit"))).to_have_count(2)
    sign_out(page)

    # The carrier sees both shipments, and records a milestone and the proof on each.
    sign_in(page, live_server, world.carrier.admin.email)
    go_to(page, "Shipments")
    expect(page.get_by_role("link", name=re.compile(rf"^{number} \/ \d$"))).to_have_count(2)
    for shipment in (1, 2):
        go_to(page, "Shipments")
        page.get_by_role("link", name=f"{number} / {shipment}").click()
        expect(page.locator("#ship-to")).to_contain_text(f"{plant.name}, Werkstrasse 7, 70565 Stuttgart, DE")
        expect(page.get_by_text("L-C").first).to_be_visible()
        page.get_by_label("Milestone", exact=True).select_option(label="Departed")
        page.get_by_label("Location").fill("Leeds, GB")
        page.get_by_role("button", name="Record milestone").click()
        expect(page.get_by_text(f"Milestone recorded on shipment {shipment}: departed at Leeds, GB.")).to_be_visible()
        page.get_by_label("Receiver name").fill("Goods-in, gate 3")
        page.get_by_role("button", name="Record proof of delivery").click()
        expect(page.get_by_text(f"Proof of delivery of shipment {shipment} recorded: received by Goods-in, gate 3.")).to_be_visible()
        expect(page.locator("#shipment-state")).to_have_text("delivered")
    sign_out(page)
    settle(app, funded_buyer)  # the carrier's anchors and its attestation of delivery

    # The buyer confirms receipt of everything shipped.
    sign_in(page, live_server, world.buyer.admin.email)
    open_order(page, number)
    expect(page.locator("#order-state")).to_contain_text("delivered")
    expect(page.locator("#escrow-state")).to_have_text("delivered")
    expect(page.get_by_label("Accepted, line 1")).to_have_value("10")
    expect(page.get_by_label("Accepted, line 2")).to_have_value("4")
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.get_by_text(f"Receipt of order {number} confirmed in full: 73.50 EUR are released to {supplier_name}")).to_be_visible()
    expect(page.locator("#escrow-pending")).to_contain_text("confirmReceipt")

    # The ledger worker sends the receipt and the release; the order closes and the
    # supplier's withdrawal follows.
    settle(app, funded_buyer)
    settle(app, funded_buyer)
    page.reload()
    expect(page.locator("#order-state")).to_contain_text("closed")
    expect(page.locator("#escrow-state")).to_have_text("released")
    expect(page.get_by_text(f"Closed: the escrow paid 73.50 EUR to {supplier_name} and refunded 0.00 EUR to {buyer_name}.")).to_be_visible()
    timeline = page.locator("#timeline")
    transactions = timeline.get_by_role("row").filter(has_text=re.compile(r"0x[0-9a-f]{64}")).filter(has=page.locator(".badge-confirmed"))
    # approve, fund, assignCarrier, two anchors, attestDelivery, confirmReceipt, release, withdraw
    expect(transactions).to_have_count(9)
    for what in (
        "locks 73.50 EUR in escrow",
        "names " + carrier_name,
        "anchors the proof of delivery of shipment 2",
        "attests delivery",
        "confirms receipt",
        "releases the escrow",
        "Withdraw EUR",
    ):
        expect(transactions.filter(has_text=what).first).to_be_visible()
    expect(timeline.get_by_text(re.compile(r"^0x[0-9a-f]{64}$"))).to_have_count(9)
    expect(timeline.get_by_text("Receipt: 73.50 EUR accepted, 0.00 to be refunded.")).to_be_visible()

    # On chain, to the unit: the supplier holds the order total, the buyer the rest.
    token = contract(app, funded_buyer, "SettlementToken.EUR")
    escrow = contract(app, funded_buyer, "DeliveryEscrow")
    assert token.functions.balanceOf(world.supplier.signing_address(app)).call() == int(TOTAL * UNIT)
    assert token.functions.balanceOf(world.buyer.signing_address(app)).call() == int((FUNDS - TOTAL) * UNIT)
    assert token.functions.balanceOf(escrow.address).call() == 0
