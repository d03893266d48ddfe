"""What the VMI agreement endpoints read and answer (quantities and amounts as decimal strings)."""

from __future__ import annotations

from marshmallow import fields, validate

from concord.api_common import InputSchema, NonBlank, OutputSchema, PageArgsSchema, WholeNumber
from concord.finance.financing_schemas import Currency
from concord.finance.schemas import Money, Percent
from concord.orders.schemas import Exact, Quantity, UnitPrice
from concord.vmi.agreements import BUYER, MAX_ITEMS, SUPPLIER
from concord.vmi.models import AgreementState, LevelBasis, VersionState


class AgreementItemInputSchema(InputSchema):
    product_id = fields.UUID(required=True, metadata={"description": "One of the buyer's products."})
    location_id = fields.UUID(required=True, metadata={"description": "One of the buyer's locations (where the stock is kept)."})
    unit_price = UnitPrice(required=True, metadata={"description": "What a generated order pays per unit, in the agreement's currency."})
    level_basis = fields.Enum(
        LevelBasis, by_value=True, required=True, metadata={"description": "quantity: min/max in units; days_of_supply: in days of forecast demand."}
    )
    min_level = Quantity(required=True, positive=False, metadata={"description": "The band's floor (units or days)."})
    max_level = Quantity(required=True, metadata={"description": "The band's ceiling, above the floor."})
    review_period_days = WholeNumber(required=True, validate=validate.Range(min=1, max=91))
    lead_time_days = WholeNumber(required=True, validate=validate.Range(min=0, max=365))
    service_level = Percent(
        required=True, metadata={"description": "Target probability of no stock-out in a replenishment cycle, 50 up to (not including) 100."}
    )
    consignment = fields.Boolean(load_default=False, metadata={"description": "Delivered stock stays the supplier's until consumed."})


class TermsInputSchema(InputSchema):
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    max_order_value = Money(
        load_default=None, allow_none=True, positive=True, metadata={"description": "A generated order above this waits for the buyer's approval."}
    )
    max_period_value = Money(
        load_default=None, allow_none=True, positive=True, metadata={"description": "Generated orders beyond this per period wait for the buyer's approval."}
    )
    period_days = WholeNumber(load_default=30, validate=validate.Range(min=1, max=366))
    baseline_inventory_value = Money(load_default=None, allow_none=True, metadata={"description": "Profit sharing: the inventory value before VMI."})
    holding_cost_rate = Percent(load_default=None, allow_none=True, metadata={"description": "Profit sharing: annual holding cost, % of inventory value."})
    supplier_share = Percent(load_default=None, allow_none=True, metadata={"description": "Profit sharing: the supplier's % of the holding-cost saving."})
    self_billing_tax_rate = Percent(
        load_default=None,
        allow_none=True,
        metadata={"description": 'Tax (%) on the self-billing invoices of consumed consignment goods, e.g. "19"; default 0.'},
    )
    note = NonBlank(500, required=False, load_default=None)
    items = fields.List(fields.Nested(AgreementItemInputSchema), required=True, validate=validate.Length(min=1, max=MAX_ITEMS))


class AgreementInputSchema(TermsInputSchema):
    supplier_id = fields.UUID(required=True, metadata={"description": "An active supplier partner (buyer_supplier)."})
    currency = Currency(required=True)


class AgreementReasonSchema(InputSchema):
    reason = NonBlank(500, required=False, load_default=None)


class SelfBillingInputSchema(InputSchema):
    through = fields.Date(load_default=None, allow_none=True, metadata={"description": "Bill consumption reported through this day (default: yesterday)."})


class AgreementFilterSchema(PageArgsSchema):
    state = fields.Enum(AgreementState, by_value=True, load_default=None)
    role = fields.String(
        load_default=None, validate=validate.OneOf([BUYER, SUPPLIER]), metadata={"description": "Only those where you are the buyer or the supplier."}
    )


# -- output --------------------------------------------------------------------------------------


class AgreementItemSchema(OutputSchema):
    id = fields.UUID()
    product_id = fields.UUID()
    location_id = fields.UUID()
    sku = fields.String()
    product_name = fields.String()
    unit_of_measure = fields.String()
    location_name = fields.String()
    unit_price = Exact()
    level_basis = fields.Enum(LevelBasis, by_value=True)
    min_level = Exact()
    max_level = Exact()
    review_period_days = fields.Integer()
    lead_time_days = fields.Integer()
    service_level = Exact()
    consignment = fields.Boolean()


class AgreementVersionSchema(OutputSchema):
    version = fields.Integer()
    state = fields.Enum(VersionState, by_value=True)
    proposed_by_org_id = fields.UUID()
    proposed_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    max_order_value = Exact(allow_none=True)
    max_period_value = Exact(allow_none=True)
    period_days = fields.Integer()
    baseline_inventory_value = Exact(allow_none=True)
    holding_cost_rate = Exact(allow_none=True)
    supplier_share = Exact(allow_none=True)
    self_billing_tax_rate = Exact()
    items = fields.List(fields.Nested(AgreementItemSchema))


