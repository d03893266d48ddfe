"""The EPCIS REST binding's shapes: capture jobs, the query parameters of /events, the
EPCISQueryDocument. Field names are the standard's (camelCase), not Concord's snake_case."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from concord.api_common import InputSchema, OutputSchema, WholeNumber
from concord.pagination import MAX_LIMIT
from concord.provenance.models import URI_LENGTH, Sharing
from concord.provenance.queries import BIZ_TRANSACTION_PREFIX, MATCH_ROLES, MAX_ALTERNATIVES, alternatives

DEFAULT_PER_PAGE = 30  # the REST binding's default


class CaptureJobSchema(OutputSchema):
    captureID = fields.UUID(attribute="id", required=True)
    createdAt = fields.AwareDateTime(attribute="created_at", required=True)
    finishedAt = fields.AwareDateTime(attribute="finished_at", allow_none=True)
    running = fields.Boolean(required=True)
    success = fields.Boolean(required=True)
    captureErrorBehaviour = fields.String(attribute="error_behaviour", required=True, metadata={"enum": ["rollback"]})
    eventCount = fields.Integer(attribute="event_count", required=True)
    errors = fields.List(fields.Dict(), required=True, metadata={"description": "RFC 9457 problems; empty when the job succeeded."})


class QueryDocumentSchema(OutputSchema):
    """An EPCISQueryDocument: the events as captured, in `epcisBody.queryResults.resultsBody.eventList`."""

    context = fields.List(fields.Raw(), attribute="@context", data_key="@context", required=True)
    type = fields.String(required=True, metadata={"enum": ["EPCISQueryDocument"]})
    schemaVersion = fields.String(required=True)
    creationDate = fields.String(required=True)
    epcisBody = fields.Dict(required=True)


class Alternatives(fields.String):
    """Values separated by | (any of them matches), each at most URI_LENGTH characters."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str]:  # type: ignore[override]
        values = alternatives(super()._deserialize(value, attr, data, **kwargs))
        if not values or len(values) > MAX_ALTERNATIVES or any(len(v) > URI_LENGTH for v in values):
            raise ma.ValidationError(f"Give 1 to {MAX_ALTERNATIVES} values separated by |, each at most {URI_LENGTH} characters.")
        return values


class Moment(fields.AwareDateTime):
    """A time with its offset (ISO 8601), which must also be a time in UTC."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None


def _alternatives(description: str) -> Alternatives:
    return Alternatives(load_default=None, metadata={"description": description})


class PageSchema(InputSchema):
    """The REST binding's paging: `perPage` items, and the token the `Link` header carries."""

    perPage = WholeNumber(load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_LIMIT))
    nextPageToken = fields.String(load_default=None, validate=validate.Length(max=500))


def _match(name: str) -> Alternatives:
    return _alternatives(f"EPCs (or EPC classes), or patterns such as urn:epc:idpat:sgtin:4012345.011111.*; looks in: {', '.join(MATCH_ROLES[name])}.")


class EventQuerySchema(PageSchema):
    """The Simple Event Query's parameters this platform answers. `EQ_bizTransaction_<type>`
    (for instance `EQ_bizTransaction_po`) filters by business transactions of a type."""

    eventType = _alternatives("ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent.")
    GE_eventTime = Moment(format="iso", load_default=None)
    LT_eventTime = Moment(format="iso", load_default=None)
    GE_recordTime = Moment(format="iso", load_default=None)
    LT_recordTime = Moment(format="iso", load_default=None)
    EQ_action = _alternatives("ADD, OBSERVE or DELETE.")
    EQ_bizStep = _alternatives("A CBV business step (shipping) or its URI.")
    EQ_disposition = _alternatives("A CBV disposition (in_transit) or its URI.")
    EQ_readPoint = _alternatives("A read point: an SGLN EPC URI or a GS1 Digital Link URI.")
    EQ_bizLocation = _alternatives("A business location: an SGLN EPC URI or a GS1 Digital Link URI.")
    EQ_eventID = _alternatives("Event IDs.")
    MATCH_epc = _match("MATCH_epc")
    MATCH_parentID = _match("MATCH_parentID")
    MATCH_inputEPC = _match("MATCH_inputEPC")
    MATCH_outputEPC = _match("MATCH_outputEPC")
    MATCH_anyEPC = _match("MATCH_anyEPC")
    MATCH_epcClass = _match("MATCH_epcClass")
    MATCH_inputEPCClass = _match("MATCH_inputEPCClass")
    MATCH_outputEPCClass = _match("MATCH_outputEPCClass")
    MATCH_anyEPCClass = _match("MATCH_anyEPCClass")

    @ma.pre_load
    def _without_flexible_names(self, data: Any, **kwargs: Any) -> Any:
        """`EQ_bizTransaction_<type>` parameters are read by name (queries.biz_transaction_filters)."""
        return {key: data[key] for key in data if not key.startswith(BIZ_TRANSACTION_PREFIX)} if isinstance(data, Mapping) else data


