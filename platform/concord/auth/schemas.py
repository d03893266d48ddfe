from __future__ import annotations

from marshmallow import fields, validate

from concord.api_common import InputSchema, NonBlank, OutputSchema, WholeNumber
from concord.auth.passwords import MAX_LENGTH
from concord.tenancy.schemas import OrganizationSchema, UserSchema


class TokenInputSchema(InputSchema):
    name = NonBlank(100)
    expires_in_days = WholeNumber(load_default=None, validate=validate.Range(min=1, max=365))


class PasswordLoginSchema(InputSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=MAX_LENGTH * 4))
    token_name = fields.String(load_default="API login", validate=validate.Length(min=1, max=100))
    expires_in_days = WholeNumber(load_default=None, validate=validate.Range(min=1, max=365))


class TokenSchema(OutputSchema):
    id = fields.UUID()
    name = fields.String()
    prefix = fields.String(metadata={"description": "The token's first characters, to recognise it."})
    state = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    token = fields.String(metadata={"description": "The secret itself: shown once, at creation, and never again."})


class PasswordChangeSchema(InputSchema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=MAX_LENGTH * 4))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=MAX_LENGTH * 4))


class MeSchema(OutputSchema):
    user = fields.Nested(UserSchema)
    organization = fields.Nested(OrganizationSchema)
    authenticated_via = fields.String()
