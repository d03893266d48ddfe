"""The engagement pages: the grantor's admin grants, reads the log and revokes; the auditor
opens an engagement and reads the grantor's orders in the portal, read-only, until it leaves
it or the engagement is revoked."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import sqlalchemy as sa
from concord.engagements.models import Engagement
from concord.tenancy.models import Role

from tests import factories
from tests.engagements.conftest import grant, later, this_year
from tests.factories import PASSWORD
from tests.security.helpers import csrf_token, portal_login


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_an_admin_grants_an_engagement_in_the_portal_and_sees_mistakes_field_by_field(app, session, scene):
    browser = app.test_client()
    csrf = portal_login(browser, scene.grantor.admin.email, PASSWORD)
    page = browser.get("/engagements")
    assert page.status_code == 200 and scene.auditor.org.legal_name in _text(page)
    form = {"csrf_token": csrf, "auditor_id": str(scene.auditor.org.id), "kinds": ["orders", "events"], **this_year(), "valid_until": later()[:10]}
    refused = browser.post("/engagements", data={**form, "period_from": form["period_to"], "period_to": form["period_from"]})
    assert refused.status_code == 422
    assert "Must not be before period_from." in _text(refused)
    granted = browser.post("/engagements", data=form)
    assert granted.status_code == 303
    engagement = session.execute(sa.select(Engagement)).scalar_one()
    assert (engagement.kinds, engagement.valid_until.strftime("%H:%M:%S")) == (["events", "orders"], "23:59:59")
    detail = browser.get(granted.headers["Location"])
    assert "Revoke engagement" in _text(detail)
    revoked = browser.post(f"/engagements/{engagement.id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert "Revoke engagement" not in _text(browser.get(revoked.headers["Location"]))
    session.expire_all()
    assert session.get(Engagement, engagement.id).state == "revoked"


def test_the_auditor_opens_an_engagement_and_reads_the_grantors_orders_read_only(app, client, session, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "orders")
    order = scene.a.order
    auditor = app.test_client()
    csrf = portal_login(auditor, scene.auditor.admin.email, PASSWORD)
    assert auditor.get(f"/orders/{order.id}").status_code == 404  # not before opening it
    listing = _text(auditor.get("/engagements"))
    assert scene.grantor.org.legal_name in listing
    detail = _text(auditor.get(f"/engagements/{engagement['id']}"))
    assert "Open orders" in detail
    opened = auditor.post(f"/engagements/{engagement['id']}/open", data={"csrf_token": csrf, "kind": "orders"})
    assert (opened.status_code, opened.headers["Location"]) == (303, "/orders")
    orders_page = _text(auditor.get("/orders"))
    assert order.number in orders_page and scene.b.order.number not in orders_page
    assert "You are reading records under" in orders_page
    page = auditor.get(f"/orders/{order.id}")
    assert page.status_code == 200
    text = _text(page)
    assert "you read it under an engagement, read-only" in text
    assert not re.search(rf'action="/orders/{order.id}/[a-z_-]+"', text), "an action form is offered to the auditor"
    assert auditor.get(f"/shipments/{scene.a.shipment.id}").status_code == 200
    # Writing through the portal finds nothing, as for a stranger.
    assert auditor.post(f"/orders/{order.id}/cancel", data={"csrf_token": csrf, "reason": "audit"}).status_code == 404
    # The grantor sees the auditor's reads.
    grantor = app.test_client()
    portal_login(grantor, scene.grantor.admin.email, PASSWORD)
    log = _text(grantor.get(f"/engagements/{engagement['id']}"))
    assert f"/orders/{order.id}" in log and scene.auditor.admin.full_name in log
    # Leaving the engagement, the auditor reads as itself again.
    assert auditor.post("/engagements/leave", data={"csrf_token": csrf_token(auditor, "/engagements")}).status_code == 303
    assert auditor.get(f"/orders/{order.id}").status_code == 404


def test_the_auditor_opens_an_engagement_on_the_trace_page_and_on_the_grantors_events(app, client, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "lots", "events")
    auditor = app.test_client()
    csrf = portal_login(auditor, scene.auditor.admin.email, PASSWORD)
    detail = _text(auditor.get(f"/engagements/{engagement['id']}"))
    assert "Trace a lot" in detail and "Open EPCIS events" in detail and "Open orders" not in detail
    traced = auditor.post(f"/engagements/{engagement['id']}/open", data={"csrf_token": csrf, "kind": "lots"})
    assert (traced.status_code, traced.headers["Location"]) == (303, "/provenance/trace")
    trace_page = _text(auditor.get("/provenance/trace"))
    assert "You are reading records under" in trace_page and 'href="/provenance/events"' in trace_page  # the navigation's Provenance
    opened = auditor.post(f"/engagements/{engagement['id']}/open", data={"csrf_token": csrf, "kind": "events"})
    assert (opened.status_code, opened.headers["Location"]) == (303, "/provenance/events")
    listing = _text(auditor.get("/provenance/events"))
    assert scene.a.event_in[:28] in listing and scene.b.event_in[:28] not in listing
    link = f'href="/provenance/events/{quote(scene.a.event_in, safe="")}"'
    assert link in listing
    assert auditor.get(f"/provenance/events/{quote(scene.a.event_in, safe='')}").status_code == 200
    assert auditor.get(f"/provenance/events/{quote(scene.b.event_in, safe='')}").status_code == 404
    refused = auditor.post(f"/engagements/{engagement['id']}/open", data={"csrf_token": csrf, "kind": "orders"})
    assert refused.status_code == 404  # a kind the engagement does not cover


def test_a_revoked_engagement_closes_the_auditors_pages_at_once(app, client, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "orders")
    auditor = app.test_client()
    csrf = portal_login(auditor, scene.auditor.admin.email, PASSWORD)
    auditor.post(f"/engagements/{engagement['id']}/open", data={"csrf_token": csrf, "kind": "orders"})
    assert auditor.get(f"/orders/{scene.a.order.id}").status_code == 200
    assert client.post(f"/api/v1/engagements/{engagement['id']}/revoke", headers=scene.grantor.headers).status_code == 200
    assert auditor.get(f"/orders/{scene.a.order.id}").status_code == 404
    assert "You are reading records under" not in _text(auditor.get("/engagements"))
    refused = auditor.post(f"/engagements/{engagement['id']}/open", data={"csrf_token": csrf, "kind": "orders"})
    assert refused.status_code == 303 and refused.headers["Location"].endswith(f"/engagements/{engagement['id']}")


def test_only_the_grantors_admins_see_the_grant_form(app, session, scene):
    with app.test_request_context():
        member, _token = factories.add_user(session, scene.grantor, Role.MEMBER)
        session.commit()
    for email in (scene.grantor.admin.email, member.email, scene.auditor.admin.email):
        browser = app.test_client()
        portal_login(browser, email, PASSWORD)
        shown = "Grant an engagement" in _text(browser.get("/engagements"))
        assert shown == (email == scene.grantor.admin.email), email


def test_the_auditors_dashboard_lists_the_engagements_it_reads_under(app, client, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "orders")
    browser = app.test_client()
    portal_login(browser, scene.auditor.admin.email, PASSWORD)
    assert f'href="/engagements/{engagement["id"]}">{scene.grantor.org.legal_name}</a>' in _text(browser.get("/dashboard"))
    assert client.post(f"/api/v1/engagements/{engagement['id']}/revoke", headers=scene.grantor.headers).status_code == 200
    assert "No organization has granted yours an engagement yet" in _text(browser.get("/dashboard"))
