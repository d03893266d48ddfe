"""CSV uploads of stock records (the portal's, and the API's multipart POST).

The file as a whole is checked first, and refused whole with a clear reason when it cannot
be read: over the size limit (413), empty, not UTF-8 (the line and byte where decoding
failed), no header row or a header naming unknown or missing columns, more rows than the
limit. Nothing of a refused file is kept.

A readable file is stored (concord.files: content-addressed, in the database) with its
upload, and its rows are shared `CHUNK_ROWS` at a time, each chunk one transaction that
also advances the upload's counters (`rows_read`, kept, unchanged, rejected) and its
report of bad rows (line number, record_id, reasons by field). A file of at most one chunk
is read in the request; a longer one by the worker's round job (`process_due`), which reads
it on whether anyone watches and, after a crash, resumes from `rows_read`: a chunk and its
counters commit together, and records are idempotent, so nothing is counted or stored
twice. Two workers on one upload meet on the counter update (it names the `rows_read` it
started from): the loser rolls its chunk back and leaves the upload to the other.

Columns (header names, any order, case and surrounding spaces ignored): record_id, kind,
date, quantity, the product by sku, gtin or product_id, the location by gln or location_id.
Comma- or semicolon-separated (the header row tells which); UTF-8 with or without a BOM.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from concord import clock, files, policy
from concord.audit.models import Actor
from concord.audit.service import Action, record
from concord.db import database
from concord.errors import DomainError, Forbidden, ValidationFailed
from concord.policy import Principal
from concord.tenancy.models import Organization, User
from concord.vmi import stock
from concord.vmi.models import RecordSource, UploadState, VmiUpload

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("record_id", "kind", "date", "quantity")
PRODUCT_COLUMNS = ("sku", "gtin", "product_id")
LOCATION_COLUMNS = ("gln", "location_id")
KNOWN_COLUMNS = frozenset((*REQUIRED_COLUMNS, *PRODUCT_COLUMNS, *LOCATION_COLUMNS))
CHUNK_ROWS = 1000
"""Rows per transaction (and the most a request reads itself; longer files go to the worker)."""
REPORT_LIMIT = 5000
"""Bad rows the report lists (the count of rejected rows goes on beyond it)."""
ROUND_CHUNKS = 50
"""Chunks one round of the worker reads of one upload before it lets the other jobs run."""
REFUSED = "The file was refused: nothing of it was kept."


class FileTooLarge(DomainError):
    status = 413
    title = "Payload too large"


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed({"file": [message]}, detail=REFUSED)


# -- reading the file ---------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text (UTF-8, a BOM dropped), or a refusal naming where decoding failed."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise _refuse(
            f"Not UTF-8 text: line {line}, byte {column} (0x{data[error.start]:02X}) cannot be read. "
            "Save the file as \u201cCSV UTF-8\u201d and upload it again."
        ) from None


def _dialect(text: str) -> str:
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


def header_of(text: str) -> list[str]:
    """The header's column names, or a refusal naming the unknown, repeated or missing ones."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise _refuse(f"Line 1 is not a CSV row: {error}.") from None
    names = [cell.strip().lower() for cell in header or []]
    if not any(names):
        raise _refuse(f"The first line must be a header row naming the columns: {', '.join(REQUIRED_COLUMNS)}, sku (or gtin) and gln.")
    problems = []
    unknown = [name for name in names if name not in KNOWN_COLUMNS]
    if unknown:
        problems.append(f"Unknown columns: {', '.join(repr(name) for name in unknown)}.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"Columns named twice: {', '.join(repeated)}.")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    missing += [" or ".join(group) for group in (PRODUCT_COLUMNS, LOCATION_COLUMNS) if not set(group) & set(names)]
    if missing:
        problems.append(f"Missing columns: {', '.join(missing)}.")
    if problems:
        allowed = ", ".join(sorted(KNOWN_COLUMNS))
        raise ValidationFailed({"file": [*problems, f"The columns are: {allowed}."]}, detail=REFUSED)
    return names


Row = tuple[int, dict[str, str] | None, str | None]  # (line, cells by column or None when malformed, why malformed)


def rows_of(text: str) -> Iterator[Row]:
    """The data rows under the header, with the line each starts on; blank lines skipped."""
    header = header_of(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text))
    next(reader)
    previous = reader.line_num
    try:
        for cells in reader:
            line, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                record_id = cells[header.index("record_id")].strip() if len(cells) > header.index("record_id") else None
                yield line, {"record_id": record_id} if record_id else None, f"{len(cells)} cells where the header has {len(header)} columns."
                continue
            yield line, {name: cell.strip() for name, cell in zip(header, cells, strict=True) if cell.strip()}, None
    except csv.Error as error:
        raise _refuse(f"Line {reader.line_num + 1} is not a CSV row: {error}.") from None


