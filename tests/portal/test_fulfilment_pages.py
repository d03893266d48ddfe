"""Fulfilment in the portal: the supplier ships by lot with its carrier partner, the carrier
records milestones and the proof of delivery on its shipment pages, the buyer confirms
receipt, the supplier accepts a partial receipt, either party disputes and the operator
resolves; every refusal is shown on the page with the form as it was sent, and nothing is
written."""

from __future__ import annotations

import re
from datetime import date, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.logistics import service as logistics
from concord.orders import service as orders
from concord.orders import settlement
from concord.orders.models import (
    Dispute,
    DisputeState,
    Milestone,
    MilestoneKind,
    OrderState,
    PurchaseOrder,
    Receipt,
    Shipment,
    ShipmentLine,
    ShipmentState,
)
from concord.tenancy.models import Relation, Role

from tests import factories, orders_factory
from tests.ledger_helpers import settle
from tests.portal.helpers import field_error, text

# orders_factory's lines: 10 x 2.50 = 25.00 and 4 x 12.125 = 48.50
TOTAL = Decimal("73.50")


# -- arranging ------------------------------------------------------------------------------


def acknowledged(app, session, world, worker, buyer=None, supplier=None) -> PurchaseOrder:
    """An order confirmed in full, its escrow funded on chain."""
    buyer, supplier = buyer or world.buyer, supplier or world.supplier
    with app.test_request_context():
        order = orders_factory.issued_order(session, buyer, supplier)
        answers = [{"line_no": line.line_no, "confirmed_quantity": line.quantity, "confirmed_date": date.today()} for line in order.lines]
        orders.acknowledge(session, supplier.principal, order.id, answers)
    session.commit()
    settle(app, worker)
    return order


def shipped(app, session, world, order, lines=((1, "10", None), (2, "4", None)), carrier=None):
    with app.test_request_context():
        shipment = logistics.create_shipment(
            session,
            world.supplier.principal,
            order.id,
            {"carrier_id": (carrier or world.carrier).org.id, "lines": [{"line_no": n, "quantity": Decimal(q), "lot_number": lot} for n, q, lot in lines]},
        )
    session.commit()
    return shipment


def delivered(app, session, world, worker, order) -> Shipment:
    shipment = shipped(app, session, world, order)
    with app.test_request_context():
        logistics.record_delivery(
            session, world.carrier.principal, shipment.id, {"receiver_name": "Goods-in", "delivered_at": clock.utcnow() - timedelta(minutes=1)}
        )
    session.commit()
    settle(app, worker)
    return shipment


def fetch(app, model, object_id):
    with database(app).sessionmaker() as s:
        found = s.get(model, object_id)
        for relation in ("lines",):
            getattr(found, relation, None)
        return found


def count(app, model) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def forms_on(response) -> set[str]:
    """The fulfilment forms the page offers, by their URLs."""
    page = response.get_data(as_text=True)
    found = set(re.findall(r'action="/orders/[0-9a-f-]+/(shipments|receipt|disputes|release)"', page))
    found |= {f"shipment-{kind}" for kind in re.findall(r'action="/shipments/[0-9a-f-]+/(milestones|proof-of-delivery)"', page)}
    return found | {"resolve" for _ in re.findall(r'action="/disputes/[0-9a-f-]+/resolve"', page)}


def ship_form(carrier, **rows) -> dict[str, str]:
    """The shipment form with every lot row of lines 1 and 2 blank but those given."""
    form = {"carrier_id": str(carrier.org.id), "tracking_number": "", "shipped_at": ""}
    for line_no in (1, 2):
        form.update({f"ship-{line_no}-{field}": "" for field in ("quantity", "lot_number", "quantity_2", "lot_number_2")})
    return {**form, **rows}


def local(moment, offset_hours: int) -> str:
    """A datetime-local value: the moment on the clock of a place `offset_hours` from UTC."""
    return moment.astimezone(timezone(timedelta(hours=offset_hours))).strftime("%Y-%m-%dT%H:%M")


# -- shipping -------------------------------------------------------------------------------


