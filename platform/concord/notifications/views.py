"""Portal pages for notifications and webhooks: the organization's notifications (any
member reads them and marks them read, for everyone in it), the unread count in the
navigation, and the webhooks its admins point at their systems, with each one's delivery
log.

The pages translate forms to service calls; what may happen is decided in
`concord.notifications.service`. A webhook's signing secret is shown once, on the page that
answers its creation: never in a flash, which travels in the signed (not encrypted) session
cookie."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from concord import clock, db, policy
from concord.auth.web import login_required
from concord.errors import Forbidden
from concord.finance.models import Invoice
from concord.notifications import schemas, service
from concord.notifications.models import DeliveryState, Notification, WebhookDelivery, WebhookSubscription
from concord.orders.models import Dispute, PurchaseOrder, Shipment
from concord.pagination import paginate
from concord.portal import attempt_with_status, form_data, load, principal
from concord.tenancy.models import Role, User
from concord.vmi.models import VmiAgreement

log = logging.getLogger(__name__)

notifications_portal = Blueprint("notifications_portal", __name__)

PAGE_SIZE = 25
#: The events Concord sends today, offered as checkboxes (others can be typed in).
EVENT_CHOICES = (
    ("order.issued", "A buyer issued an order to you"),
    ("order.acknowledged", "A supplier confirmed your order (its escrow is funded)"),
    ("order.rejected", "A supplier rejected your order"),
    ("order.cancelled", "A buyer cancelled an order"),
    ("order.change_proposed", "A supplier proposed changes"),
    ("order.change_accepted", "A buyer accepted your proposed changes"),
    ("order.change_declined", "A buyer declined your proposed changes"),
    ("shipment.created", "A shipment of an order left"),
    ("shipment.milestone", "A carrier recorded a milestone"),
    ("shipment.delivered", "A shipment was delivered"),
    ("order.delivered", "An order was delivered in full"),
    ("order.received", "The buyer confirmed receipt"),
    ("escrow.release_requested", "An escrow is being released"),
    ("escrow.released", "An order closed and its escrow paid out"),
    ("dispute.opened", "A dispute was opened"),
    ("dispute.evidence_added", "Evidence was added to a dispute"),
    ("dispute.resolved", "A dispute was resolved"),
    ("document.expiring", "One of your documents expires soon"),
    ("document.expired", "One of your documents has expired"),
    ("payment_terms.updated", "A buyer set the payment terms of a partnership"),
    ("invoice.created", "A supplier invoiced an order"),
    ("invoice.matched", "An invoice matches its order and receipt"),
    ("invoice.exception", "An invoice does not match: the buyer decides"),
    ("invoice.approved", "A buyer approved an invoice"),
    ("invoice.rejected", "A buyer rejected an invoice"),
    ("invoice.cancelled", "A supplier cancelled an invoice"),
    ("invoice.paid", "An invoice was paid"),
    ("invoice.overdue", "An approved open-account invoice is overdue"),
    ("invoice.self_billed", "A buyer self-billed consumed consignment goods"),
    ("credit_note.created", "A supplier issued a credit note"),
    ("receivable.registered", "A receivable was registered on chain"),
    ("receivable.verified", "A receivable was verified on chain"),
    ("receivable.refused", "The chain refused to register a receivable"),
    ("receivable.acknowledgement_refused", "The chain refused a buyer's acknowledgement"),
    ("receivable.settled", "A receivable was paid"),
    ("financing.requested", "A supplier asked you to finance a receivable"),
    ("financing.offered", "A financier made an offer"),
    ("financing.declined", "A financier declined"),
    ("financing.withdrawn", "A financing offer was withdrawn"),
    ("financing.expired", "A financing offer expired"),
    ("financing.refused", "The chain refused a financing"),
    ("financing.accepted", "A supplier accepted an offer"),
    ("financing.financed", "A receivable was assigned and advanced"),
    ("financing.settled", "A financing was settled on chain"),
    ("programme.requested", "A buyer asked for a financing programme"),
    ("programme.opened", "A financier opened a programme"),
    ("programme.declined", "A financier declined a programme"),
    ("programme.closed", "A programme was closed"),
    ("vmi.proposed", "A buyer proposed a VMI agreement"),
    ("vmi.amended", "New VMI terms were proposed"),
    ("vmi.accepted", "VMI terms were agreed"),
    ("vmi.declined", "VMI terms were declined"),
    ("vmi.withdrawn", "VMI terms were withdrawn"),
    ("vmi.suspended", "A VMI agreement was suspended"),
    ("vmi.resumed", "A VMI agreement was resumed"),
    ("vmi.ended", "A VMI agreement ended"),
    ("vmi.proposal", "A VMI review proposed an order"),
    ("vmi.alert", "A VMI review raised an alert"),
    ("vmi.approval_needed", "A VMI order needs approval"),
    ("vmi.ordered", "A VMI proposal was ordered"),
    ("vmi.dismissed", "A VMI proposal was dismissed"),
    ("vmi.rejected", "A VMI order was rejected"),
)
# What a notification can be about, and the page that shows it to those who may open it.
_OBJECT_KINDS: dict[str, type[PurchaseOrder | Shipment | Dispute | Invoice | VmiAgreement]] = {
    "order": PurchaseOrder,
    "purchase_order": PurchaseOrder,
    "shipment": Shipment,
    "dispute": Dispute,
    "invoice": Invoice,
    "vmi_agreement": VmiAgreement,
    "agreement": VmiAgreement,  # `data.agreement_id` of a VMI proposal's or alert's notification
}
_ACTIVITY = {"pause": False, "resume": True}


def _short(value: str, limit: int = 100) -> str:
    """Free text shortened for a flash: flashes ride in the session cookie."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _endpoint(url: str) -> str:
    """A webhook's URL as a flash names it: without its query, which may carry a token of
    the receiving system (the page itself shows it in full to admins)."""
    return _short(url.split("?", 1)[0])


