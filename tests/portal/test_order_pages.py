"""Purchase orders in the portal: the buyer writes and issues an order, the supplier
acknowledges it line by line (funding the escrow), rejects it or proposes a change that the
buyer decides; every refusal is shown on the page with the form as it was sent."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.orders import changes
from concord.orders.models import ChangeProposal, OrderState, PurchaseOrder
from concord.tenancy.models import Relation, Role

from tests import factories, orders_factory
from tests.ledger_helpers import settle
from tests.portal.helpers import field_error, text
from tests.statements import statements

SOON = (date.today() + timedelta(days=14)).isoformat()
LATER = (date.today() + timedelta(days=30)).isoformat()


@pytest.fixture
def shop(app, session, world):
    """The buyer's two products and a location."""
    with app.test_request_context():
        products, location = orders_factory.catalog_of(session, world.buyer)
    session.commit()
    return {"products": [str(p.id) for p in products], "location": str(location.id)}


def order_form(world, shop, **overrides) -> dict[str, str]:
    """Two filled rows of five (rows 1 and 4), the others left blank."""
    form = {
        "number": "PO-2026-0100",
        "supplier_id": str(world.supplier.org.id),
        "currency": "EUR",
        "ship_to_location_id": shop["location"],
        "incoterm": "DAP",
        "payment_terms": "Escrow, released on receipt",
        "line_rows": "5",
        "lines-0-product_id": shop["products"][0],
        "lines-0-quantity": "250",
        "lines-0-unit_price": "1.2345",
        "lines-0-requested_date": SOON,
        "lines-3-product_id": shop["products"][1],
        "lines-3-quantity": "12.5",
        "lines-3-unit_price": "80",
        "lines-3-requested_date": LATER,
    }
    for row in (1, 2, 4):
        form.update({f"lines-{row}-{field}": "" for field in ("product_id", "quantity", "unit_price", "requested_date")})
    return {**form, **overrides}


def issued(app, session, world, **kwargs) -> PurchaseOrder:
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier, **kwargs)
    session.commit()
    return order


def fetch(app, order_id) -> PurchaseOrder:
    with database(app).sessionmaker() as s:
        order = s.get(PurchaseOrder, order_id)
        order.lines  # noqa: B018 - loaded while the session is open
        return order


def only_order_id(app):
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(PurchaseOrder.id)).scalar_one()


def count(app, model) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def acknowledgement(order, **overrides) -> dict[str, str]:
    form = {}
    for line in order.lines:
        form[f"ack-{line.line_no}-confirmed_quantity"] = format(line.quantity.normalize(), "f")
        form[f"ack-{line.line_no}-confirmed_date"] = SOON
    return {**form, **overrides}


def forms_on(response) -> set[str]:
    """The order actions whose forms the page offers (by their URLs)."""
    page = response.get_data(as_text=True)
    return set(re.findall(r'action="/orders/[0-9a-f-]+/(issue|cancel|reject|acknowledge|change-proposals)"', page)) | (
        {"accept", "decline"} & set(re.findall(r'/change-proposals/[0-9a-f-]+/(accept|decline)"', page))
    )


# -- the buyer's order form -----------------------------------------------------------------


def test_buyer_writes_a_draft_with_two_of_five_rows_and_issues_it(app, world, shop, signed_in):
    buyer = signed_in(world.buyer)
    page = buyer.get("/orders/new")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count('name="lines-4-quantity"') == 1  # five blank rows
    created = buyer.post("/orders/new", order_form(world, shop))
    assert created.status_code == 302, text(created)[:2000]
    detail = buyer.get(created.headers["Location"])
    shown = text(detail)
    assert "Draft order PO-2026-0100 saved (1,308.62 EUR)" in shown
    assert "Order PO-2026-0100 draft" in shown and "you are the buyer" in shown
    assert forms_on(detail) == {"issue", "cancel"} and "Edit draft" in shown
    order = fetch(app, only_order_id(app))
    assert [(line.line_no, line.quantity, line.requested_date.isoformat()) for line in order.lines] == [
        (1, Decimal("250.000"), SOON),
        (2, Decimal("12.500"), LATER),
    ]
    assert order.total == Decimal("1308.62")  # 308.625 -> 308.62 (half to even) + 1000.00

    issued_page = buyer.post(f"/orders/{order.id}/issue", follow_redirects=True)
    assert issued_page.status_code == 200
    assert f"Order PO-2026-0100 issued to {world.supplier.org.legal_name}." in text(issued_page)
    assert fetch(app, order.id).state == OrderState.ISSUED
    assert forms_on(issued_page) == {"cancel"}
    assert f"Waiting for {world.supplier.org.legal_name} to acknowledge, reject or propose a change." in text(issued_page)
    assert "Revision 1 (current) · issued" in text(issued_page)


