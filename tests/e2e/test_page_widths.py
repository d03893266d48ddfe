"""Every portal page fits the screen: at 390 px (a phone) and 1280 px (a laptop) no page
scrolls sideways, and at 1280 px nothing is cut off inside the page either: no table needs
scrolling and no button, badge or link is clipped by a box around it (issue 9, section 2,
finding 11). On a phone a table may scroll inside its `.table-wrap`; the page may not.

The pages come from the app's URL map, every GET rule of the portal, the ones that name an
object included, filled from a world with objects of every kind: orders in every state that
has its own page (draft, issued with a change proposal, shipped with milestones, delivered,
received and settled, disputed), their shipments, a product, a location, a webhook, the
notifications, an invitation. A new page whose argument this file has no object for fails
the walk until one is added. Each page is opened by every kind of member, the operator and
a visitor who is signed out; a page answered with 404 or 403 is one that member cannot open.
Long unbroken words in what people type wrap instead of stretching the page."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from concord import clock, files
from concord.catalog import service as catalog
from concord.catalog.models import PublicView
from concord.disputes import service as disputes
from concord.documents import service as documents
from concord.engagements import service as engagements
from concord.finance.models import OfferState
from concord.ledger import service as ledger_service
from concord.logistics import service as logistics
from concord.notifications import service as notifications
from concord.notifications.models import Notification
from concord.orders import changes, settlement
from concord.orders import service as orders
from concord.orders.models import MilestoneKind, PurchaseOrder
from concord.provenance import batches
from concord.provenance import service as provenance
from concord.tenancy import service as tenancy
from concord.tenancy import users
from concord.tenancy.models import Relation, Role
from concord.vmi import agreements as vmi_agreements
from concord.vmi import review as vmi_review
from concord.vmi import stock_uploads
from werkzeug.routing import Map, Rule

from tests import factories, orders_factory
from tests.e2e.helpers import sign_in
from tests.finance import invoice_factory
from tests.finance import workspace_rows as finance_rows
from tests.ledger_helpers import settle
from tests.provenance.helpers import document as provenance_document
from tests.provenance.helpers import event as provenance_event
from tests.url_map import Targets, expand, unknown_arguments
from tests.vmi import vmi_factory

# A live server answers from its own threads, and the ledger worker settles from its own
# sessions: commits are real.
pytestmark = [pytest.mark.browser, pytest.mark.real_commits]

WIDTHS = (390, 1280)
PHONE = 390
GTIN = "4006381333931"
LONG_WORD = "x" * 1000  # cut to each column's length where the column is shorter (PostgreSQL enforces it)
WHO = ("visitor", "operator", "buyer", "supplier", "carrier", "financier", "auditor")


#: Portal GETs that answer a file to download (an attachment, an image, a JSON document), not a page to lay out.
DOWNLOADS = frozenset(
    {
        "disputes_portal.evidence_file",
        "provenance_portal.qr_code",
        "resolver.description",
        "documents_portal.content",
        "documents_portal.bundle",
        "provenance_portal.bundle",
        "finance_portfolio.export",
    }
)


def portal_rules(app) -> list[Rule]:
    """Every rule of the portal a GET opens: not the API, the static files, downloads or signing out."""
    rules = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint in DOWNLOADS or rule.rule.startswith(("/api", "/static", "/logout")):
            continue
        rules.append(rule)
    return sorted(rules, key=lambda rule: rule.rule)


def portal_urls(app, targets: Targets, strings: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """Every URL of every portal page, and the arguments the world has nothing for. A uuid
    argument is filled with each object of `targets`, a string argument (an invitation's
    token) with each value of `strings`."""
    urls: list[str] = []
    problems: list[str] = []
    for rule in portal_rules(app):
        plain = {name: values for name, values in strings.items() if name in rule.arguments}
        if plain and set(plain) == rule.arguments:
            urls += [rule.build({name: value}, append_unknown=False)[1] for name, values in plain.items() for value in values]
        elif missing := unknown_arguments(rule, set(targets)):
            problems += missing
        else:
            urls += [url for url, _values, _label in expand(rule, targets)]
    return sorted(set(urls)), problems


def test_walk_reports_a_page_whose_argument_it_has_nothing_for():
    """The guard must bite: a new page naming an object the world has none of is reported."""
    rules = [
        Rule(path, endpoint=path, methods=["GET"]) for path in ("/widgets/<uuid:widget_id>", "/invitations/<token>", "/codes/<code>", "/orders/<uuid:order_id>")
    ]
    app = SimpleNamespace(url_map=Map(rules))
    order_id = uuid.uuid4()
    urls, problems = portal_urls(app, {"order_id": [("an order", order_id)]}, {"token": ["t1"]})
    assert urls == ["/invitations/t1", f"/orders/{order_id}"]
    assert problems == [
        "/codes/<code>: argument <code> is neither a uuid nor a fixed choice",
        "/widgets/<uuid:widget_id>: no fixture object for <uuid:widget_id>",
    ]


# --- the world ----------------------------------------------------------------------------


def _acknowledged(session, world, **kwargs) -> PurchaseOrder:
    order = orders_factory.issued_order(session, world.buyer, world.supplier, **kwargs)
    answers = [{"line_no": line.line_no, "confirmed_quantity": line.quantity, "confirmed_date": date.today()} for line in order.lines]
    orders.acknowledge(session, world.supplier.principal, order.id, answers)
    return order


def _ship(session, world, order, lines):
    return logistics.create_shipment(
        session,
        world.supplier.principal,
        order.id,
        {
            "carrier_id": world.carrier.org.id,
            "tracking_number": "TRK-" + "9" * 40,
            "lines": [{"line_no": n, "quantity": Decimal(q), "lot_number": f"LOT-2026-{n}-ABCDEFGHIJ"} for n, q in lines],
        },
    )


def _on_the_way(session, world, shipment) -> None:
    for kind in (MilestoneKind.PICKED_UP, MilestoneKind.DEPARTED):
        logistics.record_milestone(
            session,
            world.carrier.principal,
            shipment.id,
            {"kind": kind, "occurred_at": clock.utcnow(), "location": "Container Terminal Altenwerder, Hamburg", "note": LONG_WORD[:500]},
        )


def _delivered(session, world, shipment) -> None:
    logistics.record_delivery(session, world.carrier.principal, shipment.id, {"receiver_name": "Goods-in, gate 4", "delivered_at": clock.utcnow()})


def _build(app, session, world, worker) -> tuple[Targets, dict[str, list[str]], dict[str, str]]:
    """Objects of every kind, on pages as full as the portal makes them; returns them by
    argument name, the invitation's token, and each member's admin's email."""

    def step(work):
        with app.test_request_context():
            result = work()
        session.commit()
        settle(app, worker)
        return result

    step(lambda: ledger_service.mint(session, world.operator.principal, world.buyer.org.id, "EUR", Decimal("50000")))
    draft = step(lambda: orders_factory.draft_order(session, world.buyer, world.supplier))
    proposed = step(lambda: orders_factory.issued_order(session, world.buyer, world.supplier))
    step(
        lambda: changes.propose_change(
            session, world.supplier.principal, proposed.id, {"note": LONG_WORD, "lines": [{"line_no": 1, "quantity": Decimal("12")}]}
        )
    )
    # Shipped in part, on its way with milestones.
    moving = step(lambda: _acknowledged(session, world))
    in_transit = step(lambda: _ship(session, world, moving, [(1, "4")]))
    step(lambda: _on_the_way(session, world, in_transit))
    # Delivered in full with the proof, received and settled: the longest timeline.
    done = step(lambda: _acknowledged(session, world))
    shipped = step(lambda: _ship(session, world, done, [(1, "10"), (2, "4")]))
    step(lambda: _on_the_way(session, world, shipped))
    step(lambda: _delivered(session, world, shipped))
    lines = [
        {"line_no": 1, "accepted_quantity": Decimal("10")},
        {"line_no": 2, "accepted_quantity": Decimal("3"), "rejected_quantity": Decimal("1"), "rejection_reason": LONG_WORD[:500]},
    ]
    step(lambda: settlement.create_receipt(session, world.buyer.principal, done.id, {"lines": lines, "note": LONG_WORD}))
    step(lambda: settlement.release(session, world.supplier.principal, done.id))
    settle(app, worker)  # the payouts the release queued
    # Its invoice (the invoice page, and the payment terms page of the partnership, are walked too).
    invoiced = step(lambda: invoice_factory.invoice(session, world.supplier, done, ("10", "2.50"), ("3", "12.125"), number="INV-" + "7" * 36))
    # Delivered and disputed.
    contested = step(lambda: _acknowledged(session, world))
    delivered = step(lambda: _ship(session, world, contested, [(1, "10"), (2, "4")]))
    step(lambda: _delivered(session, world, delivered))
    dispute = step(lambda: disputes.open_dispute(session, world.buyer.principal, contested.id, LONG_WORD))
    for who, name in ((world.buyer, "photo " + LONG_WORD[:150] + ".pdf"), (world.carrier, "delivery-note.txt")):
        upload = files.Upload(
            name, b"%PDF-1.7\n%%EOF\n" if name.endswith(".pdf") else b"Signed without remarks.", "application/pdf" if name.endswith(".pdf") else "text/plain"
        )
        step(lambda who=who, upload=upload: disputes.add_evidence(session, who.principal, dispute.id, LONG_WORD, upload))

    def the_rest():
        product = catalog.create_product(
            session, world.buyer.principal, {"sku": "BRK-" + "7" * 30, "name": "Bracket " + LONG_WORD[:190], "unit_of_measure": "H87", "gtin": GTIN}
        )
        # Public with its chain of custody: the Digital Link's page is walked too.
        catalog.update_product(session, world.buyer.principal, product.id, {"public_view": PublicView.CUSTODY})
        location = catalog.create_location(
            session,
            world.buyer.principal,
            {"name": "Plant " + LONG_WORD[:190], "address_line1": "Werkstrasse 7", "postal_code": "70565", "city": "Stuttgart", "country": "DE"},
        )
        webhook, _secret = notifications.create_subscription(
            session, world.supplier.principal, {"url": "https://erp.example.com/" + "hooks/" * 30, "events": ["*"]}
        )
        # Requests to decide: a partnership asked of the supplier, a member waiting to be
        # admitted and a new legal name waiting for review (the operator's members page).
        factories.partner(session, Relation.BUYER_SUPPLIER, world.buyer2, world.supplier, accept=False)
        factories.member(session, None, "supplier", "carrier", name="Waiting To Be Admitted Logistik und Handel GmbH & Co. KG", approve=False)
        tenancy.update_organization(
            session, world.carrier.principal, world.carrier.org.id, {"legal_name": "Carrier One Nordic Logistics and Freight Forwarding AS"}
        )
        _invitation, token = users.invite_user(session, world.supplier.principal, email="newcomer@example.test", role=Role.MEMBER)
        factories.partner(session, Relation.PARTY_AUDITOR, world.buyer, world.auditor)
        today = clock.utcnow().date()
        engagement = engagements.grant(
            session,
            world.buyer.principal,
            {
                "auditor_id": world.auditor.org.id,
                "kinds": ["orders", "products", "events", "documents", "lots"],
                "period_from": today.replace(month=1, day=1),
                "period_to": today.replace(month=12, day=31),
                "valid_until": clock.utcnow() + timedelta(days=90),
                "note": LONG_WORD[:500],
            },
        )
        certificate = documents.upload(
            session,
            world.supplier.principal,
            {
                "kind": "lab_test_report",
                "title": "Lab report " + LONG_WORD[:180],
                "issuer": "Laboratory " + LONG_WORD[:180],
                "document_number": "N" + "9" * 99,
                "valid_from": date(2026, 1, 1),
                "valid_until": date(2026, 12, 31),
                "subject_type": "lot",
                "gtin": "4006381333931",
                "lot": "L" + "7" * 19,
            },
            files.Upload("report-" + LONG_WORD[:180] + ".pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf"),
        )
        return product, location, webhook, token, engagement, certificate

    product, location, webhook, token, engagement, certificate = step(the_rest)
    agreement = step(lambda: _vmi_agreement(session, world, product, location))
    financed, offered = step(lambda: _receivables(session, world, done))
    stock_upload = step(lambda: _stock_upload(session, world, product, location))
    # The supplier's EPCIS events: one anchored in a batch (its page shows every check), one
    # still in the open batch (its page says when the batch closes).
    anchored_id, waiting_id = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    step(lambda: provenance.capture(session, world.supplier.principal, provenance_document(provenance_event(anchored_id, "2024-01-05T10:00:00Z"))))
    step(lambda: batches.close_batch(session, world.supplier.org.id, 1, batches.current_domain(session)))
    step(lambda: provenance.capture(session, world.supplier.principal, provenance_document(provenance_event(waiting_id, "2024-01-05T11:00:00Z"))))
    shipments = [("in transit", in_transit.id), ("delivered and received", shipped.id), ("delivered and disputed", delivered.id)]
    order_list = [("draft", draft.id), ("change proposed", proposed.id), ("shipped in part", moving.id), ("closed", done.id), ("disputed", contested.id)]
    session.expire_all()
    states = {label: str(session.get(PurchaseOrder, order_id).state) for label, order_id in order_list}
    assert states == {"draft": "draft", "change proposed": "issued", "shipped in part": "partially_shipped", "closed": "closed", "disputed": "disputed"}
    notices: dict[uuid.UUID, uuid.UUID] = {}  # one notification per organization, each opened by its own members
    for notice in session.execute(sa.select(Notification).order_by(Notification.created_at)).scalars():
        notices.setdefault(notice.organization_id, notice.id)
    targets: Targets = {
        "order_id": order_list,
        "shipment_id": shipments,
        "dispute_id": [("the disputed order's dispute", dispute.id)],
        "product_id": [("the buyer's product", product.id)],
        "location_id": [("the buyer's location", location.id)],
        "webhook_id": [("the supplier's webhook", webhook.id)],
        "document_id": [("the supplier's lab report", certificate.id)],
        "notification_id": [(f"a notification of organization {org_id}", notice_id) for org_id, notice_id in notices.items()],
        "engagement_id": [("the buyer's engagement to its auditor", engagement.id)],
        "lot": [("a lot of the buyer's product", "L-2026/" + "7" * 12)],
        "event_id": [("the supplier's anchored EPCIS event", anchored_id), ("the supplier's EPCIS event in its open batch", waiting_id)],
        "invoice_id": [("the supplier's invoice of the received order", invoiced.id)],
        "partnership_id": [("the buyer–supplier partnership", invoice_factory.partnership_of(session, world.buyer, world.supplier).id)],
        "receivable_id": [("a receivable the financier financed", financed.id), ("a receivable on offer", offered.id)],
        "agreement_id": [("the buyer's VMI agreement with the supplier, reviewed", agreement.id)],
        "upload_id": [("the buyer's stock data upload, its report naming long record ids", stock_upload.id)],
    }
    emails = {who: getattr(world, who).admin.email for who in WHO if who != "visitor"}
    session.commit()  # end the transaction (SQLite would keep the live server waiting), then touch nothing
    return targets, {"token": [token], "rest": [f"0{GTIN}/10/L-2026-{'7' * 12}"]}, emails


