from __future__ import annotations

from marshmallow import fields, validate

from concord.api_common import OutputSchema, PageArgsSchema
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
