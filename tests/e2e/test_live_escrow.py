"""Pending chain state refreshes by itself (issue 9, section 2, finding 10): the order page
of an escrow whose funding is on its way polls for it (htmx, served from the project), and
once the ledger confirms it the page shows the funded escrow and the next step's form
without anyone reloading."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from concord.ledger import service as ledger_service
from concord.orders import service as orders
from playwright.sync_api import expect

from tests import orders_factory
from tests.e2e.helpers import sign_in
from tests.ledger_helpers import settle

pytestmark = [pytest.mark.browser, pytest.mark.real_commits]


def test_the_escrow_section_follows_the_ledger_without_a_reload(live_server, page, app, session, world, chain_worker):
    with app.test_request_context():
        ledger_service.mint(session, world.operator.principal, world.buyer.org.id, "EUR", Decimal("10000"))
    session.commit()
    settle(app, chain_worker)
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
        orders.acknowledge(
            session,
            world.supplier.principal,
            order.id,
            [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today()} for n, q in ((1, Decimal(10)), (2, Decimal(4)))],
        )
    session.commit()

    sign_in(page, live_server, world.supplier.admin.email)
    page.goto(f"{live_server}/orders/{order.id}")
    expect(page.locator("#escrow-state")).to_have_text("pending")
    expect(page.get_by_role("heading", name="Create shipment")).to_have_count(0)
    assert page.evaluate("typeof htmx") == "object"  # loaded from /static/vendor, no CDN

    settle(app, chain_worker)  # the worker sends the funding; the page is not touched
    expect(page.locator("#escrow-state")).to_have_text("funded", timeout=15_000)
    expect(page.get_by_role("heading", name="Create shipment")).to_be_visible(timeout=15_000)
