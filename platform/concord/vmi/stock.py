"""The stock data a buyer shares for vendor-managed inventory: stock on hand, goods receipts
and consumption per product and location, and the stock position and weekly consumption
history read back from them. The only place their rules live; the API's batches and the
portal's CSV uploads (`concord.vmi.stock_uploads`) both validate through `share_rows`.

A record carries the buyer's own `record_id` (unique per buyer): sending the identical record
again changes nothing ("unchanged"); the same `record_id` with other content is refused for
that record, never an overwrite. A batch keeps its good records and names its bad ones
field by field, in one transaction, with one audit entry carrying the counts. Two requests
that share the same record at the same time meet on the table's unique constraint: the loser
reads the winner's record back and answers as if it had come second (unchanged, or refused
when the content differs).

Who reads records is a SQL condition (`ReadScope`): the buyer its own (`own_records`); a
supplier's reading under an agreement passes its own scope to `records_query` and `position`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import fields, validate
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from concord import clock, db, policy
from concord.api_common import DecimalString, InputSchema, NonBlank
from concord.audit.service import Action, record
from concord.catalog.models import Location, Product
from concord.db import new_id
from concord.errors import Forbidden, ValidationFailed
from concord.orders.models import QUANTITY
from concord.policy import Principal
from concord.tenancy.models import Capability
from concord.vmi.models import RecordKind, RecordSource, StockRecord, VmiUpload

MAX_BATCH = 5000
"""Most records one API request may share."""
OLDEST_DAYS = 3660
"""How far back (about ten years) a record's date may lie."""
MAX_POSITION_DAYS = 1100
"""The longest period a stock position covers (three years)."""
_IN_CHUNK = 900  # values per IN (...) list: well inside every database's parameter limit
_ATTEMPTS = 3  # inserts retried after a concurrent batch took some of the same record ids

_Date = date  # the schema's field `date` hides the type in its class body

ReadScope = Callable[[Principal], Any]
"""A SQL condition on StockRecord: the records a principal may read."""


def own_records(principal: Principal) -> Any:
    """The buyer's own records (the default scope)."""
    return StockRecord.buyer_org_id == principal.org.id


def own_uploads(principal: Principal) -> Any:
    return VmiUpload.buyer_org_id == principal.org.id


def visibility() -> dict[type, Callable[[Principal], Any]]:
    """For concord.bootstrap: what policy.visible answers for this domain's tables."""
    return {StockRecord: own_records, VmiUpload: own_uploads}


# -- one record, as the API or a CSV row states it ---------------------------------------------


class RecordSchema(InputSchema):
    """One stock record: the product by `sku`, `gtin` or `product_id` (one of them), the
    location by `gln` or `location_id` (one of them)."""

    record_id = NonBlank(100, metadata={"description": "Your own identifier of the record, unique in your organization: sending it again changes nothing."})
    kind = fields.String(
        required=True,
        validate=validate.OneOf([str(kind) for kind in RecordKind]),
        metadata={"description": "on_hand (a count at the end of that day), receipt or consumption."},
    )
    date = fields.Date(required=True, metadata={"description": "The day it happened (YYYY-MM-DD): not after today, not more than about ten years ago."})
    quantity = DecimalString(required=True, metadata={"description": 'A decimal string, at least 0, at most 3 decimal places ("12.5").'})
    sku = NonBlank(64, required=False, metadata={"description": "Your product's SKU."})
    gtin = fields.String(required=False, validate=validate.Regexp(r"^(?:[0-9]{8}|[0-9]{12,14})$", error="A GTIN is 8, 12, 13 or 14 digits."))
    product_id = fields.UUID(required=False)
    gln = fields.String(required=False, validate=validate.Regexp(r"^[0-9]{13}$", error="A GLN is 13 digits."), metadata={"description": "Your location's GLN."})
    location_id = fields.UUID(required=False)

    @ma.validates("quantity")
    def _quantity(self, value: Decimal, **_: Any) -> None:
        if value < 0:
            raise ma.ValidationError("Must not be negative.")
        if value >= QUANTITY.limit:
            raise ma.ValidationError(f"Must be less than {QUANTITY.limit:,}.")
        if value != value.quantize(QUANTITY.step):
            raise ma.ValidationError(f"At most {QUANTITY.scale} decimal places.")

    @ma.validates("date")
    def _date(self, value: _Date, **_: Any) -> None:
        today = clock.utcnow().date()
        if value > today:
            raise ma.ValidationError(f"Must not be after today ({today.isoformat()}).")
        if value < today - timedelta(days=OLDEST_DAYS):
            raise ma.ValidationError("Must not be more than ten years ago.")

    @ma.validates_schema
    def _one_of_each(self, data: dict[str, Any], **_: Any) -> None:
        for names, what in ((("sku", "gtin", "product_id"), "product"), (("gln", "location_id"), "location")):
            given = [name for name in names if name in data]
            if len(given) > 1:
                raise ma.ValidationError(f"Name the {what} once: by {' or '.join(names)}, not {' and '.join(given)}.", given[1])
            if not given:
                raise ma.ValidationError(f"Name the {what}: {', '.join(names)}.", names[0])


