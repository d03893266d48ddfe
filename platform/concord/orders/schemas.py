from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate

from concord import clock
from concord.api_common import DecimalString, InputSchema, NonBlank, OutputSchema, PageArgsSchema, WholeNumber
from concord.ledger.schemas import ChainTransactionSchema
from concord.orders.models import DisputeState, MilestoneKind, OrderState, ProposalState, Settlement, ShipmentState
from concord.orders.service import INCOTERMS

MAX_LINES = 200
#: Quantities and unit prices stay below this; a line's value (their product) and an order's
#: total are checked against the amount columns in the service (`value_errors`).
INPUT_LIMIT = Decimal(10) ** 12


def _exact(places: int, *, positive: bool = True, **kwargs) -> fields.Decimal:
    """An exact decimal sent as a string, with at most `places` decimals."""

    step = Decimal(1).scaleb(-places)
    largest = INPUT_LIMIT - step

    def check(value: Decimal) -> None:
        if not value.is_finite():
            raise ValidationError("Must be a finite number.")
        if abs(value) >= INPUT_LIMIT:
            raise ValidationError(f"At most {largest}.")
        if value.quantize(step) != value:
            raise ValidationError(f"At most {places} decimal places.")
        if positive and value <= 0:
            raise ValidationError("Must be greater than zero.")
        if value < 0:
            raise ValidationError("Must not be negative.")

    return DecimalString(
        as_string=True, allow_nan=False, validate=check, metadata={"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}, **kwargs
    )


def Exact(**kwargs) -> fields.Decimal:
    """An exact decimal in a response, sent as a string ("1250.00")."""
    metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


#: How far ahead a delivery may be requested.
REQUESTED_DATE_HORIZON = timedelta(days=5 * 366)


def _plausible_delivery_date(value: date) -> None:
    # One day of slack: a buyer east of UTC may already be in tomorrow.
    today = clock.utcnow().date()
    if value < today - timedelta(days=1):
        raise ValidationError("Must not be in the past.")
    if value > today + REQUESTED_DATE_HORIZON:
        raise ValidationError(f"At most {REQUESTED_DATE_HORIZON.days // 366} years ahead.")


def DeliveryDate(**kwargs) -> fields.Date:
    return fields.Date(validate=_plausible_delivery_date, **kwargs)


Quantity = lambda **kw: _exact(3, **kw)  # noqa: E731
UnitPrice = lambda **kw: _exact(4, **kw)  # noqa: E731


class LineInputSchema(InputSchema):
    product_id = fields.UUID(required=True, metadata={"description": "One of your products."})
    quantity = Quantity(required=True, metadata={"description": 'Decimal string, up to 3 decimals, e.g. "250".'})
    unit_price = UnitPrice(required=True, metadata={"description": "Decimal string in the order's currency, up to 4 decimals."})
    requested_date = DeliveryDate(required=True)


class OrderInputSchema(InputSchema):
    number = NonBlank(40, metadata={"description": "Your PO number; unique in your organization."})
    supplier_id = fields.UUID(required=True, metadata={"description": "An active supplier partner."})
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z]{3}$", error="An ISO 4217 code, such as EUR."))
    ship_to_location_id = fields.UUID(required=True, metadata={"description": "One of your locations."})
    incoterm = fields.String(required=True, validate=validate.OneOf(INCOTERMS), metadata={"description": "Incoterms 2020 rule."})
    payment_terms = NonBlank(100, metadata={"description": 'e.g. "Net 30, escrow released on receipt".'})
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
    line_no = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_LINES))
    confirmed_quantity = _exact(3, positive=False, required=True, metadata={"description": "0 up to the ordered quantity."})
    confirmed_date = DeliveryDate(required=True)


