"""Notifications and webhooks in the portal: an order step's notifications reach the
organizations it concerns (and no other), each linking to what its reader may open; any
member marks them read, one by one or all at once; the navigation counts the unread ones.
Admins manage webhooks: the signing secret is shown once, on the answer to the creation
(never in a flash, which the session cookie carries), refusals are shown field by field
with nothing written, and another organization's webhook is not there (404)."""

from __future__ import annotations

import re
import threading
import uuid
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from concord import clock
from concord.db import database
from concord.ledger import keys
from concord.logistics import service as logistics
from concord.notifications import service
from concord.notifications.models import Notification, WebhookDelivery, WebhookSubscription
from concord.orders import service as orders
from concord.tenancy.models import Relation, Role

from tests import factories, orders_factory
from tests.ledger_helpers import settle
from tests.portal.helpers import field_error, text
from tests.security.helpers import audit_entries, cookie_contents, session_cookie

# -- arranging ------------------------------------------------------------------------------


def shipped_order(app, session, world, worker):
    """An order confirmed in full, its escrow funded on chain, then shipped by the supplier
    with its carrier: the shipment step tells the buyer and the carrier."""
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
        answers = [{"line_no": line.line_no, "confirmed_quantity": line.quantity, "confirmed_date": date.today()} for line in order.lines]
        orders.acknowledge(session, world.supplier.principal, order.id, answers)
    session.commit()
    settle(app, worker)
    with app.test_request_context():
        shipment = logistics.create_shipment(
            session,
            world.supplier.principal,
            order.id,
            {"carrier_id": world.carrier.org.id, "lines": [{"line_no": 1, "quantity": Decimal("10")}, {"line_no": 2, "quantity": Decimal("4")}]},
        )
    session.commit()
    return order, shipment


def tell(session, member, summary: str, *, event: str = "shipment.milestone", object_type: str = "order", object_id=None, data=None) -> Notification:
    service.notify(session, event, org_ids=[member.org.id], object_type=object_type, object_id=object_id or uuid.uuid4(), summary=summary, data=data)
    found = session.execute(sa.select(Notification).where(Notification.summary == summary)).scalar_one()
    session.commit()  # end the read transaction (SQLite would keep its lock)
    return found


def count(app, model, *where) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def webhook_of(app, session, member, url="https://erp.example.com/concord", events=("*",)) -> WebhookSubscription:
    with app.test_request_context():
        subscription, _secret = service.create_subscription(session, member.principal, {"url": url, "events": list(events)})
    session.commit()
    return subscription


def nav_of(response) -> str:
    page = response.get_data(as_text=True)
    return page[page.index('<nav aria-label="Main">') : page.index("</nav>")]


def badge_in(response) -> str | None:
    found = re.search(r'<span class="nav-count">([^<]+)<span class="visually-hidden"> unread</span></span>', nav_of(response))
    return found.group(1) if found else None


def items(response) -> list[str]:
    """The notifications listed, as their summaries read (unread ones flagged)."""
    page = response.get_data(as_text=True)
    out = []
    for item in re.findall(r'<li class="notification( unread)?">(.*?)</li>', page, re.S):
        summary = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.search(r'<p class="notification-summary">(.*?)</p>', item[1], re.S).group(1))).strip()
        out.append(summary)
    return out


def links(response) -> list[str]:
    """Where each notification's link leads: through /notifications/<id>/open (which marks
    it read) to the page named in data-opens."""
    found = re.findall(r'<p class="notification-summary">.*?<a href="([^"]+)" data-opens="([^"]+)">', response.get_data(as_text=True), re.S)
    assert all(re.fullmatch(r"/notifications/[0-9a-f-]{36}/open", href) for href, _ in found), found
    return [target for _, target in found]


def open_links(response) -> list[str]:
    return re.findall(r'<p class="notification-summary">.*?<a href="([^"]+)"', response.get_data(as_text=True), re.S)


@contextmanager
def statements(app):
    """The SQL statements the app runs meanwhile."""
    seen: list[str] = []
    engine = database(app).engine

    def listen(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)


