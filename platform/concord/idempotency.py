"""`Idempotency-Key` on POST: a retry with the same key and body gets the first answer.

The claim, the handler's work and the response are one database transaction (the
request's session joins it; the services' commits only release savepoints in it). So a
request that crashes leaves nothing, not even its claim, and its retry runs the work at
once; a request that committed left its response, and its retry gets that response. A
second request with the same key waits while the first runs, then gets its response. A
5xx undoes the work and the claim, so the client can retry.

Stored responses may hold secrets shown once (a bearer token, a webhook's signing secret,
an invitation's token): they are kept sealed under the master key, bound to their record,
never in plain text. Keys of anonymous callers are scoped by address *and* request, so two
clients behind one proxy that pick the same key do not meet each other's requests.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from concord import clock, db
from concord.errors import Conflict, DomainError, ValidationFailed, problem
from concord.ledger import keys

HEADER = "Idempotency-Key"
log = logging.getLogger(__name__)


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
    database = db.database()
    earlier = g.pop("db_session", None)
    if earlier is not None:  # what finding the caller wrote (a token's last use) stays
        earlier.commit()
        earlier.close()
    for _attempt in range(2):
        unit = database.begin_unit()
        try:
            # On the unit's connection, outside the request session's savepoints: the claim
            # outlives the handler's rollbacks. A request holding the same key makes this
            # wait until it ends; if it committed, the key is taken.
            unit.connection.execute(sa.insert(IdempotencyRecord).values(id=uuid.uuid4(), scope=scope, key=key, request_hash=request_hash, created_at=now))
        except IntegrityError:
            unit.rollback()
        else:
            record_id = unit.connection.execute(
                sa.select(IdempotencyRecord.id).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
            ).scalar_one()
            g.db_session = unit.session(database.sessionmaker)
            g.idempotency = (unit, record_id)
            return None
        with database.sessionmaker() as reader:
            existing = reader.execute(sa.select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)).scalar_one_or_none()
            if existing is None:
                continue
            expired = existing.created_at + timedelta(hours=current_app.config["IDEMPOTENCY_HOURS"]) < now
            # A record without its response was claimed before claims and responses were
            # committed as one: nothing tells whether its work ran, so it is retaken.
            if expired or existing.completed_at is None:
                reader.delete(existing)
                reader.commit()
                continue
            if existing.request_hash != request_hash:
                raise IdempotencyMismatch(f"This {HEADER} was already used for a different request.")
            return _replay(existing)
    raise Conflict(f"A request with this {HEADER} is being processed by another request; retry shortly.")


def _replay(existing: IdempotencyRecord) -> Response:
    body = b""
    if existing.body is not None and existing.body_nonce is not None and existing.body_key_id is not None:
        body = keys.unseal(keys.KeyRing.of(current_app), existing.body_key_id, existing.body_nonce, existing.body, existing.id)
    response = current_app.response_class(body, status=existing.status_code, mimetype=existing.mimetype)
    if existing.location:
        response.headers["Location"] = existing.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _store(response: Response) -> Response:
    """Write the response beside the work and commit both as one; a 5xx undoes both."""
    claimed = g.pop("idempotency", None)
    if claimed is None:
        return response
    unit, record_id = claimed
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()  # whatever the handler left uncommitted is not ours to keep
        session.close()
    if response.status_code >= 500:
        unit.rollback()  # nothing of it happened: the retry runs the work again
        return response
    nonce, sealed, key_id = keys.seal(keys.KeyRing.of(current_app), response.get_data(), record_id)
    try:
        unit.connection.execute(
            sa.update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(
                completed_at=clock.utcnow(),
                status_code=response.status_code,
                mimetype=response.mimetype,
                body=sealed,
                body_nonce=nonce,
                body_key_id=key_id,
                location=response.headers.get("Location"),
            )
        )
        unit.commit()
    except SQLAlchemyError:
        log.exception("the work of an idempotent request could not be committed")
        unit.rollback()
        return problem(503, "Not saved", "The request could not be saved; nothing of it happened. Retry with the same key.")
    return response


def _abandon(_error: BaseException | None) -> None:
    """A request that ended without its response being stored keeps nothing."""
    claimed = g.pop("idempotency", None)
    if claimed is not None:
        claimed[0].rollback()


def register(app: Flask) -> None:
    app.before_request(_claim)
    app.after_request(_store)
    app.teardown_request(_abandon)
