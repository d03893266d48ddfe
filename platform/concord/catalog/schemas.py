from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates

from concord.api_common import InputSchema, NonBlank, OutputSchema, PageArgsSchema
from concord.catalog import gs1
from concord.catalog.models import PublicView
from concord.countries import CountryCode

#: UN/ECE Recommendation 20 codes offered as units of measure.
UNITS_OF_MEASURE = {
    "C62": "unit",
    "H87": "piece",
    "PR": "pair",
    "SET": "set",
    "KGM": "kilogram",
    "GRM": "gram",
    "TNE": "tonne",
    "MTR": "metre",
    "MTK": "square metre",
    "MTQ": "cubic metre",
    "LTR": "litre",
    "XBX": "box",
    "XPK": "package",
    "XPX": "pallet",
}

PUBLIC_VIEW_HELP = (
    "What anyone resolving the product's GS1 Digital Link (/01/{gtin}/10/{lot}) sees: none (nothing), "
    "origin (the verified origin summary of a lot) or custody (the lot's full chain of custody, without prices or order numbers)."
)
PUBLIC_VIEW_LABELS = {
    PublicView.NONE: "Nothing public",
    PublicView.ORIGIN: "Verified origin summary",
    PublicView.CUSTODY: "Full chain of custody",
}

Optional = lambda length: fields.String(load_default=None, allow_none=True, validate=validate.Length(max=length))  # noqa: E731


class _GtinMixin:
    @validates("gtin")
    def _gtin(self, value, **_):
        if value is not None and (reason := gs1.problem(value, gs1.GTIN_LENGTHS, "GTIN")):
            raise ValidationError(reason)


class ProductInputSchema(_GtinMixin, InputSchema):
    sku = NonBlank(64, metadata={"description": "Your stock-keeping unit; unique in your organization."})
    name = NonBlank(200)
    description = Optional(2000)
    unit_of_measure = fields.String(required=True, validate=validate.OneOf(sorted(UNITS_OF_MEASURE)), metadata={"description": "UN/ECE Rec. 20 code."})
    gtin = fields.String(load_default=None, allow_none=True, metadata={"description": "GTIN-8, -12, -13 or -14, check digit verified."})


class ProductUpdateSchema(_GtinMixin, InputSchema):
    sku = NonBlank(64, required=False)
    name = NonBlank(200, required=False)
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    unit_of_measure = fields.String(validate=validate.OneOf(sorted(UNITS_OF_MEASURE)))
    gtin = fields.String(allow_none=True)
    active = fields.Boolean()
    public_view = fields.Enum(PublicView, by_value=True, metadata={"description": PUBLIC_VIEW_HELP + " Admins only."})


class ProductSchema(OutputSchema):
    id = fields.UUID()
    organization_id = fields.UUID()
    sku = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    unit_of_measure = fields.String()
    gtin = fields.String(allow_none=True)
    active = fields.Boolean()
    public_view = fields.Enum(PublicView, by_value=True, metadata={"description": PUBLIC_VIEW_HELP})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CatalogFilterSchema(PageArgsSchema):
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=100), metadata={"description": "Part of the SKU or name."})
    active = fields.Boolean(load_default=None)


class _GlnMixin:
    @validates("gln")
    def _gln(self, value, **_):
        if value is not None and (reason := gs1.problem(value, (gs1.GLN_LENGTH,), "GLN")):
            raise ValidationError(reason)


class LocationInputSchema(_GlnMixin, InputSchema):
    name = NonBlank(200, metadata={"description": "Unique in your organization, e.g. 'Plant Stuttgart, gate 3'."})
    address_line1 = NonBlank(200)
    address_line2 = Optional(200)
    postal_code = NonBlank(20)
    city = NonBlank(100)
    country = CountryCode(required=True)
    gln = fields.String(load_default=None, allow_none=True, metadata={"description": "GS1 Global Location Number (13 digits), check digit verified."})


class LocationUpdateSchema(_GlnMixin, InputSchema):
    name = NonBlank(200, required=False)
    address_line1 = NonBlank(200, required=False)
    address_line2 = fields.String(allow_none=True, validate=validate.Length(max=200))
    postal_code = NonBlank(20, required=False)
    city = NonBlank(100, required=False)
    country = CountryCode()
    gln = fields.String(allow_none=True)
    active = fields.Boolean()


class LocationSchema(OutputSchema):
    id = fields.UUID()
    organization_id = fields.UUID()
    name = fields.String()
    address_line1 = fields.String()
    address_line2 = fields.String(allow_none=True)
    postal_code = fields.String()
    city = fields.String()
    country = fields.String()
    gln = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