class AcknowledgementSchema(InputSchema):
    lines = fields.List(fields.Nested(AcknowledgementLineSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class ReasonSchema(InputSchema):
    reason = NonBlank(500)


class OptionalReasonSchema(InputSchema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ChangeLineSchema(InputSchema):
    line_no = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_LINES))
    quantity = Quantity()
    unit_price = UnitPrice()
    requested_date = DeliveryDate()


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
    settlement = fields.Enum(Settlement, by_value=True, metadata={"description": "escrow, or open_account: fixed from the partnership's terms when issued."})
    net_days = fields.Integer(allow_none=True, metadata={"description": "An invoice of the order is due this many days after its date."})
    origin = fields.String(allow_none=True, metadata={"description": "What issued the order on the buyer's behalf (a VMI agreement), or null."})
    consignment = fields.Boolean(
        metadata={"description": "Goods on consignment: the supplier's until consumed, then invoiced by the buyer's self-billing (no manual invoice)."}
    )
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
    role = fields.String(
        load_default=None, validate=validate.OneOf(["buyer", "supplier"]), metadata={"description": "Orders you place, or orders you receive."}
    )


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
    state = fields.String(
        metadata={"description": "none, pending (queued or not yet indexed), failed, funded, delivered, receipt_confirmed, disputed, resolved, released"}
    )
    currency = fields.String()
    amount = Exact(allow_none=True, metadata={"description": "The confirmed total held in escrow."})
    escrow_reference = fields.String(metadata={"description": "The order's id as the bytes32 the contract knows it by."})
    pending_steps = fields.List(
        fields.String(),
        metadata={"description": "Steps the parties took that the chain has not confirmed yet, in order (e.g. while the ledger is unreachable)."},
    )
    failed_steps = fields.List(fields.String(), metadata={"description": "Steps the chain refused (their transactions say why); the escrow stays in `state`."})
    transactions = fields.List(
        fields.Nested(ChainTransactionSchema), metadata={"description": "Every transaction of the escrow, by whichever party sent it, oldest first."}
    )
    events = fields.List(fields.Nested(EscrowEventSchema))


# -- fulfilment -----------------------------------------------------------------------------


def _plausible(value: datetime) -> None:
    if not (datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime(2100, 1, 1, tzinfo=UTC)):
        raise ValidationError("Must be between 2000 and 2100.")


def Moment(**kwargs) -> fields.AwareDateTime:
    """A point in time with its UTC offset (ISO 8601), e.g. 2027-01-04T09:30:00+01:00."""
    return fields.AwareDateTime(validate=_plausible, **kwargs)


class ShipmentLineInputSchema(InputSchema):
    line_no = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_LINES))
    quantity = Quantity(required=True, metadata={"description": "Decimal string; all shipments of a line add up to at most its confirmed quantity."})
    lot_number = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=64), metadata={"description": "Lot or batch; a line may be listed once per lot."}
    )


class ShipmentInputSchema(InputSchema):
    carrier_id = fields.UUID(
        required=True, metadata={"description": "An active carrier partner; every shipment of an order goes with the first one's carrier."}
    )
    tracking_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    shipped_at = Moment(load_default=None, allow_none=True, metadata={"description": "Defaults to now."})
    lines = fields.List(fields.Nested(ShipmentLineInputSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES))


class MilestoneInputSchema(InputSchema):
    kind = fields.Enum(MilestoneKind, by_value=True, required=True)
    occurred_at = Moment(required=True)
    location = NonBlank(200, metadata={"description": 'Where, e.g. "Hamburg port, DE".'})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ProofOfDeliveryInputSchema(InputSchema):
    receiver_name = NonBlank(200)
    delivered_at = Moment(required=True)
    document_hash = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^(0x)?[0-9a-fA-F]{64}$", error="A SHA-256 as 64 hex digits."),
        metadata={"description": "SHA-256 of the signed delivery note, if any."},
    )

    @post_load
    def normalise(self, data, **kwargs):
        if data.get("document_hash"):
            data["document_hash"] = "0x" + data["document_hash"].lower().removeprefix("0x")
        return data


class ReceiptLineInputSchema(InputSchema):
    line_no = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_LINES))
    accepted_quantity = _exact(3, positive=False, required=True)
    rejected_quantity = _exact(3, positive=False, load_default=Decimal(0))
    rejection_reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=500), metadata={"description": "Required when anything is rejected."}
    )


