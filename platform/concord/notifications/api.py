"""Your organization's notifications, and the webhooks its admins point at its systems."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db
from concord.api_common import PageArgsSchema, page_of, page_response
from concord.auth.web import current_principal
from concord.notifications import schemas, service
from concord.notifications.models import Notification, WebhookDelivery, WebhookSubscription

notifications = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/notifications", description="What happened to your organization's orders, shipments and escrows."
)
webhooks = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Signed HTTP callbacks for the same events (organization admins). See the README for the signature scheme.",
)
BLUEPRINTS = [notifications, webhooks]


@notifications.route("")
class Notifications(MethodView):
    @notifications.arguments(schemas.NotificationFilterSchema, location="query")
    @notifications.response(200, page_of(schemas.NotificationSchema))
    def get(self, args):
        """Your organization's notifications, newest first."""
        query = service.notifications_query(current_principal(), unread=args["unread"])
        return page_response(query, [Notification.created_at, Notification.id], args)


@notifications.route("/<uuid:notification_id>/read")
class NotificationRead(MethodView):
    @notifications.response(200, schemas.NotificationSchema)
    def post(self, notification_id: uuid.UUID):
        """Mark a notification read, for everyone in your organization."""
        return service.mark_read(db.session(), current_principal(), notification_id)


@webhooks.route("")
class Webhooks(MethodView):
    @webhooks.arguments(PageArgsSchema, location="query")
    @webhooks.response(200, page_of(schemas.WebhookSchema))
    def get(self, args):
        """Your organization's webhooks, newest first."""
        return page_response(service.subscriptions_query(current_principal()), [WebhookSubscription.created_at, WebhookSubscription.id], args)

    @webhooks.arguments(schemas.WebhookInputSchema)
    @webhooks.response(201, schemas.WebhookCreatedSchema)
    def post(self, data):
        """Subscribe a URL to events; the response carries the signing secret, shown only this once."""
        subscription, secret = service.create_subscription(db.session(), current_principal(), data)
        subscription.secret = secret
        return subscription, {"Cache-Control": "no-store"}


@webhooks.route("/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @webhooks.response(200, schemas.WebhookSchema)
    def get(self, webhook_id: uuid.UUID):
        return service.get_subscription(db.session(), current_principal(), webhook_id)

    @webhooks.arguments(schemas.WebhookUpdateSchema)
    @webhooks.response(200, schemas.WebhookSchema)
    def patch(self, changes, webhook_id: uuid.UUID):
        """Pause or resume the webhook (`active`), or change its `events`."""
        return service.update_subscription(db.session(), current_principal(), webhook_id, changes)

    @webhooks.response(204)
    def delete(self, webhook_id: uuid.UUID):
        """Delete the webhook and its delivery log."""
        service.delete_subscription(db.session(), current_principal(), webhook_id)


@webhooks.route("/<uuid:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @webhooks.arguments(schemas.DeliveryFilterSchema, location="query")
    @webhooks.response(200, page_of(schemas.DeliverySchema))
    def get(self, args, webhook_id: uuid.UUID):
        """The delivery log: each event sent to this webhook, its attempts and last answer."""
        query = service.deliveries_query(db.session(), current_principal(), webhook_id, state=args["state"])
        return page_response(query, [WebhookDelivery.created_at, WebhookDelivery.id], args)


@webhooks.route("/<uuid:webhook_id>/test")
class WebhookTest(MethodView):
    @webhooks.response(202, schemas.DeliverySchema)
    def post(self, webhook_id: uuid.UUID):
        """Queue a `webhook.test` event for this webhook; its outcome shows in the delivery log."""
        return service.send_test(db.session(), current_principal(), webhook_id)