def test_order_form_errors_point_at_the_row_they_belong_to_and_nothing_is_written(app, world, shop, signed_in):
    buyer = signed_in(world.buyer)
    response = buyer.post("/orders/new", order_form(world, shop, **{"lines-3-quantity": "1.23456", "number": "", "incoterm": "XYZ"}))
    assert response.status_code == 422
    assert field_error(response, "lines-3-quantity") == ["At most 3 decimal places."]
    assert field_error(response, "lines-0-quantity") == []
    assert field_error(response, "number") == ["Missing data for required field."]
    assert field_error(response, "incoterm")
    page = response.get_data(as_text=True)
    assert 'value="1.23456"' in page and 'value="Escrow, released on receipt"' in page  # the form as sent
    assert count(app, PurchaseOrder) == 0


def test_the_service_refuses_a_supplier_that_is_no_partner_on_the_supplier_field(app, world, shop, signed_in):
    buyer = signed_in(world.buyer)
    response = buyer.post("/orders/new", order_form(world, shop, supplier_id=str(world.supplier2.org.id)))
    assert response.status_code == 422
    assert field_error(response, "supplier_id") == ["Not an active supplier partner of your organization."]
    assert count(app, PurchaseOrder) == 0


def test_an_order_without_lines_says_so_and_more_lines_saves_nothing(app, world, shop, signed_in):
    buyer = signed_in(world.buyer)
    empty = {k: ("" if k.startswith("lines-") else v) for k, v in order_form(world, shop).items()}
    response = buyer.post("/orders/new", empty)
    assert response.status_code == 422
    assert field_error(response, "lines") == ["Fill in at least one line: a product, a quantity, a unit price and a date."]
    more = buyer.post("/orders/new", {**order_form(world, shop), "more_lines": "1"})
    assert more.status_code == 200
    page = more.get_data(as_text=True)
    assert 'name="lines-9-product_id"' in page and 'name="lines-10-product_id"' not in page
    assert 'value="12.5"' in page  # what was typed is kept
    assert count(app, PurchaseOrder) == 0


def test_buyer_edits_a_draft_through_the_same_form(app, world, shop, signed_in, session):
    with app.test_request_context():
        draft = orders_factory.draft_order(session, world.buyer, world.supplier)
    session.commit()
    buyer = signed_in(world.buyer)
    form_page = buyer.get(f"/orders/{draft.id}/edit")
    assert form_page.status_code == 200 and f'value="{draft.number}"' in form_page.get_data(as_text=True)
    saved = buyer.post(f"/orders/{draft.id}/edit", order_form(world, shop, number=draft.number, payment_terms="Net 30"))
    assert saved.status_code == 302
    order = fetch(app, draft.id)
    assert order.payment_terms == "Net 30" and len(order.lines) == 2 and order.total == Decimal("1308.62")
    issued_order = issued(app, session, world)
    assert buyer.get(f"/orders/{issued_order.id}/edit").status_code == 302  # only drafts are edited


def test_a_non_buyer_cannot_open_the_order_form(world, signed_in):
    supplier = signed_in(world.supplier)
    response = supplier.get("/orders/new")
    assert response.status_code == 403
    assert "Only organizations admitted as buyers issue purchase orders." in text(response)


# -- the supplier's answer ------------------------------------------------------------------