@pytest.fixture
def receiver(app, monkeypatch):
    """An HTTP endpoint on 127.0.0.1 answering each POST with the next of `replies`."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_HOSTS", True)
    replies: list[tuple[int, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            status, body = replies.pop(0) if replies else (204, b"")
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", replies
    server.shutdown()
    server.server_close()


# -- notifications --------------------------------------------------------------------------


def test_an_order_step_notifies_the_organizations_it_concerns_with_links_each_may_open(app, world, session, signed_in, funded):
    order, shipment = shipped_order(app, session, world, funded)
    summary = f"Shipment 1 of order {order.number} is on its way."
    from concord.notifications.models import Notification

    # The steps before the shipment told the parties too (issued, acknowledged); this test follows the shipment's.
    session.execute(sa.delete(Notification).where(Notification.event != "shipment.created"))
    session.commit()

    buyer = signed_in(world.buyer)
    page = buyer.get("/notifications")
    assert page.status_code == 200
    assert items(page) == [f"unread {summary}"]
    assert links(page) == [f"/orders/{order.id}"]  # the buyer opens the order
    assert badge_in(page) == "1"

    carrier = signed_in(world.carrier)
    page = carrier.get("/notifications")
    assert items(page) == [f"unread {summary}"]
    assert links(page) == [f"/shipments/{shipment.id}"]  # not the order, which is not the carrier's
    assert carrier.get(links(page)[0]).status_code == 200

    supplier = signed_in(world.supplier)  # it took the step: nothing to tell it
    assert items(supplier.get("/notifications")) == [] and badge_in(supplier.get("/dashboard")) is None
    stranger = signed_in(world.buyer2)
    page = stranger.get("/notifications")
    assert items(page) == [] and "No notifications yet." in text(page) and summary not in text(page)
    assert badge_in(page) is None

    # The carrier's milestone, through its page, tells the buyer and the supplier.
    recorded = carrier.post(
        f"/shipments/{shipment.id}/milestones", {"kind": "departed", "occurred_at": clock.utcnow().strftime("%Y-%m-%dT%H:%M"), "location": "Leeds, GB"}
    )
    assert recorded.status_code == 302, text(recorded)
    milestone = f"Shipment 1 of order {order.number}: departed at Leeds, GB."
    assert items(supplier.get("/notifications")) == [f"unread {milestone}"]
    assert links(supplier.get("/notifications")) == [f"/orders/{order.id}"]
    assert items(buyer.get("/notifications")) == [f"unread {milestone}", f"unread {summary}"]  # newest first
    assert badge_in(buyer.get("/dashboard")) == "2"
    assert items(carrier.get("/notifications")) == [f"unread {summary}"]
    assert items(stranger.get("/notifications")) == []


def test_links_only_where_the_reader_may_open_the_object(app, world, session, signed_in):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
        factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, world.supplier)
        theirs = orders_factory.issued_order(session, world.buyer2, world.supplier)
        shipment, _dispute = orders_factory.shipped_and_disputed(session, world.buyer, world.supplier, world.carrier, world.operator)
    session.commit()
    tell(session, world.buyer, "About our order", object_id=order.id)
    tell(session, world.buyer, "About someone else's order", object_id=theirs.id, data={"shipment_id": str(uuid.uuid4())})
    tell(session, world.buyer, "About a shipment", event="shipment.delivered", object_type="shipment", object_id=shipment.id)
    tell(session, world.buyer, "About nothing one can open", event="webhook.test", object_type="webhook", object_id="w-1")
    page = signed_in(world.buyer).get("/notifications")
    html = page.get_data(as_text=True)
    assert f'data-opens="/orders/{order.id}">About our order</a>' in html
    assert f'data-opens="/shipments/{shipment.id}">About a shipment</a>' in html
    assert f"/orders/{theirs.id}" not in html and "About someone else&#39;s order" in html
    assert len(links(page)) == 2


def test_opening_a_notification_leads_to_its_object_and_marks_it_read(app, world, session, signed_in):
    with app.test_request_context():
        order = orders_factory.issued_order(session, world.buyer, world.supplier)
    session.commit()
    tell(session, world.buyer, "About our order", object_id=order.id)
    buyer = signed_in(world.buyer)
    page = buyer.get("/notifications")
    assert items(page) == ["unread About our order"]
    (href,) = open_links(page)
    opened = buyer.get(href)
    assert opened.status_code == 302 and opened.headers["Location"] == f"/orders/{order.id}"
    assert items(buyer.get("/notifications")) == ["About our order"]
    # Another organization's notification id: 404, like every foreign object.
    assert signed_in(world.buyer2).get(href).status_code == 404


def test_nobody_is_told_in_the_portal_what_their_own_organization_did(app, world, session, signed_in):
    """A step a person takes tells the other organizations of it; their own colleagues see
    it on the object's page and timeline, not as a notification. Their webhooks still hear it."""
    from concord.notifications.models import WebhookDelivery
    from flask import g

    with app.test_request_context():
        service.create_subscription(session, world.buyer.principal, {"url": "https://erp.example.com/in", "events": ["*"]})
        g.principal = world.buyer.principal
        service.notify(
            session,
            "order.received",
            org_ids=[world.buyer.org.id, world.supplier.org.id],
            object_type="order",
            object_id=uuid.uuid4(),
            summary="Receipt confirmed",
        )
        session.commit()
    assert items(signed_in(world.buyer).get("/notifications")) == []
    assert items(signed_in(world.supplier).get("/notifications")) == ["unread Receipt confirmed"]
    assert count(app, WebhookDelivery) == 1  # the buyer's own webhook


