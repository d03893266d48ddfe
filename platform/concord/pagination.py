"""Cursor (keyset) pagination: stable under inserts, no OFFSET scans."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

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


def _decode(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError("wrong arity")
        out = []
        for v in values:
            if isinstance(v, dict) and "dt" in v:
                out.append(datetime.fromisoformat(v["dt"]))
            elif isinstance(v, dict) and "uuid" in v:
                out.append(uuid.UUID(v["uuid"]))
            elif isinstance(v, (int, str)) and not isinstance(v, bool):
                out.append(v)
            else:
                raise ValueError("bad value")
        return out
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationFailed({"cursor": ["Not a cursor this API issued."]}) from None


def paginate(
    session: Session,
    query: sa.Select,
    key_columns: Sequence[sa.ColumnElement],
    *,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Newest first by `key_columns` (which must end in a unique column)."""
    limit = DEFAULT_LIMIT if limit is None else limit
    if cursor:
        after = _decode(cursor, len(key_columns))
        query = query.where(sa.tuple_(*key_columns) < sa.tuple_(*[sa.literal(v, type_=c.type) for v, c in zip(after, key_columns)]))
    rows = list(session.execute(query.order_by(*[c.desc() for c in key_columns]).limit(limit + 1)).unique().scalars())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, _encode([getattr(last, c.key) for c in key_columns])
