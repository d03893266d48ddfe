"""The financing workspace's pages as each side reads them: the financier's requests, the
receivable's evidence and offer form, the supplier's offers side by side, the buyer's
payables; another organization gets 404 and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from concord.db import database
from concord.finance.models import FinancingOffer, FinancingProgramme, InvoiceState, OfferState, ProgrammeState
from concord.tenancy.models import Relation, Role

from tests import factories
from tests.finance import workspace_rows as rows
from tests.portal.helpers import field_error, text
from tests.security.helpers import portal_login

TODAY = date.today()


@pytest.fixture
def world(detached_world):
    """The ledger's fixtures (chain_worker) admit this world: the one the scene is built in."""
    return detached_world


@dataclass
class Scene:
    world: factories.World
    other: factories.Member  # a second financier, asked too (it answered)
    receivable_id: object
    asked_id: object  # the offer the world's financier is asked for
    answered_id: object  # the second financier's offer


@pytest.fixture
def scene(app, detached_session, detached_world) -> Scene:
    w, session = detached_world, detached_session
    with app.test_request_context():
        other = factories.member(session, w.operator, "financier", name="Financier Two AG")
        factories.partner(session, Relation.SUPPLIER_FINANCIER, w.supplier, w.financier)
        factories.partner(session, Relation.SUPPLIER_FINANCIER, w.supplier, other)
        bill = rows.invoice(session, w.supplier, w.buyer, "1000.00", due=TODAY + timedelta(days=30))
        item = rows.receivable(session, bill)
        asked = rows.offer(session, item, w.financier, state=OfferState.REQUESTED, requested_by=w.supplier)
        answered = rows.offer(session, item, other, state=OfferState.OFFERED, advance="777.00", claim="795.55", requested_by=w.supplier)
        rows.invoice(session, w.supplier, w.buyer, "250.00", due=TODAY - timedelta(days=2), state=InvoiceState.APPROVED)
        rows.invoice(session, w.supplier, w.buyer, "99.00", due=TODAY + timedelta(days=9), state=InvoiceState.EXCEPTION)
        built = Scene(w, other, item.id, asked.id, answered.id)
    session.commit()
    return built


def offer_state(app, offer_id) -> str:
    with database(app).sessionmaker() as s:
        return str(s.get(FinancingOffer, offer_id).state)


def test_financier_sees_the_request_the_evidence_and_the_buyers_record_but_not_the_other_offer(app, scene):
    client, _ = rows.signed_in(app, scene.world.financier)
    workspace = client.get("/finance")
    assert workspace.status_code == 200
    assert 'id="requests-count">1<' in workspace.get_data(as_text=True)
    offers = client.get("/finance/offers")
    assert f"/finance/receivables/{scene.receivable_id}" in offers.get_data(as_text=True)
    page = client.get(f"/finance/receivables/{scene.receivable_id}")
    assert page.status_code == 200
    body = text(page)
    assert "Evidence" in body and "Three-way match" in body and "Chain history" in body
    assert "Buyer One GmbH's record with the platform" in body
    assert 'id="make-offer"' in page.get_data(as_text=True) and 'id="decline-offer"' in page.get_data(as_text=True)
    # The other financier's terms are no business of this one.
    assert "Financier Two AG" not in body and "777.00" not in body and "795.55" not in body


def test_a_viewer_reads_the_receivable_without_any_form(app, detached_session, scene):
    with app.test_request_context():
        viewer, _token = factories.add_user(detached_session, scene.world.financier, Role.VIEWER)
    detached_session.commit()
    client = app.test_client()
    portal_login(client, viewer.email, factories.PASSWORD)
    page = client.get(f"/finance/receivables/{scene.receivable_id}")
    assert page.status_code == 200 and "Evidence" in text(page)
    html = page.get_data(as_text=True)
    assert 'id="make-offer"' not in html and 'id="decline-offer"' not in html


def test_an_offer_form_with_mistakes_answers_422_with_every_mistake_and_writes_nothing(app, scene):
    client, csrf = rows.signed_in(app, scene.world.financier)
    response = client.post(
        f"/finance/offers/{scene.asked_id}/answer",
        data={"csrf_token": csrf, "advance_rate": "180", "discount_rate": "ten", "fees": "1.001", "valid_until": "", "valid_until_offset": "+00:00"},
    )
    assert response.status_code == 422
    assert field_error(response, "advance_rate") and field_error(response, "discount_rate") and field_error(response, "fees")
    assert field_error(response, "valid_until")
    assert 'value="ten"' in response.get_data(as_text=True)  # the form is kept
    assert offer_state(app, scene.asked_id) == "requested"


