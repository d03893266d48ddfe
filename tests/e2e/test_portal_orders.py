"""The order story in a real browser: a buyer adds a product and a location, writes an
order and issues it; the supplier acknowledges it; the buyer sees it acknowledged with its
escrow funded on the ledger (the test mines what the outbox queued, as the worker would)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from concord.ledger import service as ledger_service
from playwright.sync_api import expect

from tests.e2e.helpers import go_to, sign_in, sign_out
from tests.ledger_helpers import settle

# A live server answers from its own threads: commits are real.
pytestmark = [pytest.mark.browser, pytest.mark.real_commits]


@pytest.fixture
def funded_buyer(app, session, world, chain_worker):
    ledger_service.mint(session, world.operator.principal, world.buyer.org.id, "EUR", Decimal("10000"))
    session.commit()
    settle(app, chain_worker)
    return chain_worker


def test_buyer_orders_supplier_acknowledges_and_the_escrow_is_funded(live_server, page, app, world, funded_buyer):
    due = (date.today() + timedelta(days=21)).isoformat()

    # The buyer adds a product and a location of its own.
    sign_in(page, live_server, world.buyer.admin.email)
    go_to(page, "Products")
    page.get_by_label("SKU", exact=True).fill("BRK-200")
    page.get_by_label("Name", exact=True).fill("Mounting bracket")
    page.get_by_label("Unit of measure").select_option("H87")
    page.get_by_label("GTIN").fill("4006381333931")
    page.get_by_role("button", name="Add product").click()
    expect(page.get_by_text("Product BRK-200 “Mounting bracket” added.")).to_be_visible()
    expect(page.get_by_role("cell", name="4006381333931")).to_be_visible()

    go_to(page, "Locations")
    page.get_by_label("Location name").fill("Plant Stuttgart, gate 3")
    page.get_by_label("Address", exact=True).fill("Werkstrasse 7")
    page.get_by_label("Postal code").fill("70565")
    page.get_by_label("City", exact=True).fill("Stuttgart")
    page.get_by_label("Country").select_option("DE")
    page.get_by_role("button", name="Add location").click()
    expect(page.get_by_text("Location “Plant Stuttgart, gate 3” added.")).to_be_visible()

    # ... writes an order to its supplier partner, checks the draft and issues it.
    go_to(page, "Orders")
    page.get_by_role("link", name="New order").click()
    page.get_by_label("PO number").fill("PO-E2E-1")
    page.get_by_label("Supplier", exact=True).select_option(label=world.supplier.org.legal_name)
    page.get_by_label("Ship to").select_option(label="Plant Stuttgart, gate 3 (Stuttgart, DE)")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Incoterm").select_option("DAP")
    page.get_by_label("Payment terms").fill("Escrow, released on receipt")
    page.get_by_label("Product, line 1").select_option(label="BRK-200 · Mounting bracket (H87)")
    page.get_by_label("Quantity, line 1").fill("120")
    page.get_by_label("Unit price, line 1").fill("4.75")
    page.get_by_label("Requested date, line 1").fill(due)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft order PO-E2E-1 saved (570.00 EUR).")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Order PO-E2E-1 draft"))).to_be_visible()
    page.get_by_role("button", name="Issue order").click()
    expect(page.get_by_text(f"Order PO-E2E-1 issued to {world.supplier.org.legal_name}.")).to_be_visible()
    expect(page.get_by_text(f"Waiting for {world.supplier.org.legal_name} to acknowledge")).to_be_visible()
    sign_out(page)

    # The supplier finds it in its orders and acknowledges every line as ordered.
    sign_in(page, live_server, world.supplier.admin.email)
    go_to(page, "Orders")
    page.get_by_label("State").select_option("issued")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="PO-E2E-1").click()
    expect(page.get_by_label("Confirmed quantity, line 1")).to_have_value("120")
    expect(page.get_by_label("Confirmed date, line 1")).to_have_value(due)
    # Acknowledging locks the buyer's money: the browser asks first. Declining sends nothing.
    page.decline_next = True
    page.get_by_role("button", name="Acknowledge order").click()
    expect(page.get_by_role("button", name="Acknowledge order")).to_be_visible()
    assert page.questions[-1].startswith("Acknowledge order PO-E2E-1? The confirmed total is locked in escrow")
    page.get_by_role("button", name="Acknowledge order").click()
    expect(page.get_by_text("Order PO-E2E-1 acknowledged: 570.00 EUR go into escrow")).to_be_visible()
    expect(page.locator("#escrow-state")).to_have_text("pending")
    sign_out(page)

    # The outbox sends the buyer's approve and fund; the indexer reads the escrow back.
    settle(app, funded_buyer)

    # The buyer sees the order acknowledged and its escrow funded, with the transactions.
    sign_in(page, live_server, world.buyer.admin.email)
    go_to(page, "Orders")
    row = page.get_by_role("row").filter(has_text="PO-E2E-1")
    expect(row.get_by_text("acknowledged")).to_be_visible()
    row.get_by_role("link", name="PO-E2E-1").click()
    expect(page.locator("#order-state")).to_contain_text("acknowledged")
    expect(page.locator("#escrow-state")).to_have_text("funded")
    escrow = page.locator("#escrow")
    expect(escrow.get_by_text("570.00 EUR", exact=True)).to_be_visible()
    expect(escrow.get_by_role("row").filter(has_text="fund").filter(has_text="confirmed").first).to_be_visible()
    expect(escrow.get_by_text(re.compile(r"^0x[0-9a-f]{64}$")).first).to_be_visible()
    expect(escrow.get_by_text("EscrowFunded")).to_be_visible()
