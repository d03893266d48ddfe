from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from concord.api_common import InputSchema, OutputSchema, PageArgsSchema
from concord.notifications.models import DeliveryState
from concord.notifications.service import ALL_EVENTS, EVENT_NAME, EVENT_NAME_MAX


def _event_name(value: str) -> None:
    if value != ALL_EVENTS and not EVENT_NAME.fullmatch(value):
        raise ValidationError("Use an event name such as order.issued, or * for every event.")


EventName = lambda: fields.String(validate=[validate.Length(max=EVENT_NAME_MAX), _event_name])  # noqa: E731
Events = lambda **kw: fields.List(  # noqa: E731
    EventName(),
    validate=validate.Length(min=1, max=50),
    metadata={"description": f'Event names (`noun.verb`, lowercase) such as order.issued or shipment.delivered; ["{ALL_EVENTS}"] for every event.'},
    **kw,
)


class NotificationFilterSchema(PageArgsSchema):
    unread = fields.Boolean(load_default=None, metadata={"description": "true: only unread; false: only read."})


class NotificationSchema(OutputSchema):
    id = fields.UUID()
    event_id = fields.UUID(metadata={"description": "The same id as the webhook deliveries of this event."})
    event = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    summary = fields.String()
    data = fields.Dict()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class WebhookInputSchema(InputSchema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "Where Concord POSTs events: http or https, a public host, no credentials."},
    )
    events = Events(required=True)


class WebhookUpdateSchema(InputSchema):
    events = Events()
    active = fields.Boolean(
        metadata={"description": "false pauses the webhook: events meanwhile are not sent to it; deliveries already queued wait until it is active again."}
    )


class WebhookSchema(OutputSchema):
    id = fields.UUID()
    organization_id = fields.UUID()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    created_by = fields.UUID()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "Signs every delivery (Concord-Signature). Shown only in this response: keep it now."})


class DeliveryFilterSchema(PageArgsSchema):
    state = fields.Enum(DeliveryState, by_value=True, load_default=None)


class DeliverySchema(OutputSchema):
    id = fields.UUID()
    webhook_id = fields.UUID(attribute="subscription_id")
    event_id = fields.UUID(metadata={"description": "Concord-Event-Id: the same at every attempt."})
    event = fields.String()
    state = fields.Enum(DeliveryState, by_value=True)
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "When the next attempt is due; null once delivered or failed."})
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    response_ms = fields.Integer(allow_none=True, metadata={"description": "How long the last attempt took, in milliseconds."})
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    payload = fields.Dict(metadata={"description": "The event sent as the JSON body (compact, keys sorted), the same at every attempt."})
