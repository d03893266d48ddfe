"""The timeline says what was true at each moment: an accepted change shows the new total
at its revision and leaves the earlier entries as they were (issue 9, section 2, finding 6)."""

from __future__ import annotations

from decimal import Decimal

from concord.orders import changes

from tests import orders_factory


def test_entries_keep_the_amounts_of_their_time(app, client, session, world):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
        issued_total = order.total
        proposal = changes.propose_change(
            session, world.supplier.principal, order.id, {"note": "Steel went up", "lines": [{"line_no": 1, "unit_price": Decimal("3.10")}]}
        )
        changes.decide_change(session, world.buyer.principal, order.id, proposal.id, "accept_change")
        changed_total = order.total
    session.commit()
    assert changed_total != issued_total
    timeline = client.get(f"/api/v1/orders/{order.id}/timeline", headers=world.buyer.headers).get_json()
    summaries = [entry["summary"] for entry in timeline if entry["kind"] in ("created", "revision")]
    assert summaries[0] == f"Order {order.number} drafted."
    assert summaries[1].startswith("Revision 1:") and summaries[1].endswith(f"({issued_total} EUR).")
    assert summaries[2].startswith("Revision 2:") and summaries[2].endswith(f"({changed_total} EUR).")
    assert not any(str(changed_total) in summary for summary in summaries[:2])
