"""Helpers the portal views share: form validation through the API's own schemas, and
turning domain errors into messages on the page instead of error pages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import flash, g, request

from concord import db
from concord.errors import DomainError, NotFound
from concord.orders.service import orders_of
from concord.policy import Principal
from concord.tenancy.service import legal_names


def principal() -> Principal:
    return g.principal


def form_data(*fields: str, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The named form fields; empty optional fields are left out so schema defaults apply."""
    data: dict[str, Any] = {}
    for name in fields:
        value = request.form.get(name, "")
        if value != "":
            data[name] = value
    for name in lists:
        data[name] = request.form.getlist(name)
    return data


def load(
    schema: ma.Schema,
    data: dict[str, Any],
    *,
    also: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(loaded, {}) or (None, field errors).

    Every mistake in one pass: when the form has mistakes (the schema's, or the `errors` its
    view found first), `also` — the service's own checks, given what the schema could read
    (`partial=True` of `shipment_mistakes` and the like) — adds those it finds on the fields
    still without a message; otherwise the service runs them itself."""
    found = dict(errors or {})
    readable: Any
    try:
        loaded: dict[str, Any] | None = schema.load(data)
        readable = loaded
    except ma.ValidationError as error:
        loaded, readable = None, error.valid_data
        found.update(flatten(error.messages))
    if found and also is not None and isinstance(readable, dict):
        for key, messages in flatten(also(readable)).items():
            found.setdefault(key, messages)
    return (None, found) if found else (loaded, {})


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            out.update(flatten(value, f"{prefix}{key}." if isinstance(value, dict) else f"{prefix}{key}"))
    elif isinstance(messages, list):
        out[prefix.rstrip(".") or "_form"] = [str(m) for m in messages]
    else:
        out[prefix.rstrip(".") or "_form"] = [str(messages)]
    return out


def attempt(action, *args, **kwargs) -> tuple[Any, dict[str, list[str]]]:
    """Run a service call; a refused action becomes flashed/field messages, a 404 stays a 404."""
    result, errors, _status = attempt_with_status(action, *args, **kwargs)
    return result, errors


def attempt_with_status(action, *args, **kwargs) -> tuple[Any, dict[str, list[str]], int]:
    """`attempt`, with the HTTP status the refusal deserves (200 when the call succeeded):
    the page that shows the form again answers 422, 409 or 403 like the API would."""
    try:
        return action(*args, **kwargs), {}, 200
    except NotFound:
        raise
    except DomainError as error:
        # Nothing the refused call changed may show on the page rendered next, nor be written.
        db.session().rollback()
        flash(error.detail, "error")
        return None, flatten(error.errors or {}), error.status


#: The UTC offsets a time field of the portal offers beside its datetime-local input
#: (whole hours, and the half and three-quarter hours some countries keep).
UTC_OFFSETS = tuple(
    f"{sign}{hours:02d}:{minutes:02d}"
    for sign, hours, minutes in sorted(
        {("-", h, 0) for h in range(1, 13)}
        | {("+", h, 0) for h in range(0, 15)}
        | {
            ("-", 9, 30),
            ("-", 3, 30),
            ("+", 3, 30),
            ("+", 4, 30),
            ("+", 5, 30),
            ("+", 5, 45),
            ("+", 6, 30),
            ("+", 8, 45),
            ("+", 9, 30),
            ("+", 10, 30),
            ("+", 12, 45),
        },
        key=lambda o: (-1 if o[0] == "-" else 1) * (o[1] * 60 + o[2]),
    )
)
_LOCAL_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")


def form_moment(name: str) -> tuple[str | None, dict[str, list[str]]]:
    """A point in time from the datetime-local field `name`, read in the UTC offset chosen
    in `{name}_offset` (UTC when there is none); a value carrying its own offset is taken as
    it is. Returns (an ISO 8601 string for the schema, or None when blank; offset errors)."""
    value = request.form.get(name, "").strip()
    if not value:
        return None, {}
    if not _LOCAL_MOMENT.match(value):
        return value, {}  # an offset of its own, or no time at all: the schema says which
    offset = request.form.get(f"{name}_offset", "").strip() or "+00:00"
    if offset not in UTC_OFFSETS:
        return None, {f"{name}_offset": ["Choose a UTC offset from the list."]}
    return value.replace(" ", "T") + offset, {}


_MAX_ROWS = 200


def form_rows(prefix: str, fields: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The filled rows of a repeated form group named `{prefix}-{row}-{field}`, as
    (row, values) in row order; a row whose fields are all blank is left out."""
    found: dict[int, dict[str, str]] = {}
    for name in request.form:
        head, _, rest = name.partition("-")
        row, _, field = rest.partition("-")
        if head != prefix or field not in fields or not row.isdigit() or int(row) >= _MAX_ROWS:
            continue
        value = request.form.get(name, "").strip()
        if value:
            found.setdefault(int(row), {})[field] = value
    return sorted(found.items())


def row_count(field: str, default: int, most: int) -> int:
    """How many rows a repeated form group showed (its hidden `field`), within 1..`most`."""
    try:
        count = int(request.form.get(field, default))
    except ValueError:
        count = default
    return max(1, min(count, most))


def row_errors(errors: dict[str, list[str]], prefix: str, rows: list[int]) -> dict[str, list[str]]:
    """Field errors of a list the schema or service numbered 0..n, renumbered to the form's
    rows (`lines.1.quantity` of the second filled row becomes `lines.4.quantity`)."""
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        head, _, rest = key.partition(".")
        index, _, field = rest.partition(".")
        if head == prefix and index.isdigit() and int(index) < len(rows):
            key = f"{prefix}.{rows[int(index)]}" + (f".{field}" if field else "")
        out[key] = messages
    return out


# -- numbers as people read them (exact: nothing is rounded away) --------------------------


def plain(value: Decimal | str | None) -> str:
    """A quantity or price without trailing zeros, as a form field shows it ("12.5");
    also for the decimal strings of snapshots and proposals."""
    return "" if value is None else format(Decimal(value).normalize(), "f")


def money_text(value: Decimal | str | None) -> str:
    """An amount with thousands separators and at least two decimals ("1,308.62")."""
    if value is None:
        return ""
    value = Decimal(value)
    exponent = value.normalize().as_tuple().exponent  # "n", "N" or "F" unless the value is finite
    places = max(2, -exponent) if value and isinstance(exponent, int) else 2
    return f"{value:,.{places}f}"


def partner_arg() -> uuid.UUID | None:
    """The `partner` filter of a list page (None when absent or malformed)."""
    try:
        return uuid.UUID(request.args["partner"]) if request.args.get("partner") else None
    except ValueError:
        return None


def counterparties(columns: list, visible: Any) -> list[tuple[uuid.UUID, str]]:
    """The other organizations on the rows the viewer may see, by name (the partner filter)."""
    me = principal()
    session = db.session()
    ids = {org_id for row in session.execute(sa.select(*columns).where(visible).distinct()) for org_id in row if org_id and org_id != me.org.id}
    names = legal_names(session, ids)
    return sorted(((org_id, names[org_id]) for org_id in ids), key=lambda pair: pair[1])


def orders_by_id(order_ids) -> dict[uuid.UUID, Any]:
    """The orders behind shipments or disputes the viewer may see: what those show of them
    (number, ship-to address, amount), also to a carrier that cannot open the order itself."""
    return orders_of(db.session(), order_ids)


_PLURALS = {"box": "boxes"}


def measure(value: Decimal | str | None, unit_code: str | None) -> str:
    """A quantity with its unit in words ("120 pieces", "1 pallet", "12.5 kilograms")."""
    from concord.catalog.schemas import UNITS_OF_MEASURE

    number = plain(value)
    name = UNITS_OF_MEASURE.get(unit_code or "")
    if not number or name is None:
        return f"{number} {unit_code}".strip() if unit_code else number
    if Decimal(number) != 1:
        name = _PLURALS.get(name, name + "s")
    return f"{number} {name}"


def label(code: object) -> str:
    """A state or kind as a word people read ("in_transit" is "in transit")."""
    return str(code).replace("_", " ")
