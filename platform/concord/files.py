"""Files people upload (a dispute's evidence), stored content-addressed: one row per distinct
content, keyed by its SHA-256, in the database, so that a file is written in the same
transaction as what refers to it and nothing is left half-written.

What is accepted is decided from the content, never from the name or the type a client
declares: PDF, PNG, JPEG, or plain UTF-8 text, up to `EVIDENCE_MAX_BYTES`."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import filetype
import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.datastructures import FileStorage

from concord import clock
from concord.db import Base

#: Media types accepted, as the content shows them, with what people call them.
ACCEPTED_TYPES = {"application/pdf": "PDF", "image/png": "PNG image", "image/jpeg": "JPEG image", "text/plain": "plain text"}
ACCEPTED_TEXT = "PDF, PNG, JPEG or plain text (UTF-8)"
NAME_MAX = 200
#: Room for the form fields and multipart framing around the largest file.
FORM_ALLOWANCE = 256 * 1024


class StoredFile(Base):
    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    media_type: Mapped[str] = mapped_column(sa.String(100))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.utcnow())


@dataclass(frozen=True)
class Upload:
    """A file as read from a request, before it is stored."""

    name: str
    data: bytes
    media_type: str | None  # None: not one of ACCEPTED_TYPES

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def media_type_of(data: bytes) -> str | None:
    """The accepted media type the content is, or None."""
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime if kind.mime in ACCEPTED_TYPES else None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    hidden = any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r\f" for c in text)
    return None if hidden else "text/plain"


def clean_name(raw: str | None) -> str:
    """A file name safe to show and to send back: the last path segment, without control or
    bidirectional-override characters, at most NAME_MAX characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn")).strip(" .")
    if len(name) > NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: NAME_MAX - len(extension) - 1] + dot + extension) if dot and len(extension) <= 10 else name[:NAME_MAX]
    return name or "evidence"


def read_upload(storage: FileStorage | None, limit: int) -> tuple[Upload | None, list[str]]:
    """(upload, messages): the file of a form field, or what is wrong with it. Reads at most
    one byte more than `limit`."""
    if storage is None or (not storage.filename and not storage.content_length):
        return None, []
    data = storage.stream.read(limit + 1)
    if not data:
        return None, ["The file is empty."]
    if len(data) > limit:
        return None, [f"At most {limit // (1024 * 1024)} MiB per file."]
    media_type = media_type_of(data)
    if media_type is None:
        return None, [f"Not a file type accepted here: {ACCEPTED_TEXT}."]
    return Upload(clean_name(storage.filename), data, media_type), []


def store(session: Session, upload: Upload) -> StoredFile:
    """The stored file with the upload's content, written once whoever uploads it again."""
    digest = upload.sha256
    found = session.get(StoredFile, digest)
    if found is not None:
        return found
    stored = StoredFile(sha256=digest, size=len(upload.data), media_type=upload.media_type, content=upload.data)
    try:
        with session.begin_nested():
            session.add(stored)
    except IntegrityError:  # the same content, stored by a concurrent request just now
        return session.get_one(StoredFile, digest)
    return stored


def content_of(session: Session, sha256: str) -> bytes:
    return session.execute(sa.select(StoredFile.content).where(StoredFile.sha256 == sha256)).scalar_one()


def download(session: Session, stored: StoredFile, name: str) -> Response:
    """The file as an attachment (never shown inline by the browser), with its digest."""
    response = current_app.response_class(content_of(session, stored.sha256), mimetype=stored.media_type)
    response.headers.set("Content-Disposition", "attachment", filename=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.set_etag(stored.sha256)
    return response


def register(app: Flask, upload_endpoints: frozenset[str]) -> None:
    """Requests to the endpoints that take files may carry one up to the limit; every other
    request keeps MAX_CONTENT_LENGTH."""

    @app.before_request
    def _allow_uploads() -> None:
        if request.endpoint in upload_endpoints:
            request.max_content_length = current_app.config["EVIDENCE_MAX_BYTES"] + FORM_ALLOWANCE
