"""The README's financing walk-through, clicked through in Chromium on a live demo instance:
Acme invoices Northwind's partially received order from the order's page, sees it matched
per line; the worker registers it on the ledger and it shows verified with its evidence;
Acme offers it to Harbor. Harbor finds the request, reads the evidence and Northwind's
record, and offers; Acme compares and accepts; Harbor sees the receivable assigned to it on
chain. Acme accepts Northwind's receipt, the escrow pays Harbor, and the waterfall returns
what exceeds Harbor's claim to Acme: Harbor's portfolio shows it realised, Acme's cash
received shows the advance and the rebate.

The test runs the ledger's worker between the steps, as `concord run` does in the background."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from concord import clock
from concord.demo import DEMO_PASSWORD
from concord.demo_orders import ORDERS
from concord.ledger import runtime
from playwright.sync_api import expect

from tests.e2e.helpers import go_to, served_demo, sign_in, sign_out

pytestmark = pytest.mark.browser

ACME, HARBOR = "supplier@acme.example", "finance@harbor.example"
NORTHWIND, HARBOR_NAME = "Northwind Manufacturing GmbH", "Harbor Trade Finance plc"
INVOICE = "ACME-INV-0051"
TOTAL, ADVANCE = Decimal("7442.00"), Decimal("6697.80")  # 1,960 brackets at 3.45 and 8,000 bolts at 0.085; 90 % of it
TX_HASH = re.compile(r"0x[0-9a-f]{64}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo instance as `concord run` prepares it, answering on a free local port: (app, base)."""
    with served_demo(tmp_path_factory.mktemp("demo-finance-walkthrough")) as running:
        yield running


def _work(app, rounds: int = 3) -> None:
    """Rounds of the ledger's worker: send what is queued, index what was mined, the round jobs."""
    for _ in range(rounds):
        runtime.work_round(app)


def _shown(amount: Decimal) -> str:
    """An amount as the portal shows it ("7,442.00")."""
    return f"{amount:,.2f}"


def _figure(text: str) -> Decimal:
    """A figure read off the page ("6,733.58 EUR")."""
    return Decimal(text.split()[0].replace(",", ""))


def _fact(region, term: str):
    """The definition of a term in a list of facts (`<dt>term</dt><dd>…</dd>`)."""
    return region.locator(f"dt:text-is('{term}') + dd")


def _open_order(page, number: str) -> None:
    go_to(page, "Orders")
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)


def _open_receivable_as_acme(page) -> None:
    go_to(page, "Financing")
    mine = page.get_by_role("region", name="Your receivables").get_by_role("row").filter(has_text=NORTHWIND).filter(has_text=_shown(TOTAL))
    expect(mine).to_have_count(1)
    mine.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(f"Receivable for invoice {INVOICE}"))).to_be_visible()


def _open_receivable_as_harbor(page, section: str) -> None:
    go_to(page, "Financing")
    page.get_by_role("link", name="Offers", exact=True).click()
    row = page.get_by_role("region", name=section).get_by_role("row").filter(has_text="Acme Components Ltd").filter(has_text=_shown(TOTAL))
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile(f"Receivable for invoice {INVOICE}"))).to_be_visible()


