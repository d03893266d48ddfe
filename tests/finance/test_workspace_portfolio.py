"""The financier's portfolio page and its CSV: the figures of the read models, the charts'
data beside readable tables, the chart library served from the project, a CSV that parses
and adds up to the unit; nobody but a financier has a portfolio."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from concord.db import database
from concord.finance.models import ExposureLimit, Invoice
from concord.finance.portfolio_views import CSV_COLUMNS
from concord.tenancy.models import Relation

from tests import factories
from tests.finance import workspace_rows as rows
from tests.portal.helpers import field_error, text

TODAY = date.today()


@dataclass
class Book:
    world: factories.World
    other: factories.Member
    numbers: dict[str, str]  # invoice numbers by position name


@pytest.fixture
def book(app, detached_session, detached_world) -> Book:
    """Financier One: P1 (due in 10 days), P2 (45 days past due, on a buyer whose name looks
    like a formula and is not ASCII), P3 (settled). Financier Two: one position of its own."""
    w, session = detached_world, detached_session
    with app.test_request_context():
        other = factories.member(session, w.operator, "financier", name="Financier Two AG")
        odd_buyer = factories.member(session, w.operator, "buyer", name="=Ünal Çelik Ticaret")
        factories.partner(session, Relation.BUYER_SUPPLIER, odd_buyer, w.supplier)
        r1 = rows.receivable(session, rows.invoice(session, w.supplier, w.buyer, "1000.00", due=TODAY + timedelta(days=10)), holder=w.financier)
        rows.offer(session, r1, w.financier, advance="800.00", claim="815.00", funded=TODAY - timedelta(days=20))
        r2 = rows.receivable(session, rows.invoice(session, w.supplier, odd_buyer, "500.00", due=TODAY - timedelta(days=45)), holder=w.financier)
        rows.offer(session, r2, w.financier, advance="400.00", claim="410.50", funded=TODAY - timedelta(days=70))
        r3 = rows.receivable(session, rows.invoice(session, w.supplier, w.buyer, "2000.00", due=TODAY - timedelta(days=30)), holder=w.financier)
        p3 = rows.offer(session, r3, w.financier, advance="1600.00", claim="1640.00", funded=TODAY - timedelta(days=60))
        rows.settle(session, r3, p3, "2000.00", on=TODAY - timedelta(days=30))
        r4 = rows.receivable(session, rows.invoice(session, w.supplier, w.buyer, "900.00", due=TODAY + timedelta(days=5)), holder=other)
        rows.offer(session, r4, other, advance="700.00", claim="720.00", funded=TODAY - timedelta(days=3))
        numbers = {name: session.get(Invoice, r.invoice_id).number for name, r in (("p1", r1), ("p2", r2), ("p3", r3), ("theirs", r4))}
    session.commit()
    return Book(w, other, numbers)


def test_portfolio_page_shows_the_financiers_figures_and_only_its_own(app, book):
    client, _ = rows.signed_in(app, book.world.financier)
    response = client.get("/finance/portfolio")
    assert response.status_code == 200
    html, body = response.get_data(as_text=True), text(response)
    for name in ("p1", "p2", "p3"):
        assert book.numbers[name] in body
    assert book.numbers["theirs"] not in body and "720.00" not in body
    # Outstanding: 800.00 + 400.00 advanced, 815.00 + 410.50 claimed; 30.42 % on the settled one.
    assert '<td class="num" id="advanced-EUR" data-figure="advanced">1,200.00</td>' in html
    assert '<td class="num" id="claims-EUR" data-figure="claims">1,225.50</td>' in html
    assert '<td class="num" id="yield-EUR" data-figure="yield">30.42 %</td>' in html
    assert "31 to 60 days past due" in body and "45 days late" in body
    assert 'id="per-buyer"' in html and 'id="per-supplier"' in html and 'id="realised"' in html


def test_the_charts_data_matches_the_tables_and_the_library_is_served_from_the_project(app, book):
    client, _ = rows.signed_in(app, book.world.financier)
    html = client.get("/finance/portfolio").get_data(as_text=True)
    start = html.index('<script type="application/json" id="portfolio-chart-data">') + len('<script type="application/json" id="portfolio-chart-data">')
    data = json.loads(html[start : html.index("</script>", start)])
    exposure = dict(data["exposure"]["EUR"])
    assert len(exposure) == 90
    assert exposure[TODAY.isoformat()] == "1200.00"
    assert exposure[(TODAY - timedelta(days=45)).isoformat()] == "2000.00"
    assert f'<td>{TODAY.isoformat()}</td><td class="num">1,200.00</td>' in html  # the same figure, in the table
    ageing = {row["bucket"]: row["claims"] for row in data["ageing"]}
    assert ageing == {
        "Not yet due": "815.00",
        "1 to 30 days past due": "0.00",
        "31 to 60 days past due": "410.50",
        "61 to 90 days past due": "0.00",
        "Over 90 days past due": "0.00",
    }
    for url in ("/static/vendor/uplot/uPlot.iife.min.js", "/static/vendor/uplot/uPlot.min.css", "/static/js/charts.js"):
        assert f'"{url}"' in html, url
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.get_data()) > 500, url
    assert "uPlot" in client.get("/static/vendor/uplot/uPlot.iife.min.js").get_data(as_text=True)
    assert client.get("/static/vendor/uplot/package.json").status_code == 404  # only the two files
    # Nothing is fetched from elsewhere: every script the page loads is the project's own.
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts and all(src.startswith("/static/") for src in scripts), scripts


def test_csv_has_one_row_per_position_exact_decimals_and_adds_up(app, book):
    client, _ = rows.signed_in(app, book.world.financier)
    response = client.get("/finance/portfolio.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="portfolio-{TODAY.isoformat()}.csv"'
    reader = csv.DictReader(io.StringIO(response.get_data().decode("utf-8")))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    table = list(reader)
    assert sorted(row["invoice_number"] for row in table) == sorted(book.numbers[n] for n in ("p1", "p2", "p3"))
    outstanding = [row for row in table if row["offer_state"] != "settled"]
    assert sum(Decimal(row["advance"]) for row in outstanding) == Decimal("1200.00")
    assert sum(Decimal(row["claim"]) for row in outstanding) == Decimal("1225.50")
    for row in table:
        for column in ("face_amount", "advance", "claim", "expected_payment", "expected_financier_share", "expected_supplier_rebate", "expected_shortfall"):
            assert Decimal(row[column]).as_tuple().exponent == -2, (column, row[column])
        assert Decimal(row["expected_payment"]) == Decimal(row["expected_financier_share"]) + Decimal(row["expected_supplier_rebate"])
        assert Decimal(row["claim"]) == Decimal(row["expected_financier_share"]) + Decimal(row["expected_shortfall"])
    settled = next(row for row in table if row["offer_state"] == "settled")
    assert (settled["amount_paid"], settled["financier_share"], settled["supplier_share"], settled["annualised_yield_percent"]) == (
        "2000.00",
        "1640.00",
        "360.00",
        "30.42",
    )
    assert Decimal(settled["amount_paid"]) == Decimal(settled["financier_share"]) + Decimal(settled["supplier_share"])
    late = next(row for row in table if row["invoice_number"] == book.numbers["p2"])
    assert (late["days_past_due"], late["ageing_bucket"], late["due_date"]) == ("45", "31_60", (TODAY - timedelta(days=45)).isoformat())
    # A name that looks like a formula is text to a spreadsheet; non-ASCII survives UTF-8.
    assert late["buyer"] == "'=Ünal Çelik Ticaret"


@pytest.mark.parametrize("who", ["supplier", "buyer", "carrier"])
def test_only_a_financier_has_a_portfolio(app, book, who):
    client, csrf = rows.signed_in(app, getattr(book.world, who))
    assert client.get("/finance/portfolio").status_code == 404
    assert client.get("/finance/portfolio.csv").status_code == 404
    assert client.post("/finance/portfolio/limits", data={"csrf_token": csrf, "side": "buyer", "currency": "EUR", "amount": "1.00"}).status_code == 404


def test_financier_sets_a_limit_and_sees_it_against_its_exposure(app, book):
    w = book.world
    client, csrf = rows.signed_in(app, w.financier)
    refused = client.post("/finance/portfolio/limits", data={"csrf_token": csrf, "counterparty_id": "x", "side": "sideways", "currency": "E", "amount": "-1"})
    assert refused.status_code == 422
    for field in ("counterparty_id", "side", "currency", "amount"):
        assert field_error(refused, field), field
    with database(app).sessionmaker() as s:
        assert s.query(ExposureLimit).count() == 0
    done = client.post(
        "/finance/portfolio/limits", data={"csrf_token": csrf, "counterparty_id": str(w.buyer.org.id), "side": "buyer", "currency": "EUR", "amount": "1000.00"}
    )
    assert done.status_code == 302
    html = client.get("/finance/portfolio").get_data(as_text=True)
    # Buyer One owes 800.00 outstanding (P1): 200.00 of the 1,000.00 limit is left.
    assert '<td class="num">1,000.00</td><td class="num">200.00</td>' in html