def check_file(data: bytes, max_bytes: int, max_rows: int) -> tuple[str, int]:
    """(text, number of data rows) of a file that can be read, or its refusal."""
    if len(data) > max_bytes:
        raise FileTooLarge(f"The file is larger than {max_bytes / (1024 * 1024):g} MiB: split it and upload the parts.", errors={"file": ["Too large."]})
    if not data.strip():
        raise _refuse("The file is empty.")
    text = decode(data)
    count = 0
    for _ in rows_of(text):
        count += 1
        if count > max_rows:
            raise _refuse(f"More than {max_rows:,} rows: split the file and upload the parts.")
    if not count:
        raise _refuse("The file has a header row but no rows under it.")
    return text, count


# -- uploads ------------------------------------------------------------------------------------


def start(session: Session, principal: Principal, filename: str | None, data: bytes, *, max_bytes: int, max_rows: int) -> VmiUpload:
    """Check and store an uploaded file; a file of one chunk is read at once, a longer one
    is left RUNNING for the worker."""
    stock.require_sharer(principal)
    text, count = check_file(data, max_bytes, max_rows)
    name = files.clean_name(filename)
    stored = files.store(session, files.Upload(name, data, "text/csv"))
    upload = VmiUpload(
        id=uuid.uuid4(),
        buyer_org_id=principal.org.id,
        filename=name,
        size_bytes=len(data),
        state=UploadState.RUNNING,
        file_sha256=stored.sha256,
        rows_total=count,
        rows_read=0,
        rows_kept=0,
        rows_unchanged=0,
        rows_rejected=0,
        report=[],
        created_by=principal.user.id,
        created_at=clock.utcnow(),
    )
    session.add(upload)
    session.flush()
    record(
        session,
        Action.VMI_UPLOAD_STARTED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="vmi_upload",
        object_id=upload.id,
        filename=name,
        rows=count,
        bytes=len(data),
    )
    if count <= CHUNK_ROWS:
        _read(session, upload, principal, text, max_chunks=None, commit=False)
    session.commit()
    return upload


def _uploader(session: Session, upload: VmiUpload) -> tuple[Principal | None, str | None]:
    """The uploader as a principal, or why they may no longer share stock data."""
    user, org = session.get(User, upload.created_by), session.get(Organization, upload.buyer_org_id)
    assert user is not None and org is not None  # foreign keys
    reason = policy.refusal_reason(user, org)
    principal = Principal(user=user, org=org, via="job", credential_id=user.id)
    if reason is None:
        try:
            stock.require_sharer(principal)
        except Forbidden as refused:
            reason = refused.detail
    return (None, reason) if reason else (principal, None)


def process(session: Session, upload_id: uuid.UUID, *, max_chunks: int | None = None) -> bool:
    """Read up to `max_chunks` more chunks of a RUNNING upload (all of them for None), each
    committed with the upload's counters; True once it is no longer running."""
    upload = session.execute(sa.select(VmiUpload).where(VmiUpload.id == upload_id).execution_options(populate_existing=True)).scalar_one()
    if upload.state != UploadState.RUNNING:
        return True
    principal, reason = _uploader(session, upload)
    if principal is None:
        _finish(session, upload, UploadState.FAILED, f"Stopped after {upload.rows_read:,} rows (kept as reported): {reason}")
        session.commit()
        return True
    assert upload.file_sha256 is not None  # every upload the API or the portal starts keeps its file
    text = decode(files.content_of(session, upload.file_sha256))
    return _read(session, upload, principal, text, max_chunks=max_chunks, commit=True)


