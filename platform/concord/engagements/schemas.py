from __future__ import annotations

from datetime import date

from marshmallow import ValidationError, fields, validate

from concord.api_common import InputSchema, OutputSchema, PageArgsSchema
from concord.engagements.models import EngagementState, Kind
from concord.orders.schemas import Moment


def _plausible_day(value: date) -> None:
    if not date(2000, 1, 1) <= value <= date(2099, 12, 31):
        raise ValidationError("Must be between 2000 and 2099.")


Day = lambda **kw: fields.Date(validate=_plausible_day, **kw)  # noqa: E731


class EngagementInputSchema(InputSchema):
    auditor_id = fields.UUID(required=True, metadata={"description": "An auditor your organization has an active party–auditor partnership with."})
    kinds = fields.List(
        fields.Enum(Kind, by_value=True),
        required=True,
        validate=validate.Length(min=1, max=len(Kind)),
        metadata={"description": "What the auditor may read: orders (with their shipments, receipt and timeline), lots, products, documents, events."},
    )
    period_from = Day(required=True, metadata={"description": "First day (UTC) of the records' own dates covered: an order's issue, an event's time."})
    period_to = Day(required=True, metadata={"description": "Last day (UTC) covered, included."})
    valid_until = Moment(required=True, metadata={"description": "When the auditor's access ends (ISO 8601 with its offset)."})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class EngagementFilterSchema(PageArgsSchema):
    side = fields.String(
        load_default=None, validate=validate.OneOf(["granted", "received"]), metadata={"description": "granted: by your organization; received: as auditor."}
    )
    state = fields.Enum(EngagementState, by_value=True, load_default=None)


class EngagementSchema(OutputSchema):
    id = fields.UUID()
    grantor_org_id = fields.UUID()
    auditor_org_id = fields.UUID()
    kinds = fields.List(fields.String())
    period_from = fields.Date()
    period_to = fields.Date()
    valid_until = fields.DateTime()
    note = fields.String(allow_none=True)
    state = fields.Enum(EngagementState, by_value=True)
    granted_by = fields.UUID()
    granted_at = fields.DateTime()
    revoked_by = fields.UUID(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)
    allowed_actions = fields.List(fields.String())


class EngagementReadSchema(OutputSchema):
    id = fields.UUID()
    engagement_id = fields.UUID()
    user_id = fields.UUID()
    read_at = fields.DateTime()
    via = fields.String(metadata={"description": "api or portal."})
    endpoint = fields.String()
    request = fields.String(metadata={"description": "The path and query string: the object read, or the list and its filters."})
    kinds = fields.List(fields.String(), metadata={"description": "The kinds of records read under the engagement."})
    object_id = fields.String(allow_none=True)