def test_acme_finances_its_invoice_with_harbor_in_the_portal_and_the_escrow_pays_the_waterfall(demo, page):
    app, base = demo
    today = clock.utcnow().date()
    order = ORDERS[1].number(today)

    # 1. Acme invoices the order as the portal proposes it (no tax: intra-EU reverse charge).
    sign_in(page, base, ACME, DEMO_PASSWORD)
    _open_order(page, order)
    page.get_by_role("link", name="Invoice this order").click()
    expect(page.get_by_role("heading", name=f"Invoice order {order}")).to_be_visible()
    expect(page.get_by_label("Line 1 quantity")).to_have_value("1960")
    expect(page.get_by_label("Line 2 quantity")).to_have_value("8000")
    page.get_by_label("Invoice number").fill(INVOICE)
    page.get_by_label("Line 1 tax rate").fill("0")
    page.get_by_label("Line 2 tax rate").fill("0")
    page.get_by_role("button", name="Send the invoice").click()
    expect(page.get_by_text(f"Invoice {INVOICE} sent to the buyer: {TOTAL} EUR; it matches the order and its receipt.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Invoice {INVOICE} matched")
    lines = page.get_by_role("region", name="Lines and their match").locator("tbody tr")
    expect(lines).to_have_count(2)
    for line in lines.all():
        expect(line.get_by_role("cell").last).to_have_text("matched")
    summary = page.get_by_role("region", name="Summary")
    expect(_fact(summary, "Total")).to_have_text(f"{_shown(TOTAL)} EUR")
    expect(_fact(summary, "Due")).to_contain_text(f"{(today + timedelta(days=30)).isoformat()} (paid by the order’s escrow, net 30 days)")

    # The worker registers the matched invoice on the ledger; the receipt on chain verifies it.
    _work(app)
    _open_receivable_as_acme(page)
    expect(page.locator("#receivable-state")).to_have_text("verified")
    expect(page.locator("#receivable-amount")).to_have_text(f"{_shown(TOTAL)} EUR")
    transactions = page.locator("#evidence-transactions tbody tr")
    for step in ("fund", "attestDelivery", "confirmReceipt"):
        proof = transactions.filter(has=page.get_by_role("cell", name=step, exact=True))
        expect(proof).to_have_count(1)
        expect(proof.locator("code")).to_have_text(TX_HASH)
    expect(page.locator("#match-table tbody tr")).to_have_count(2)
    fingerprint = page.locator("#fingerprint").inner_text().strip()

    page.get_by_role("checkbox", name=HARBOR_NAME).check()
    page.get_by_role("button", name="Ask for offers").click()
    expect(page.get_by_text("Asked 1 financier for an offer: they are told now.")).to_be_visible()
    sign_out(page)

    # 2. Harbor finds the request, reads the evidence and Northwind's record, and offers.
    sign_in(page, base, HARBOR, DEMO_PASSWORD)
    go_to(page, "Financing")
    expect(page.locator("#requests-count")).to_have_text("1")
    _open_receivable_as_harbor(page, "Requests to answer")
    expect(page.locator("#fingerprint")).to_have_text(fingerprint)
    expect(page.locator("#receivable-state")).to_have_text("verified")
    for step in ("fund", "attestDelivery", "confirmReceipt"):
        proof = page.locator("#evidence-transactions tbody tr").filter(has=page.get_by_role("cell", name=step, exact=True))
        expect(proof.locator("code")).to_have_text(TX_HASH)
        expect(proof.get_by_role("cell").nth(3)).to_have_text(re.compile(r"^\d+$"))  # its block
    record = page.get_by_role("region", name=f"{NORTHWIND}'s record with the platform")
    expect(record.locator("#record-orders")).to_have_text(re.compile(r"^[3-9]\d* \(\d+ closed\)$"))
    expect(record.locator("#record-disputes")).to_have_text("0")

    page.get_by_label("Advance rate (%)").fill("90")
    page.get_by_label("Discount rate (% a year)").fill("6.5")
    page.get_by_label("Fees (EUR)").fill("25.00")
    page.get_by_label("Valid until", exact=True).fill((clock.utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Make offer").click()
    expect(page.get_by_text(f"Offer made: {_shown(ADVANCE)} now against a claim of")).to_be_visible()
    expect(page.locator("#offer-advance")).to_have_text(f"{_shown(ADVANCE)} EUR")
    claim = _figure(page.locator("#offer-claim").inner_text())
    assert ADVANCE + Decimal("25.00") < claim < TOTAL, claim  # the advance, its discount to the due date, and the fees
    sign_out(page)
    _work(app)  # the offer goes on chain: Acme may accept it once it is there

    # 3. Acme reads the offers side by side and accepts Harbor's.
    sign_in(page, base, ACME, DEMO_PASSWORD)
    go_to(page, "Financing")
    page.get_by_role("link", name="Offers", exact=True).click()
    compared = page.get_by_role("region", name="Offers on your receivables").get_by_role("table")
    expect(compared.get_by_role("columnheader", name=HARBOR_NAME)).to_be_visible()
    expect(compared.get_by_role("row", name=re.compile("^Advance, paid now"))).to_contain_text(_shown(ADVANCE))
    expect(compared.get_by_role("row", name=re.compile("^Claim"))).to_contain_text(_shown(claim))
    expect(compared.get_by_role("row", name=re.compile("^You net"))).to_contain_text(_shown(ADVANCE + TOTAL - claim))
    compared.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted: the ledger assigns the receivable to the financier")).to_be_visible()
    assert page.questions == [f"Accept {HARBOR_NAME}'s offer? The receivable is assigned to it on the ledger and the other offers are withdrawn."]
    sign_out(page)
    _work(app)

    sign_in(page, base, HARBOR, DEMO_PASSWORD)
    _open_receivable_as_harbor(page, "Answered lately")
    expect(page.locator("#receivable-state")).to_have_text("financed")
    expect(page.locator("#receivable-holder")).to_have_text(HARBOR_NAME)
    assignment = page.get_by_role("region", name="Chain history").get_by_role("row").filter(has_text="Accept the financing offer")
    expect(assignment).to_have_count(1)
    expect(assignment.locator("code")).to_have_text(TX_HASH)
    expect(assignment).to_contain_text("confirmed")
    sign_out(page)

    # 4. Acme accepts Northwind's receipt: the escrow pays Harbor, who keeps its claim.
    sign_in(page, base, ACME, DEMO_PASSWORD)
    _open_order(page, order)
    page.get_by_role("button", name="Accept receipt and release").click()
    expect(page.get_by_text(f"Receipt accepted: the escrow of order {order} pays")).to_be_visible()
    sign_out(page)
    _work(app, 5)

    sign_in(page, base, HARBOR, DEMO_PASSWORD)
    _open_receivable_as_harbor(page, "Answered lately")
    expect(page.locator("#receivable-state")).to_have_text("settled")
    waterfall = page.locator("#waterfall")
    expect(waterfall.get_by_role("row", name=re.compile("^Paid to the holder"))).to_contain_text(f"{_shown(TOTAL)} EUR")
    expect(waterfall.get_by_role("row", name=re.compile("^Financier's share"))).to_contain_text(f"{_shown(claim)} EUR")
    expect(waterfall.get_by_role("row", name=re.compile("^Returned to the supplier"))).to_contain_text(f"{_shown(TOTAL - claim)} EUR")
    expect(page.get_by_role("region", name="Settlement").locator("code")).to_have_text(TX_HASH)

    go_to(page, "Financing")
    page.get_by_role("link", name="Portfolio", exact=True).click()
    realised = page.locator("#realised tbody tr").filter(has_text=INVOICE)
    expect(realised).to_have_count(1)
    expect(realised.get_by_role("cell")).to_contain_text(
        [re.compile(r"\d{4}-\d{2}-\d{2}"), INVOICE, f"{_shown(TOTAL)} EUR", _shown(claim), _shown(TOTAL - claim), "0.00"]
    )
    expect(page.locator("#realised-EUR")).to_have_text(_shown(claim))
    expect(page.locator("#returned-EUR")).to_have_text(_shown(TOTAL - claim))
    sign_out(page)

    sign_in(page, base, ACME, DEMO_PASSWORD)
    go_to(page, "Financing")
    cash = page.get_by_role("region", name="Cash received").get_by_role("row").filter(has_text=f"Invoice {INVOICE}")
    expect(cash.filter(has_text="Advance from the financier")).to_contain_text(f"{_shown(ADVANCE)} EUR")
    expect(cash.filter(has_text="Your share of the payment")).to_contain_text(f"{_shown(TOTAL - claim)} EUR")
    expect(page.locator("#cash-total-EUR")).to_have_text(_shown(ADVANCE + TOTAL - claim))
