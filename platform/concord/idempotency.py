"""`Idempotency-Key` on POST: a retry with the same key and body gets the first answer.

The key is claimed in its own transaction before the handler runs, so two concurrent
requests with one key cannot both act; the response is stored after it. A 5xx releases
the key so the client can retry.

Stored responses may hold secrets shown once (a bearer token, a webhook's signing secret,
an invitation's token): they are kept sealed under the master key, bound to their record,
never in plain text. Keys of anonymous callers are scoped by address *and* request, so two
clients behind one proxy that pick the same key do not meet each other's requests.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from concord import clock, db
from concord.errors import Conflict, DomainError, ValidationFailed
from concord.ledger import keys

HEADER = "Idempotency-Key"
# A claim older than this whose request never finished (a crashed worker) may be retaken.
_ABANDONED_AFTER = timedelta(minutes=5)


class IdempotencyRecord(db.IdMixin, db.Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("scope", "key", name="uq_idempotency_records_scope_key"),)

    scope: Mapped[str] = mapped_column(sa.String(80))
    key: Mapped[str] = mapped_column(sa.String(255))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    status_code: Mapped[int | None]
    mimetype: Mapped[str | None] = mapped_column(sa.String(100))
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # sealed (concord.ledger.keys)
    body_nonce: Mapped[bytes | None] = mapped_column(sa.LargeBinary(12))
    body_key_id: Mapped[str | None] = mapped_column(sa.String(16))
    location: Mapped[str | None] = mapped_column(sa.String(500))

    __sealed__ = ("body_nonce", "body", "body_key_id", "id")


class IdempotencyMismatch(DomainError):
    status = 422
    title = "Idempotency key reused"


def _scope(request_hash: str) -> str:
    principal = g.get("principal")
    if principal:
        return f"user:{principal.user.id}"
    return "anonymous:" + hashlib.sha256(f"{request.remote_addr}\n{request_hash}".encode()).hexdigest()[:64]


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _claim() -> Response | None:
    if request.method != "POST" or not request.path.startswith("/api/v1/"):
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationFailed({HEADER: ["Must be 1 to 255 printable characters."]})
    request_hash, now = _request_hash(), clock.utcnow()
    scope = _scope(request_hash)
    session = db.session()
    session.commit()  # the claim must not ride on whatever the request read before
    for _attempt in range(2):
        record = IdempotencyRecord(id=uuid.uuid4(), scope=scope, key=key, request_hash=request_hash, created_at=now)
        session.add(record)
        try:
            session.commit()
            g.idempotency_record_id = record.id
            return None
        except IntegrityError:
            session.rollback()
        existing = session.execute(sa.select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)).scalar_one_or_none()
        if existing is None:
            continue
        expired = existing.created_at + timedelta(hours=current_app.config["IDEMPOTENCY_HOURS"]) < now
        abandoned = existing.completed_at is None and existing.created_at + _ABANDONED_AFTER < now
        if expired or abandoned:
            session.delete(existing)
            session.commit()
            continue
        session.rollback()
        if existing.request_hash != request_hash:
            raise IdempotencyMismatch(f"This {HEADER} was already used for a different request.")
        if existing.completed_at is None:
            raise Conflict(f"A request with this {HEADER} is still being processed; retry shortly.")
        body = b""
        if existing.body is not None and existing.body_nonce is not None and existing.body_key_id is not None:
            body = keys.unseal(keys.KeyRing.of(current_app), existing.body_key_id, existing.body_nonce, existing.body, existing.id)
        response = current_app.response_class(body, status=existing.status_code, mimetype=existing.mimetype)
        if existing.location:
            response.headers["Location"] = existing.location
        response.headers["Idempotent-Replayed"] = "true"
        return response
    raise Conflict(f"A request with this {HEADER} is still being processed; retry shortly.")


def _store(response: Response) -> Response:
    record_id = g.pop("idempotency_record_id", None)
    if record_id is None:
        return response
    session = db.session()
    session.rollback()  # whatever the handler left uncommitted is not ours to keep
    record = session.get(IdempotencyRecord, record_id)
    if record is not None:
        if response.status_code >= 500:
            session.delete(record)
        else:
            record.completed_at = clock.utcnow()
            record.status_code = response.status_code
            record.mimetype = response.mimetype
            record.body_nonce, record.body, record.body_key_id = keys.seal(keys.KeyRing.of(current_app), response.get_data(), record.id)
            record.location = response.headers.get("Location")
    session.commit()
    return response


def register(app: Flask) -> None:
    app.before_request(_claim)
    app.after_request(_store)
