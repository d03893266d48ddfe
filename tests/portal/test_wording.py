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