class TraceQuerySchema(InputSchema):
    gtin = fields.String(required=True, validate=validate.Length(max=14), metadata={"description": "The GTIN (8, 12, 13 or 14 digits)."})
    lot = fields.String(required=True, validate=validate.Length(max=64), metadata={"description": "The lot (batch) number."})


class PartySchema(OutputSchema):
    party = fields.String(required=True, metadata={"description": "The party's URI in the events (urn:uuid:<organization id> for a member)."})
    organization_id = fields.UUID(allow_none=True)
    name = fields.String(allow_none=True)


class ClassQuantitySchema(OutputSchema):
    epc_class = fields.String(required=True)
    quantity = fields.String(required=True)


class TraceLotSchema(OutputSchema):
    epc_class = fields.String(required=True, metadata={"description": "GS1 Digital Link URI of the lot (or the GTIN's class)."})
    gtin = fields.String(allow_none=True)
    lot = fields.String(allow_none=True)
    direction = fields.String(required=True, metadata={"enum": ["start", "upstream", "downstream"]})
    depth = fields.Integer(required=True, metadata={"description": "Transformations between this lot and the one traced."})
    produced_by = fields.List(fields.Nested(PartySchema), required=True)
    supplied_by = fields.List(fields.Nested(PartySchema), required=True)


class TraceTransformationSchema(OutputSchema):
    event_id = fields.String(required=True)
    event_time = fields.AwareDateTime(required=True)
    organization = fields.Nested(PartySchema, required=True)
    inputs = fields.List(fields.Nested(ClassQuantitySchema), required=True)
    outputs = fields.List(fields.Nested(ClassQuantitySchema), required=True)


class TraceMovementSchema(OutputSchema):
    event_id = fields.String(required=True)
    event_time = fields.AwareDateTime(required=True)
    biz_step = fields.String(required=True)
    disposition = fields.String(required=True)
    epc_class = fields.String(required=True)
    quantity = fields.String(required=True)
    by = fields.Nested(PartySchema, required=True)
    to = fields.Nested(PartySchema, allow_none=True)
    location = fields.String(allow_none=True)
    container = fields.String(allow_none=True, metadata={"description": "The logistic unit (SSCC) the lot moved in, when it was packed."})


class RecallEntrySchema(OutputSchema):
    holder = fields.Nested(PartySchema, required=True)
    location = fields.String(allow_none=True, metadata={"description": "SGLN Digital Link URI of the location, when the events name one."})
    epc_class = fields.String(required=True)
    produced = fields.String(required=True)
    shipped = fields.String(required=True)
    in_transit_to = fields.String(required=True, metadata={"description": "Shipped to this holder."})
    received = fields.String(required=True, metadata={"description": "Received and accepted by this holder."})
    rejected = fields.String(required=True)


class TraceSchema(OutputSchema):
    epc_class = fields.String(required=True)
    gtin = fields.String(required=True)
    lot = fields.String(required=True)
    lots = fields.List(fields.Nested(TraceLotSchema), required=True)
    transformations = fields.List(fields.Nested(TraceTransformationSchema), required=True)
    movements = fields.List(fields.Nested(TraceMovementSchema), required=True)
    recall = fields.List(fields.Nested(RecallEntrySchema), required=True)


_SHARING_LEVELS = (
    "private (your organization only), transaction (also the parties of the orders and shipments its business transactions name) "
    "or lot (also every organization that captured events about the same EPCs or EPC classes)"
)


class CaptureArgsSchema(InputSchema):
    sharing = fields.Enum(
        Sharing,
        by_value=True,
        load_default=None,
        metadata={"description": f"How this capture's events are shared: {_SHARING_LEVELS}. Your organization's default when absent."},
    )


class SharingSchema(OutputSchema):
    sharing = fields.Enum(
        Sharing, by_value=True, required=True, metadata={"description": f"How your captures are shared unless one says otherwise: {_SHARING_LEVELS}."}
    )


class SharingInputSchema(InputSchema):
    sharing = fields.Enum(Sharing, by_value=True, required=True, metadata={"description": f"One of: {_SHARING_LEVELS}."})


class ProofBundleSchema(OutputSchema):
    """A proof bundle (`concord-proof-bundle/1`, kind `event`): everything `concord-verify`
    needs to check the event against the chain without Concord's database."""

    format = fields.String(required=True, metadata={"enum": ["concord-proof-bundle/1"]})
    kind = fields.String(required=True, metadata={"enum": ["event"]})
    createdAt = fields.String(required=True)
    platform = fields.String(required=True)
    chain = fields.Dict(required=True, metadata={"description": "chainId, provenanceAnchor and consortium addresses."})
    organization = fields.Dict(required=True, metadata={"description": "id, name and bytes32 of the attesting organization."})
    event = fields.Dict(required=True, metadata={"description": "The EPCIS event as stored."})
    context = fields.List(fields.Raw(), required=True)
    eventHashId = fields.String(required=True)
    attestation = fields.Dict(required=True, metadata={"description": "signer, signature and EIP-712 domain."})
    batch = fields.Dict(required=True, metadata={"description": "batchId, root, size, leaf, proof, anchorTransaction, anchorBlock."})