# -- the unread count in the navigation -----------------------------------------------------


def unread_count() -> int | None:
    """How many notifications of the signed-in user's organization are unread: one COUNT,
    at most once per request, and only when a page asks (None when signed out)."""
    me = g.get("principal")
    if me is None:
        return None
    if "unread_notifications" not in g:
        try:
            g.unread_notifications = (
                db.session()
                .execute(sa.select(sa.func.count()).select_from(Notification).where(policy.visible(me, Notification), Notification.read_at.is_(None)))
                .scalar_one()
            )
        except sa.exc.SQLAlchemyError:
            # The error page of a failed request must still render: no badge then.
            log.warning("the unread notification count is unavailable", exc_info=True)
            db.session().rollback()
            return None
    return g.unread_notifications


@notifications_portal.app_context_processor
def _navigation() -> dict:
    return {"unread_notifications": unread_count}


# -- notifications --------------------------------------------------------------------------


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def _links(rows: Iterable[Notification]) -> dict[uuid.UUID, str]:
    """Where each notification leads, for the notifications whose object the viewer may
    open: the order for its buyer and supplier, the shipment (`data.shipment_id`) for its
    carrier, the dispute's case for the arbiter and the carriers, a VMI agreement's page (`data.agreement_id`
    of its proposals and alerts) for its buyer and supplier. One query per kind of object shown."""
    me = principal()
    candidates: dict[uuid.UUID, list[tuple[str, uuid.UUID]]] = {}
    wanted: dict[str, set[uuid.UUID]] = {}
    for notification in rows:
        data = notification.data if isinstance(notification.data, dict) else {}
        pairs = [(notification.object_type, notification.object_id)] + [
            (kind, data.get(f"{kind}_id")) for kind in ("agreement", "order", "shipment", "dispute")
        ]
        found = []
        for kind, raw in pairs:
            model, object_id = _OBJECT_KINDS.get(kind), _uuid(raw)
            if model is not None and object_id is not None:
                found.append((model.__name__, object_id))
                wanted.setdefault(model.__name__, set()).add(object_id)
        candidates[notification.id] = found
    models = {model.__name__: model for model in _OBJECT_KINDS.values()}
    openable = {
        name: set(db.session().execute(sa.select(models[name].id).where(models[name].id.in_(ids), policy.visible(me, models[name]))).scalars())
        for name, ids in wanted.items()
    }
    pages = {
        "PurchaseOrder": lambda object_id: url_for("orders_portal.detail", order_id=object_id),
        "Shipment": lambda object_id: url_for("shipments_portal.detail", shipment_id=object_id),
        "Dispute": lambda object_id: url_for("disputes_portal.detail", dispute_id=object_id),
        "Invoice": lambda object_id: url_for("invoices_portal.detail", invoice_id=object_id),
        "VmiAgreement": lambda object_id: url_for("vmi_portal.agreement", agreement_id=object_id),
    }
    links = {}
    for notification_id, found in candidates.items():
        target = next(((name, object_id) for name, object_id in found if object_id in openable.get(name, ())), None)
        if target:
            links[notification_id] = pages[target[0]](target[1])
    return links