def _stock_upload(session, world, product, location):
    """A CSV upload of the buyer's stock data, with a good row and bad rows whose record ids
    and reasons are long words."""
    header = "record_id,kind,date,product_id,location_id,quantity\n"
    yesterday = (clock.utcnow().date() - timedelta(days=1)).isoformat()
    rows = [f"S-1,on_hand,{yesterday},{product.id},{location.id},12.5"]
    rows += [f"{LONG_WORD[:99]}{n},sold,{yesterday},{product.id},{location.id},1.23456" for n in range(3)]
    data = (header + "\n".join(rows) + "\n").encode()
    return stock_uploads.start(session, world.buyer.principal, "stock-" + LONG_WORD[:180] + ".csv", data, max_bytes=1 << 20, max_rows=100)


@pytest.fixture
def busy_world(app, session, world, chain_worker):
    return _build(app, session, world, chain_worker)


def _vmi_agreement(session, world, product, location):
    """A VMI agreement for the walk's product at its location (its stock page is walked
    too), with half a year of consumption shared and reviewed: a proposal, alerts, a forecast."""
    data = vmi_factory.agreement_input(session, world.buyer, world.supplier, products=1, note=LONG_WORD[:500])
    data["items"] = [vmi_factory.item(product.id, location.id)]
    agreement = vmi_agreements.propose(session, world.buyer.principal, data)
    vmi_agreements.accept(session, world.supplier.principal, agreement.id)
    vmi_factory.share_history(session, world.buyer, product.id, location.id, [60 + (k % 5) * 7 for k in range(30)], on_hand=40)
    vmi_review.review(session, world.supplier.principal, agreement.id)
    return agreement


