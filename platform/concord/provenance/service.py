"""Capturing EPCIS 2.0 documents: all of a document's events or none of them, each kept as
given beside its hash ID and the canonical values a query filters on.

An organization sees the events it captured or recorded, and those other organizations share
with it (provenance.sharing: the parties of their transactions, which an order's physical
steps always are, or every handler of the same lot).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from concord_verify import contexts, identifiers
from concord_verify.event_hash import cbv_web_uri, event_hash_id
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, Actor, record
from concord.db import commit_or_conflict
from concord.errors import Conflict, ValidationFailed
from concord.policy import Principal
from concord.provenance import batches, sharing, validation
from concord.provenance.models import URI_LENGTH, CaptureJob, EpcisEvent, EventBizTransaction, EventIdentifier, EventParty, Sharing

#: Events one capture may hold (the REST binding's GS1-EPCIS-Capture-Limit).
CAPTURE_LIMIT = 1000
ERROR_BEHAVIOUR = "rollback"  # the only one offered: a document is captured whole or not at all
#: Where an event names identifiers: (list field, key of the identifier in an entry or None) -> role.
IDENTIFIER_FIELDS: dict[tuple[str, str | None], str] = {
    ("epcList", None): "epc",
    ("childEPCs", None): "child_epc",
    ("parentID", None): "parent",
    ("inputEPCList", None): "input_epc",
    ("outputEPCList", None): "output_epc",
    ("quantityList", "epcClass"): "class",
    ("childQuantityList", "epcClass"): "child_class",
    ("inputQuantityList", "epcClass"): "input_class",
    ("outputQuantityList", "epcClass"): "output_class",
}


def visibility() -> dict[type, Any]:
    """Who sees capture jobs and events (registered with policy by concord.bootstrap): a
    job, the organization that captured it; an event, that organization and those it shares
    the event with (its own clauses, in provenance.sharing)."""
    return {
        CaptureJob: lambda p: CaptureJob.organization_id == p.org.id,
        EpcisEvent: lambda p: sharing.visible_to(p.org.id),
    }


def events_path(document: dict[str, Any]) -> list[str]:
    """Where a capture document keeps its events."""
    if document.get("type") == "EPCISQueryDocument":
        return ["epcisBody", "queryResults", "resultsBody", "eventList"]
    return ["epcisBody", "eventList"]


def events_in(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: Any = document
    for key in events_path(document):
        found = found.get(key, {}) if isinstance(found, dict) else {}
    return found if isinstance(found, list) else []


def identifier(value: str) -> str:
    """An EPC, class or location as queries compare it: its canonical Digital Link URI when
    it is a GS1 identifier, else as written."""
    return identifiers.canonical(value) or value


def vocabulary(value: str, field: str, parent: str = "") -> str:
    """A CBV value as queries compare it: the web URI of a bare term or an old URN."""
    terms = contexts.vocabulary_of(field, parent) or {}
    return terms.get(value) or cbv_web_uri(value)


def _context_list(document: dict[str, Any]) -> list[Any]:
    context = document.get("@context", [])
    return context if isinstance(context, list) else [context]


class _Mistakes:
    """Messages by JSON pointer, gathered over a whole document before any is raised."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, path: Iterable[Any], message: str) -> None:
        self.found.setdefault(validation.pointer(path), []).append(message)

    def text(self, value: Any, path: list[Any], longest: int = URI_LENGTH) -> str:
        """`value` as text of at most `longest` bytes in UTF-8 (what an index entry holds)."""
        text = str(value)
        if len(text.encode()) > longest:
            self.add(path, f"Longer than the {longest} bytes (UTF-8) this platform indexes.")
            return ""
        return text


def _identifiers(event: dict[str, Any], path: list[Any], mistakes: _Mistakes) -> list[EventIdentifier]:
    found: set[tuple[str, str]] = set()
    for (field, key), role in IDENTIFIER_FIELDS.items():
        values = event.get(field)
        for index, entry in enumerate(values if isinstance(values, list) else [values] if values is not None else []):
            value = entry.get(key) if key and isinstance(entry, dict) else entry
            if isinstance(value, str):
                found.add((role, identifier(mistakes.text(value, [*path, field, index] + ([key] if key else [])))))
    return [EventIdentifier(role=role, value=value) for role, value in sorted(found)]


