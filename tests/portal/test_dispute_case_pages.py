"""A dispute's case page (issue 9, section 2, finding 1): the arbiter used to decide on the
disputer's reason alone; now it reads the order's lines, shipments with lots, milestones
and proofs of delivery, the receipt with what was rejected and why, the escrow and its
transactions, and the evidence the buyer, the supplier and the carrier add while it is
open (one form, every mistake at once); its decision carries a rationale."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.disputes import service as disputes
from concord.orders import settlement
from concord.orders.models import Dispute, DisputeEvidence

from tests.ledger_helpers import settle
from tests.portal.helpers import field_error, text
from tests.portal.test_fulfilment_pages import acknowledged, count, delivered

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def dispute_id(app, world, session, funded):
    """A delivered order whose buyer rejected part of line 2; the supplier disputes it."""
    order = acknowledged(app, session, world, funded)
    delivered(app, session, world, funded, order)
    with app.test_request_context():
        settlement.create_receipt(
            session,
            world.buyer.principal,
            order.id,
            {
                "note": None,
                "lines": [
                    {"line_no": 1, "accepted_quantity": Decimal(10), "rejected_quantity": Decimal(0), "rejection_reason": None},
                    {"line_no": 2, "accepted_quantity": Decimal(3), "rejected_quantity": Decimal(1), "rejection_reason": "Cracked housing"},
                ],
            },
        )
        settle(app, funded)
        disputes.open_dispute(session, world.supplier.principal, order.id, "The housing cracked in transit")
    session.commit()
    settle(app, funded)
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(Dispute.id)).scalar_one()


def test_the_arbiter_reads_the_case_and_decides_with_a_rationale(app, world, signed_in, dispute_id):
    operator = signed_in(world.operator)
    page = operator.get(f"/disputes/{dispute_id}")
    assert page.status_code == 200
    shown = text(page)
    for expected in (
        "Dispute on order",
        "“The housing cracked in transit”",
        "In escrow 73.50 EUR",
        "Lines",
        "Unit price",
        "Shipment 1",
        "Proof of delivery",
        "Received by Goods-in",
        "Cracked housing",
        "Escrow state disputed",
        "openDispute",
        "Timeline",
        "No evidence yet.",
    ):
        assert expected in shown, expected
    assert 'action="/disputes/' in page.get_data(as_text=True) and "Resolve dispute" in shown
    listed = text(operator.get("/disputes"))
    assert "Read the case and decide" in listed

    resolved = operator.post(
        f"/disputes/{dispute_id}/resolve", {"payee_amount": "67.44", "resolution": "The proof of delivery shows an intact handover."}, follow_redirects=True
    )
    assert "Rationale “The proof of delivery shows an intact handover.”" in text(resolved)
    assert "Resolve dispute" not in text(resolved) and "Add evidence" not in text(resolved)


def test_parties_add_evidence_and_a_refused_form_lists_every_mistake(app, world, signed_in, dispute_id):
    buyer = signed_in(world.buyer)
    refused = buyer.post(f"/disputes/{dispute_id}/evidence", {"comment": "See\u202e this", "file": (io.BytesIO(b"MZ\x90\x00\x03\x00\x00\x00"), "photo.png")})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert field_error(refused, "comment") == ["Must not contain control characters or bidirectional overrides."]
    assert field_error(refused, "file") == ["Not a file type accepted here: PDF, PNG, JPEG or plain text (UTF-8)."]
    summary = body[body.index('class="error-summary"') : body.index("</div>", body.index('class="error-summary"'))]
    assert 'href="#evidence-comment"' in summary and 'href="#evidence-file"' in summary and "autofocus" in body
    assert count(app, DisputeEvidence) == 0

    added = buyer.post(
        f"/disputes/{dispute_id}/evidence",
        {"comment": "Photo of the housing as it arrived.", "file": (io.BytesIO(PDF), "inspection report.pdf")},
        follow_redirects=True,
    )
    assert added.status_code == 200
    shown = text(added)
    assert "Added your comment and inspection report.pdf to the case" in shown
    assert f"{world.buyer.org.legal_name} (buyer)" in shown and "Photo of the housing as it arrived." in shown
    with database(app).sessionmaker() as s:
        evidence = s.execute(sa.select(DisputeEvidence)).scalar_one()
    file_url = f"/disputes/{dispute_id}/evidence/{evidence.id}/file"
    assert f'href="{file_url}"' in added.get_data(as_text=True)
    assert signed_in(world.supplier).get(file_url).data == PDF
    assert signed_in(world.buyer2).get(file_url).status_code == 404

    # The carrier reads its shipments and the evidence, adds its own, and sees none of the money.
    carrier = signed_in(world.carrier)
    page = text(carrier.get(f"/disputes/{dispute_id}"))
    assert "Your shipments of this order" in page and "Photo of the housing as it arrived." in page
    assert "In escrow" not in page and "Unit price" not in page and "Escrow state" not in page and "Resolve dispute" not in page
    assert "Disputes" in text(carrier.get("/dashboard"))
    said = carrier.post(f"/disputes/{dispute_id}/evidence", {"comment": "Handed over intact, signed without remarks."}, follow_redirects=True)
    assert f"{world.carrier.org.legal_name} (carrier)" in text(said)
    # Both entries are on the order's timeline.
    timeline = text(buyer.get(f"/orders/{_order_of(app, dispute_id)}"))
    assert f"{world.buyer.org.legal_name} (buyer) added evidence" in timeline and f"{world.carrier.org.legal_name} (carrier) added evidence" in timeline
    assert "Open the case" in timeline


def _order_of(app, dispute_id):
    with database(app).sessionmaker() as s:
        return s.get(Dispute, dispute_id).order_id