def test_supplier_acknowledges_line_by_line_and_the_buyer_sees_the_escrow_funded(app, world, signed_in, session, funded):
    order = issued(app, session, world)
    supplier = signed_in(world.supplier)
    inbox = text(supplier.get("/orders?role=supplier&state=issued"))
    assert order.number in inbox and world.buyer.org.legal_name in inbox
    page = supplier.get(f"/orders/{order.id}")
    assert forms_on(page) == {"acknowledge", "reject", "change-proposals"}
    answer = acknowledgement(order, **{"ack-2-confirmed_quantity": "3"})  # 4 ordered: a partial line
    done = supplier.post(f"/orders/{order.id}/acknowledge", answer, follow_redirects=True)
    assert done.status_code == 200
    shown = text(done)
    # 10 x 2.50 + 3 x 12.125 = 25.00 + 36.375 -> 36.38
    assert f"Order {order.number} acknowledged in part: 61.38 EUR go into escrow" in shown
    assert "Escrow state pending" in shown and "approve" in shown and "fund" in shown
    stored = fetch(app, order.id)
    assert stored.state == OrderState.ACKNOWLEDGED and stored.confirmed_total == Decimal("61.38")
    assert [line.confirmed_quantity for line in stored.lines] == [Decimal("10.000"), Decimal("3.000")]

    settle(app, funded)
    buyer_view = signed_in(world.buyer).get(f"/orders/{order.id}")
    shown = text(buyer_view)
    assert "Order " + order.number + " acknowledged" in shown
    assert "Escrow state funded" in shown and "EscrowFunded in block" in shown
    tx_hashes = re.findall(r"0x[0-9a-f]{64}", buyer_view.get_data(as_text=True))
    assert len(set(tx_hashes)) >= 2  # approve and fund, each with its hash
    assert forms_on(buyer_view) == set()


def test_an_acknowledgement_beyond_the_ordered_quantity_is_refused_on_its_line(app, world, signed_in, session, funded):
    order = issued(app, session, world)
    supplier = signed_in(world.supplier)
    response = supplier.post(f"/orders/{order.id}/acknowledge", acknowledgement(order, **{"ack-2-confirmed_quantity": "5"}))
    assert response.status_code == 422
    assert field_error(response, "ack-2-confirmed_quantity") == ["At most the ordered 4.000."]
    assert field_error(response, "ack-1-confirmed_quantity") == []
    assert 'value="5"' in response.get_data(as_text=True)
    assert fetch(app, order.id).state == OrderState.ISSUED


def test_every_mistake_of_an_acknowledgement_is_reported_in_one_pass(app, world, signed_in, session, funded):
    """Over the ordered quantity, negative and empty at once: three messages, not two now and
    the third on the next try (issue 9, section 2, finding 2)."""
    order = issued(app, session, world, lines=((Decimal("10"), Decimal("1")), (Decimal("4"), Decimal("1")), (Decimal("2"), Decimal("1"))))
    supplier = signed_in(world.supplier)
    form = acknowledgement(order, **{"ack-1-confirmed_quantity": "11", "ack-2-confirmed_quantity": "-1", "ack-3-confirmed_quantity": ""})
    response = supplier.post(f"/orders/{order.id}/acknowledge", form)
    assert response.status_code == 422
    assert field_error(response, "ack-1-confirmed_quantity") == ["At most the ordered 10.000."]
    assert field_error(response, "ack-2-confirmed_quantity") and field_error(response, "ack-3-confirmed_quantity")
    assert fetch(app, order.id).state == OrderState.ISSUED
    # ... listed together at the top of the form, each linking to its field, focused on arrival.
    summary = re.search(
        r'<div class="error-summary" role="alert" tabindex="-1" id="acknowledge-errors" autofocus>(.*?)</div>', response.get_data(as_text=True), re.S
    )
    assert summary, "no error summary"
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(1))
    assert [field for field, _ in links] == ["ack-1-confirmed_quantity", "ack-2-confirmed_quantity", "ack-3-confirmed_quantity"]
    assert links[0][1] == "Line 1, confirmed quantity: At most the ordered 10.000."


def test_an_acknowledgement_the_buyers_balance_cannot_cover_is_a_409_with_the_form_kept(app, world, signed_in, session, funded):
    order = issued(app, session, world, lines=((Decimal("1000"), Decimal("50.01")),))  # 50,010.00 > 50,000
    supplier = signed_in(world.supplier)
    response = supplier.post(f"/orders/{order.id}/acknowledge", acknowledgement(order, **{"ack-1-confirmed_date": LATER}))
    assert response.status_code == 409
    shown = text(response)
    assert "does not cover the confirmed total (50010.00)" in shown
    assert field_error(response, "escrow") == ["Needs 50010.00 EUR; available 50000.000000."]
    assert f'value="{LATER}"' in response.get_data(as_text=True)  # the form as sent
    stored = fetch(app, order.id)
    assert stored.state == OrderState.ISSUED and stored.confirmed_total is None
    assert [line.confirmed_quantity for line in stored.lines] == [None]