def _biz_transactions(event: dict[str, Any], path: list[Any], mistakes: _Mistakes) -> list[EventBizTransaction]:
    found: set[tuple[str, str]] = set()
    for index, entry in enumerate(event.get("bizTransactionList") or []):
        if isinstance(entry, dict) and isinstance(entry.get("bizTransaction"), str):
            kind = vocabulary(mistakes.text(entry.get("type", ""), [*path, "bizTransactionList", index, "type"]), "type", "bizTransactionList")
            found.add((kind, identifier(mistakes.text(entry["bizTransaction"], [*path, "bizTransactionList", index, "bizTransaction"]))))
    return [EventBizTransaction(type=kind, value=value) for kind, value in sorted(found)]


def _location(event: dict[str, Any], field: str, path: list[Any], mistakes: _Mistakes) -> str | None:
    place = event.get(field)
    if not isinstance(place, dict) or not isinstance(place.get("id"), str):
        return None
    return identifier(mistakes.text(place["id"], [*path, field, "id"]))


def _moment(value: Any, path: list[Any], mistakes: _Mistakes) -> datetime:
    """A time with its offset, that UTC can hold (the schema checked its form)."""
    try:
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("no offset")
        moment.astimezone(UTC)
        return moment
    except (ValueError, OverflowError):
        mistakes.add(path, "Not a time with a UTC offset that this platform can keep.")
        return clock.utcnow()


def _event_row(event: dict[str, Any], path: list[Any], context: list[Any], job: CaptureJob, mistakes: _Mistakes) -> EpcisEvent:
    hash_id = event_hash_id(event, context)
    stored = dict(event)
    if "eventID" not in stored:  # the REST binding: the server gives an event without one an id
        stored["eventID"] = hash_id
    event_time = _moment(event.get("eventTime"), [*path, "eventTime"], mistakes)
    given_offset = event.get("eventTimeZoneOffset")
    offset = given_offset if isinstance(given_offset, str) else event_time.isoformat()[-6:]
    biz_step, disposition = event.get("bizStep"), event.get("disposition")
    return EpcisEvent(
        id=uuid.uuid4(),
        organization_id=job.organization_id,
        capture_id=job.id,
        event_id=mistakes.text(stored["eventID"], [*path, "eventID"]),
        hash_id=hash_id,
        event_type=mistakes.text(event.get("type"), [*path, "type"], 64),
        event_time=event_time,
        event_time_offset=mistakes.text(offset, [*path, "eventTimeZoneOffset"], 6),
        record_time=job.created_at,
        action=mistakes.text(event["action"], [*path, "action"], 16) if isinstance(event.get("action"), str) else None,
        biz_step=vocabulary(mistakes.text(biz_step, [*path, "bizStep"]), "bizStep") if isinstance(biz_step, str) else None,
        disposition=vocabulary(mistakes.text(disposition, [*path, "disposition"]), "disposition") if isinstance(disposition, str) else None,
        read_point=_location(event, "readPoint", path, mistakes),
        biz_location=_location(event, "bizLocation", path, mistakes),
        document=stored,
        context=context,
        identifiers=_identifiers(event, path, mistakes),
        biz_transactions=_biz_transactions(event, path, mistakes),
    )


_EVENT_COLUMNS = tuple(column.key for column in sa.inspect(EpcisEvent).column_attrs)


