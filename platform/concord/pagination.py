"""Cursor (keyset) pagination: stable under inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from concord.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _encode(values: Sequence[Any]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, uuid.UUID):
            return {"uuid": str(v)}
        return v

    raw = json.dumps([plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _python_type(column: QueryableAttribute[Any]) -> type:
    type_ = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator's underlying type
    try:
        return type_.python_type
    except NotImplementedError:  # SQLAlchemy's answer for types with no single Python type
        return object  # any JSON scalar the decoder let through is acceptable there


def _decode(cursor: str, key_columns: Sequence[QueryableAttribute[Any]]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(key_columns):
            raise ValueError("wrong arity")
        out = []
        for v, column in zip(values, key_columns, strict=True):
            if isinstance(v, dict) and "dt" in v:
                v = datetime.fromisoformat(v["dt"])
                if v.tzinfo is None:
                    raise ValueError("naive datetime")
                v = v.astimezone(UTC)  # OverflowError at the edges of the calendar
            elif isinstance(v, dict) and "uuid" in v:
                v = uuid.UUID(v["uuid"])
            elif isinstance(v, bool) or not isinstance(v, (int, str)):
                raise ValueError("bad value")
            elif isinstance(v, int) and not -(2**63) <= v < 2**63:
                raise ValueError("out of range")
            # A tampered cursor must not reach the database with a value its column cannot hold.
            if not isinstance(v, _python_type(column)):
                raise ValueError("wrong type for its column")
            out.append(v)
        return out
    except (ValueError, TypeError, AttributeError, OverflowError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationFailed({"cursor": ["Not a cursor this API issued."]}) from None


def check_cursor(cursor: str | None, key_columns: Sequence[QueryableAttribute[Any]]) -> None:
    """422 for a cursor this API did not issue, before anything else is looked up (a list
    under an object the caller cannot see answers the same 422 as any other list)."""
    if cursor:
        _decode(cursor, key_columns)


def paginate(
    session: Session,
    query: sa.Select | Sequence[sa.Select],
    key_columns: Sequence[QueryableAttribute[Any]],
    *,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Newest first by `key_columns` (which must end in a unique column).

    `query` may be several disjoint queries whose rows together make the list: each is
    read newest first on its own (so each can walk an index instead of sorting every row
    an OR of them would match), and their first pages are merged."""
    limit = DEFAULT_LIMIT if limit is None else limit
    branches = [query] if isinstance(query, sa.Select) else list(query)
    after = _decode(cursor, key_columns) if cursor else None
    rows: list[Any] = []
    for branch in branches:
        if after is not None:
            branch = branch.where(sa.tuple_(*key_columns) < sa.tuple_(*[sa.literal(v, type_=c.type) for v, c in zip(after, key_columns, strict=True)]))
        rows += session.execute(branch.order_by(*[c.desc() for c in key_columns]).limit(limit + 1)).unique().scalars()
    if len(branches) > 1:
        rows = sorted(rows, key=lambda row: tuple(getattr(row, c.key) for c in key_columns), reverse=True)[: limit + 1]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, _encode([getattr(last, c.key) for c in key_columns])