def test_supplier_rejects_with_a_reason_that_is_required(app, world, signed_in, session):
    order = issued(app, session, world)
    supplier = signed_in(world.supplier)
    blank = supplier.post(f"/orders/{order.id}/reject", {"reason": "  "})
    assert blank.status_code == 422 and field_error(blank, "reason") == ["Must not be blank."]
    assert fetch(app, order.id).state == OrderState.ISSUED
    done = supplier.post(f"/orders/{order.id}/reject", {"reason": "Tooling unavailable"}, follow_redirects=True)
    assert f"Order {order.number} rejected." in text(done) and "“Tooling unavailable”" in text(done)
    assert fetch(app, order.id).state == OrderState.REJECTED


def test_a_change_proposal_is_accepted_by_the_buyer_as_a_new_revision(app, world, signed_in, session):
    order = issued(app, session, world)
    supplier = signed_in(world.supplier)
    nothing = supplier.post(f"/orders/{order.id}/change-proposals", {"note": "?"})
    assert nothing.status_code == 422 and field_error(nothing, "lines") == ["Give a new quantity, unit price or date for at least one line."]
    bad = supplier.post(f"/orders/{order.id}/change-proposals", {"change-2-unit_price": "-1"})
    assert bad.status_code == 422 and field_error(bad, "change-2-unit_price") == ["Must be greater than zero."]
    proposed = supplier.post(
        f"/orders/{order.id}/change-proposals", {"change-2-unit_price": "13", "change-2-requested_date": LATER, "note": "Steel went up"}, follow_redirects=True
    )
    assert "Change proposed to the buyer for 1 line" in text(proposed)
    assert forms_on(proposed) == set() and f"Waiting for {world.buyer.org.legal_name} to decide on your change proposal." in text(proposed)

    buyer = signed_in(world.buyer)
    page = buyer.get(f"/orders/{order.id}")
    assert forms_on(page) == {"cancel", "accept", "decline"}
    assert "“Steel went up”" in text(page)
    (proposal_id,) = re.findall(r"/change-proposals/([0-9a-f-]+)/accept", page.get_data(as_text=True))
    accepted = buyer.post(f"/orders/{order.id}/change-proposals/{proposal_id}/accept", follow_redirects=True)
    shown = text(accepted)
    assert f"Change accepted: order {order.number} is now revision 2." in shown
    assert "Revision 2 (current)" in shown and "Revision 1 · issued" in shown  # the older one stays readable
    stored = fetch(app, order.id)
    assert stored.revision == 2 and stored.lines[1].unit_price == Decimal("13.0000") and stored.total == Decimal("77.00")


def test_buyer_declines_a_change_and_may_then_cancel(app, world, signed_in, session):
    order = issued(app, session, world)
    with app.test_request_context():
        proposal = changes.propose_change(session, world.supplier.principal, order.id, {"note": None, "lines": [{"line_no": 1, "quantity": Decimal("8")}]})
    session.commit()
    buyer = signed_in(world.buyer)
    declined = buyer.post(f"/orders/{order.id}/change-proposals/{proposal.id}/decline", {"reason": "We need all ten"}, follow_redirects=True)
    assert f"Change declined: order {order.number} stays as it was." in text(declined)
    assert "Declined" in text(declined) and "“We need all ten”" in text(declined)
    cancelled = buyer.post(f"/orders/{order.id}/cancel", {"reason": "Project stopped"}, follow_redirects=True)
    assert f"Order {order.number} cancelled." in text(cancelled)
    assert fetch(app, order.id).state == OrderState.CANCELLED
    with database(app).sessionmaker() as s:
        assert s.get(ChangeProposal, proposal.id).decision_reason == "We need all ten"


def test_an_action_the_state_no_longer_allows_is_a_409_on_the_page(app, world, signed_in, session):
    order = issued(app, session, world)
    buyer = signed_in(world.buyer)
    response = buyer.post(f"/orders/{order.id}/issue")
    assert response.status_code == 409
    assert "Cannot issue this order: it is issued." in text(response)
    assert forms_on(response) == {"cancel"}
    supplier = signed_in(world.supplier)
    wrong_side = supplier.post(f"/orders/{order.id}/cancel", {"reason": "Not mine to cancel"})
    assert wrong_side.status_code == 403 and "Only the buyer may cancel an order." in text(wrong_side)
    assert fetch(app, order.id).state == OrderState.ISSUED


