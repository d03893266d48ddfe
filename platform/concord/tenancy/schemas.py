from __future__ import annotations

from marshmallow import fields, validate

from concord.api_common import InputSchema, NonBlank, OutputSchema, PageArgsSchema
from concord.auth.passwords import MAX_LENGTH
from concord.countries import CountryCode
from concord.tenancy.models import Capability, OrgStatus, PartnershipStatus, Relation, Role, UserStatus

Email = lambda **kw: fields.Email(required=True, validate=validate.Length(max=254), **kw)  # noqa: E731
Password = lambda: fields.String(required=True, validate=validate.Length(min=1, max=MAX_LENGTH * 4), load_only=True)  # noqa: E731
SIDES = sorted({side for relation in Relation for side in relation.sides})


class OrganizationInputSchema(InputSchema):
    legal_name = NonBlank(200)
    registration_number = NonBlank(64)
    country = CountryCode(required=True)
    contact_name = NonBlank(200)
    contact_email = Email()
    capabilities = fields.List(fields.Enum(Capability, by_value=True), required=True, validate=validate.Length(min=1, max=len(Capability)))


class AdminInputSchema(InputSchema):
    full_name = NonBlank(200)
    email = Email()
    password = Password()


class RegistrationInputSchema(InputSchema):
    organization = fields.Nested(OrganizationInputSchema, required=True)
    admin = fields.Nested(AdminInputSchema, required=True)


class OrganizationSchema(OutputSchema):
    id = fields.UUID()
    legal_name = fields.String()
    registration_number = fields.String()
    country = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    capabilities = fields.List(fields.String())
    is_operator = fields.Boolean()
    status = fields.Enum(OrgStatus, by_value=True)
    status_reason = fields.String(allow_none=True)
    pending_legal_name = fields.String(allow_none=True, metadata={"description": "A new legal name awaiting the operator's review."})
    pending_legal_name_requested_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class DirectoryEntrySchema(OutputSchema):
    """What every consortium member may see of another."""

    id = fields.UUID()
    legal_name = fields.String()
    country = fields.String()
    capabilities = fields.List(fields.String())


class OrganizationUpdateSchema(InputSchema):
    legal_name = NonBlank(200, required=False, metadata={"description": "Goes to the operator for review; the current name stays until approved."})
    contact_name = fields.String(validate=[validate.Length(min=1, max=200), validate.Regexp(r"\s*\S", error="Must not be blank.")])
    contact_email = fields.Email(validate=validate.Length(max=254))


class OrganizationFilterSchema(PageArgsSchema):
    status = fields.Enum(OrgStatus, by_value=True, load_default=None)


class DirectoryFilterSchema(PageArgsSchema):
    capability = fields.Enum(Capability, by_value=True, load_default=None)


class StatusChangeSchema(InputSchema):
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class RegistrationSchema(OutputSchema):
    organization = fields.Nested(OrganizationSchema)
    admin_user_id = fields.UUID()


class UserSchema(OutputSchema):
    id = fields.UUID()
    organization_id = fields.UUID()
    email = fields.String()
    full_name = fields.String()
    role = fields.Enum(Role, by_value=True)
    status = fields.Enum(UserStatus, by_value=True)
    last_login_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class UserUpdateSchema(InputSchema):
    role = fields.Enum(Role, by_value=True, required=True)


class InvitationInputSchema(InputSchema):
    email = Email()
    role = fields.Enum(Role, by_value=True, load_default=Role.MEMBER)


class InvitationSchema(OutputSchema):
    id = fields.UUID()
    organization_id = fields.UUID()
    email = fields.String()
    role = fields.Enum(Role, by_value=True)
    state = fields.String()
    expires_at = fields.DateTime()
    created_at = fields.DateTime()
    accept_url = fields.String(metadata={"description": "Shown once, when the invitation is created."})
    token = fields.String(metadata={"description": "Shown once, when the invitation is created."})


class InvitationAcceptSchema(InputSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    full_name = NonBlank(200)
    password = Password()


class PartnershipInputSchema(InputSchema):
    relation = fields.Enum(Relation, by_value=True, required=True)
    counterparty_id = fields.UUID(required=True)
    my_side = fields.String(load_default=None, validate=validate.OneOf(SIDES))
    message = fields.String(load_default=None, validate=validate.Length(max=500))
    arbiter_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "buyer_supplier only: the member that decides disputes over the partners' escrows (default: the operator)."},
    )


class PartnerSchema(OutputSchema):
    id = fields.UUID()
    legal_name = fields.String()
    country = fields.String()


class PartnershipSchema(OutputSchema):
    id = fields.UUID()
    relation = fields.Enum(Relation, by_value=True)
    status = fields.Enum(PartnershipStatus, by_value=True)
    org_a = fields.Nested(PartnerSchema, metadata={"description": "The relation's first side (the buyer of buyer_supplier)."})
    org_b = fields.Nested(PartnerSchema, metadata={"description": "The relation's second side (the supplier of buyer_supplier)."})
    requested_by_org_id = fields.UUID()
    arbiter = fields.Nested(PartnerSchema, allow_none=True, metadata={"description": "Who decides the partners' escrow disputes; null: the operator."})
    message = fields.String(allow_none=True)
    created_at = fields.DateTime()
    responded_at = fields.DateTime(allow_none=True)
    allowed_actions = fields.List(fields.String())


class PartnershipFilterSchema(PageArgsSchema):
    status = fields.Enum(PartnershipStatus, by_value=True, load_default=None)
    relation = fields.Enum(Relation, by_value=True, load_default=None)
