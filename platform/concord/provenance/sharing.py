"""How an organization's EPCIS events are shared inside the consortium: its own choice.

- private: the capturing organization only (what every event was before sharing);
- transaction: also the parties (buyer, supplier, carrier) of the orders and shipments the
  event's business transactions name, found when it is captured (`EventParty` rows), among
  those the capturing organization is itself a party to;
- lot: also every organization that handles one of the same EPCs or EPC classes (lots as
  LGTIN or Digital Link URIs): captured an event naming it, or handles what was made of it
  (through transformations, all the way down), so the handlers of a lot see its history.

An organization keeps a default (`SharingDefault`, set by its admins, audited); a capture
may choose another level for its events (`?sharing=` on POST /epcis/capture). The rules are
SQL conditions (`clauses`) that `provenance.service.visibility` adds to the owner's own rule.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock, policy
from concord.audit.service import Action, record
from concord.orders.models import OrderState, PurchaseOrder, Shipment
from concord.policy import Principal
from concord.provenance.models import EpcisEvent, EventIdentifier, EventParty, Sharing, SharingDefault

INPUT_ROLES = ("input_epc", "input_class")
OUTPUT_ROLES = ("output_epc", "output_class")


@functools.lru_cache(maxsize=1024)  # one construct per organization: a statement that names it twice names one CTE
def handled(organization_id: uuid.UUID) -> Any:
    """The EPCs and EPC classes an organization handles: those its own events name, and,
    through every transformation it may follow (its own, or one shared with the lot's
    handlers), the inputs of what it handles, all the way up. The holder of a lot of brackets
    handles the coil they were made from: a recall runs upstream."""
    own = (
        sa.select(EventIdentifier.value)
        .join(EpcisEvent, EpcisEvent.id == EventIdentifier.event_pk)
        .where(EpcisEvent.organization_id == organization_id)
        .cte(f"handled_{organization_id.hex}", recursive=True)
    )
    made_of, made = EventIdentifier.__table__.alias("made_of"), EventIdentifier.__table__.alias("made")
    followed = EpcisEvent.__table__.alias("transformation")
    upstream = (
        sa.select(made_of.c.value)
        .join(made, made.c.event_pk == made_of.c.event_pk)
        .join(followed, followed.c.id == made_of.c.event_pk)
        .join(own, own.c.value == made.c.value)
        .where(
            made_of.c.role.in_(INPUT_ROLES),
            made.c.role.in_(OUTPUT_ROLES),
            sa.or_(followed.c.organization_id == organization_id, followed.c.sharing == Sharing.LOT),
        )
    )
    return own.union(upstream)


def clauses(organization_id: uuid.UUID) -> list[Any]:
    """The events of other organizations shared with `organization_id`, as SQL conditions."""
    handled_values = handled(organization_id)
    named = EventIdentifier.__table__.alias("named")
    return [
        sa.and_(
            EpcisEvent.sharing == Sharing.TRANSACTION,
            EpcisEvent.id.in_(sa.select(EventParty.event_pk).where(EventParty.organization_id == organization_id)),
        ),
        sa.and_(
            EpcisEvent.sharing == Sharing.LOT,
            EpcisEvent.id.in_(sa.select(named.c.event_pk).where(named.c.value.in_(sa.select(handled_values.c.value)))),
        ),
    ]


def visible_to(organization_id: uuid.UUID) -> Any:
    """The events an organization sees: its own and those shared with it."""
    return sa.or_(EpcisEvent.organization_id == organization_id, *clauses(organization_id))


def default_for(session: Session, organization_id: uuid.UUID) -> Sharing:
    chosen = session.get(SharingDefault, organization_id)
    return chosen.sharing if chosen is not None else Sharing.PRIVATE


def set_default(session: Session, principal: Principal, sharing: Sharing) -> SharingDefault:
    """Change how the organization's future captures are shared (admins; audited)."""
    policy.require_admin(principal)
    chosen = session.get(SharingDefault, principal.org.id, with_for_update=True)
    before = chosen.sharing if chosen is not None else Sharing.PRIVATE
    if chosen is None:
        chosen = SharingDefault(organization_id=principal.org.id, sharing=sharing, updated_at=clock.utcnow())
        session.add(chosen)
    else:
        chosen.sharing, chosen.updated_at = sharing, clock.utcnow()
    session.flush()
    record(
        session,
        Action.EPCIS_SHARING_SET,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type="epcis_sharing_default",
        object_id=principal.org.id,
        before={"sharing": str(before)},
        after={"sharing": str(sharing)},
    )
    session.commit()
    return chosen