def _show(value: str | None) -> str:
    return "unread" if value == "unread" else "all"


@notifications_portal.route("/notifications")
@login_required
def index():
    me = principal()
    show = _show(request.args.get("show"))
    query = service.notifications_query(me, unread=True if show == "unread" else None)
    rows, next_cursor = paginate(db.session(), query, [Notification.created_at, Notification.id], limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    return render_template(
        "notifications/list.html",
        notifications=rows,
        next_cursor=next_cursor,
        links=_links(rows),
        show=show,
        filters={"show": show} if show == "unread" else {},
        seen_at=clock.utcnow().isoformat(),
        is_admin=me.user.role == Role.ADMIN,
        event_names=dict(EVENT_CHOICES),
    )


def _back_to_list():
    """The list as the reader left it (filter and page), after marking something read."""
    args = {"show": "unread"} if _show(request.form.get("show")) == "unread" else {}
    cursor = request.form.get("cursor", "")
    if cursor and len(cursor) <= 500 and re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        args["cursor"] = cursor
    return redirect(url_for("notifications_portal.index", **args))


@notifications_portal.route("/notifications/<uuid:notification_id>/open")
@login_required
def open_notification(notification_id: uuid.UUID):
    """Follow a notification to what it is about; opening it marks it read."""
    notification = service.mark_read(db.session(), principal(), notification_id)
    return redirect(_links([notification]).get(notification.id) or url_for("notifications_portal.index"))


@notifications_portal.route("/notifications/<uuid:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: uuid.UUID):
    notification = service.mark_read(db.session(), principal(), notification_id)
    flash(f"Marked read: {_short(notification.summary)}", "success")
    return _back_to_list()


def _moment(value: str | None) -> datetime | None:
    """The time the reader's page was shown (an ISO 8601 string with its offset), or None."""
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@notifications_portal.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read():
    marked = service.mark_all_read(db.session(), principal(), up_to=_moment(request.form.get("seen_at")))
    if marked:
        flash(f"{marked} notification{'s' if marked != 1 else ''} marked read, for everyone in your organization.", "success")
    else:
        flash("Nothing to mark: every notification up to when you opened the page was already read.", "info")
    return redirect(url_for("notifications_portal.index", **({"show": "unread"} if _show(request.form.get("show")) == "unread" else {})))


# -- webhooks (organization admins) ---------------------------------------------------------


def _require_admin() -> None:
    if principal().user.role != Role.ADMIN:
        raise Forbidden("Only your organization's admins manage its webhooks.")


def _webhook(webhook_id: uuid.UUID) -> WebhookSubscription:
    """Another organization's webhook answers 404 (and the attempt is audited); our own, 403
    to anyone but an admin."""
    return service.get_subscription(db.session(), principal(), webhook_id)


def _form_events() -> list[str]:
    """The events ticked, then those typed in (separated by commas or spaces), each once."""
    typed = [name for name in re.split(r"[\s,]+", request.form.get("other_events", "")) if name]
    return list(dict.fromkeys(request.form.getlist("events") + typed))


def _event_errors(errors: dict[str, list[str]], events: list[str]) -> dict[str, list[str]]:
    """The schema's messages about single event names (`events.3`) on the typed-in field,
    each naming the event it is about."""
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        head, _, index = key.partition(".")
        if head == "events" and index.isdigit() and int(index) < len(events):
            out.setdefault("other_events", []).extend(f"“{events[int(index)]}”: {message}" for message in messages)
        else:
            out.setdefault(key, []).extend(messages)
    return out


def _webhooks_page(*, errors: dict | None = None, form=None, created: WebhookSubscription | None = None, secret: str | None = None, status: int = 200):
    me = principal()
    session = db.session()
    rows = session.execute(service.subscriptions_query(me).order_by(WebhookSubscription.created_at.desc(), WebhookSubscription.id.desc())).scalars().all()
    tally: dict[uuid.UUID, dict[str, int]] = {}
    if rows:
        counted = session.execute(
            sa.select(WebhookDelivery.subscription_id, WebhookDelivery.state, sa.func.count())
            .where(WebhookDelivery.subscription_id.in_([row.id for row in rows]))
            .group_by(WebhookDelivery.subscription_id, WebhookDelivery.state)
        ).all()
        for subscription_id, state, number in counted:
            tally.setdefault(subscription_id, {})[str(state)] = number
    return render_template(
        "notifications/webhooks.html",
        webhooks=rows,
        tally=tally,
        event_choices=EVENT_CHOICES,
        all_events=service.ALL_EVENTS,
        limit=service.MAX_SUBSCRIPTIONS,
        errors=errors or {},
        form=form or {},
        ticked=set(form.getlist("events")) if form else set(),
        created=created,
        secret=secret,
    ), status


@notifications_portal.route("/webhooks", methods=["GET", "POST"])
@login_required
def webhooks():
    _require_admin()
    if request.method == "GET":
        return _webhooks_page()
    events = _form_events()
    loaded, schema_errors = load(schemas.WebhookInputSchema(), {**form_data("url"), "events": events})
    errors = _event_errors(schema_errors, events)
    if not events:
        errors["events"] = ["Choose the events to send, or all events."]
    status = 422
    if loaded and not errors:
        result, errors, status = attempt_with_status(service.create_subscription, db.session(), principal(), loaded)
        if result:
            subscription, secret = result
            # Shown on this answer only (no redirect, no flash): a reload does not show it again.
            return _webhooks_page(created=subscription, secret=secret, status=201)
    return _webhooks_page(errors=errors, form=request.form, status=status)


def _webhook_page(subscription: WebhookSubscription, *, status: int = 200):
    args = request.args
    state = args.get("state") if args.get("state") in {s.value for s in DeliveryState} else None
    session = db.session()
    query = service.deliveries_query(session, principal(), subscription.id, state=DeliveryState(state) if state else None)
    rows, next_cursor = paginate(session, query, [WebhookDelivery.created_at, WebhookDelivery.id], limit=PAGE_SIZE, cursor=args.get("cursor") or None)
    creator = session.execute(sa.select(User.full_name).where(User.id == subscription.created_by)).scalar_one_or_none()
    return render_template(
        "notifications/webhook.html",
        webhook=subscription,
        deliveries=rows,
        next_cursor=next_cursor,
        creator=creator,
        states=[s.value for s in DeliveryState],
        filters={"state": state} if state else {},
        max_attempts=service.MAX_ATTEMPTS,
    ), status


@notifications_portal.route("/webhooks/<uuid:webhook_id>")
@login_required
def webhook(webhook_id: uuid.UUID):
    return _webhook_page(_webhook(webhook_id))


def _back(subscription: WebhookSubscription):
    """Where an action on a webhook returns: its page, or the list it was taken from."""
    if request.form.get("back") == "list":
        return redirect(url_for("notifications_portal.webhooks"))
    return redirect(url_for("notifications_portal.webhook", webhook_id=subscription.id))


@notifications_portal.route("/webhooks/<uuid:webhook_id>/<any(pause, resume):action>", methods=["POST"])
@login_required
def set_active(webhook_id: uuid.UUID, action: str):
    subscription = _webhook(webhook_id)
    updated = service.update_subscription(db.session(), principal(), subscription.id, {"active": _ACTIVITY[action]})
    if updated.active:
        flash(f"Webhook to {_endpoint(updated.url)} resumed: new events are sent to it, and deliveries queued meanwhile go out now.", "success")
    else:
        flash(
            f"Webhook to {_endpoint(updated.url)} paused: events meanwhile are not sent to it; deliveries already queued wait until you resume it.", "success"
        )
    return _back(updated)


@notifications_portal.route("/webhooks/<uuid:webhook_id>/test", methods=["POST"])
@login_required
def send_test(webhook_id: uuid.UUID):
    subscription = _webhook(webhook_id)
    if not subscription.active:
        delivery, status = None, 409
        flash("This webhook is paused: resume it before sending it a test event.", "error")
    else:
        delivery, _errors, status = attempt_with_status(service.send_test, db.session(), principal(), subscription.id)
    if delivery:
        flash(f"A {service.TEST_EVENT} event is queued for {_endpoint(subscription.url)}: its delivery shows in the log below once attempted.", "success")
        return redirect(url_for("notifications_portal.webhook", webhook_id=subscription.id))
    # Refused (a paused webhook): the page it was asked from, with the reason and its status.
    if request.form.get("back") == "list":
        return _webhooks_page(status=status)
    return _webhook_page(subscription, status=status)


@notifications_portal.route("/webhooks/<uuid:webhook_id>/delete", methods=["POST"])
@login_required
def delete_webhook(webhook_id: uuid.UUID):
    subscription = _webhook(webhook_id)
    url = subscription.url
    service.delete_subscription(db.session(), principal(), subscription.id)
    flash(f"Webhook to {_endpoint(url)} deleted with its delivery log: nothing more is sent to it.", "success")
    return redirect(url_for("notifications_portal.webhooks"))