class ReceiptInputSchema(InputSchema):
    lines = fields.List(
        fields.Nested(ReceiptLineInputSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_LINES),
        metadata={"description": "Every shipped line once."},
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class DisputeInputSchema(InputSchema):
    reason = NonBlank(2000)


class ResolutionInputSchema(InputSchema):
    payee_amount = _exact(2, positive=False, required=True, metadata={"description": "To the supplier; the rest of the escrow goes back to the buyer."})
    resolution = NonBlank(2000)


class ShipmentLineSchema(OutputSchema):
    line_no = fields.Integer()
    lot_number = fields.String(allow_none=True)
    quantity = Exact()


class MilestoneSchema(OutputSchema):
    id = fields.UUID()
    kind = fields.Enum(MilestoneKind, by_value=True)
    occurred_at = fields.DateTime()
    location = fields.String()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ProofOfDeliverySchema(OutputSchema):
    receiver_name = fields.String(attribute="pod_receiver_name")
    delivered_at = fields.DateTime(attribute="pod_delivered_at")
    document_hash = fields.String(attribute="pod_document_hash", allow_none=True)
    proof_hash = fields.String(attribute="pod_proof_hash", metadata={"description": "SHA-256 of the proof, anchored on chain by the carrier."})


class ShipmentSchema(OutputSchema):
    id = fields.UUID()
    order_id = fields.UUID()
    order_number = fields.String()
    number = fields.Integer()
    state = fields.Enum(ShipmentState, by_value=True)
    buyer_org_id = fields.UUID()
    supplier_org_id = fields.UUID()
    carrier_org_id = fields.UUID()
    tracking_number = fields.String(allow_none=True)
    shipped_at = fields.DateTime()
    ship_to = fields.Dict(metadata={"description": "Where the goods go."})
    lines = fields.List(fields.Nested(ShipmentLineSchema))
    milestones = fields.List(fields.Nested(MilestoneSchema))
    proof_of_delivery = fields.Nested(ProofOfDeliverySchema, allow_none=True)
    allowed_actions = fields.List(fields.String())
    created_at = fields.DateTime()


class ShipmentFilterSchema(PageArgsSchema):
    state = fields.Enum(ShipmentState, by_value=True, load_default=None)
    order_id = fields.UUID(load_default=None)
    partner_id = fields.UUID(load_default=None, metadata={"description": "Shipments with this buyer, supplier or carrier."})


class ReceiptLineSchema(OutputSchema):
    line_no = fields.Integer()
    shipped_quantity = Exact()
    accepted_quantity = Exact()
    rejected_quantity = Exact()
    rejection_reason = fields.String(allow_none=True)
    accepted_value = Exact()


class ReceiptSchema(OutputSchema):
    id = fields.UUID()
    order_id = fields.UUID()
    accepted_value = Exact()
    refund_value = Exact()
    note = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(ReceiptLineSchema))
    created_at = fields.DateTime()


class DisputeSchema(OutputSchema):
    id = fields.UUID()
    order_id = fields.UUID()
    order_number = fields.String()
    currency = fields.String()
    escrowed = Exact(
        allow_none=True, metadata={"description": "The value the escrow holds for the order (null for a carrier, who reads the case without its money)."}
    )
    state = fields.Enum(DisputeState, by_value=True)
    buyer_org_id = fields.UUID()
    supplier_org_id = fields.UUID()
    arbiter_org_id = fields.UUID()
    opened_by_org_id = fields.UUID()
    reason = fields.String()
    payee_amount = Exact(allow_none=True)
    buyer_amount = Exact(allow_none=True)
    resolution = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class DisputeFilterSchema(PageArgsSchema):
    state = fields.Enum(DisputeState, by_value=True, load_default=None)
    partner_id = fields.UUID(load_default=None, metadata={"description": "Disputes with this buyer or supplier."})


class TimelineEntrySchema(OutputSchema):
    at = fields.DateTime()
    kind = fields.String(
        metadata={
            "description": "revision, change_proposal, acknowledged, shipment, milestone, proof_of_delivery, receipt, dispute_opened, dispute_evidence, dispute_resolved, transaction"
        }
    )
    summary = fields.String()
    object_id = fields.String(allow_none=True)
    transaction = fields.Nested(ChainTransactionSchema, allow_none=True)
