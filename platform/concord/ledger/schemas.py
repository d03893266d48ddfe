from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from concord.api_common import DecimalString, InputSchema, OutputSchema, PageArgsSchema
from concord.ledger.models import IntentState


class ChainTransactionSchema(OutputSchema):
    id = fields.UUID(attribute="uid")
    state = fields.String(metadata={"description": "queued → signed → confirmed | failed"})
    purpose = fields.String()
    kind = fields.String()
    contract = fields.String()
    function = fields.String(allow_none=True)
    subject_type = fields.String(allow_none=True)
    subject_id = fields.String(allow_none=True)
    sender = fields.String(metadata={"description": "Your organization's signing address."})
    chain_id = fields.Integer(allow_none=True)
    nonce = fields.Integer(allow_none=True)
    tx_hash = fields.String(allow_none=True)
    block_number = fields.Integer(allow_none=True)
    gas_used = fields.Integer(allow_none=True)
    receipt_status = fields.Integer(allow_none=True)
    revert_reason = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ChainTransactionFilterSchema(PageArgsSchema):
    state = fields.String(load_default=None, validate=validate.OneOf([s.value for s in IntentState]))


def _token_amount(value: Decimal) -> None:
    exponent = value.as_tuple().exponent  # "n", "N" or "F" unless the value is finite
    if not isinstance(exponent, int) or value <= 0:
        raise ValidationError("Must be greater than zero.")
    if exponent < -6:
        raise ValidationError("At most 6 decimal places (the token's unit).")
    if value >= Decimal(10) ** 15:
        raise ValidationError("Too large.")


class MintSchema(InputSchema):
    organization_id = fields.UUID(required=True)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code, such as EUR."))
    amount = DecimalString(required=True, as_string=True, allow_nan=False, validate=_token_amount, metadata={"type": "string", "format": "decimal"})


class BalanceSchema(OutputSchema):
    currency = fields.String()
    balance = fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal"})
    address = fields.String()
    as_of_block = fields.Integer(allow_none=True, metadata={"description": "The last block the balance reflects."})