# -- outcomes -----------------------------------------------------------------------------------


KEPT, UNCHANGED, REJECTED = "kept", "unchanged", "rejected"


@dataclass
class Outcome:
    index: int  # the record's position in the batch (0-based), or the CSV row's line number
    record_id: str | None
    status: str = REJECTED
    errors: dict[str, list[str]] = field(default_factory=dict)
    id: uuid.UUID | None = None  # the stored record (kept or unchanged)


@dataclass
class BatchResult:
    outcomes: list[Outcome]

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in (KEPT, UNCHANGED, REJECTED)}


@dataclass
class _Valid:
    outcome: Outcome
    values: dict[str, Any]  # product_id, location_id, kind, occurred_on, quantity


# -- sharing ------------------------------------------------------------------------------------


def require_sharer(principal: Principal) -> None:
    """Only a buyer's admins and members share stock data."""
    if Capability.BUYER not in principal.org.capabilities:
        raise Forbidden("Only organizations admitted as buyers share stock data for vendor-managed inventory.")
    policy.require_writer(principal)


def share(session: Session, principal: Principal, records: Sequence[Any], source: RecordSource = RecordSource.API) -> BatchResult:
    """Validate and store a batch from the API: good records kept, bad ones named, one
    transaction and one audit entry. Raises ValidationFailed when the batch is too large
    or every record in it is rejected."""
    require_sharer(principal)
    if len(records) > MAX_BATCH:
        raise ValidationFailed({"records": [f"At most {MAX_BATCH:,} records per request."]})
    result = share_rows(session, principal, list(enumerate(records)), source)
    if result.count(REJECTED) == len(result.outcomes):
        errors = {"records": {outcome.index: outcome.errors for outcome in result.outcomes}}
        raise ValidationFailed(errors, detail="Every record was rejected: nothing was kept.")
    record(
        session,
        Action.VMI_STOCK_SHARED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="vmi_stock_records",
        source=str(source),
        kept=result.count(KEPT),
        unchanged=result.count(UNCHANGED),
        rejected=result.count(REJECTED),
    )
    session.commit()
    return result


def share_rows(session: Session, principal: Principal, rows: Sequence[tuple[int, Any]], source: RecordSource, upload: VmiUpload | None = None) -> BatchResult:
    """Validate and store (index, record) pairs in the caller's transaction (no commit, no
    audit): what the API's batches and each chunk of a CSV upload share."""
    outcomes: list[Outcome] = []
    loaded: list[tuple[Outcome, dict[str, Any]]] = []
    schema = RecordSchema()
    for index, raw in rows:
        record_id = raw.get("record_id") if isinstance(raw, dict) else None
        outcome = Outcome(index, record_id if isinstance(record_id, str) else None)
        outcomes.append(outcome)
        try:
            loaded.append((outcome, schema.load(raw)))
        except ma.ValidationError as error:
            outcome.errors = _flat(error.messages)
    valid = _resolve(session, principal, loaded)
    _store(session, principal, valid, source, upload)
    return BatchResult(outcomes)


def _flat(messages: Any) -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        return {"_schema": [str(message) for message in (messages if isinstance(messages, list) else [messages])]}
    return {str(key): [str(m) for m in value] if isinstance(value, list) else [str(value)] for key, value in messages.items()}