def _receivables(session, world, order):
    """Receivables of the closed order as rows (their chain story is the finance tests'):
    one financed and one settled by the financier, one it offered on (the supplier compares
    and accepts), and one it is asked about."""
    today = clock.utcnow().date()
    financed = finance_rows.receivable(
        session, finance_rows.invoice(session, world.supplier, world.buyer, "1234.56", due=today + timedelta(days=20), order=order), holder=world.financier
    )
    finance_rows.offer(session, financed, world.financier, advance="987.65", claim="1001.23", funded=today - timedelta(days=10))
    settled = finance_rows.receivable(
        session, finance_rows.invoice(session, world.supplier, world.buyer, "800.00", due=today - timedelta(days=5), order=order), holder=world.financier
    )
    deal = finance_rows.offer(session, settled, world.financier, advance="640.00", claim="655.00", funded=today - timedelta(days=40))
    finance_rows.settle(session, settled, deal, "800.00", on=today - timedelta(days=4))
    offered = finance_rows.receivable(
        session, finance_rows.invoice(session, world.supplier, world.buyer, "5000.00", due=today + timedelta(days=60), order=order)
    )
    finance_rows.offer(session, offered, world.financier, state=OfferState.OFFERED, advance="4000.00", claim="4081.10", requested_by=world.supplier)
    asked = finance_rows.receivable(session, finance_rows.invoice(session, world.supplier, world.buyer, "75.00", due=today - timedelta(days=95), order=order))
    finance_rows.offer(session, asked, world.financier, state=OfferState.REQUESTED, requested_by=world.supplier)
    return financed, offered


