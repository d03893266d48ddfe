"""The VMI pages as the buyer and the supplier read them: the agreements with their numbers,
an agreement's terms, items, accuracy, bullwhip ratio, proposals and alerts; the supplier
confirms (edited) and follows the generated order, the buyer approves or rejects one beyond
the limits; each item's stock page with its chart and tables; another organization gets 404
and a viewer reads without a single form."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.finance.models import Invoice
from concord.notifications.models import Notification
from concord.orders.models import PurchaseOrder
from concord.tenancy.models import Role
from concord.vmi import agreements, consignment, review
from concord.vmi.models import AgreementState, ProposalState, VmiAgreement, VmiProposal

from tests import factories, orders_factory
from tests.portal.helpers import field_error, text
from tests.security.helpers import portal_login
from tests.vmi import vmi_factory

STEADY = [70] * 30  # ten a day for thirty weeks


@dataclass
class Scene:
    world: factories.World
    agreement_id: uuid.UUID
    proposal_id: uuid.UUID
    product_id: uuid.UUID
    location_id: uuid.UUID


@pytest.fixture
def scene(app, detached_session, detached_world) -> Scene:
    """An active agreement of the buyer with the supplier for one item (band 100–400, limit
    5,000.00 per order at 2.50 a unit), thirty weeks of steady consumption shared, 50 on hand
    yesterday, reviewed: one open proposal."""
    w, session = detached_world, detached_session
    with app.test_request_context():
        made = agreements.propose(session, w.buyer.principal, vmi_factory.agreement_input(session, w.buyer, w.supplier, products=1))
        agreements.accept(session, w.supplier.principal, made.id)
        item = made.versions[0].items[0]
        vmi_factory.share_history(session, w.buyer, item.product_id, item.location_id, STEADY, on_hand=50)
        session.commit()
        (proposal,) = review.review(session, w.supplier.principal, made.id)
        built = Scene(w, made.id, proposal.id, item.product_id, item.location_id)
    session.commit()
    return built


def browser(app, who):
    client = app.test_client()
    user = getattr(who, "admin", who)
    return client, portal_login(client, user.email, factories.PASSWORD)


def proposal_of(app, proposal_id) -> VmiProposal:
    with database(app).sessionmaker() as s:
        found = s.get(VmiProposal, proposal_id)
        s.expunge(found)
        return found


def nav_of(page) -> str:
    html = page.get_data(as_text=True)
    return html[html.index('<nav aria-label="Main">') : html.index("</nav>")]


def test_both_sides_list_the_agreement_with_its_counterparty_items_and_open_proposals(app, scene):
    for who, counterparty, side in ((scene.world.supplier, "Buyer One GmbH", "supplier"), (scene.world.buyer, "Supplier One Ltd", "buyer")):
        client, _ = browser(app, who)
        page = client.get("/vmi")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        row = html.split(f'id="agreement-{scene.agreement_id}"', 1)[1].split("</tr>", 1)[0]
        assert "VMI-0001" in row and counterparty in row and f"the {side}" in row and "badge-active" in row
        assert re.search(r'data-figure="items">1<', row) and re.search(r'data-figure="open-proposals">1<', row)
        assert ">VMI<" in nav_of(page)
    carrier, _ = browser(app, scene.world.carrier)
    assert ">VMI<" not in nav_of(carrier.get("/dashboard"))


def test_the_agreement_page_shows_terms_items_accuracy_bullwhip_proposals_and_alerts(app, scene):
    client, _ = browser(app, scene.world.supplier)
    page = client.get(f"/vmi/agreements/{scene.agreement_id}")
    assert page.status_code == 200
    html, body = page.get_data(as_text=True), text(page)
    assert "Terms in force" in body and "5,000.00 EUR" in body and "20,000.00 EUR per 30 days" in body
    item_row = html.split(f'id="item-{scene.product_id}-{scene.location_id}"', 1)[1].split("</tr>", 1)[0]
    assert f"/vmi/agreements/{scene.agreement_id}/items/{scene.product_id}/{scene.location_id}" in item_row
    assert date.today().isoformat() in item_row  # the last review
    assert re.search(r'data-figure="mase">[0-9.]+<', item_row) and re.search(r'data-figure="bias">-?[0-9.]+<', item_row)
    assert 'data-figure="bullwhip-before">' in item_row
    # Every candidate's scores, the chosen one flagged.
    accuracy = html.split('id="accuracy-1"', 1)[1].split("</table>", 1)[0]
    assert accuracy.count("<tr") >= 3 and accuracy.count('class="chosen"') == 1
    # The open proposal with its confirm form (quantity and date editable) and dismiss.
    assert f'id="proposal-{scene.proposal_id}"' in html
    assert f'id="confirm-{scene.proposal_id}"' in html and f'id="quantity-{scene.proposal_id}"' in html and f'id="dismiss-{scene.proposal_id}"' in html
    assert 'id="review-now"' in html and 'id="suspend-form"' in html and 'id="end-form"' in html
    assert "stock" in text(page).lower() and 'id="alerts-list"' in html  # 50 on hand at ten a day: a stock-out alert
    # The buyer reads the same proposal but confirms nothing.
    buyer, _ = browser(app, scene.world.buyer)
    seen = buyer.get(f"/vmi/agreements/{scene.agreement_id}").get_data(as_text=True)
    assert f'id="proposal-{scene.proposal_id}"' in seen and f'id="confirm-{scene.proposal_id}"' not in seen


def test_the_supplier_confirms_an_edited_proposal_and_both_sides_follow_the_generated_order(app, scene):
    client, csrf = browser(app, scene.world.supplier)
    delivery = (date.today() + timedelta(days=6)).isoformat()
    response = client.post(f"/vmi/proposals/{scene.proposal_id}/confirm", data={"csrf_token": csrf, "quantity": "300", "delivery_date": delivery})
    assert response.status_code == 302, text(response)
    assert response.headers["Location"].endswith(f"/vmi/agreements/{scene.agreement_id}#proposal-{scene.proposal_id}")
    done = proposal_of(app, scene.proposal_id)
    assert (done.state, done.confirmed_quantity, done.confirmed_delivery_date.isoformat()) == (ProposalState.ORDERED, Decimal("300.000"), delivery)
    page = client.get(f"/vmi/agreements/{scene.agreement_id}")
    assert "the buyer&#39;s order is issued" in page.get_data(as_text=True) or "order is issued" in text(page)
    order_link = f"/orders/{done.order_id}"
    assert order_link in page.get_data(as_text=True)
    buyer, _ = browser(app, scene.world.buyer)
    order = buyer.get(order_link)
    assert order.status_code == 200
    origin = order.get_data(as_text=True).split('id="order-origin">', 1)[1].split("</dd>", 1)[0]
    assert "VMI agreement VMI-0001" in origin and f"/vmi/agreements/{scene.agreement_id}" in origin
    with database(app).sessionmaker() as s:
        issued = s.get(PurchaseOrder, done.order_id)
        assert (issued.buyer_org_id, str(issued.state)) == (scene.world.buyer.org.id, "issued")


def _beyond_limits(app, scene) -> None:
    client, csrf = browser(app, scene.world.supplier)
    response = client.post(f"/vmi/proposals/{scene.proposal_id}/confirm", data={"csrf_token": csrf, "quantity": "3000"})
    assert response.status_code == 302, text(response)
    assert proposal_of(app, scene.proposal_id).state == ProposalState.AWAITING_APPROVAL


def test_the_buyer_approves_an_order_beyond_the_limits_through_the_form(app, scene):
    _beyond_limits(app, scene)
    buyer, csrf = browser(app, scene.world.buyer)
    page = buyer.get(f"/vmi/agreements/{scene.agreement_id}").get_data(as_text=True)
    assert f'id="approve-{scene.proposal_id}"' in page and f'id="reject-{scene.proposal_id}"' in page
    assert page.index(f'id="proposal-{scene.proposal_id}"') < page.index('id="alerts-heading"')
    assert buyer.post(f"/vmi/proposals/{scene.proposal_id}/approve", data={"csrf_token": csrf}).status_code == 302
    done = proposal_of(app, scene.proposal_id)
    assert done.state == ProposalState.ORDERED and done.order_id is not None
    assert f"/orders/{done.order_id}" in buyer.get(f"/vmi/agreements/{scene.agreement_id}").get_data(as_text=True)


def test_the_buyer_rejects_and_the_supplier_dismisses_through_the_forms(app, scene, detached_session):
    _beyond_limits(app, scene)
    buyer, csrf = browser(app, scene.world.buyer)
    assert buyer.post(f"/vmi/proposals/{scene.proposal_id}/reject", data={"csrf_token": csrf, "reason": "Too much at once"}).status_code == 302
    rejected = proposal_of(app, scene.proposal_id)
    assert (rejected.state, rejected.state_reason) == (ProposalState.REJECTED, "Too much at once")
    # A fresh review proposes again; the supplier dismisses it.
    with app.test_request_context():
        (again,) = review.review(detached_session, scene.world.supplier.principal, scene.agreement_id)
    detached_session.commit()
    supplier, csrf = browser(app, scene.world.supplier)
    assert supplier.post(f"/vmi/proposals/{again.id}/dismiss", data={"csrf_token": csrf, "reason": "Shipping Monday anyway"}).status_code == 302
    assert proposal_of(app, again.id).state == ProposalState.DISMISSED


def test_refusals_come_back_on_the_page_with_the_form_kept(app, scene):
    supplier, csrf = browser(app, scene.world.supplier)
    bad = supplier.post(f"/vmi/proposals/{scene.proposal_id}/confirm", data={"csrf_token": csrf, "quantity": "lots"})
    assert bad.status_code == 422 and field_error(bad, "quantity")
    assert 'value="lots"' in bad.get_data(as_text=True)
    late = supplier.post(f"/vmi/proposals/{scene.proposal_id}/confirm", data={"csrf_token": csrf, "delivery_date": "2001-01-01"})
    assert late.status_code == 422 and field_error(late, "delivery_date")
    buyer, csrf = browser(app, scene.world.buyer)
    refused = buyer.post(f"/vmi/proposals/{scene.proposal_id}/dismiss", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "Only the supplier may dismiss a proposal." in text(refused)
    assert proposal_of(app, scene.proposal_id).state == ProposalState.OPEN


def test_review_now_suspend_resume_and_end_through_the_forms(app, scene):
    supplier, csrf = browser(app, scene.world.supplier)
    reviewed = supplier.post(f"/vmi/agreements/{scene.agreement_id}/review", data={"csrf_token": csrf})
    assert reviewed.status_code == 302
    suspended = supplier.post(f"/vmi/agreements/{scene.agreement_id}/suspend", data={"csrf_token": csrf, "reason": "Stocktake"})
    assert suspended.status_code == 302
    page = supplier.get(f"/vmi/agreements/{scene.agreement_id}")
    assert "badge-suspended" in page.get_data(as_text=True) and "Stocktake" in text(page) and 'id="resume-form"' in page.get_data(as_text=True)
    # Nothing is reviewed under a suspended agreement: the refusal is flashed.
    refused = supplier.post(f"/vmi/agreements/{scene.agreement_id}/review", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "nothing is reviewed under it" in text(refused)
    buyer, buyer_csrf = browser(app, scene.world.buyer)
    assert 'id="resume-form"' not in buyer.get(f"/vmi/agreements/{scene.agreement_id}").get_data(as_text=True)  # whoever suspended resumes
    assert supplier.post(f"/vmi/agreements/{scene.agreement_id}/resume", data={"csrf_token": csrf}).status_code == 302
    assert buyer.post(f"/vmi/agreements/{scene.agreement_id}/end", data={"csrf_token": buyer_csrf, "reason": "Moving on"}).status_code == 302
    with database(app).sessionmaker() as s:
        assert s.get(VmiAgreement, scene.agreement_id).state == AgreementState.ENDED


def test_the_supplier_accepts_a_proposed_agreement_on_its_page(app, detached_session, detached_world):
    w = detached_world
    with app.test_request_context():
        made = agreements.propose(detached_session, w.buyer.principal, vmi_factory.agreement_input(detached_session, w.buyer, w.supplier, products=2))
    detached_session.commit()
    buyer, _ = browser(app, w.buyer)
    seen = buyer.get(f"/vmi/agreements/{made.id}").get_data(as_text=True)
    assert 'id="withdraw-form"' in seen and 'id="accept-form"' not in seen
    supplier, csrf = browser(app, w.supplier)
    page = supplier.get(f"/vmi/agreements/{made.id}")
    html = page.get_data(as_text=True)
    assert "Proposed terms" in text(page) and 'id="accept-form"' in html and 'id="decline-form"' in html and 'id="withdraw-form"' not in html
    assert html.split('id="proposed-items"', 1)[1].split("</table>", 1)[0].count("<tr") == 3  # the head and two items
    assert supplier.post(f"/vmi/agreements/{made.id}/accept", data={"csrf_token": csrf, "reason": "Agreed"}).status_code == 302
    with database(app).sessionmaker() as s:
        assert s.get(VmiAgreement, made.id).state == AgreementState.ACTIVE


def test_the_stock_page_holds_the_chart_and_its_figures(app, scene):
    client, _ = browser(app, scene.world.buyer)
    page = client.get(f"/vmi/agreements/{scene.agreement_id}/items/{scene.product_id}/{scene.location_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="stock-chart" data-chart="stock"' in html and 'id="bullwhip-chart"' in html
    assert "/static/vendor/uplot/uPlot.iife.min.js" in html and "/static/js/vmi-charts.js" in html
    data = json.loads(html.split('<script type="application/json" id="vmi-chart-data">', 1)[1].split("</script>", 1)[0])
    assert len(data["days"]) == len(data["stock"]) == len(data["point"]) == len(data["upper_95"]) == len(data["proposals"])
    assert data["stock"][data["days"].index((date.today() - timedelta(days=1)).isoformat())] == "50.000"
    assert set(data["minimum"]) == {data["minimum"][0]} and data["minimum"][0] is not None
    assert any(v is not None for v in data["point"]) and any(v is not None for v in data["proposals"])
    # The same figures in tables, readable without scripts.
    assert 'id="stock-table"' in html and 'id="forecast-table"' in html and 'id="accuracy"' in html and 'id="item-proposals"' in html
    assert "50" in html.split('id="stock-table"', 1)[1].split("</table>", 1)[0]
    # An item the agreement does not cover answers 404.
    assert client.get(f"/vmi/agreements/{scene.agreement_id}/items/{uuid.uuid4()}/{scene.location_id}").status_code == 404


def test_another_organization_gets_404_and_changes_nothing(app, scene):
    stranger, csrf = browser(app, scene.world.buyer2)
    assert f"/vmi/agreements/{scene.agreement_id}" not in stranger.get("/vmi").get_data(as_text=True)
    for path in (f"/vmi/agreements/{scene.agreement_id}", f"/vmi/agreements/{scene.agreement_id}/items/{scene.product_id}/{scene.location_id}"):
        assert stranger.get(path).status_code == 404, path
    for path in (f"/vmi/proposals/{scene.proposal_id}/confirm", f"/vmi/proposals/{scene.proposal_id}/dismiss", f"/vmi/agreements/{scene.agreement_id}/end"):
        assert stranger.post(path, data={"csrf_token": csrf}).status_code == 404, path
    assert proposal_of(app, scene.proposal_id).state == ProposalState.OPEN


def test_a_viewer_reads_the_pages_without_any_form(app, detached_session, scene):
    with app.test_request_context():
        viewer, _token = factories.add_user(detached_session, scene.world.supplier, Role.VIEWER)
    detached_session.commit()
    client, _ = browser(app, viewer)
    page = client.get(f"/vmi/agreements/{scene.agreement_id}")
    assert page.status_code == 200 and f'id="proposal-{scene.proposal_id}"' in page.get_data(as_text=True)
    html = page.get_data(as_text=True).split("<main", 1)[1]
    assert 'method="post"' not in html


def test_vmi_notifications_lead_to_the_agreement_page(app, scene):
    client, _ = browser(app, scene.world.supplier)
    page = client.get("/notifications?show=all").get_data(as_text=True)
    # The agreement's acceptance, the review's alert and its proposal all lead to the agreement.
    assert page.count(f'data-opens="/vmi/agreements/{scene.agreement_id}"') >= 3
    with database(app).sessionmaker() as s:
        notice = s.execute(
            sa.select(Notification).where(Notification.organization_id == scene.world.supplier.org.id, Notification.object_type == "vmi_proposal")
        ).scalar_one()
    opened = client.get(f"/notifications/{notice.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/vmi/agreements/{scene.agreement_id}")


def test_both_sides_read_the_profit_sharing_statement_per_period(app, detached_session, detached_world):
    w, session = detached_world, detached_session
    start = date.today() - timedelta(days=20)
    with app.test_request_context():
        data = vmi_factory.agreement_input(session, w.buyer, w.supplier, products=1, starts_on=start, period_days=10)
        data.update(baseline_inventory_value=Decimal("1000.00"), holding_cost_rate=Decimal("20"), supplier_share=Decimal("50"))
        data["items"][0]["unit_price"] = Decimal("2.00")
        made = agreements.propose(session, w.buyer.principal, data)
        agreements.accept(session, w.supplier.principal, made.id)
        item = made.versions[0].items[0]
        vmi_factory.share_history(session, w.buyer, item.product_id, item.location_id, [], on_hand=100, until=start)
        session.commit()
    for who in (w.buyer, w.supplier):
        client, _ = browser(app, who)
        page = client.get(f"/vmi/agreements/{made.id}")
        html = page.get_data(as_text=True)
        section = html[html.index('id="profit-sharing"') : html.index('id="alerts"')]
        # 100 units at 2.00 all along, 800.00 under the baseline at 20 % a year: 4.38 saved per 10 days, half of it the supplier's.
        assert re.findall(r'data-figure="supplier-share">([^<]+)<', section) == ["2.19", "2.19"]
        assert "200.00" in section and "4.38" in section


def test_the_buyer_proposes_an_agreement_with_its_form_and_mistakes_come_back_by_row(app, detached_session, detached_world):
    w, session = detached_world, detached_session
    with app.test_request_context():
        (bolt, nut), plant = orders_factory.catalog_of(session, w.buyer, 2)
        session.commit()
    client, csrf = browser(app, w.buyer)
    page = client.get("/vmi/agreements/new")
    assert page.status_code == 200 and "Propose the agreement" in page.get_data(as_text=True)
    item = {"unit_price": "2.50", "level_basis": "quantity", "min_level": "100", "max_level": "400", "review_period_days": "7", "lead_time_days": "5"}
    form = {
        "csrf_token": csrf,
        "item_rows": "4",
        "supplier_id": str(w.supplier.org.id),
        "currency": "EUR",
        "starts_on": date.today().isoformat(),
        "period_days": "30",
        **{f"items-0-{k}": v for k, v in {**item, "product_id": str(bolt.id), "location_id": str(plant.id), "service_level": "95"}.items()},
        # The second row's service level is out of range and its band upside down; row 3 stays empty.
        **{f"items-2-{k}": v for k, v in {**item, "product_id": str(nut.id), "location_id": str(plant.id), "service_level": "100", "max_level": "50"}.items()},
    }
    refused = client.post("/vmi/agreements/new", data=form)
    assert refused.status_code == 422
    assert field_error(refused, "items-2-service_level") and field_error(refused, "items-2-max_level") and not field_error(refused, "items-0-min_level")
    with database(app).sessionmaker() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(VmiAgreement)).scalar_one() == 0
    form.update({"items-2-service_level": "97.5", "items-2-max_level": "500", "items-2-consignment": ""})
    made = client.post("/vmi/agreements/new", data=form)
    assert made.status_code == 302, made.get_data(as_text=True)[:500]
    with database(app).sessionmaker() as s:
        (agreement,) = s.execute(sa.select(VmiAgreement)).scalars().all()
        assert (agreement.state, agreement.pending_version, len(agreement.versions[0].items)) == (AgreementState.PROPOSED, 1, 2)
    # A supplier has no such form.
    supplier, _ = browser(app, w.supplier)
    assert supplier.get("/vmi/agreements/new").status_code == 403


def test_the_item_page_shows_consigned_stock_by_owner_and_its_self_billing(app, detached_session, detached_world):
    from tests.vmi import test_consignment as consigned

    w, session = detached_world, detached_session
    with app.test_request_context():
        made = consigned._agreement(session, w)
        order = consigned._order(session, w, made, "100")
        consigned.receive(session, w.buyer, order, (Decimal("90"),))
        consigned._consume(session, w, made, "30")  # today, after the goods arrived
        (billing,) = consignment.bill(session, w.supplier.principal, made.id, through=date.today())
        number = session.get(Invoice, billing.invoice_id).number
        item = consigned._item(made)
        session.commit()
    for who in (w.buyer, w.supplier):
        client, _ = browser(app, who)
        page = client.get(f"/vmi/agreements/{made.id}/items/{item.product_id}/{item.location_id}")
        assert page.status_code == 200
        section = page.get_data(as_text=True).split('id="consignment"')[1].split("</section>")[0]
        assert re.search(r'<dd id="consigned">([^<]+)</dd>', section).group(1) == "60"  # 90 accepted, 30 consumed
        assert number in section and "75.00" in section  # 30 at 2.50, billed to the buyer by self-billing


def test_either_side_proposes_new_terms_from_those_in_force_and_the_other_accepts_them(app, scene):
    w = scene.world
    client, csrf = browser(app, w.supplier)
    agreement_page = client.get(f"/vmi/agreements/{scene.agreement_id}").get_data(as_text=True)
    assert f'href="/vmi/agreements/{scene.agreement_id}/terms"' in agreement_page
    page = client.get(f"/vmi/agreements/{scene.agreement_id}/terms")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Propose version 2" in html
    # The form starts from the terms in force: the item's band 100-400 at 2.50.
    assert re.search(r'name="items-0-max_level" value="400(\.0*)?"', html) and re.search(r'name="items-0-unit_price" value="2\.50*"', html)
    with database(app).sessionmaker() as s:
        terms = agreements.current(s.get(VmiAgreement, scene.agreement_id))
        form = {key: str(getattr(terms, key)) for key in ("starts_on", "period_days", "max_order_value")}
        item = terms.items[0]
        row = {
            "product_id": str(item.product_id),
            "location_id": str(item.location_id),
            "unit_price": "2.40",
            "level_basis": "quantity",
            "min_level": "150",
            "max_level": "120",  # upside down: refused by row
            "review_period_days": "7",
            "lead_time_days": str(item.lead_time_days),
            "service_level": str(item.service_level),
        }
    posted = {"csrf_token": csrf, "item_rows": "1", **form, **{f"items-0-{k}": v for k, v in row.items()}}
    refused = client.post(f"/vmi/agreements/{scene.agreement_id}/terms", data=posted)
    assert refused.status_code == 422 and field_error(refused, "items-0-max_level")
    with database(app).sessionmaker() as s:
        assert s.get(VmiAgreement, scene.agreement_id).pending_version is None
    made = client.post(f"/vmi/agreements/{scene.agreement_id}/terms", data={**posted, "items-0-max_level": "450"})
    assert made.status_code == 302 and made.headers["Location"].endswith(f"/vmi/agreements/{scene.agreement_id}#proposed")
    # While version 2 waits, no one proposes another: the form sends back to the agreement.
    again = client.get(f"/vmi/agreements/{scene.agreement_id}/terms")
    assert again.status_code == 302
    buyer, buyer_csrf = browser(app, w.buyer)
    assert "Propose new terms" not in buyer.get(f"/vmi/agreements/{scene.agreement_id}").get_data(as_text=True)
    accepted = buyer.post(f"/vmi/agreements/{scene.agreement_id}/accept", data={"csrf_token": buyer_csrf, "reason": ""})
    assert accepted.status_code == 302
    with database(app).sessionmaker() as s:
        found = s.get(VmiAgreement, scene.agreement_id)
        in_force = agreements.current(found)
        assert (found.current_version, in_force.items[0].min_level, in_force.items[0].max_level, in_force.items[0].unit_price) == (
            2,
            Decimal("150"),
            Decimal("450"),
            Decimal("2.40"),
        )


def test_a_viewer_and_another_organization_cannot_open_the_new_terms_form(app, detached_session, scene):
    with app.test_request_context():
        viewer, _token = factories.add_user(detached_session, scene.world.buyer, Role.VIEWER)
    detached_session.commit()
    client, _ = browser(app, viewer)
    assert client.get(f"/vmi/agreements/{scene.agreement_id}/terms").status_code == 403
    assert 'id="amend-terms"' not in client.get(f"/vmi/agreements/{scene.agreement_id}").get_data(as_text=True)
    stranger, csrf = browser(app, scene.world.buyer2)
    assert stranger.get(f"/vmi/agreements/{scene.agreement_id}/terms").status_code == 404
    assert stranger.post(f"/vmi/agreements/{scene.agreement_id}/terms", data={"csrf_token": csrf}).status_code == 404
