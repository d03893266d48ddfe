"""Pages say what is true for the reader (issue 9, section 2, finding 12)."""

from __future__ import annotations


def test_the_operator_is_no_ones_partner_candidate(client, world, signed_in):
    page = signed_in(world.buyer).get("/organization/partnerships").get_data(as_text=True)
    assert world.supplier.org.legal_name in page
    assert world.operator.org.legal_name not in page
    listed = client.get("/api/v1/directory?limit=200", headers=world.buyer.headers).get_json()["items"]
    assert str(world.operator.org.id) not in {entry["id"] for entry in listed}


def test_dashboard_headings_use_the_right_article(world, signed_in):
    page = signed_in(world.auditor).get("/dashboard").get_data(as_text=True)
    assert "As an auditor" in page and "As a auditor" not in page
    assert "As a buyer" in signed_in(world.buyer).get("/dashboard").get_data(as_text=True)


def test_an_empty_product_list_speaks_to_a_supplier_as_a_supplier(world, signed_in):
    supplier_page = signed_in(world.supplier).get("/catalog/products").get_data(as_text=True)
    assert "ordered from your suppliers" not in supplier_page and "you ship against your buyers' orders" in supplier_page
    buyer_page = signed_in(world.buyer).get("/catalog/products").get_data(as_text=True)
    assert "ordered from your suppliers" in buyer_page


def test_people_read_words_not_codes(app, session, world, signed_in):
    from tests import orders_factory

    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    page = signed_in(world.supplier).get(f"/orders/{order.id}").get_data(as_text=True)
    assert "10 pieces" in page and "4 pieces" in page
    assert "H87" not in page
    notifications = signed_in(world.supplier).get("/notifications").get_data(as_text=True)
    assert "A buyer issued an order to you" in notifications and "<code>order.issued</code>" not in notifications


def test_a_quantity_is_shown_with_its_unit_in_words():
    from decimal import Decimal

    from concord.portal import label, measure

    assert measure(Decimal("120.000"), "H87") == "120 pieces"
    assert measure(Decimal("1"), "XPX") == "1 pallet"
    assert measure(Decimal("2"), "XBX") == "2 boxes"
    assert measure(Decimal("12.500"), "KGM") == "12.5 kilograms"
    assert measure(Decimal("3"), "ZZZ") == "3 ZZZ"  # a code Concord has no word for stays as it is
    assert label("partially_received") == "partially received"
