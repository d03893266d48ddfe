"""What the invoice and payment-terms endpoints read and answer (amounts as decimal strings)."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from concord.api_common import DecimalString, InputSchema, NonBlank, OutputSchema, PageArgsSchema, WholeNumber
from concord.finance.models import InvoiceKind, InvoiceState, MatchStatus, Settlement
from concord.orders.schemas import MAX_LINES, Exact, Quantity

#: Money tolerances and unit prices stay below this (the service checks line values).
INPUT_LIMIT = Decimal(10) ** 12


def _decimal(places: int, *, maximum: Decimal | None = None, positive: bool = False, **kwargs) -> fields.Decimal:
    """An exact decimal sent as a string: at most `places` decimals, not negative, at most `maximum`."""
    step = Decimal(1).scaleb(-places)
    largest = maximum if maximum is not None else INPUT_LIMIT - step

    def check(value: Decimal) -> None:
        if not value.is_finite():
            raise ValidationError("Must be a finite number.")
        if value.quantize(step) != value:
            raise ValidationError(f"At most {places} decimal places.")
        if value < 0:
            raise ValidationError("Must not be negative.")
        if positive and value == 0:
            raise ValidationError("Must be greater than zero.")
        if value > largest:
            raise ValidationError(f"At most {largest}.")

    metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
    return DecimalString(as_string=True, allow_nan=False, validate=check, metadata=metadata, **kwargs)


def Percent(**kwargs) -> fields.Decimal:
    return _decimal(4, maximum=Decimal(100), **kwargs)


def Money(**kwargs) -> fields.Decimal:
    return _decimal(2, **kwargs)


# -- payment terms ---------------------------------------------------------------------------


class PaymentTermsInputSchema(InputSchema):
    settlement = fields.Enum(Settlement, by_value=True, required=True, metadata={"description": "escrow, or open_account (net days)."})
    net_days = WholeNumber(required=True, validate=validate.Range(min=0, max=365), metadata={"description": "Invoice due date = issue date + net days."})
    quantity_tolerance = Percent(required=True, metadata={"description": "% of the accepted quantity an invoice may exceed it by."})
    price_tolerance = Percent(required=True, metadata={"description": "% of the order's unit price an invoiced price may differ by."})
    amount_tolerance = Money(required=True, metadata={"description": "Absolute difference per line net, in the invoice's currency."})


class PaymentTermsSchema(OutputSchema):
    partnership_id = fields.UUID()
    buyer_org_id = fields.UUID()
    supplier_org_id = fields.UUID()
    agreed = fields.Boolean(metadata={"description": "False: the buyer set none; the defaults (escrow, no tolerance) apply."})
    settlement = fields.Enum(Settlement, by_value=True)
    net_days = fields.Integer()
    quantity_tolerance = Exact()
    price_tolerance = Exact()
    amount_tolerance = Exact()
    updated_at = fields.DateTime(allow_none=True)
    can_edit = fields.Boolean(metadata={"description": "Whether you may set them (the buyer's members and admins)."})


# -- invoices --------------------------------------------------------------------------------


class InvoiceLineInputSchema(InputSchema):
    order_line_no = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_LINES),
        metadata={"description": "The order line invoiced; null for a line of your own."},
    )
    description = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=200), metadata={"description": "Defaults to the order line's SKU and name."}
    )
    quantity = Quantity(required=True)
    unit_price = _decimal(4, required=True, metadata={"description": "In the order's currency, up to 4 decimals."})
    tax_rate = Percent(required=True, metadata={"description": 'Percent, e.g. "19".'})


class InvoiceInputSchema(InputSchema):
    order_id = fields.UUID(required=True, metadata={"description": "A received order you supply."})
    number = NonBlank(40, metadata={"description": "Your invoice number; unique among your invoices and credit notes."})
    issue_date = fields.Date(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    lines = fields.List(fields.Nested(InvoiceLineInputSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class CreditNoteLineInputSchema(InputSchema):
    invoice_line_no = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_LINES))
    quantity = Quantity(required=True)


class CreditNoteInputSchema(InputSchema):
    number = NonBlank(40, metadata={"description": "Your credit note number; unique among your invoices and credit notes."})
    issue_date = fields.Date(required=True)
    reason = NonBlank(500, metadata={"description": "Rejected or returned goods, ..."})
    lines = fields.List(fields.Nested(CreditNoteLineInputSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class ApprovalSchema(InputSchema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class RejectionSchema(InputSchema):
    reason = NonBlank(500)


class CancellationSchema(InputSchema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class InvoiceFilterSchema(PageArgsSchema):
    state = fields.Enum(InvoiceState, by_value=True, load_default=None)
    side = fields.String(
        load_default=None, validate=validate.OneOf(["buyer", "supplier"]), metadata={"description": "Invoices you owe, or invoices you issued."}
    )
    overdue = fields.Boolean(load_default=None, metadata={"description": "Approved open-account invoices past their due date, unpaid."})
    kind = fields.Enum(InvoiceKind, by_value=True, load_default=None)
    order_id = fields.UUID(load_default=None)


class InvoiceLineSchema(OutputSchema):
    line_no = fields.Integer()
    order_line_id = fields.UUID(allow_none=True)
    credited_line_id = fields.UUID(allow_none=True)
    description = fields.String()
    quantity = Exact()
    unit_price = Exact()
    tax_rate = Exact()
    net = Exact()
    tax = Exact()
    total = Exact()
    match_status = fields.Enum(MatchStatus, by_value=True)
    match_reason = fields.String(allow_none=True)
    ordered_unit_price = Exact(allow_none=True, metadata={"description": "The order's current unit price when matched."})
    accepted_quantity = Exact(allow_none=True, metadata={"description": "Accepted on the goods receipt."})
    previously_invoiced = Exact(allow_none=True, metadata={"description": "Invoiced of the order line before this line."})


class CreditNoteRefSchema(OutputSchema):
    id = fields.UUID()
    number = fields.String()
    issue_date = fields.Date()
    total = Exact()


class InvoiceSchema(OutputSchema):
    id = fields.UUID()
    kind = fields.Enum(InvoiceKind, by_value=True)
    number = fields.String()
    supplier_org_id = fields.UUID()
    buyer_org_id = fields.UUID()
    order_id = fields.UUID()
    order_number = fields.String()
    credited_invoice_id = fields.UUID(allow_none=True)
    currency = fields.String()
    issue_date = fields.Date()
    due_date = fields.Date()
    settlement = fields.Enum(Settlement, by_value=True)
    net_days = fields.Integer()
    subtotal = Exact()
    tax_total = Exact()
    total = Exact()
    credited_total = Exact()
    balance = Exact(metadata={"description": "Total less credit notes: what the invoice still asks."})
    state = fields.Enum(InvoiceState, by_value=True)
    match_status = fields.Enum(MatchStatus, by_value=True, metadata={"description": "matched when every line matched."})
    overdue = fields.Boolean()
    note = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    paid_amount = Exact(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    self_billed = fields.Boolean(metadata={"description": "Issued by the buyer for consumed consignment goods (self-billing), approved as issued."})
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    credit_notes = fields.List(fields.Nested(CreditNoteRefSchema))
    allowed_actions = fields.List(fields.String(), metadata={"description": "What you may do with the invoice now."})


class ProposedLineSchema(OutputSchema):
    order_line_no = fields.Integer()
    description = fields.String()
    quantity = Exact()
    unit_of_measure = fields.String()
    unit_price = Exact()


class ProposalSchema(OutputSchema):
    order_id = fields.UUID()
    order_number = fields.String()
    currency = fields.String()
    settlement = fields.Enum(Settlement, by_value=True)
    net_days = fields.Integer()
    lines = fields.List(fields.Nested(ProposedLineSchema))
    why_not = fields.String(allow_none=True, metadata={"description": "Why nothing can be invoiced now (no receipt yet, everything invoiced)."})
