from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates

from concord.api_common import DecimalString, InputSchema, NonBlank, OutputSchema, PageArgsSchema
from concord.ledger.schemas import ChainTransactionSchema
from concord.orders.models import OrderState, ProposalState
from concord.orders.service import INCOTERMS

MAX_LINES = 200


def _exact(places: int, *, positive: bool = True, **kwargs) -> fields.Decimal:
    """An exact decimal sent as a string, with at most `places` decimals."""

    def check(value: Decimal) -> None:
        if not value.is_finite():
            raise ValidationError("Must be a finite number.")
        if value.as_tuple().exponent < -places:
            raise ValidationError(f"At most {places} decimal places.")
        if positive and value <= 0:
            raise ValidationError("Must be greater than zero.")
        if value < 0:
            raise ValidationError("Must not be negative.")
        if value >= Decimal(10) ** 12:
            raise ValidationError("Too large.")

    return DecimalString(as_string=True, allow_nan=False, validate=check, metadata={"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}, **kwargs)


def Exact(**kwargs) -> fields.Decimal:
    """An exact decimal in a response, sent as a string ("1250.00")."""
    metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


Quantity = lambda **kw: _exact(3, **kw)  # noqa: E731
UnitPrice = lambda **kw: _exact(4, **kw)  # noqa: E731


class LineInputSchema(InputSchema):
    product_id = fields.UUID(required=True, metadata={"description": "One of your products."})
    quantity = Quantity(required=True, metadata={"description": "Decimal string, up to 3 decimals, e.g. \"250\"."})
    unit_price = UnitPrice(required=True, metadata={"description": "Decimal string in the order's currency, up to 4 decimals."})
    requested_date = fields.Date(required=True)


class OrderInputSchema(InputSchema):
    number = NonBlank(40, metadata={"description": "Your PO number; unique in your organization."})
    supplier_id = fields.UUID(required=True, metadata={"description": "An active supplier partner."})
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z]{3}$", error="An ISO 4217 code, such as EUR."))
    ship_to_location_id = fields.UUID(required=True, metadata={"description": "One of your locations."})
    incoterm = fields.String(required=True, validate=validate.OneOf(INCOTERMS), metadata={"description": "Incoterms 2020 rule."})
    payment_terms = NonBlank(100, metadata={"description": "e.g. \"Net 30, escrow released on receipt\"."})
    lines = fields.List(fields.Nested(LineInputSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class OrderUpdateSchema(InputSchema):
    number = NonBlank(40, required=False)
    supplier_id = fields.UUID()
    currency = fields.String(validate=validate.Regexp(r"^[A-Za-z]{3}$", error="An ISO 4217 code, such as EUR."))
    ship_to_location_id = fields.UUID()
    incoterm = fields.String(validate=validate.OneOf(INCOTERMS))
    payment_terms = NonBlank(100, required=False)
    lines = fields.List(fields.Nested(LineInputSchema), validate=validate.Length(min=1, max=MAX_LINES), metadata={"description": "Replaces every line."})


class AcknowledgementLineSchema(InputSchema):
    line_no = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_LINES))
    confirmed_quantity = _exact(3, positive=False, required=True, metadata={"description": "0 up to the ordered quantity."})
    confirmed_date = fields.Date(required=True)


class AcknowledgementSchema(InputSchema):
    lines = fields.List(fields.Nested(AcknowledgementLineSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class ReasonSchema(InputSchema):
    reason = NonBlank(500)


class OptionalReasonSchema(InputSchema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ChangeLineSchema(InputSchema):
    line_no = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_LINES))
    quantity = Quantity()
    unit_price = UnitPrice()
    requested_date = fields.Date()


class ChangeProposalInputSchema(InputSchema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    lines = fields.List(fields.Nested(ChangeLineSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class OrderLineSchema(OutputSchema):
    line_no = fields.Integer()
    product_id = fields.UUID(metadata={"description": "The buyer's product (only the buyer can open it)."})
    sku = fields.String()
    product_name = fields.String()
    unit_of_measure = fields.String()
    gtin = fields.String(allow_none=True)
    quantity = Exact()
    unit_price = Exact()
    amount = Exact()
    requested_date = fields.Date()
    confirmed_quantity = Exact(allow_none=True)
    confirmed_date = fields.Date(allow_none=True)


class OrderSchema(OutputSchema):
    id = fields.UUID()
    number = fields.String()
    buyer_org_id = fields.UUID()
    supplier_org_id = fields.UUID()
    state = fields.Enum(OrderState, by_value=True)
    revision = fields.Integer(metadata={"description": "0 while a draft; 1 once issued; +1 per accepted change."})
    currency = fields.String()
    total = Exact()
    confirmed_total = Exact(allow_none=True)
    ship_to = fields.Dict()
    incoterm = fields.String()
    payment_terms = fields.String()
    state_reason = fields.String(allow_none=True)
    allowed_actions = fields.List(fields.String(), metadata={"description": "What you may do with the order now."})
    lines = fields.List(fields.Nested(OrderLineSchema))
    issued_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OrderFilterSchema(PageArgsSchema):
    state = fields.Enum(OrderState, by_value=True, load_default=None)
    partner_id = fields.UUID(load_default=None, metadata={"description": "Orders with this buyer or supplier."})
    role = fields.String(load_default=None, validate=validate.OneOf(["buyer", "supplier"]), metadata={"description": "Orders you place, or orders you receive."})


class RevisionSchema(OutputSchema):
    number = fields.Integer()
    reason = fields.String()
    snapshot = fields.Dict()
    created_at = fields.DateTime()


class ChangeProposalSchema(OutputSchema):
    id = fields.UUID()
    order_id = fields.UUID()
    state = fields.Enum(ProposalState, by_value=True)
    based_on_revision = fields.Integer()
    note = fields.String(allow_none=True)
    changes = fields.List(fields.Dict())
    decision_reason = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class EscrowEventSchema(OutputSchema):
    event = fields.String()
    block_number = fields.Integer()
    tx_hash = fields.String()
    args = fields.Dict()


class EscrowSchema(OutputSchema):
    order_id = fields.UUID()
    state = fields.String(metadata={"description": "none, pending (queued or not yet indexed), failed, funded, delivered, receipt_confirmed, disputed, resolved, released"})
    currency = fields.String()
    amount = Exact(allow_none=True, metadata={"description": "The confirmed total held in escrow."})
    escrow_reference = fields.String(metadata={"description": "The order's id as the bytes32 the contract knows it by."})
    transactions = fields.List(fields.Nested(ChainTransactionSchema), metadata={"description": "The buyer's approve and fund transactions."})
    events = fields.List(fields.Nested(EscrowEventSchema))
