"""The demo's purchase orders: Northwind's orders with Acme, taken through the real order
path on the ledger (issued, acknowledged with their escrow funded, shipped with Swift
Freight, its proof of delivery attested, received), each party acting as itself.

- ORDERS[0], bolts and aluminium sheet, received in full: its escrow released, the order
  closed and Acme paid (Northwind's record of paying on time);
- ORDERS[1], brackets and bolts, received with 40 brackets rejected: its escrow holds the
  receipt on chain (ReceiptConfirmed, the accepted value) and waits for Acme to accept the
  receipt (the release) or dispute it. The order Acme invoices and finances with Harbor in
  the walk-through;
- ORDERS[2], aluminium sheet and brackets, received with 50 kg of sheet rejected: the
  same, so that Acme has a choice.

Every order steps through the services as the step's organization would, and the ledger's
worker is run once per step for all the orders together (not once per order): what the
next step needs (the funding, the proof of delivery) is mined before it is taken. The
brackets ship in lots of their own, never the provenance demo's lot BRK-2611-A.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from concord import clock
from concord.catalog.models import Location, Product
from concord.demo_provenance import NORTHWIND_GLN
from concord.ledger import runtime
from concord.logistics import service as logistics
from concord.orders import service as orders
from concord.orders import settlement
from concord.policy import Principal

BUYER, SUPPLIER, CARRIER = "northwind", "acme", "swift"


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: Decimal
    unit_price: Decimal
    lot: str | None = None
    rejected: Decimal = Decimal(0)
    rejection_reason: str | None = None


@dataclass(frozen=True)
class DemoOrder:
    sequence: int  # the order's number in the month: PO-NW-<yymm>-<sequence>
    lines: tuple[Line, ...]
    lead_days: int  # how far ahead of today the goods are wanted
    receiver: str  # who signs the proof of delivery at Northwind's goods-in

    def number(self, today: date) -> str:
        return f"PO-NW-{today:%y%m}-{self.sequence:04d}"


ORDERS = (
    DemoOrder(
        38,
        (
            Line("NW-BLT-M8", Decimal("20000"), Decimal("0.0850")),
            Line("NW-SHT-2MM", Decimal("500"), Decimal("4.2000"), lot="AL2-2611-03"),
        ),
        lead_days=7,
        receiver="Jonas Keller, Goods-in Gate 2",
    ),
    DemoOrder(
        51,
        (
            Line("NW-BRK-100", Decimal("2000"), Decimal("3.4500"), lot="BRK-2612-B", rejected=Decimal("40"), rejection_reason="Bent flanges, out of tolerance"),
            Line("NW-BLT-M8", Decimal("8000"), Decimal("0.0850")),
        ),
        lead_days=10,
        receiver="Jonas Keller, Goods-in Gate 2",
    ),
    DemoOrder(
        54,
        (
            Line(
                "NW-SHT-2MM", Decimal("1200"), Decimal("4.2000"), lot="AL2-2612-01", rejected=Decimal("50"), rejection_reason="Surface scratches on two bundles"
            ),
            Line("NW-BRK-100", Decimal("500"), Decimal("3.4500"), lot="BRK-2612-C"),
        ),
        lead_days=14,
        receiver="Petra Vogel, Goods-in Gate 1",
    ),
)


def _pump(session: Session) -> None:
    """One round of the ledger's worker (send what is due, index what was mined, the round
    jobs); the session then reads what the worker wrote."""
    runtime.work_round(current_app._get_current_object())  # type: ignore[attr-defined]
    session.expire_all()


def _delivery_note_hash(demo: DemoOrder, today: date) -> str:
    """The SHA-256 of the delivery note Northwind's goods-in signed (its text stands for the scan)."""
    return "0x" + hashlib.sha256(f"Delivery note {demo.number(today)}, received by {demo.receiver}".encode()).hexdigest()


def _catalog(session: Session, buyer: Principal) -> tuple[dict[str, uuid.UUID], uuid.UUID]:
    products = session.execute(sa.select(Product.sku, Product.id).where(Product.organization_id == buyer.org.id)).all()
    location = session.execute(sa.select(Location.id).where(Location.organization_id == buyer.org.id, Location.gln == NORTHWIND_GLN)).scalar_one()
    return {sku: product_id for sku, product_id in products}, location


def _issue(session: Session, buyer: Principal, supplier: Principal, demo: DemoOrder, today: date) -> uuid.UUID:
    products, location = _catalog(session, buyer)
    order = orders.create_order(
        session,
        buyer,
        {
            "number": demo.number(today),
            "supplier_id": supplier.org.id,
            "currency": "EUR",
            "ship_to_location_id": location,
            "incoterm": "DAP",
            "payment_terms": "Escrow, released on receipt",
            "lines": [
                {
                    "product_id": products[line.sku],
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "requested_date": today + timedelta(days=demo.lead_days),
                }
                for line in demo.lines
            ],
        },
    )
    return orders.issue(session, buyer, order.id).id


def _acknowledge(session: Session, supplier: Principal, order_id: uuid.UUID, demo: DemoOrder, today: date) -> None:
    wanted = today + timedelta(days=demo.lead_days)
    answers = [{"line_no": n, "confirmed_quantity": line.quantity, "confirmed_date": wanted} for n, line in enumerate(demo.lines, 1)]
    orders.acknowledge(session, supplier, order_id, answers)


def _ship_and_deliver(session: Session, supplier: Principal, carrier: Principal, order_id: uuid.UUID, demo: DemoOrder, today: date) -> None:
    """Everything in one shipment with the demo's carrier, and its proof of delivery."""
    shipment = logistics.create_shipment(
        session,
        supplier,
        order_id,
        {
            "carrier_id": carrier.org.id,
            "tracking_number": f"SWF-{demo.number(today).removeprefix('PO-')}",
            "lines": [{"line_no": n, "quantity": line.quantity, "lot_number": line.lot} for n, line in enumerate(demo.lines, 1)],
        },
    )
    proof = {"receiver_name": demo.receiver, "delivered_at": clock.utcnow(), "document_hash": _delivery_note_hash(demo, today)}
    logistics.record_delivery(session, carrier, shipment.id, proof)


def _receive(session: Session, buyer: Principal, order_id: uuid.UUID, demo: DemoOrder) -> None:
    lines = [
        {"line_no": n, "accepted_quantity": line.quantity - line.rejected, "rejected_quantity": line.rejected, "rejection_reason": line.rejection_reason}
        for n, line in enumerate(demo.lines, 1)
    ]
    settlement.create_receipt(session, buyer, order_id, {"lines": lines})


def seed(session: Session, admins: dict[str, Principal]) -> list[uuid.UUID]:
    """Take the demo's orders through their steps (the contracts are deployed); their ids,
    in the order of ORDERS."""
    buyer, supplier, carrier = admins[BUYER], admins[SUPPLIER], admins[CARRIER]
    today = clock.utcnow().date()
    runtime.index(current_app._get_current_object())  # type: ignore[attr-defined]  # the buyer's minted funds, which the fundings check
    demos = list(zip([_issue(session, buyer, supplier, demo, today) for demo in ORDERS], ORDERS, strict=True))
    for order_id, demo in demos:
        _acknowledge(session, supplier, order_id, demo, today)
    _pump(session)  # the escrows funded
    for order_id, demo in demos:
        _ship_and_deliver(session, supplier, carrier, order_id, demo, today)
    _pump(session)  # the carrier named, the deliveries attested
    for order_id, demo in demos:
        _receive(session, buyer, order_id, demo)
    _pump(session)  # the receipts confirmed; the order received in full released and closed
    return [order_id for order_id, _ in demos]