def _read(session: Session, upload: VmiUpload, principal: Principal, text: str, *, max_chunks: int | None, commit: bool) -> bool:
    rows = rows_of(text)
    for _ in range(upload.rows_read):  # read before a crash or in an earlier round
        next(rows, None)
    chunks = 0
    while max_chunks is None or chunks < max_chunks:
        chunk = [row for _, row in zip(range(CHUNK_ROWS), rows, strict=False)]
        if not chunk:
            _finish(session, upload, UploadState.DONE, None)
            if commit:
                session.commit()
            return True
        if not _read_chunk(session, upload, principal, chunk):
            session.rollback()
            return False  # another worker read this chunk first
        if commit:
            session.commit()
        chunks += 1
    return False


def _read_chunk(session: Session, upload: VmiUpload, principal: Principal, chunk: list[Row]) -> bool:
    result = stock.share_rows(session, principal, [(line, cells) for line, cells, malformed in chunk if malformed is None], RecordSource.CSV, upload)
    outcomes = {outcome.index: outcome for outcome in result.outcomes}
    report = list(upload.report)
    counts = {stock.KEPT: 0, stock.UNCHANGED: 0, stock.REJECTED: 0}
    for line, cells, malformed in chunk:
        if malformed is not None:
            entry_errors, record_id, status = {"_row": [malformed]}, (cells or {}).get("record_id"), stock.REJECTED
        else:
            outcome = outcomes[line]
            entry_errors, record_id, status = outcome.errors, outcome.record_id, outcome.status
        counts[status] += 1
        if status == stock.REJECTED and len(report) < REPORT_LIMIT:
            report.append({"row": line, "record_id": record_id, "errors": entry_errors})
    moved = session.execute(
        sa.update(VmiUpload)
        .where(VmiUpload.id == upload.id, VmiUpload.rows_read == upload.rows_read, VmiUpload.state == UploadState.RUNNING)
        .values(
            rows_read=VmiUpload.rows_read + len(chunk),
            rows_kept=VmiUpload.rows_kept + counts[stock.KEPT],
            rows_unchanged=VmiUpload.rows_unchanged + counts[stock.UNCHANGED],
            rows_rejected=VmiUpload.rows_rejected + counts[stock.REJECTED],
            report=report,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(upload)
    return True


def _finish(session: Session, upload: VmiUpload, state: UploadState, error: str | None) -> None:
    upload.state, upload.error, upload.finished_at = state, error, clock.utcnow()
    action = Action.VMI_UPLOAD_FINISHED if state == UploadState.DONE else Action.VMI_UPLOAD_FAILED
    record(
        session,
        action,
        actor=Actor(upload.created_by, upload.buyer_org_id),
        subject_org_id=upload.buyer_org_id,
        object_type="vmi_upload",
        object_id=upload.id,
        error=error,
        rows=upload.rows_read,
        kept=upload.rows_kept,
        unchanged=upload.rows_unchanged,
        rejected=upload.rows_rejected,
    )


def process_due(app: Flask, *, max_chunks: int = ROUND_CHUNKS, limit: int = 10) -> int:
    """The worker's round job: read on the running uploads, oldest first. Returns how many
    it finished."""
    finished = 0
    with database(app).sessionmaker() as session:
        due = session.execute(sa.select(VmiUpload.id).where(VmiUpload.state == UploadState.RUNNING).order_by(VmiUpload.created_at).limit(limit)).scalars().all()
        session.rollback()
        for upload_id in due:
            try:
                finished += process(session, upload_id, max_chunks=max_chunks)
            except Exception:  # one upload's trouble must not hold up the others
                session.rollback()
                log.exception("reading VMI upload %s failed; the next round resumes it", upload_id)
    return finished


def uploads_query(principal: Principal, *, state: UploadState | str | None = None) -> sa.Select:
    query = sa.select(VmiUpload).where(policy.visible(principal, VmiUpload))
    if state is not None:
        query = query.where(VmiUpload.state == state)
    return query


def get(session: Session, principal: Principal, upload_id: uuid.UUID) -> VmiUpload:
    return policy.get_visible(session, VmiUpload, upload_id, principal)


def progress(upload: VmiUpload) -> int:
    """Percent of the rows read (100 once done)."""
    if upload.state != UploadState.RUNNING:
        return 100
    return int(100 * upload.rows_read / upload.rows_total) if upload.rows_total else 0