def test_financier_makes_an_offer_and_the_supplier_sees_it_beside_the_other(app, scene, chain_worker):
    client, csrf = rows.signed_in(app, scene.world.financier)
    valid_until = (TODAY + timedelta(days=7)).isoformat() + "T17:00"
    response = client.post(
        f"/finance/offers/{scene.asked_id}/answer",
        data={"csrf_token": csrf, "advance_rate": "80", "discount_rate": "6", "fees": "10.00", "valid_until": valid_until, "valid_until_offset": "+01:00"},
    )
    assert response.status_code == 302, text(response)
    with database(app).sessionmaker() as s:
        offer = s.get(FinancingOffer, scene.asked_id)
        assert (offer.state, offer.advance, offer.fees) == (OfferState.OFFERED, Decimal("800.00"), Decimal("10.00"))
        assert offer.claim == offer.advance + offer.discount + offer.fees
    page = client.get(f"/finance/receivables/{scene.receivable_id}")
    assert 'id="offer-advance"' in page.get_data(as_text=True) and "800.00" in text(page)
    history = page.get_data(as_text=True).split('id="chain-history"', 1)[1]
    assert "badge-queued" in history  # the offer's transactions wait in the outbox
    supplier, _ = rows.signed_in(app, scene.world.supplier)
    compared = text(supplier.get("/finance/offers"))
    assert "800.00" in compared and "777.00" in compared


def test_financier_declines_and_the_supplier_sees_it(app, scene):
    client, csrf = rows.signed_in(app, scene.world.financier)
    response = client.post(f"/finance/offers/{scene.asked_id}/decline", data={"csrf_token": csrf, "reason": "Outside our appetite"})
    assert response.status_code == 302
    assert offer_state(app, scene.asked_id) == "declined"
    supplier, _ = rows.signed_in(app, scene.world.supplier)
    page = text(supplier.get(f"/finance/receivables/{scene.receivable_id}"))
    assert "declined" in page


