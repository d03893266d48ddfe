"""Irreversible actions ask before they are sent (issue 9, section 2, finding 7): the forms
carry the question, and the page loads the script that asks it (served from the project)."""

from __future__ import annotations

import re

from tests import orders_factory
from tests.portal.helpers import text


def questions(response) -> list[str]:
    return re.findall(r'data-confirm="([^"]+)"', response.get_data(as_text=True))


def test_acknowledging_minting_and_ending_a_partnership_ask_first(app, session, world, signed_in):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    supplier = signed_in(world.supplier)
    page = supplier.get(f"/orders/{order.id}")
    assert any(q.startswith(f"Acknowledge order {order.number}? The confirmed total is locked in escrow") for q in questions(page))
    assert any(q.startswith("Reject order") for q in questions(page))
    assert '<script src="/static/js/confirm.js" defer></script>' in page.get_data(as_text=True)
    assert any(q.startswith("Mint these settlement tokens") for q in questions(signed_in(world.operator).get("/operator/settlement-tokens")))
    partnerships = signed_in(world.buyer).get("/organization/partnerships")
    assert any(q.startswith(f"End the partnership with {world.supplier.org.legal_name}?") for q in questions(partnerships))
    assert "confirm" in text(supplier.get("/static/js/confirm.js"))