# --- the checks in the browser --------------------------------------------------------------


def overflow(page) -> int:
    """How many pixels the page is wider than the window."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# The outermost elements that reach past the window's right edge, to name in a failure.
_CULPRITS = """() => {
  const limit = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > limit + 1);
  return wide.filter(e => !wide.includes(e.parentElement)).slice(0, 3)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).trim().replace(/\\s+/g, '.') : ''));
}"""

# What is cut off inside the page: a box that needs scrolling sideways (on a phone a
# `.table-wrap` may), and a button, badge or link that does not fit its own box or reaches
# past the edge of a box around it that clips (overflow other than visible) and cannot be
# scrolled to. Visually hidden text is clipped on purpose.
_CLIPPED = """(phone) => {
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).trim().replace(/\\s+/g, '.') : '');
  const label = e => (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
  const hidden = e => e.closest('.visually-hidden, .skip-link');
  const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 || r.height > 0; };
  const clips = e => getComputedStyle(e).overflowX !== 'visible';
  const mayScroll = a => phone && a.matches('.table-wrap');
  const found = [];
  for (const box of document.body.querySelectorAll('*')) {
    if (hidden(box) || !shown(box) || box.matches('input, select, textarea') || !clips(box)) continue;
    if (box.scrollWidth > box.clientWidth + 1 && !mayScroll(box))
      found.push(`${name(box)} scrolls ${box.scrollWidth - box.clientWidth}px sideways`);
  }
  for (const e of document.body.querySelectorAll('button, .btn, .badge, a, input, select')) {
    if (hidden(e) || !shown(e)) continue;
    if (!e.matches('input, select') && getComputedStyle(e).display !== 'inline' && e.scrollWidth > e.clientWidth + 1)
      found.push(`${name(e)} "${label(e)}" is wider than its box`);
    const r = e.getBoundingClientRect();
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      if (!clips(a)) continue;
      const b = a.getBoundingClientRect(), left = b.left + a.clientLeft, right = left + a.clientWidth;
      if (r.left < left - 1 || r.right > right + 1) {
        if (!mayScroll(a)) found.push(`${name(e)} "${label(e)}" is cut off by ${name(a)}`);
        break;
      }
    }
  }
  // A word of our own (a heading of a column, a state, a button) split over two lines: its
  // box was squeezed narrower than the word. A break after a hyphen is no split.
  const broken = e => {
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (hidden(t.parentElement)) continue;
      for (const m of t.data.matchAll(/[^\\s-]+/g)) {
        const range = document.createRange();
        range.setStart(t, m.index);
        range.setEnd(t, m.index + m[0].length);
        if (new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1) return m[0];
      }
    }
    return null;
  };
  for (const e of document.body.querySelectorAll('th, .badge, .btn, button')) {
    if (hidden(e) || !shown(e)) continue;
    const word = broken(e);
    if (word) found.push(`${name(e)} breaks "${word}" over two lines`);
  }
  return [...new Set(found)].slice(0, 5);
}"""


def _signed_in(browser, live_server, email: str | None, width: int):
    """A window of that width, signed in with the email (signed out for None)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    if email is not None:
        sign_in(page, live_server, email)
        page.wait_for_url(f"{live_server}/dashboard")
    return context, page