def test_supplier_compares_offers_side_by_side_with_what_it_nets(app, scene):
    client, _ = rows.signed_in(app, scene.world.supplier)
    for path in ("/finance/offers", f"/finance/receivables/{scene.receivable_id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        body = text(response)
        assert "Financier Two AG" in body and "Financier One plc" in body
        # 777.00 now, and the 1,000.00 payment less the 795.55 claim later: 981.45 in all.
        assert "777.00" in body and "795.55" in body and "18.55" in body and "981.45" in body
        assert "80 %" in body and "(6 % a year)" in body  # the advance rate and the annual discount rate
        assert f'id="accept-{scene.answered_id}"' in html
        assert f'id="accept-{scene.asked_id}"' not in html  # nothing to accept before an answer


def test_supplier_cannot_accept_an_unanswered_request(app, scene):
    client, csrf = rows.signed_in(app, scene.world.supplier)
    response = client.post(f"/finance/offers/{scene.asked_id}/accept", data={"csrf_token": csrf})
    assert response.status_code == 409
    assert "requested" in text(response)
    assert offer_state(app, scene.asked_id) == "requested"


def test_supplier_asks_only_financier_partners(app, detached_session, scene):
    session = detached_session
    with app.test_request_context():
        stranger = factories.member(session, scene.world.operator, "financier", name="Stranger Bank")
    session.commit()
    client, csrf = rows.signed_in(app, scene.world.supplier)
    response = client.post(f"/finance/receivables/{scene.receivable_id}/offers", data={"csrf_token": csrf, "financier_ids": [str(stranger.org.id)]})
    assert response.status_code == 422
    assert "Not an active financier partner" in " ".join(field_error(response, "financier_ids"))
    with database(app).sessionmaker() as s:
        assert s.query(FinancingOffer).filter_by(financier_org_id=stranger.org.id).count() == 0


def test_supplier_workspace_lists_receivables_offers_and_cash_received(app, detached_session, scene):
    session, w = detached_session, scene.world
    with app.test_request_context():
        item = rows.receivable(session, rows.invoice(session, w.supplier, w.buyer, "600.00", due=TODAY - timedelta(days=1)), holder=w.financier)
        deal = rows.offer(session, item, w.financier, advance="480.00", claim="490.00", funded=TODAY - timedelta(days=20))
        rows.settle(session, item, deal, "600.00", on=TODAY)
    session.commit()
    client, _ = rows.signed_in(app, w.supplier)
    response = client.get("/finance")
    html, body = response.get_data(as_text=True), text(response)
    assert f"/finance/receivables/{scene.receivable_id}" in html and f"/finance/receivables/{item.id}" in html
    assert 'href="/finance/invoices"' in html
    # 480.00 advanced, then 110.00 of the 600.00 payment beyond the 490.00 claim: 590.00.
    assert "Advance from the financier" in body and "Your share of the payment" in body
    assert 'id="cash-total-EUR">590.00<' in html


def test_buyer_sees_its_payables_exceptions_and_the_receivable_without_the_offers(app, scene):
    client, _ = rows.signed_in(app, scene.world.buyer)
    workspace = client.get("/finance")
    html = workspace.get_data(as_text=True)
    assert 'id="exceptions-count">1<' in html and 'id="payables-count">2<' in html
    assert "overdue" in text(workspace)
    page = client.get(f"/finance/receivables/{scene.receivable_id}")
    assert page.status_code == 200
    assert "777.00" not in text(page) and "accept-" not in page.get_data(as_text=True)


@pytest.mark.parametrize("outsider", ["buyer2", "supplier2", "carrier"])
def test_another_organization_gets_404_and_changes_nothing(app, scene, outsider):
    client, csrf = rows.signed_in(app, getattr(scene.world, outsider))
    assert client.get(f"/finance/receivables/{scene.receivable_id}").status_code == 404
    for action in ("answer", "decline", "withdraw", "accept"):
        response = client.post(f"/finance/offers/{scene.asked_id}/{action}", data={"csrf_token": csrf, "advance_rate": "80"})
        assert response.status_code == 404, action
    assert client.post(f"/finance/receivables/{scene.receivable_id}/offers", data={"csrf_token": csrf}).status_code == 404
    assert offer_state(app, scene.asked_id) == "requested" and offer_state(app, scene.answered_id) == "offered"


def test_a_financier_not_asked_gets_404(app, detached_session, scene):
    session = detached_session
    with app.test_request_context():
        third = factories.member(session, scene.world.operator, "financier", name="Third Finance")
    session.commit()
    client, _ = rows.signed_in(app, third)
    assert client.get(f"/finance/receivables/{scene.receivable_id}").status_code == 404


def test_programme_requested_by_the_buyer_and_opened_by_the_financier(app, detached_session, scene):
    session = detached_session
    w = scene.world
    with app.test_request_context():
        factories.partner(session, Relation.BUYER_FINANCIER, w.buyer, w.financier)
    session.commit()
    buyer, csrf = rows.signed_in(app, w.buyer)
    refused = buyer.post("/finance/programmes", data={"csrf_token": csrf, "financier_id": "nobody", "currency": "EURO"})
    assert refused.status_code == 422 and field_error(refused, "financier_id") and field_error(refused, "currency")
    assert buyer.post("/finance/programmes", data={"csrf_token": csrf, "financier_id": str(w.financier.org.id), "currency": "EUR"}).status_code == 302
    with database(app).sessionmaker() as s:
        programme = s.query(FinancingProgramme).filter_by(buyer_org_id=w.buyer.org.id).one()
        assert programme.state == ProgrammeState.REQUESTED
    financier, fcsrf = rows.signed_in(app, w.financier)
    assert f'id="open-{programme.id}"' in financier.get("/finance/programmes").get_data(as_text=True)
    response = financier.post(f"/finance/programmes/{programme.id}/open", data={"csrf_token": fcsrf, "discount_rate": "4.5", "limit_amount": "50000.00"})
    assert response.status_code == 302
    with database(app).sessionmaker() as s:
        opened = s.get(FinancingProgramme, programme.id)
        assert (opened.state, opened.discount_rate, opened.limit_amount) == (ProgrammeState.OPEN, Decimal("4.5000"), Decimal("50000.00"))
    outsider, ocsrf = rows.signed_in(app, w.buyer2)
    assert outsider.post(f"/finance/programmes/{programme.id}/close", data={"csrf_token": ocsrf}).status_code == 404
    assert "Buyer One GmbH" not in text(outsider.get("/finance/programmes"))


def test_dashboard_cards_show_the_figures_and_link_to_the_workspace(app, scene):
    financier, _ = rows.signed_in(app, scene.world.financier)
    response = financier.get("/dashboard")
    page = response.get_data(as_text=True)
    assert "1 request to answer" in text(response) and "/finance/offers" in page and "/finance/portfolio" in page
    supplier, _ = rows.signed_in(app, scene.world.supplier)
    response = supplier.get("/dashboard")
    assert "1 verified" in text(response) and 'href="/finance"' in response.get_data(as_text=True)