def _refuse_duplicates(session: Session, organization_id: uuid.UUID, rows: list[EpcisEvent], paths: list[list[Any]]) -> None:
    """An eventID may name one event of an organization: twice in a document, or once more
    after an earlier capture, is a conflict (and nothing of the document is written)."""
    mistakes = _Mistakes()
    first: dict[str, list[Any]] = {}
    for row, path in zip(rows, paths, strict=True):
        if row.event_id in first:
            mistakes.add([*path, "eventID"], f"The document names this event twice (also at {validation.pointer([*first[row.event_id], 'eventID'])}).")
        else:
            first[row.event_id] = path
    ids = list(first)
    for start in range(0, len(ids), 500):
        taken = session.execute(
            sa.select(EpcisEvent.event_id).where(EpcisEvent.organization_id == organization_id, EpcisEvent.event_id.in_(ids[start : start + 500]))
        ).scalars()
        for event_id in taken:
            mistakes.add([*first[event_id], "eventID"], "Your organization has already captured an event with this eventID.")
    if mistakes.found:
        raise Conflict("Some events of this document have eventIDs already in use; nothing was captured.", errors=mistakes.found)


def store(session: Session, job: CaptureJob, rows: list[EpcisEvent]) -> None:
    """The one path by which events enter the store, captured or recorded by a step: the job
    and its events, checked, written in the caller's transaction (which commits them)."""
    session.add(job)
    store_events(session, job.organization_id, rows)


def _job(organization_id: uuid.UUID, user_id: uuid.UUID, event_count: int) -> CaptureJob:
    now = clock.utcnow()
    return CaptureJob(
        id=uuid.uuid4(),
        organization_id=organization_id,
        created_by=user_id,
        created_at=now,
        finished_at=now,
        running=False,
        success=True,
        error_behaviour=ERROR_BEHAVIOUR,
        event_count=event_count,
        errors=[],
    )


def record_events(
    session: Session,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    events: list[dict[str, Any]],
    *,
    source: str,
    parties: Iterable[uuid.UUID] = (),
) -> list[EpcisEvent]:
    """Store events the platform built for a step an organization took (`source` names the
    step), in the caller's transaction: validated as a capture is (a mistake is raised and
    fails the step), each given its hash ID as eventID, shared with `parties` (else as the
    organization shares its events). An event equal to one the organization already holds
    (same hash ID) is the same observation: kept once."""
    context: list[Any] = [contexts.EPCIS_CONTEXT_URL]
    document = {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": clock.utcnow().isoformat(timespec="milliseconds"),
        "epcisBody": {"eventList": events},
    }
    found = validation.mistakes(document)
    if found:
        raise ValidationFailed(found, "The step's EPCIS events are not valid EPCIS 2.0.")
    job = _job(organization_id, user_id, len(events))
    mistakes = _Mistakes()
    paths = [["epcisBody", "eventList", index] for index in range(len(events))]
    rows = [_event_row(event, path, context, job, mistakes) for event, path in zip(events, paths, strict=True)]
    if mistakes.found:
        raise ValidationFailed(mistakes.found, "The step's EPCIS events hold values longer than this platform keeps.")
    held = set(
        session.execute(
            sa.select(EpcisEvent.event_id).where(EpcisEvent.organization_id == organization_id, EpcisEvent.event_id.in_([r.event_id for r in rows]))
        )
        .scalars()
        .all()
    )
    fresh: dict[str, EpcisEvent] = {}
    for row in rows:
        if row.event_id not in held:
            fresh.setdefault(row.event_id, row)
    others = sorted(set(parties) - {organization_id})
    # A step's event is always shared with the parties of its order; an event of the
    # organization's own work (production, packing) as the organization shares its events.
    level = Sharing.TRANSACTION if others else sharing.default_for(session, organization_id)
    for row in fresh.values():
        row.sharing = level
        row.parties = [EventParty(organization_id=party) for party in others]
    job.event_count = len(fresh)
    store(session, job, list(fresh.values()))
    record(
        session,
        Action.EPCIS_CAPTURED,
        actor=Actor(user_id, organization_id),
        subject_org_id=organization_id,
        object_type="epcis_capture_job",
        object_id=job.id,
        event_count=len(fresh),
        event_types=sorted({row.event_type for row in fresh.values()}),
        source=source,
    )
    return list(fresh.values())