def test_any_member_marks_notifications_read_one_by_one_or_all_at_once(app, world, session, signed_in, frozen_clock):
    with app.test_request_context():
        viewer, _ = factories.add_user(session, world.supplier, Role.VIEWER)
    session.commit()
    notes = []
    for n in range(3):
        frozen_clock.advance(seconds=1)
        notes.append(tell(session, world.supplier, f"Milestone {n}"))
    tell(session, world.buyer, "The buyer's own")
    reader = signed_in(viewer)
    page = reader.get("/notifications")
    assert items(page) == ["unread Milestone 2", "unread Milestone 1", "unread Milestone 0"]
    assert badge_in(page) == "3" and "Unread (3)" in text(page)
    assert 'class="notification unread"' in page.get_data(as_text=True)

    # One read, from the unread filter: back to that filter, the notification read for everyone.
    marked = reader.post(f"/notifications/{notes[1].id}/read", {"show": "unread"})
    assert marked.status_code == 302 and marked.headers["Location"].endswith("/notifications?show=unread")
    after = reader.get(marked.headers["Location"])
    assert "Marked read: Milestone 1" in text(after)
    assert items(after) == ["unread Milestone 2", "unread Milestone 0"] and badge_in(after) == "2"
    assert items(signed_in(world.supplier).get("/notifications")) == ["unread Milestone 2", "Milestone 1", "unread Milestone 0"]
    assert [e.object_id for e in audit_entries(app, action="notification:read")] == [str(notes[1].id)]
    again = reader.post(f"/notifications/{notes[1].id}/read", {})
    assert again.status_code == 302 and len(audit_entries(app, action="notification:read")) == 1  # nothing new to record
    assert signed_in(world.buyer).post(f"/notifications/{notes[0].id}/read", {}).status_code == 404

    # All read: what arrived after the page was shown stays unread.
    page = reader.get("/notifications")
    seen_at = re.search(r'name="seen_at" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    frozen_clock.advance(seconds=5)
    tell(session, world.supplier, "Arrived later")
    done = reader.post("/notifications/read-all", {"seen_at": seen_at}, follow_redirects=True)
    assert "2 notifications marked read, for everyone in your organization." in text(done)
    assert items(done) == ["unread Arrived later", "Milestone 2", "Milestone 1", "Milestone 0"]
    assert badge_in(done) == "1"
    (entry,) = [e for e in audit_entries(app, action="notification:read") if e.summary.get("all_unread")]
    assert entry.summary["count"] == 2 and entry.actor_user_id == viewer.id and entry.subject_org_id == world.supplier.org.id
    assert count(app, Notification, Notification.organization_id == world.buyer.org.id, Notification.read_at.is_(None)) == 1  # not another org's
    nothing = reader.post("/notifications/read-all", {"seen_at": seen_at}, follow_redirects=True)
    assert "Nothing to mark" in text(nothing) and badge_in(nothing) == "1"
    everything = reader.post("/notifications/read-all", {}, follow_redirects=True)
    assert "1 notification marked read" in text(everything) and badge_in(everything) is None
    assert "No unread notifications." in text(reader.get("/notifications?show=unread"))


def test_the_notifications_list_pages(app, world, session, signed_in, frozen_clock):
    for n in range(27):
        frozen_clock.advance(seconds=1)
        service.notify(session, "shipment.milestone", org_ids=[world.carrier.org.id], object_type="order", object_id=uuid.uuid4(), summary=f"Event {n:02d}")
    session.commit()
    carrier = signed_in(world.carrier)
    first = carrier.get("/notifications?show=unread")
    assert len(items(first)) == 25 and items(first)[0] == "unread Event 26"
    (next_link,) = re.findall(r'href="(/notifications\?[^"]+)">Next page', first.get_data(as_text=True))
    second = carrier.get(next_link.replace("&amp;", "&"))
    assert items(second) == ["unread Event 01", "unread Event 00"]
    assert badge_in(second) == "27"
    assert carrier.get("/notifications?cursor=not-a-cursor").status_code == 422


def test_the_unread_badge_costs_one_count_and_nothing_when_signed_out(app, world, session, signed_in):
    for n in range(120):
        service.notify(session, "shipment.milestone", org_ids=[world.buyer.org.id], object_type="order", object_id=uuid.uuid4(), summary=f"N{n}")
    session.commit()
    buyer = signed_in(world.buyer)
    with statements(app) as seen:
        page = buyer.get("/dashboard")
    assert badge_in(page) == "99+"
    touching = [s for s in seen if re.search(r"\bnotifications\b", s)]
    assert len(touching) == 1 and "count(" in touching[0].lower()
    with statements(app) as seen:
        listed = buyer.get("/notifications")
    assert len([s for s in seen if "count(" in s.lower() and re.search(r"\bnotifications\b", s)]) == 1  # shared by the nav and the page
    assert "Unread (120)" in text(listed)
    anonymous = app.test_client()
    with statements(app) as seen:
        assert anonymous.get("/login").status_code == 200
    assert not [s for s in seen if re.search(r"\bnotifications\b", s)]
    assert anonymous.get("/notifications").status_code == 302  # to the sign-in page


# -- webhooks -------------------------------------------------------------------------------


def test_a_new_webhooks_secret_is_shown_once_and_never_again(app, world, session, signed_in):
    admin = signed_in(world.supplier)
    assert admin.get("/webhooks").status_code == 200
    created = admin.post(
        "/webhooks",
        {"url": "https://erp.example.com/concord", "events": ["shipment.delivered", "dispute.opened"], "other_events": "order.issued, shipment.delivered"},
    )
    assert created.status_code == 201, text(created)
    assert created.headers["Cache-Control"] == "no-store"
    page = created.get_data(as_text=True)
    secrets_shown = re.findall(r"whsec_[A-Za-z0-9_-]+", page)
    assert len(secrets_shown) == 1
    secret = secrets_shown[0]
    assert "copy its signing secret now" in text(created) and "This is the only time Concord shows it." in text(created)
    with database(app).sessionmaker() as s:
        (subscription,) = s.execute(sa.select(WebhookSubscription)).scalars().all()
        stored = keys.unseal(
            keys.KeyRing.of(app), subscription.secret_key_id, subscription.secret_nonce, subscription.secret_ciphertext, subscription.id
        ).decode()
    assert stored == secret
    assert subscription.events == ["shipment.delivered", "dispute.opened", "order.issued"] and subscription.active
    assert subscription.organization_id == world.supplier.org.id and subscription.created_by == world.supplier.admin.id
    # Nothing of it in the session cookie (flashes live there), nor on any later page.
    assert secret not in str(cookie_contents(app, session_cookie(admin.client)))
    listed = admin.get("/webhooks")
    assert secret not in listed.get_data(as_text=True) and "whsec_" not in listed.get_data(as_text=True)
    assert "https://erp.example.com/concord" in text(listed) and all(name in text(listed) for name in ("shipment.delivered", "dispute.opened", "order.issued"))
    detail = admin.get(f"/webhooks/{subscription.id}")
    assert detail.status_code == 200 and secret not in detail.get_data(as_text=True)
    assert "shown only when the webhook was created" in text(detail)
    assert [e.object_id for e in audit_entries(app, action="webhook:created")] == [str(subscription.id)]
    assert secret not in str([e.summary for e in audit_entries(app)])

    everything = admin.post("/webhooks", {"url": "https://erp.example.com/all", "events": ["*", "order.received"]})
    assert everything.status_code == 201
    with database(app).sessionmaker() as s:
        assert s.execute(sa.select(WebhookSubscription.events).where(WebhookSubscription.url == "https://erp.example.com/all")).scalar_one() == ["*"]
    assert "All events" in text(admin.get("/webhooks"))


def test_only_admins_manage_webhooks(app, world, session, signed_in):
    hook = webhook_of(app, session, world.supplier)
    with app.test_request_context():
        member, _ = factories.add_user(session, world.supplier, Role.MEMBER)
        viewer, _ = factories.add_user(session, world.supplier, Role.VIEWER)
    session.commit()
    assert "/webhooks" in signed_in(world.supplier).get("/notifications").get_data(as_text=True)
    for user in (member, viewer):
        browser = signed_in(user)
        assert browser.get("/notifications").status_code == 200
        assert "/webhooks" not in browser.get("/notifications").get_data(as_text=True)
        refused = browser.get("/webhooks")
        assert refused.status_code == 403 and "Only your organization's admins manage its webhooks." in text(refused)
        assert browser.post("/webhooks", {"url": "https://erp.example.com/mine", "events": ["*"]}).status_code == 403
        assert browser.get(f"/webhooks/{hook.id}").status_code == 403
        assert browser.post(f"/webhooks/{hook.id}/pause", {}).status_code == 403
        assert browser.post(f"/webhooks/{hook.id}/test", {}).status_code == 403
        assert browser.post(f"/webhooks/{hook.id}/delete", {}).status_code == 403
    assert count(app, WebhookSubscription, WebhookSubscription.active.is_(True)) == 1 and count(app, WebhookDelivery) == 0
    assert len(audit_entries(app, action="webhook:created")) == 1  # the arranged one only


@pytest.mark.parametrize(
    ("form", "field", "messages"),
    [
        ({"url": "ftp://erp.example.com/concord", "events": ["*"]}, "url", ["Use an http or https URL."]),
        ({"url": "http://127.0.0.1:8080/hooks", "events": ["*"]}, "url", ["Concord does not deliver to loopback, private or link-local hosts."]),
        (
            {"url": "https://user:pw@erp.example.com/concord", "events": ["*"]},
            "url",
            ["Put no credentials in the URL: check the Concord-Signature header instead."],
        ),
        ({"url": "", "events": ["*"]}, "url", ["Missing data for required field."]),
        ({"url": "https://erp.example.com/concord"}, "events", ["Choose the events to send, or all events."]),
        (
            {"url": "https://erp.example.com/concord", "events": ["order.received"], "other_events": "Order.Issued"},
            "other_events",
            ["“Order.Issued”: Use an event name such as order.issued, or * for every event."],
        ),
    ],
)
def test_bad_webhook_input_is_shown_by_field_with_the_form_kept_and_nothing_written(app, world, signed_in, form, field, messages):
    admin = signed_in(world.supplier)
    refused = admin.post("/webhooks", form)
    assert refused.status_code == 422
    assert field_error(refused, field) == messages
    page = refused.get_data(as_text=True)
    if form["url"]:
        assert f'value="{form["url"]}"' in page  # the form as sent
    for name in form.get("events", []):
        assert f'value="{name}" checked' in page
    assert "whsec_" not in page
    assert count(app, WebhookSubscription) == 0 and audit_entries(app, action="webhook:created") == []


def test_the_delivery_log_shows_each_attempt_and_pause_resume_test_and_delete_work(app, world, session, signed_in, receiver):
    url, replies = receiver
    admin = signed_in(world.supplier)
    assert admin.post("/webhooks", {"url": url, "events": ["shipment.delivered"]}).status_code == 201
    with database(app).sessionmaker() as s:
        hook_id = s.execute(sa.select(WebhookSubscription.id)).scalar_one()
    assert "Nothing sent yet." in text(admin.get(f"/webhooks/{hook_id}"))

    queued = admin.post(f"/webhooks/{hook_id}/test", {"back": "list"})
    assert queued.status_code == 302 and queued.headers["Location"].endswith(f"/webhooks/{hook_id}")
    replies.append((204, b""))
    assert service.deliver_due(app) == 1
    admin.post(f"/webhooks/{hook_id}/test", {})
    replies.append((503, b"down for maintenance"))
    assert service.deliver_due(app) == 1

    log = admin.get(f"/webhooks/{hook_id}")
    assert log.status_code == 200
    rows = [row for row in re.findall(r"<tr>(.*?)</tr>", log.get_data(as_text=True).split("Delivery log", 1)[1], re.S) if "<td" in row]
    shown = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]
    assert len(shown) == 2
    assert shown[0].startswith("webhook.test") and " pending " in shown[0] and " 503 " in shown[0] and "HTTP 503: down for maintenance" in shown[0]
    assert " delivered " in shown[1] and " 204 " in shown[1] and " 1 " in shown[1] and " ms" in shown[1]
    assert "Concord-Event-Id" in text(log)
    filtered = text(admin.get(f"/webhooks/{hook_id}?state=delivered"))
    assert "HTTP 503" not in filtered and "204" in filtered
    assert "1 delivered, 1 pending" in text(admin.get("/webhooks"))

    paused = admin.post(f"/webhooks/{hook_id}/pause", {"back": "list"}, follow_redirects=True)
    assert f"Webhook to {url} paused" in text(paused) and "paused" in text(paused)
    assert count(app, WebhookSubscription, WebhookSubscription.active.is_(False)) == 1
    refused = admin.post(f"/webhooks/{hook_id}/test", {})
    assert refused.status_code == 409 and "This webhook is paused" in text(refused) and "Delivery log" in text(refused)
    assert count(app, WebhookDelivery) == 2
    resumed = admin.post(f"/webhooks/{hook_id}/resume", {}, follow_redirects=True)
    assert f"Webhook to {url} resumed" in text(resumed)
    assert count(app, WebhookSubscription, WebhookSubscription.active.is_(True)) == 1
    assert [e.summary["after"] for e in audit_entries(app, action="webhook:updated")] == [{"active": False}, {"active": True}]

    deleted = admin.post(f"/webhooks/{hook_id}/delete", {}, follow_redirects=True)
    assert f"Webhook to {url} deleted with its delivery log" in text(deleted) and "No webhooks yet." in text(deleted)
    assert count(app, WebhookSubscription) == 0 and count(app, WebhookDelivery) == 0
    assert admin.get(f"/webhooks/{hook_id}").status_code == 404


def test_another_organizations_webhooks_and_notifications_are_not_there(app, world, session, signed_in):
    hook = webhook_of(app, session, world.supplier, url="https://supplier.example.com/hooks")
    note = tell(session, world.supplier, "For the supplier only")
    queued = count(app, WebhookDelivery)  # the notification's, for the supplier's webhook
    other = signed_in(world.buyer)
    assert "supplier.example.com" not in other.get("/webhooks").get_data(as_text=True)
    for response in (
        other.get(f"/webhooks/{hook.id}"),
        other.post(f"/webhooks/{hook.id}/pause", {}),
        other.post(f"/webhooks/{hook.id}/test", {}),
        other.post(f"/webhooks/{hook.id}/delete", {}),
        other.post(f"/notifications/{note.id}/read", {}),
    ):
        assert response.status_code == 404 and "supplier.example.com" not in response.get_data(as_text=True)
    assert other.post("/notifications/read-all", {}, follow_redirects=True).status_code == 200
    assert count(app, WebhookSubscription, WebhookSubscription.active.is_(True)) == 1 and count(app, WebhookDelivery) == queued == 1
    assert count(app, Notification, Notification.read_at.is_not(None)) == 0
    assert len(audit_entries(app, action="access:denied")) == 5