def test_a_viewer_sees_the_order_without_action_forms(app, world, signed_in, session):
    order = issued(app, session, world)
    with app.test_request_context():
        viewer, _ = factories.add_user(session, world.supplier, Role.VIEWER)
    session.commit()
    browser = signed_in(viewer)
    page = browser.get(f"/orders/{order.id}")
    assert page.status_code == 200 and forms_on(page) == set()
    assert "You have the viewer role" in text(page)
    refused = browser.post(f"/orders/{order.id}/reject", {"reason": "Viewer tries"})
    assert refused.status_code == 403
    assert fetch(app, order.id).state == OrderState.ISSUED


# -- who sees what ----------------------------------------------------------------------


def test_drafts_and_other_parties_orders_are_404(app, world, signed_in, session):
    with app.test_request_context():
        draft = orders_factory.draft_order(session, world.buyer, world.supplier)
        factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, world.supplier2)
        foreign = orders_factory.issued_order(session, world.buyer2, world.supplier2)
    session.commit()
    supplier = signed_in(world.supplier)
    assert supplier.get(f"/orders/{draft.id}").status_code == 404  # a draft is the buyer's alone
    assert draft.number not in text(supplier.get("/orders"))
    buyer = signed_in(world.buyer)
    assert buyer.get(f"/orders/{foreign.id}").status_code == 404
    assert buyer.post(f"/orders/{foreign.id}/cancel", {"reason": "Not mine"}).status_code == 404
    assert foreign.number not in text(buyer.get("/orders"))
    assert fetch(app, foreign.id).state == OrderState.ISSUED


def test_the_order_list_filters_by_state_and_partner_and_pages(app, world, signed_in, session):
    with app.test_request_context():
        factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer, world.supplier2)
        to_one = [orders_factory.issued_order(session, world.buyer, world.supplier) for _ in range(26)]
        to_two = orders_factory.draft_order(session, world.buyer, world.supplier2)
    session.commit()
    buyer = signed_in(world.buyer)
    first = buyer.get("/orders")
    numbers = re.findall(r">(PO-\d+)</a>", first.get_data(as_text=True))
    assert len(numbers) == 25 and numbers[0] == to_two.number  # newest first
    (next_link,) = re.findall(r'href="(/orders\?cursor=[^"]+)">Next page', first.get_data(as_text=True))
    second = re.findall(r">(PO-\d+)</a>", buyer.get(next_link.replace("&amp;", "&")).get_data(as_text=True))
    assert len(second) == 2 and not set(second) & set(numbers)
    drafts = re.findall(r">(PO-\d+)</a>", buyer.get("/orders?state=draft").get_data(as_text=True))
    assert drafts == [to_two.number]
    partner = re.findall(r">(PO-\d+)</a>", buyer.get(f"/orders?partner={world.supplier.org.id}&state=issued").get_data(as_text=True))
    assert len(partner) == 25 and to_two.number not in partner
    assert "No orders match these filters." in text(buyer.get(f"/orders?partner={world.supplier2.org.id}&state=issued"))
    assert {o.number for o in to_one} >= set(partner)


def test_nav_shows_orders_and_catalog_to_buyers_and_suppliers_only(world, signed_in):
    for member, expected in ((world.buyer, True), (world.supplier, True), (world.carrier, False)):
        page = signed_in(member).get("/dashboard").get_data(as_text=True)
        nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
        assert (">Orders<" in nav and ">Products<" in nav and ">Locations<" in nav) is expected, member.org.legal_name
        assert ">Settlement tokens<" not in nav


def test_the_order_list_page_costs_the_same_statements_for_2_orders_as_for_25(app, world, signed_in, session):
    buyer = signed_in(world.buyer)
    counts = []
    for more in (2, 23):
        with app.test_request_context():
            for _ in range(more):
                orders_factory.issued_order(session, world.buyer, world.supplier)
        session.commit()
        buyer.get("/orders")  # warm: the first request loads more
        with statements(app) as seen:
            page = buyer.get("/orders")
        assert len(re.findall(r">(PO-\d+)</a>", page.get_data(as_text=True))) == len(counts) * 23 + 2
        counts.append(sum(seen.values()))
    assert counts[0] == counts[1], counts