def capture(session: Session, principal: Principal, document: Any, shared: Sharing | None = None) -> CaptureJob:
    """Capture an EPCISDocument (or EPCISQueryDocument) whole: 422 naming every mistake by
    JSON pointer, 409 for an eventID in use, or a finished job with every event stored,
    shared as `shared` says (the organization's default when None)."""
    policy.require_writer(principal)
    events = events_in(document) if isinstance(document, dict) else []
    where = events_path(document) if isinstance(document, dict) else []
    if len(events) > CAPTURE_LIMIT:  # before the schema, which takes a second per thousand events
        raise ValidationFailed({validation.pointer(where): [f"At most {CAPTURE_LIMIT} events per capture; split the document."]})
    found = validation.mistakes(document)
    if found:
        raise ValidationFailed(found, "The document is not a valid EPCIS 2.0 document.")
    job = _job(principal.org.id, principal.user.id, len(events))
    context = _context_list(document)
    mistakes = _Mistakes()
    paths = [[*where, index] for index in range(len(events))]
    rows = [_event_row(event, path, context, job, mistakes) for event, path in zip(events, paths, strict=True)]
    if mistakes.found:
        raise ValidationFailed(mistakes.found, "The document is valid EPCIS, but holds values longer than this platform keeps.")
    _refuse_duplicates(session, principal.org.id, rows, paths)
    level = shared if shared is not None else sharing.default_for(session, principal.org.id)
    sharing.share(session, rows, level)
    store(session, job, rows)
    record(
        session,
        Action.EPCIS_CAPTURED,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="epcis_capture_job",
        object_id=job.id,
        event_count=len(rows),
        event_types=sorted({row.event_type for row in rows}),
        sharing=str(level),
    )
    commit_or_conflict(session, "Another capture has just stored an event with one of these eventIDs; nothing was captured.")
    return job


def store_events(session: Session, organization_id: uuid.UUID, rows: list[EpcisEvent]) -> None:
    """Write an organization's new events (built by `_event_row`, not added to the session),
    signed when the ledger is deployed (else the batching job signs them before it batches
    them). Written as bulk INSERTs (events, identifiers, transactions, parties), not through the unit of work, which took a third
    of a capture's time; the rows stay detached."""
    batches.sign_events(session, organization_id, rows)
    session.flush()  # what the caller added before: the capture job the events point to
    events: list[dict[str, Any]] = []
    identifiers: list[dict[str, Any]] = []
    transactions: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []
    for row in rows:
        events.append({name: getattr(row, name) for name in _EVENT_COLUMNS})
        identifiers.extend({"event_pk": row.id, "role": found.role, "value": found.value} for found in row.identifiers)
        transactions.extend({"event_pk": row.id, "type": found.type, "value": found.value} for found in row.biz_transactions)
        parties.extend({"event_pk": row.id, "organization_id": party.organization_id} for party in row.__dict__.get("parties", ()))
    for model, values in ((EpcisEvent, events), (EventIdentifier, identifiers), (EventBizTransaction, transactions), (EventParty, parties)):
        if values:
            session.execute(sa.insert(model), values)


def get_event(session: Session, principal: Principal, event_id: str) -> EpcisEvent:
    """An event the principal sees, by eventID: its own organization's when another
    organization shares an event of the same eventID too (an eventID is unique only per
    organization), else the one shared with it first."""
    # Its own first, by the (organization, eventID) index: the sharing rules need not run.
    own = session.execute(sa.select(EpcisEvent).where(EpcisEvent.organization_id == principal.org.id, EpcisEvent.event_id == event_id)).scalar_one_or_none()
    if own is not None:
        return own
    found = session.execute(
        sa.select(EpcisEvent)
        .where(EpcisEvent.event_id == event_id, policy.visible(principal, EpcisEvent))
        .order_by(sa.case((EpcisEvent.organization_id == principal.org.id, 0), else_=1), EpcisEvent.record_time, EpcisEvent.id)
        .limit(1)
    ).scalar_one_or_none()
    return found if found is not None else policy.get_visible(session, EpcisEvent, event_id, principal)


def jobs_query(principal: Principal) -> sa.Select:
    return sa.select(CaptureJob).where(policy.visible(principal, CaptureJob))


def get_job(session: Session, principal: Principal, capture_id: uuid.UUID) -> CaptureJob:
    return policy.get_visible(session, CaptureJob, capture_id, principal)