def _keys(reference: str) -> set[str | uuid.UUID]:
    """What a business transaction value may name: an id (`urn:uuid:<id>`), or an order
    number, as such or ending a CBV URI (`urn:epcglobal:cbv:bt:<GLN>:<number>`) or a web
    address (`https://erp.example.com/po/<number>`)."""
    if reference.lower().startswith("urn:uuid:"):
        try:
            return {uuid.UUID(reference[len("urn:uuid:") :])}
        except ValueError:
            return set()
    return {reference, reference.rsplit(":", 1)[-1], reference.rstrip("/").rsplit("/", 1)[-1]}


def transaction_parties(session: Session, organization_id: uuid.UUID, references: Iterable[str]) -> dict[str, set[uuid.UUID]]:
    """The parties (buyer, supplier, carrier) of the orders and shipments each reference
    names, among those `organization_id` is itself a party to (see `_keys`)."""
    wanted = {reference: _keys(reference) for reference in set(references)}
    ids = {key for keys in wanted.values() for key in keys if isinstance(key, uuid.UUID)}
    numbers = {key for keys in wanted.values() for key in keys if isinstance(key, str)}
    found: list[tuple[set[str | uuid.UUID], set[uuid.UUID]]] = []
    if ids or numbers:
        for order_id, number, buyer, supplier in session.execute(
            sa.select(PurchaseOrder.id, PurchaseOrder.number, PurchaseOrder.buyer_org_id, PurchaseOrder.supplier_org_id).where(
                sa.or_(PurchaseOrder.buyer_org_id == organization_id, PurchaseOrder.supplier_org_id == organization_id),
                PurchaseOrder.state != OrderState.DRAFT,
                sa.or_(PurchaseOrder.id.in_(ids), PurchaseOrder.number.in_(numbers)),
            )
        ):
            found.append(({order_id, number}, {buyer, supplier}))
    if ids:
        for shipment_id, *parties in session.execute(
            sa.select(Shipment.id, Shipment.buyer_org_id, Shipment.supplier_org_id, Shipment.carrier_org_id).where(
                Shipment.id.in_(ids),
                sa.or_(Shipment.buyer_org_id == organization_id, Shipment.supplier_org_id == organization_id, Shipment.carrier_org_id == organization_id),
            )
        ):
            found.append(({shipment_id}, set(parties)))
    return {reference: {party for names, parties in found if names & keys for party in parties} for reference, keys in wanted.items()}


def share(session: Session, rows: list[EpcisEvent], sharing: Sharing) -> None:
    """Give captured events their sharing level, and the parties of their transactions when
    they are shared with them (before the rows are added to the session)."""
    by_org: dict[uuid.UUID, dict[str, set[uuid.UUID]]] = {}
    if sharing == Sharing.TRANSACTION:
        for organization_id in {row.organization_id for row in rows}:
            references = [t.value for row in rows if row.organization_id == organization_id for t in row.biz_transactions]
            by_org[organization_id] = transaction_parties(session, organization_id, references)
    for row in rows:
        row.sharing = sharing
        parties = {party for t in row.biz_transactions for party in by_org.get(row.organization_id, {}).get(t.value, set())}
        row.parties = [EventParty(organization_id=party) for party in sorted(parties - {row.organization_id})]