class AgreementSchema(OutputSchema):
    id = fields.UUID()
    number = fields.String()
    buyer_org_id = fields.UUID()
    supplier_org_id = fields.UUID()
    currency = fields.String()
    state = fields.Enum(AgreementState, by_value=True)
    current_version = fields.Integer(metadata={"description": "The agreed version in force (0: none agreed yet)."})
    pending_version = fields.Integer(allow_none=True, metadata={"description": "The version waiting for the other side's answer."})
    suspended_by_org_id = fields.UUID(allow_none=True)
    state_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    terms = fields.Nested(AgreementVersionSchema, allow_none=True, metadata={"description": "The agreed terms in force."})
    proposed_terms = fields.Nested(AgreementVersionSchema, allow_none=True, metadata={"description": "The terms waiting for an answer."})
    allowed_actions = fields.List(fields.String())


class BandSchema(OutputSchema):
    minimum = fields.String(allow_none=True)
    maximum = fields.String(allow_none=True)


class BullwhipSchema(OutputSchema):
    before = fields.Float(
        allow_none=True, metadata={"description": "Variance of weekly orders over variance of weekly consumption before the agreement started."}
    )
    after = fields.Float(allow_none=True, metadata={"description": "The same since it started."})
    weeks_before = fields.Integer()
    weeks_after = fields.Integer()
    starts_on = fields.String()
    window_weeks = fields.Integer()
    rolling = fields.List(fields.Dict(), metadata={"description": "The ratio over each rolling window: week_ending, ratio."})


class DeliverySchema(OutputSchema):
    order_id = fields.UUID()
    number = fields.String()
    state = fields.String()
    origin = fields.String(allow_none=True)
    quantity = Exact()
    delivery_date = fields.Date()


class ItemProposalSchema(OutputSchema):
    id = fields.UUID()
    state = fields.String()
    review_date = fields.Date()
    quantity = Exact()
    delivery_date = fields.Date()
    confirmed_quantity = Exact(allow_none=True)
    order_id = fields.UUID(allow_none=True)


class ConsignmentBillingSchema(OutputSchema):
    order_id = fields.UUID()
    order_number = fields.String()
    quantity = Exact(metadata={"description": "Consumed consignment goods of the order this billing billed."})
    through_date = fields.Date(metadata={"description": "Consumption reported through this day was allocated."})
    invoice_id = fields.UUID()
    invoice_number = fields.String()
    amount = Exact(metadata={"description": "The self-billing invoice's total."})
    invoice_state = fields.String()
    billed_at = fields.DateTime()


class ItemInsightSchema(OutputSchema):
    item = fields.Nested(AgreementItemSchema)
    reviewed_on = fields.Date(allow_none=True)
    stock = fields.List(fields.Dict(), metadata={"description": "Stock at the end of each day (day, quantity) from what the buyer shared."})
    band = fields.Nested(BandSchema)
    safety_stock = fields.String(allow_none=True)
    reorder_point = fields.String(allow_none=True)
    dynamic_band = fields.Dict(allow_none=True)
    forecast = fields.Dict(
        allow_none=True, metadata={"description": "The last review's forecast: model, weeks, point, 80 %/95 % intervals, every candidate's MASE and bias."}
    )
    alerts = fields.List(fields.Dict())
    proposals = fields.List(fields.Nested(ItemProposalSchema))
    deliveries = fields.List(fields.Nested(DeliverySchema))
    bullwhip = fields.Nested(BullwhipSchema)
    position = Exact(metadata={"description": "Stock on hand from what the buyer shared, whoever owns it."})
    consigned = Exact(metadata={"description": "Of it, the supplier's: accepted on consignment orders and not consumed (at the end date once ended)."})
    owned = Exact(metadata={"description": "Of it, the buyer's: position less consigned, never below zero."})
    unbilled = Exact(metadata={"description": "Consumed consignment goods not billed yet (billed once the day is over)."})
    returnable = Exact(
        allow_none=True, metadata={"description": "Ended agreements: the consigned goods left at the end, for return or billing; null while running."}
    )
    billings = fields.List(fields.Nested(ConsignmentBillingSchema), metadata={"description": "Self-billing of consumed consignment goods, newest first."})


class ProfitSharingSchema(OutputSchema):
    period_start = fields.Date()
    period_end = fields.Date()
    closed = fields.Boolean(metadata={"description": "False for the running period, whose figures still move."})
    days = fields.Integer(metadata={"description": "Days counted so far."})
    average_inventory_value = Exact()
    baseline_inventory_value = Exact()
    saving = Exact(metadata={"description": "(baseline - average) x holding-cost rate x days / 365; negative: no saving."})
    supplier_share = Exact(metadata={"description": "The supplier's agreed share of a positive saving."})
    currency = fields.String()
