"""When the ledger stops (the worker is down, the journal not writable, the chain refusing),
health says so and the portal tells the organizations whose steps wait; orders wait for
their escrow meanwhile (issue 9, finding 12)."""

from __future__ import annotations

from datetime import date

from tests import orders_factory
from tests.ledger_helpers import settle
from tests.portal.helpers import text


def test_stalled_chain_steps_show_in_health_and_on_the_portal(app, client, session, world, funded, frozen_clock, signed_in):
    assert client.get("/api/v1/health").get_json()["ledger"] == "ok"
    with app.test_request_context():
        issued = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    body = {"lines": [{"line_no": n, "confirmed_quantity": q, "confirmed_date": date.today().isoformat()} for n, q in ((1, "10"), (2, "4"))]}
    assert client.post(f"/api/v1/orders/{issued.id}/acknowledge", json=body, headers=world.supplier.headers).status_code == 200

    # No worker runs: a few seconds are normal, two minutes are not.
    frozen_clock.advance(seconds=20)
    assert client.get("/api/v1/health").status_code == 200
    frozen_clock.advance(minutes=2)
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    shown = health.get_json()
    assert shown["status"] == "degraded" and shown["ledger"] == "stalled" and shown["ledger_steps_waiting"] == 2  # approve and fund
    # The buyer, whose funding waits, is told on every page; the carrier, with nothing waiting, is not.
    assert "Ledger steps of your organization are delayed: 2 waiting" in text(signed_in(world.buyer).get("/dashboard"))
    assert "Ledger steps" not in text(signed_in(world.carrier).get("/dashboard"))
    # Meanwhile no goods move on the unfunded escrow.
    ship = {"carrier_id": str(world.carrier.org.id), "shipped_at": frozen_clock.now.isoformat(), "lines": [{"line_no": 1, "quantity": "10"}]}
    assert client.post(f"/api/v1/orders/{issued.id}/shipments", json=ship, headers=world.supplier.headers).status_code == 409

    settle(app, funded)  # the worker is back
    assert client.get("/api/v1/health").get_json() | {"version": None} == {
        "status": "ok",
        "database": "ok",
        "ledger": "ok",
        "ledger_steps_waiting": 0,
        "ledger_stalled_since": None,
        "version": None,
    }
    assert "Ledger steps" not in text(signed_in(world.buyer).get("/dashboard"))