def test_no_page_scrolls_sideways_or_cuts_anything_off(live_server, browser, app, busy_world):
    targets, strings, emails = busy_world
    urls, problems = portal_urls(app, targets, strings)
    assert not problems, "portal pages the walk has no object for (add one to the world):\n" + "\n".join(problems)
    too_wide, clipped, opened = [], [], set()
    for who in WHO:
        for width in WIDTHS:
            context, page = _signed_in(browser, live_server, emails.get(who), width)
            seen: set[str] = set()
            for url in urls:
                response = page.goto(f"{live_server}{url}")
                landed = urlsplit(page.url).path
                if response is None or response.status != 200 or (landed == "/login" and url != "/login"):
                    continue  # not a page this member opens
                opened.add(url)
                if landed in seen:
                    continue  # redirected to a page already checked
                seen.add(landed)
                if (extra := overflow(page)) > 0:
                    too_wide.append((who, width, url, extra, page.evaluate(_CULPRITS)))
                if cut := page.evaluate(_CLIPPED, width == PHONE):
                    clipped.append((who, width, url, cut))
            context.close()
    assert set(urls) == opened, f"pages no one could open (the walk would prove nothing about them): {sorted(set(urls) - opened)}"
    assert (too_wide, clipped) == ([], []), (
        "pages wider than the window (who, width, page, pixels, outermost elements past the edge):\n"
        + "\n".join(map(str, too_wide))
        + "\npages that cut something off (who, width, page, what):\n"
        + "\n".join(map(str, clipped))
    )
