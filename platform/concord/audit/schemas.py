from __future__ import annotations

from marshmallow import fields, validate

from concord.api_common import OutputSchema, PageArgsSchema


class AuditEntrySchema(OutputSchema):
    id = fields.UUID()
    seq = fields.Integer(allow_none=True, metadata={"description": "The entry's place in the platform-wide chain (the operator only)."})
    occurred_at = fields.DateTime()
    action = fields.String()
    actor_user_id = fields.UUID(allow_none=True, metadata={"description": "Named only for your own organization's people."})
    actor_org_id = fields.UUID(allow_none=True)
    subject_org_id = fields.UUID(allow_none=True)
    related_org_id = fields.UUID(allow_none=True)
    object_type = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    summary = fields.Dict()
    ip = fields.String(allow_none=True, metadata={"description": "Shown only for your own organization's people."})
    prev_hash = fields.String()
    hash = fields.String()


class AuditFilterSchema(PageArgsSchema):
    action = fields.String(load_default=None, validate=validate.Length(max=64))
    object_id = fields.String(load_default=None, validate=validate.Length(max=64))
