"""Every portal page fits the screen: at 390 px (a phone) and 1280 px (a laptop) no page
scrolls sideways, for every kind of member and the operator (issue 9, section 2, finding 11).
Long unbroken words in what people type wrap instead of stretching the page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from concord.orders import service as orders
from concord.tenancy.models import Relation

from tests import factories, orders_factory
from tests.e2e.test_portal_onboarding import sign_in

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)
LONG_WORD = "x" * 1000


def portal_pages(app) -> list[str]:
    """Every page of the portal a GET opens without naming an object."""
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        path = rule.rule
        if path.startswith(("/api", "/static", "/logout")):
            continue
        pages.append(path)
    return sorted(set(pages))


@pytest.fixture
def busy_world(app, session, world):
    """Objects on the pages that name one: an issued order with a change proposal whose
    note is one very long word, a product and a location with long names."""
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
        orders.propose_change(session, world.supplier.principal, order.id, {"note": LONG_WORD[:1000], "lines": [{"line_no": 1, "quantity": Decimal("12")}]})
        factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, world.supplier, accept=False)
    session.commit()
    return {"order": order}


def overflow(page) -> int:
    """How many pixels the page is wider than the window."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# The outermost elements that reach past the window's right edge, to name in a failure.
_CULPRITS = """() => {
  const limit = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > limit + 1);
  return wide.filter(e => !wide.includes(e.parentElement)).slice(0, 3)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).trim().replace(/\\s+/g, '.') : ''));
}"""


@pytest.mark.parametrize("who", ["operator", "buyer", "supplier", "carrier", "financier", "auditor"])
def test_no_page_scrolls_sideways(live_server, browser, app, world, busy_world, who):
    member = getattr(world, who)
    paths = portal_pages(app) + ([f"/orders/{busy_world['order'].id}"] if who in ("buyer", "supplier") else [])
    too_wide = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        sign_in(page, live_server, member.admin.email)
        page.wait_for_url(f"{live_server}/dashboard")
        for path in paths:
            page.goto(f"{live_server}{path}")
            if (extra := overflow(page)) > 0:
                too_wide.append((width, path, extra, page.evaluate(_CULPRITS)))
        context.close()
    assert too_wide == [], f"pages wider than the window (width, page, pixels, outermost elements past the edge): {too_wide}"