def _chunks(values: Iterable[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _lookup(session: Session, principal: Principal, model: type, column: Any, wanted: set[Any]) -> dict[Any, list[uuid.UUID]]:
    """Ids of the principal's active products or locations by the value of `column`."""
    found: dict[Any, list[uuid.UUID]] = {}
    for chunk in _chunks(sorted(wanted, key=str)):
        query = sa.select(column, model.id).where(column.in_(chunk), policy.visible(principal, model), model.active.is_(True))  # type: ignore[attr-defined]
        for value, object_id in session.execute(query):
            found.setdefault(value, []).append(object_id)
    return found


_PRODUCT_KEYS = {"sku": Product.sku, "gtin": Product.gtin, "product_id": Product.id}
_LOCATION_KEYS = {"gln": Location.gln, "location_id": Location.id}
_NOT_YOURS = {Product: "Not an active product of your organization.", Location: "Not an active location of your organization."}


def _resolve(session: Session, principal: Principal, loaded: list[tuple[Outcome, dict[str, Any]]]) -> list[_Valid]:
    """The records whose product and location are the principal's own, active and named
    unambiguously; the others get their field's reason."""
    tables: dict[str, dict[Any, list[uuid.UUID]]] = {}
    for model, keys in ((Product, _PRODUCT_KEYS), (Location, _LOCATION_KEYS)):
        for name, column in keys.items():
            wanted = {data[name] for _, data in loaded if name in data}
            tables[name] = _lookup(session, principal, model, column, wanted) if wanted else {}
    valid = []
    for outcome, data in loaded:
        ids: dict[str, uuid.UUID] = {}
        for model, keys in ((Product, _PRODUCT_KEYS), (Location, _LOCATION_KEYS)):
            name = next(key for key in keys if key in data)
            matches = tables[name].get(data[name], [])
            if len(matches) == 1:
                ids[model.__tablename__] = matches[0]
            elif matches:
                outcome.errors[name] = [
                    f"Several of your active {model.__tablename__} have this {name.upper()}: name it by {'sku' if model is Product else 'location_id'}."
                ]
            else:
                outcome.errors[name] = [_NOT_YOURS[model]]
        if outcome.errors:
            continue
        values = {
            "product_id": ids["products"],
            "location_id": ids["locations"],
            "kind": RecordKind(data["kind"]),
            "occurred_on": data["date"],
            "quantity": data["quantity"].quantize(QUANTITY.step),
        }
        valid.append(_Valid(outcome, values))
    return valid


_CONTENT = ("product_id", "location_id", "kind", "occurred_on", "quantity")


def _existing(session: Session, buyer_id: uuid.UUID, record_ids: set[str]) -> dict[str, Any]:
    """What is stored under these record ids (rows of id, record_id and the content)."""
    columns = [StockRecord.id, StockRecord.record_id, *(getattr(StockRecord, name) for name in _CONTENT)]
    postgresql = db.is_postgresql(session)
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(record_ids)):
        if postgresql:
            # One probe of the unique index per id: `record_id IN (...)` lets the planner scan
            # every record of the buyer and test each against the list, when its statistics
            # still say the table is small (a fresh table, before ANALYZE).
            wanted = sa.func.unnest(sa.literal(chunk, type_=ARRAY(sa.String))).table_valued("record_id").render_derived()
            probe = sa.select(*columns).where(StockRecord.buyer_org_id == buyer_id, StockRecord.record_id == wanted.c.record_id).limit(1).lateral()
            query = sa.select(probe).select_from(wanted).join(probe, sa.true())
        else:
            query = sa.select(*columns).where(StockRecord.buyer_org_id == buyer_id, StockRecord.record_id.in_(chunk))
        found.update((row.record_id, row) for row in session.execute(query))
    return found


def _differences(stored: Any, values: dict[str, Any]) -> list[str]:
    def get(name: str) -> Any:
        return stored[name] if isinstance(stored, dict) else getattr(stored, name)

    return [name for name in _CONTENT if get(name) != values[name]]


_FIELD_NAMES = {"product_id": "product", "location_id": "location", "kind": "kind", "occurred_on": "date", "quantity": "quantity"}


def _compare(outcome: Outcome, stored: Any, values: dict[str, Any], stored_id: uuid.UUID) -> None:
    """An identical record is unchanged; another content under the same record_id is refused."""
    differences = _differences(stored, values)
    if differences:
        named = ", ".join(_FIELD_NAMES[name] for name in differences)
        outcome.status = REJECTED
        outcome.errors = {"record_id": [f"Already shared with another {named}: a record is never overwritten; send a correction under a new record_id."]}
    else:
        outcome.status, outcome.id = UNCHANGED, stored_id


def _store(session: Session, principal: Principal, valid: list[_Valid], source: RecordSource, upload: VmiUpload | None) -> None:
    pending = valid
    for _attempt in range(_ATTEMPTS):
        existing = _existing(session, principal.org.id, {item.outcome.record_id for item in pending if item.outcome.record_id})
        rows: list[dict[str, Any]] = []
        fresh: dict[str, tuple[dict[str, Any], list[_Valid]]] = {}
        for item in pending:
            record_id = item.outcome.record_id
            assert record_id is not None  # the schema required it
            if record_id in existing:
                stored = existing[record_id]
                _compare(item.outcome, stored, item.values, stored.id)
            elif record_id in fresh:  # the same record_id earlier in this batch
                row, _items = fresh[record_id]
                _compare(item.outcome, row, item.values, row["id"])
            else:
                row = {"id": new_id(), "record_id": record_id, **item.values}
                fresh[record_id] = (row, [item])
                item.outcome.status, item.outcome.id = KEPT, row["id"]
                rows.append(row)
        if not rows:
            return
        now = clock.utcnow()
        common = {
            "buyer_org_id": principal.org.id,
            "source": source,
            "upload_id": upload.id if upload else None,
            "created_by": principal.user.id,
            "created_at": now,
        }
        try:
            with session.begin_nested():
                session.execute(sa.insert(StockRecord), [{**row, **common} for row in rows])
            return
        except IntegrityError:
            # A concurrent batch stored some of these record ids first: read them back and decide again.
            pending = [item for item in pending if item.outcome.record_id in fresh]
            for item in pending:
                item.outcome.status, item.outcome.errors, item.outcome.id = REJECTED, {}, None
    raise ValidationFailed({"records": ["Other requests keep sharing the same records at this moment; send the batch again."]})


# -- reading --------------------------------------------------------------------------------------


def records_query(
    principal: Principal,
    *,
    scope: ReadScope = own_records,
    product_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    kind: RecordKind | str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    upload_id: uuid.UUID | None = None,
) -> sa.Select:
    query = sa.select(StockRecord).where(scope(principal))
    for column, value in (
        (StockRecord.product_id, product_id),
        (StockRecord.location_id, location_id),
        (StockRecord.kind, kind),
        (StockRecord.upload_id, upload_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if date_from is not None:
        query = query.where(StockRecord.occurred_on >= date_from)
    if date_to is not None:
        query = query.where(StockRecord.occurred_on <= date_to)
    return query


@dataclass(frozen=True)
class Day:
    day: date
    receipts: Decimal
    consumption: Decimal
    counted: Decimal | None  # the on-hand count of that day, when one was shared
    on_hand: Decimal  # the position at the end of the day


@dataclass(frozen=True)
class Position:
    product_id: uuid.UUID
    location_id: uuid.UUID
    start: date
    end: date
    counted_since: date | None  # the count the position builds on (None: from zero, no count yet)
    days: tuple[Day, ...]
    weeks: tuple[date, ...]  # the Monday of each whole week inside [start, end], oldest first
    weekly_consumption: tuple[Decimal, ...]  # consumption of those weeks: the forecast's history


ZERO = Decimal("0.000")


def series(buyer_org_id: uuid.UUID, product_id: uuid.UUID, location_id: uuid.UUID) -> Any:
    """The records of one product at one location of a buyer (for callers that checked access)."""
    return sa.and_(StockRecord.buyer_org_id == buyer_org_id, StockRecord.product_id == product_id, StockRecord.location_id == location_id)


def first_shared_on(session: Session, where: Any) -> date | None:
    return session.execute(sa.select(sa.func.min(StockRecord.occurred_on)).where(where)).scalar_one_or_none()


def _last_count_through(session: Session, where: Any, day: date) -> date | None:
    return session.execute(
        sa.select(sa.func.max(StockRecord.occurred_on)).where(where, StockRecord.kind == RecordKind.ON_HAND, StockRecord.occurred_on <= day)
    ).scalar_one_or_none()


def daily(session: Session, where: Any, start: date, end: date) -> list[Day]:
    """Each day from `start` to `end` of the records `where` selects (see `position`)."""
    last_count = session.execute(
        sa.select(sa.func.max(StockRecord.occurred_on)).where(where, StockRecord.kind == RecordKind.ON_HAND, StockRecord.occurred_on < start)
    ).scalar_one_or_none()
    query = sa.select(StockRecord.occurred_on, StockRecord.kind, StockRecord.quantity).where(where, StockRecord.occurred_on <= end)
    if last_count is not None:
        query = query.where(StockRecord.occurred_on >= last_count)
    query = query.order_by(StockRecord.occurred_on, StockRecord.created_at, StockRecord.id)
    by_day: dict[date, list[tuple[RecordKind, Decimal]]] = {}
    for occurred_on, kind, quantity in session.execute(query):
        by_day.setdefault(occurred_on, []).append((RecordKind(kind), quantity))
    balance = ZERO
    days: list[Day] = []
    day = min([start, *by_day])
    while day <= end:
        receipts = consumption = ZERO
        counted: Decimal | None = None
        for kind, quantity in by_day.get(day, ()):
            if kind == RecordKind.RECEIPT:
                receipts += quantity
            elif kind == RecordKind.CONSUMPTION:
                consumption += quantity
            else:
                counted = quantity
        balance = counted if counted is not None else balance + receipts - consumption
        if day >= start:
            days.append(Day(day, receipts, consumption, counted, balance))
        day += timedelta(days=1)
    return days


def weekly(days: Sequence[Day], field: str = "consumption") -> list[Decimal]:
    """A daily series summed per 7-day week counted back from its last day, oldest first (a
    first week shorter than seven days keeps what it has)."""
    totals: list[Decimal] = []
    for end in range(len(days), 0, -7):
        totals.append(sum((getattr(d, field) for d in days[max(end - 7, 0) : end]), ZERO))
    return totals[::-1]


def position(
    session: Session,
    principal: Principal,
    product_id: uuid.UUID,
    location_id: uuid.UUID,
    start: date,
    end: date,
    *,
    scope: ReadScope | None = None,
) -> Position:
    """The daily stock position of a product at a location from `start` to `end` (both
    included) and the consumption of each whole week (Monday to Sunday) inside the period.

    An on-hand count is the stock at the end of its day: it replaces the balance (that
    day's receipts and consumption are in it); otherwise a day adds its receipts and takes
    away its consumption. Several counts on one day: the last shared wins. The position
    starts from the last count before `start` (from zero when there is none).

    Without a `scope`, the product and location must be the principal's own (404 otherwise)
    and the records read are its own; a caller reading another organization's records (a
    supplier under an agreement) passes the scope that allows it."""
    if end < start:
        raise ValidationFailed({"end": ["Must not be before the start."]})
    if (end - start).days >= MAX_POSITION_DAYS:
        raise ValidationFailed({"end": [f"A position covers at most {MAX_POSITION_DAYS} days."]})
    if scope is None:
        policy.get_visible(session, Product, product_id, principal)
        policy.get_visible(session, Location, location_id, principal)
        scope = own_records
    where = sa.and_(scope(principal), StockRecord.product_id == product_id, StockRecord.location_id == location_id)
    days = daily(session, where, start, end)
    counted_since = _last_count_through(session, where, end)
    first_monday = start + timedelta(days=-start.weekday() % 7)
    weeks = []
    monday = first_monday
    while monday + timedelta(days=6) <= end:
        weeks.append(monday)
        monday += timedelta(days=7)
    used = {d.day: d.consumption for d in days}
    consumed = tuple(sum((used[monday + timedelta(days=i)] for i in range(7)), ZERO) for monday in weeks)
    return Position(product_id, location_id, start, end, counted_since, tuple(days), tuple(weeks), consumed)