def test_supplier_ships_two_lots_of_one_line_with_its_carrier_partner_and_the_rest_later(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    supplier = signed_in(world.supplier)
    page = supplier.get(f"/orders/{order.id}")
    assert forms_on(page) == {"shipments", "disputes"}
    html = page.get_data(as_text=True)
    assert f'<option value="{world.carrier.org.id}" selected>{world.carrier.org.legal_name}</option>' in html  # its only carrier partner
    assert 'name="ship-1-quantity" value="10"' in html and 'name="ship-2-quantity" value="4"' in html  # what is left to ship
    assert "Ship the confirmed lines with a carrier partner" in text(page)

    sent = supplier.post(
        f"/orders/{order.id}/shipments",
        ship_form(
            world.carrier,
            tracking_number="TRK-1",
            **{"ship-1-quantity": "6", "ship-1-lot_number": "L-A", "ship-1-quantity_2": "2", "ship-1-lot_number_2": "L-B"},
        ),
    )
    assert sent.status_code == 302, text(sent)[:3000]
    shown = text(supplier.get(sent.headers["Location"]))
    assert (
        f"Shipment 1 of order {order.number} created with {world.carrier.org.legal_name} (line 1: 6 (lot L-A), line 1: 2 (lot L-B)): the rest can follow in another shipment."
        in shown
    )
    assert fetch(app, PurchaseOrder, order.id).state == OrderState.PARTIALLY_SHIPPED
    with database(app).sessionmaker() as s:
        (shipment,) = s.execute(sa.select(Shipment)).scalars().all()
        assert sorted((sl.line_no, sl.lot_number, sl.quantity) for sl in shipment.lines) == [(1, "L-A", Decimal("6.000")), (1, "L-B", Decimal("2.000"))]
        assert shipment.carrier_org_id == world.carrier.org.id and shipment.tracking_number == "TRK-1"
    again = supplier.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'name="ship-1-quantity" value="2"' in again and 'name="ship-2-quantity" value="4"' in again

    rest = supplier.post(
        f"/orders/{order.id}/shipments",
        ship_form(world.carrier, **{"ship-1-quantity": "2", "ship-2-quantity": "4", "ship-2-lot_number": "L-C"}),
        follow_redirects=True,
    )
    assert "Shipment 2 of order" in text(rest) and "everything confirmed is on its way" in text(rest)
    assert fetch(app, PurchaseOrder, order.id).state == OrderState.SHIPPED
    assert "shipments" not in forms_on(rest)
    shown = text(rest)
    assert "Shipment 1 in transit" in shown and "Shipment 2 in transit" in shown and "L-C" in shown
    assert "waiting for the carrier’s proof of delivery" in shown


def test_shipment_form_errors_point_at_the_lot_row_and_nothing_is_written(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    supplier = signed_in(world.supplier)
    bad_decimals = supplier.post(
        f"/orders/{order.id}/shipments", ship_form(world.carrier, **{"ship-1-quantity": "5", "ship-2-quantity_2": "1.0001", "ship-2-lot_number_2": "L-9"})
    )
    assert bad_decimals.status_code == 422
    assert field_error(bad_decimals, "ship-2-quantity_2") == ["At most 3 decimal places."]
    assert field_error(bad_decimals, "ship-1-quantity") == []
    page = bad_decimals.get_data(as_text=True)
    assert 'value="1.0001"' in page and 'value="L-9"' in page and 'name="ship-2-quantity" value=""' in page  # the form as sent

    too_much = supplier.post(
        f"/orders/{order.id}/shipments", ship_form(world.carrier, **{"ship-1-quantity": "6", "ship-1-quantity_2": "5", "ship-1-lot_number_2": "L-2"})
    )
    assert too_much.status_code == 422
    assert field_error(too_much, "ship-1-quantity_2") == ["At most 10.000 more of line 1 can be shipped (confirmed 10.000, shipped 0)."]
    same_lot = supplier.post(
        f"/orders/{order.id}/shipments",
        ship_form(world.carrier, **{"ship-1-quantity": "1", "ship-1-lot_number": "L-1", "ship-1-quantity_2": "1", "ship-1-lot_number_2": "L-1"}),
    )
    assert same_lot.status_code == 422 and field_error(same_lot, "ship-1-lot_number_2") == ["List each lot of a line once."]
    lot_only = supplier.post(f"/orders/{order.id}/shipments", ship_form(world.carrier, **{"ship-1-lot_number": "L-1"}))
    assert lot_only.status_code == 422 and field_error(lot_only, "ship-1-quantity") == ["Missing data for required field."]

    nothing = supplier.post(f"/orders/{order.id}/shipments", {**ship_form(world.carrier), "carrier_id": ""})
    assert nothing.status_code == 422
    assert field_error(nothing, "lines") == ["Give a quantity for at least one line."]
    assert field_error(nothing, "carrier_id") == ["Missing data for required field."]
    future = supplier.post(
        f"/orders/{order.id}/shipments", ship_form(world.carrier, shipped_at=local(clock.utcnow() + timedelta(hours=3), 0), **{"ship-1-quantity": "1"})
    )
    assert future.status_code == 422 and field_error(future, "shipped_at") == ["Cannot be in the future."]
    assert count(app, Shipment) == 0 and fetch(app, PurchaseOrder, order.id).state == OrderState.ACKNOWLEDGED


def test_only_a_carrier_partner_carries_and_only_the_supplier_ships(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    with app.test_request_context():
        stranger = factories.member(session, world.operator, "carrier", name="Carrier Two Oy")
    session.commit()
    supplier = signed_in(world.supplier)
    assert stranger.org.legal_name not in supplier.get(f"/orders/{order.id}").get_data(as_text=True)  # not offered
    refused = supplier.post(f"/orders/{order.id}/shipments", ship_form(stranger, **{"ship-1-quantity": "1"}))
    assert refused.status_code == 422
    assert field_error(refused, "carrier_id") == ["Not an active carrier partner of your organization."]
    buyer = signed_in(world.buyer)
    wrong_side = buyer.post(f"/orders/{order.id}/shipments", ship_form(world.carrier, **{"ship-1-quantity": "1"}))
    assert wrong_side.status_code == 403 and "Only the supplier may ship an order." in text(wrong_side)
    with app.test_request_context():
        viewer, _ = factories.add_user(session, world.supplier, Role.VIEWER)
    session.commit()
    reader = signed_in(viewer)
    assert forms_on(reader.get(f"/orders/{order.id}")) == set()
    assert reader.post(f"/orders/{order.id}/shipments", ship_form(world.carrier, **{"ship-1-quantity": "1"})).status_code == 403
    stranger_buyer = signed_in(world.buyer2)
    assert stranger_buyer.post(f"/orders/{order.id}/shipments", ship_form(world.carrier, **{"ship-1-quantity": "1"})).status_code == 404
    assert count(app, Shipment) == 0


# -- the carrier's pages --------------------------------------------------------------------


def test_carrier_sees_only_its_shipments_and_records_a_milestone_and_the_proof(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    ours = shipped(app, session, world, order, lines=((1, "10", "L-A"), (2, "4", "L-B")))
    with app.test_request_context():
        other_carrier = factories.member(session, world.operator, "carrier", name="Carrier Two Oy")
        factories.partner(session, Relation.SHIPPER_CARRIER, world.supplier, other_carrier)
    session.commit()
    second = acknowledged(app, session, world, funded)
    theirs = shipped(app, session, world, second, carrier=other_carrier)

    carrier = signed_in(world.carrier)
    home = carrier.get("/dashboard").get_data(as_text=True)
    nav = home[home.index('<nav aria-label="Main">') : home.index("</nav>")]
    assert ">Shipments<" in nav and ">Orders<" not in nav and ">Disputes<" not in nav
    listed = carrier.get("/shipments")
    assert listed.status_code == 200
    assert f"{order.number} / 1" in text(listed) and second.number not in text(listed)
    assert carrier.get(f"/shipments/{theirs.id}").status_code == 404
    assert carrier.get(f"/orders/{order.id}").status_code == 404  # the order itself is not the carrier's

    page = carrier.get(f"/shipments/{ours.id}")
    shown = text(page)
    assert page.status_code == 200 and forms_on(page) == {"shipment-milestones", "shipment-proof-of-delivery"}
    assert "Werkstrasse 7, 70565 Stuttgart, DE" in shown  # where the goods go
    assert "L-A" in shown and "L-B" in shown
    assert "in UTC, unless you choose the UTC offset" in shown

    # Read on a clock two hours ahead of UTC (09:00 there is 07:00 UTC).
    occurred = clock.utcnow().replace(second=0, microsecond=0)
    recorded = carrier.post(
        f"/shipments/{ours.id}/milestones",
        {"kind": "departed", "occurred_at": local(occurred, 2), "occurred_at_offset": "+02:00", "location": "Leeds, GB", "note": "On time"},
        follow_redirects=True,
    )
    assert recorded.status_code == 200, text(recorded)
    assert "Milestone recorded on shipment 1: departed at Leeds, GB." in text(recorded)
    with database(app).sessionmaker() as s:
        (milestone,) = s.execute(sa.select(Milestone)).scalars().all()
        assert milestone.kind == MilestoneKind.DEPARTED and milestone.occurred_at == occurred and milestone.note == "On time"
    assert occurred.strftime("%Y-%m-%d %H:%M UTC") in text(recorded)

    proof = carrier.post(
        f"/shipments/{ours.id}/proof-of-delivery",
        {"receiver_name": "Goods-in, gate 3", "delivered_at": local(clock.utcnow(), 0), "document_hash": "AB" * 32},
        follow_redirects=True,
    )
    assert "Proof of delivery of shipment 1 recorded: received by Goods-in, gate 3." in text(proof)
    assert forms_on(proof) == set()  # delivered: nothing more to record
    stored = fetch(app, Shipment, ours.id)
    assert stored.state == ShipmentState.DELIVERED and stored.pod_document_hash == "0x" + "ab" * 32
    assert fetch(app, PurchaseOrder, order.id).state == OrderState.DELIVERED
    settle(app, funded)
    anchored = text(carrier.get(f"/shipments/{ours.id}"))
    assert "anchors the proof of delivery of shipment 1" in anchored and "confirmed" in anchored

    # The buyer and the supplier see their shipments too, filtered by state.
    buyer = signed_in(world.buyer)
    delivered_only = text(buyer.get("/shipments?state=delivered"))
    assert f"{order.number} / 1" in delivered_only and second.number not in delivered_only
    assert second.number in text(buyer.get("/shipments?state=in_transit"))
    assert signed_in(world.buyer2).get(f"/shipments/{ours.id}").status_code == 404
    assert "No shipments yet." in text(signed_in(world.buyer2).get("/shipments"))


def test_milestone_and_proof_errors_are_shown_by_field_and_nothing_is_written(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    shipment = shipped(app, session, world, order)
    carrier = signed_in(world.carrier)
    blank = carrier.post(f"/shipments/{shipment.id}/milestones", {"kind": "", "occurred_at": local(clock.utcnow(), 0), "location": "  "})
    assert blank.status_code == 422
    assert field_error(blank, "kind") == ["Missing data for required field."]
    assert field_error(blank, "location") == ["Must not be blank."]
    future = carrier.post(
        f"/shipments/{shipment.id}/milestones", {"kind": "arrived", "occurred_at": local(clock.utcnow() + timedelta(hours=2), 0), "location": "Hamburg"}
    )
    assert future.status_code == 422 and field_error(future, "occurred_at") == ["Cannot be in the future."]
    assert 'value="Hamburg"' in future.get_data(as_text=True)  # the form as sent
    odd_offset = carrier.post(
        f"/shipments/{shipment.id}/milestones",
        {"kind": "arrived", "occurred_at": local(clock.utcnow(), 0), "occurred_at_offset": "+02:17", "location": "Hamburg"},
    )
    assert odd_offset.status_code == 422 and field_error(odd_offset, "occurred_at_offset") == ["Choose a UTC offset from the list."]
    garbage = carrier.post(f"/shipments/{shipment.id}/milestones", {"kind": "arrived", "occurred_at": "yesterday", "location": "Hamburg"})
    assert garbage.status_code == 422 and field_error(garbage, "occurred_at") == ["Not a valid datetime."]
    bad_hash = carrier.post(
        f"/shipments/{shipment.id}/proof-of-delivery", {"receiver_name": "Goods-in", "delivered_at": local(clock.utcnow(), 0), "document_hash": "xyz"}
    )
    assert bad_hash.status_code == 422 and field_error(bad_hash, "document_hash") == ["A SHA-256 as 64 hex digits."]
    before_shipping = carrier.post(
        f"/shipments/{shipment.id}/proof-of-delivery", {"receiver_name": "Goods-in", "delivered_at": local(clock.utcnow() - timedelta(days=2), 0)}
    )
    assert before_shipping.status_code == 422 and field_error(before_shipping, "delivered_at")[0].startswith("Cannot be before the shipment left")
    assert count(app, Milestone) == 0 and fetch(app, Shipment, shipment.id).state == ShipmentState.IN_TRANSIT


def test_only_the_carrier_records_milestones_and_not_after_delivery(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    shipment = shipped(app, session, world, order)
    milestone = {"kind": "departed", "occurred_at": local(clock.utcnow(), 0), "location": "Leeds"}
    supplier = signed_in(world.supplier)
    page = supplier.get(f"/shipments/{shipment.id}")
    assert page.status_code == 200 and forms_on(page) == set()
    refused = supplier.post(f"/shipments/{shipment.id}/milestones", milestone)
    assert refused.status_code == 403 and "Only the shipment's carrier may record its milestones." in text(refused)
    assert signed_in(world.buyer2).post(f"/shipments/{shipment.id}/milestones", milestone).status_code == 404
    carrier = signed_in(world.carrier)
    forged = carrier.client.post(f"/shipments/{shipment.id}/milestones", data=milestone)  # no CSRF token
    assert forged.status_code == 400 and "CSRF" in forged.get_data(as_text=True)
    assert (
        carrier.post(f"/shipments/{shipment.id}/proof-of-delivery", {"receiver_name": "Goods-in", "delivered_at": local(clock.utcnow(), 0)}).status_code == 302
    )
    late = carrier.post(f"/shipments/{shipment.id}/milestones", milestone)
    assert late.status_code == 409 and "Cannot record a milestone on this shipment: it is delivered." in text(late)
    assert count(app, Milestone) == 0


def test_the_shipments_list_pages(app, world, session, signed_in):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
        for number in range(1, 28):
            session.add(
                Shipment(
                    order_id=order.id,
                    number=number,
                    buyer_org_id=world.buyer.org.id,
                    supplier_org_id=world.supplier.org.id,
                    carrier_org_id=world.carrier.org.id,
                    state=ShipmentState.IN_TRANSIT,
                    shipped_at=clock.utcnow(),
                    created_by=world.supplier.admin.id,
                    lines=[ShipmentLine(position=1, order_line_id=order.lines[0].id, line_no=1, quantity=Decimal(1))],
                )
            )
    session.commit()
    carrier = signed_in(world.carrier)
    first = carrier.get("/shipments").get_data(as_text=True)
    assert len(re.findall(rf">{order.number} / \d+</a>", first)) == 25
    (next_link,) = re.findall(r'href="(/shipments\?cursor=[^"]+)">Next page', first)
    second = carrier.get(next_link.replace("&amp;", "&")).get_data(as_text=True)
    assert len(re.findall(rf">{order.number} / \d+</a>", second)) == 2
    assert "No shipments match this filter." in text(carrier.get("/shipments?state=delivered"))
    # The partner filter offers the organizations on the viewer's shipments, and filters by them.
    page = carrier.get("/shipments").get_data(as_text=True)
    assert f'<option value="{world.supplier.org.id}"' in page and f'<option value="{world.buyer2.org.id}"' not in page
    by_supplier = carrier.get(f"/shipments?partner={world.supplier.org.id}").get_data(as_text=True)
    assert len(re.findall(rf">{order.number} / \d+</a>", by_supplier)) == 25
    assert "No shipments match this filter." in text(carrier.get(f"/shipments?partner={world.buyer2.org.id}"))
    assert carrier.get("/shipments?partner=not-a-uuid").status_code == 200  # ignored, as an unknown state is


# -- receipt and release --------------------------------------------------------------------


def test_buyer_confirms_receipt_in_full_and_sees_the_order_closed_with_its_chain_transactions(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    delivered(app, session, world, funded, order)
    buyer = signed_in(world.buyer)
    page = buyer.get(f"/orders/{order.id}")
    assert forms_on(page) == {"receipt", "disputes"}
    html = page.get_data(as_text=True)
    assert 'name="receipt-1-accepted_quantity" value="10"' in html and 'name="receipt-2-accepted_quantity" value="4"' in html
    assert "Delivered: confirm what you received" in text(page)
    assert "supplier" not in forms_on(signed_in(world.supplier).get(f"/orders/{order.id}"))

    done = buyer.post(
        f"/orders/{order.id}/receipt",
        {"receipt-1-accepted_quantity": "10", "receipt-2-accepted_quantity": "4", "receipt-2-rejected_quantity": "", "note": "All fine"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert f"Receipt of order {order.number} confirmed in full: 73.50 EUR are released to {world.supplier.org.legal_name} once the ledger confirms it." in text(
        done
    )
    assert fetch(app, PurchaseOrder, order.id).state == OrderState.RECEIVED
    assert "Waiting for the ledger confirmReceipt , release" in text(done)
    settle(app, funded)
    settle(app, funded)
    closed = buyer.get(f"/orders/{order.id}")
    shown = text(closed)
    assert fetch(app, PurchaseOrder, order.id).state == OrderState.CLOSED
    assert f"Closed: the escrow paid 73.50 EUR to {world.supplier.org.legal_name} and refunded 0.00 EUR to {world.buyer.org.legal_name}." in shown
    assert "Escrow state released" in shown and "Waiting for the ledger" not in shown
    timeline = closed.get_data(as_text=True)
    timeline = timeline[timeline.index('id="timeline"') :]
    for function in ("approve", "fund", "assignCarrier", "attestDelivery", "confirmReceipt", "release", "withdraw"):
        assert function in timeline or function in text(closed), function
    assert len(set(re.findall(r"0x[0-9a-f]{64}", timeline))) >= 9  # each transaction with its hash (and the proof's fingerprint)
    assert "Receipt: 73.50 EUR accepted, 0.00 to be refunded." in text(closed)
    assert forms_on(closed) == set()


def test_receipt_errors_are_shown_on_their_line_and_nothing_is_written(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    delivered(app, session, world, funded, order)
    buyer = signed_in(world.buyer)
    no_reason = buyer.post(
        f"/orders/{order.id}/receipt", {"receipt-1-accepted_quantity": "10", "receipt-2-accepted_quantity": "3", "receipt-2-rejected_quantity": "1"}
    )
    assert no_reason.status_code == 422
    assert field_error(no_reason, "receipt-2-rejection_reason") == ["Say why the goods are rejected."]
    assert 'value="3"' in no_reason.get_data(as_text=True)
    too_many = buyer.post(f"/orders/{order.id}/receipt", {"receipt-1-accepted_quantity": "11", "receipt-2-accepted_quantity": "4"})
    assert too_many.status_code == 422
    assert field_error(too_many, "receipt-1-accepted_quantity") == [
        "Accepted and rejected together must be the shipped 10.000 (count missing goods as rejected, with a reason)."
    ]
    missing = buyer.post(f"/orders/{order.id}/receipt", {"receipt-1-accepted_quantity": "10"})
    assert missing.status_code == 422 and field_error(missing, "receipt-2-accepted_quantity") == ["Missing data for required field."]
    negative = buyer.post(f"/orders/{order.id}/receipt", {"receipt-1-accepted_quantity": "-1", "receipt-2-accepted_quantity": "4"})
    assert negative.status_code == 422 and field_error(negative, "receipt-1-accepted_quantity") == ["Must not be negative."]
    supplier = signed_in(world.supplier)
    wrong_side = supplier.post(f"/orders/{order.id}/receipt", {"receipt-1-accepted_quantity": "10", "receipt-2-accepted_quantity": "4"})
    assert wrong_side.status_code == 403 and "Only the buyer may receive an order." in text(wrong_side)
    assert signed_in(world.buyer2).post(f"/orders/{order.id}/receipt", {"receipt-1-accepted_quantity": "10"}).status_code == 404
    assert count(app, Receipt) == 0 and fetch(app, PurchaseOrder, order.id).state == OrderState.DELIVERED


def test_a_receipt_before_delivery_is_a_409(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    early = signed_in(world.buyer).post(f"/orders/{order.id}/receipt", {"receipt-1-accepted_quantity": "10"})
    assert early.status_code == 409 and "Cannot receive this order: it is acknowledged." in text(early)
    assert count(app, Receipt) == 0


def test_supplier_accepts_a_partial_receipt_and_the_rejected_value_goes_back(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    delivered(app, session, world, funded, order)
    buyer = signed_in(world.buyer)
    partial = buyer.post(
        f"/orders/{order.id}/receipt",
        {
            "receipt-1-accepted_quantity": "10",
            "receipt-2-accepted_quantity": "2",
            "receipt-2-rejected_quantity": "2",
            "receipt-2-rejection_reason": "Two housings cracked",
        },
        follow_redirects=True,
    )
    assert "confirmed: 49.25 EUR accepted, 24.25 EUR to come back to you." in text(partial)
    assert f"Waiting for {world.supplier.org.legal_name} to accept your receipt or dispute it." in text(partial)
    assert forms_on(partial) == set()
    early = buyer.post(f"/orders/{order.id}/release")
    assert early.status_code == 409 and "the supplier may accept the receipt or dispute it first" in text(early)
    settle(app, funded)

    supplier = signed_in(world.supplier)
    page = supplier.get(f"/orders/{order.id}")
    assert forms_on(page) == {"release", "disputes"}
    assert "Accept receipt and release" in text(page) and "Two housings cracked" in text(page)
    accepted = supplier.post(f"/orders/{order.id}/release", follow_redirects=True)
    assert (
        f"Receipt accepted: the escrow of order {order.number} pays you (or the financier holding its receivable) 49.25 EUR and refunds 24.25 EUR to {world.buyer.org.legal_name}"
        in text(accepted)
    )
    settle(app, funded)
    settle(app, funded)
    closed = text(signed_in(world.buyer).get(f"/orders/{order.id}"))
    assert f"Closed: the escrow paid 49.25 EUR to {world.supplier.org.legal_name} and refunded 24.25 EUR to {world.buyer.org.legal_name}." in closed


def test_either_party_may_release_once_the_window_passes_in_silence(app, world, session, signed_in, funded, frozen_clock):
    order = acknowledged(app, session, world, funded)
    delivered(app, session, world, funded, order)
    supplier = signed_in(world.supplier)
    waiting = supplier.get(f"/orders/{order.id}")
    assert "release" not in forms_on(waiting) and "Releasing the escrow is not possible yet: the buyer may confirm receipt or dispute until" in text(waiting)
    frozen_clock.advance(hours=72, minutes=5)  # the window, and the margin for the node's clock
    funded.chain.advance_time(72 * 3600 + 300)
    supplier = signed_in(world.supplier)  # the earlier portal session has expired meanwhile
    page = supplier.get(f"/orders/{order.id}")
    assert forms_on(page) == {"release", "disputes"} and "Release escrow" in text(page)
    released = supplier.post(f"/orders/{order.id}/release", follow_redirects=True)
    assert f"The escrow of order {order.number} is being released: the dispute window has passed." in text(released)
    assert "The dispute window has passed: the escrow is being released." in text(released)


# -- disputes -------------------------------------------------------------------------------


def test_buyer_disputes_and_the_operator_resolves_with_a_split(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    delivered(app, session, world, funded, order)
    buyer = signed_in(world.buyer)
    blank = buyer.post(f"/orders/{order.id}/disputes", {"reason": ""})
    assert blank.status_code == 422 and field_error(blank, "reason") == ["Missing data for required field."]
    assert "<details open>" in blank.get_data(as_text=True)  # the form stays open with its message
    assert count(app, Dispute) == 0
    opened = buyer.post(f"/orders/{order.id}/disputes", {"reason": "Wrong alloy on line 2"}, follow_redirects=True)
    shown = text(opened)
    assert f"Dispute opened on order {order.number}: its escrow is held until the consortium's arbiter decides the split." in shown
    assert "Dispute State open" in shown and "“Wrong alloy on line 2”" in shown and forms_on(opened) == set()
    assert fetch(app, PurchaseOrder, order.id).state == OrderState.DISPUTED
    settle(app, funded)  # openDispute goes out before the resolution is written
    with database(app).sessionmaker() as s:
        dispute_id = s.execute(sa.select(Dispute.id)).scalar_one()

    operator = signed_in(world.operator)
    home = operator.get("/dashboard").get_data(as_text=True)
    assert ">Disputes<" in home[home.index('<nav aria-label="Main">') : home.index("</nav>")]
    listed = operator.get("/disputes?state=open")
    shown = text(listed)
    assert f"Order {order.number} open" in shown and world.buyer.org.legal_name in shown and world.supplier.org.legal_name in shown
    assert "In escrow 73.50 EUR" in shown and "“Wrong alloy on line 2”" in shown and forms_on(listed) == set()
    assert "Read the case and decide" in shown  # the decision is taken on the case page
    assert forms_on(operator.get(f"/disputes/{dispute_id}")) == {"resolve"}
    too_much = operator.post(f"/disputes/{dispute_id}/resolve", {"payee_amount": "73.51", "resolution": "Split"})
    assert too_much.status_code == 422
    assert field_error(too_much, "payee_amount") == ["At most the escrowed 73.50 EUR."]
    assert ">Split</textarea>" in too_much.get_data(as_text=True)
    blank = operator.post(f"/disputes/{dispute_id}/resolve", {"payee_amount": "30", "resolution": " "})
    assert blank.status_code == 422 and field_error(blank, "resolution") == ["Must not be blank."]
    assert buyer.post(f"/disputes/{dispute_id}/resolve", {"payee_amount": "73.50", "resolution": "Mine"}).status_code == 403
    assert signed_in(world.buyer2).post(f"/disputes/{dispute_id}/resolve", {"payee_amount": "1", "resolution": "x"}).status_code == 404
    with app.test_request_context():
        op_member, _ = factories.add_user(session, world.operator, Role.MEMBER)
    session.commit()
    not_admin = signed_in(op_member).post(f"/disputes/{dispute_id}/resolve", {"payee_amount": "30", "resolution": "x"})
    assert not_admin.status_code == 403 and "needs the admin role" in text(not_admin)
    assert fetch(app, Dispute, dispute_id).state == DisputeState.OPEN

    resolved = operator.post(f"/disputes/{dispute_id}/resolve", {"payee_amount": "30", "resolution": "Line 1 as agreed, line 2 half"}, follow_redirects=True)
    assert f"Dispute on order {order.number} resolved: 30.00 EUR to the supplier, 43.50 EUR back to the buyer, once the ledger confirms it." in text(resolved)
    assert "30.00 EUR to the supplier, 43.50 EUR back to the buyer" in text(resolved) and forms_on(resolved) == set()
    settle(app, funded)
    settle(app, funded)
    page = text(buyer.get(f"/orders/{order.id}"))
    assert "Dispute State resolved" in page and "“Line 1 as agreed, line 2 half”" in page
    assert f"Closed: the escrow paid 30.00 EUR to {world.supplier.org.legal_name} and refunded 43.50 EUR to {world.buyer.org.legal_name}." in page
    # The parties read the disputes page too; another buyer sees nothing of it.
    assert order.number in text(buyer.get("/disputes")) and forms_on(buyer.get("/disputes")) == set()
    assert order.number not in text(signed_in(world.buyer2).get("/disputes"))


def test_supplier_may_dispute_a_partial_receipt_but_the_buyer_may_not_dispute_again(app, world, session, signed_in, funded):
    order = acknowledged(app, session, world, funded)
    delivered(app, session, world, funded, order)
    with app.test_request_context():
        settlement.create_receipt(
            session,
            world.buyer.principal,
            order.id,
            {
                "lines": [
                    {"line_no": 1, "accepted_quantity": Decimal("10")},
                    {"line_no": 2, "accepted_quantity": Decimal("3"), "rejected_quantity": Decimal("1"), "rejection_reason": "Dented"},
                ]
            },
        )
    session.commit()
    buyer = signed_in(world.buyer)
    refused = buyer.post(f"/orders/{order.id}/disputes", {"reason": "Changed my mind"})
    assert refused.status_code == 409 and "Cannot open dispute this order: it is partially received." in text(refused)
    supplier = signed_in(world.supplier)
    done = supplier.post(f"/orders/{order.id}/disputes", {"reason": "The housings left intact"}, follow_redirects=True)
    assert f"Dispute opened on order {order.number}" in text(done)
    assert f"Opened by {world.supplier.org.legal_name}" in text(done)
