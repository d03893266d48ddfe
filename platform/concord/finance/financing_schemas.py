"""Receivables, financing offers, exposure limits, programmes and settlements, as the API
reads and shows them. Money and rates travel as decimal strings ("1250.00", "2.5")."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from concord.api_common import DecimalString, InputSchema, NonBlank, OutputSchema, PageArgsSchema
from concord.finance.models import LimitSide, OfferState, ProgrammeState, ReceivableState
from concord.ledger.schemas import ChainTransactionSchema

#: Amounts a financier states stay below this (the amount columns hold 16 digits before the point).
AMOUNT_LIMIT = Decimal(10) ** 12
MAX_FINANCIERS = 20


def _decimal(places: int, low: Decimal, high: Decimal, *, low_open: bool = False, **kwargs) -> fields.Decimal:
    """A decimal string with at most `places` decimals, within [low, high] (low excluded when `low_open`)."""
    step = Decimal(1).scaleb(-places)

    def check(value: Decimal) -> None:
        if not value.is_finite():
            raise ValidationError("Must be a finite number.")
        if value.quantize(step) != value:
            raise ValidationError(f"At most {places} decimal places.")
        if value < low or (low_open and value == low):
            raise ValidationError(f"Must be greater than {low}." if low_open else f"Must be at least {low}.")
        if value > high:
            raise ValidationError(f"At most {high}.")

    return DecimalString(
        as_string=True, allow_nan=False, validate=check, metadata={"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}, **kwargs
    )


def Percent(*, low_open: bool = False, **kwargs) -> fields.Decimal:
    """A percentage with up to four decimals: "2.5" is 2.5 %."""
    return _decimal(4, Decimal(0), Decimal(100), low_open=low_open, **kwargs)


def Money(**kwargs) -> fields.Decimal:
    return _decimal(2, Decimal(0), AMOUNT_LIMIT - Decimal("0.01"), **kwargs)


def Exact(**kwargs) -> fields.Decimal:
    """An exact decimal in a response, sent as a string."""
    return fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}, **kwargs)


def _plausible(value: datetime) -> None:
    if not (datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime(2100, 1, 1, tzinfo=UTC)):
        raise ValidationError("Must be between 2000 and 2100.")


Currency = lambda **kw: fields.String(validate=validate.Regexp(r"^[A-Za-z]{3}$", error="An ISO 4217 code, such as EUR."), **kw)  # noqa: E731


# -- input ---------------------------------------------------------------------------------------


class OfferRequestSchema(InputSchema):
    financier_ids = fields.List(
        fields.UUID(), required=True, validate=validate.Length(min=1, max=MAX_FINANCIERS), metadata={"description": "Active financier partners to ask."}
    )


class OfferTermsSchema(InputSchema):
    advance_rate = Percent(required=True, low_open=True, metadata={"description": "% of the receivable paid now (above 0, at most 100)."})
    discount_rate = Percent(required=True, metadata={"description": "Annual % charged on the advance from today to the due date."})
    fees = Money(load_default=Decimal("0.00"), metadata={"description": "Fixed fees, in the receivable's currency."})
    valid_until = fields.AwareDateTime(
        required=True, validate=_plausible, metadata={"description": "Until when the supplier may accept (not past the due date)."}
    )


class FinancingReasonSchema(InputSchema):
    reason = NonBlank(500, required=False, load_default=None)


class ExposureLimitInputSchema(InputSchema):
    counterparty_id = fields.UUID(required=True)
    side = fields.Enum(LimitSide, by_value=True, required=True, metadata={"description": "buyer: the debtor of the receivables; supplier: their seller."})
    currency = Currency(required=True)
    amount = Money(required=True)


class ProgrammeInputSchema(InputSchema):
    financier_id = fields.UUID(required=True, metadata={"description": "An active buyer_financier partner."})
    currency = Currency(required=True)


class ProgrammeOpenSchema(InputSchema):
    discount_rate = Percent(required=True, metadata={"description": "Annual % the early payments are discounted at."})
    limit_amount = Money(required=True, metadata={"description": "The most the programme's early payments may have outstanding."})


class ReceivableFilterSchema(PageArgsSchema):
    state = fields.Enum(ReceivableState, by_value=True, load_default=None)


class OfferFilterSchema(PageArgsSchema):
    state = fields.Enum(OfferState, by_value=True, load_default=None)


class ProgrammeFilterSchema(PageArgsSchema):
    state = fields.Enum(ProgrammeState, by_value=True, load_default=None)


# -- output --------------------------------------------------------------------------------------


class BuyerRecordSchema(OutputSchema):
    buyer_id = fields.UUID()
    buyer_name = fields.String()
    orders = fields.Integer(metadata={"description": "Orders the buyer issued on the platform."})
    orders_closed = fields.Integer()
    invoices_paid = fields.Integer()
    invoices_paid_on_time = fields.Integer()
    invoices_overdue = fields.Integer(metadata={"description": "Past their due date and unpaid."})
    on_time_payment_rate = Exact(allow_none=True, metadata={"description": "% of the invoices paid or due that were paid on time (null: none yet)."})
    disputes = fields.Integer()


class SettlementSchema(OutputSchema):
    id = fields.UUID()
    receivable_id = fields.UUID()
    offer_id = fields.UUID(allow_none=True)
    currency = fields.String()
    amount_paid = Exact()
    financier_share = Exact()
    supplier_share = Exact()
    shortfall = Exact()
    recorded_at = fields.DateTime()
    tx_hash = fields.String(allow_none=True, metadata={"description": "The exchange's settlement on chain, when financed."})


class OfferSchema(OutputSchema):
    id = fields.UUID()
    receivable_id = fields.UUID()
    supplier_org_id = fields.UUID()
    financier_org_id = fields.UUID()
    financier_name = fields.String()
    programme_id = fields.UUID(allow_none=True)
    state = fields.Enum(OfferState, by_value=True)
    state_reason = fields.String(allow_none=True)
    requested_at = fields.DateTime()
    advance_rate = Exact(allow_none=True)
    discount_rate = Exact(allow_none=True)
    fees = Exact(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    advance = Exact(allow_none=True, metadata={"description": "Paid to the supplier on acceptance."})
    discount = Exact(allow_none=True)
    claim = Exact(allow_none=True, metadata={"description": "advance + discount + fees: the most the financier takes of the payment."})
    offered_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    financed_at = fields.DateTime(allow_none=True)
    allowed_actions = fields.List(fields.String())


class ReceivableSchema(OutputSchema):
    id = fields.UUID()
    invoice_id = fields.UUID()
    order_id = fields.UUID()
    supplier_org_id = fields.UUID()
    buyer_org_id = fields.UUID()
    holder_org_id = fields.UUID()
    fingerprint = fields.String()
    chain_id = fields.Integer()
    registry_address = fields.String()
    escrowed = fields.Boolean(metadata={"description": "Paid by the order's escrow (true) or by the buyer on open account."})
    amount = Exact()
    currency = fields.String()
    due_date = fields.Date()
    state = fields.Enum(ReceivableState, by_value=True)
    state_reason = fields.String(allow_none=True)
    expected_payment = Exact(metadata={"description": "What the holder will be paid as things stand (drops with a partial receipt, refund or dispute split)."})
    amount_paid = Exact(allow_none=True)
    registered_at = fields.DateTime(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    financed_at = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    allowed_actions = fields.List(fields.String())


class ReceivableDetailSchema(ReceivableSchema):
    evidence = fields.Dict(
        allow_none=True,
        metadata={"description": "Order, shipments, proof of delivery, receipt, their chain transactions and the match (frozen when verified)."},
    )
    buyer_record = fields.Nested(BuyerRecordSchema)
    offers = fields.List(fields.Nested(OfferSchema), metadata={"description": "The offers on it you may see."})
    settlement = fields.Nested(SettlementSchema, allow_none=True)
    chain_history = fields.List(fields.Nested(ChainTransactionSchema))


class ExposureLimitSchema(OutputSchema):
    id = fields.UUID()
    counterparty_id = fields.UUID()
    counterparty_name = fields.String()
    side = fields.Enum(LimitSide, by_value=True)
    currency = fields.String()
    amount = Exact()
    outstanding = Exact(metadata={"description": "Advances of accepted or financed offers not yet settled."})
    available = Exact()
    updated_at = fields.DateTime()


class ProgrammeSchema(OutputSchema):
    id = fields.UUID()
    buyer_org_id = fields.UUID()
    financier_org_id = fields.UUID()
    currency = fields.String()
    state = fields.Enum(ProgrammeState, by_value=True)
    discount_rate = Exact(allow_none=True)
    limit_amount = Exact(allow_none=True)
    outstanding = Exact()
    state_reason = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    allowed_actions = fields.List(fields.String())
