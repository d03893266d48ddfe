"""Products and locations: only their organization sees and edits them (viewers read)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import policy
from concord.audit.service import Action, record
from concord.catalog.models import Location, Product, PublicView
from concord.db import commit_or_conflict
from concord.errors import Conflict
from concord.policy import Principal

_PRODUCT_FIELDS = ("sku", "name", "description", "unit_of_measure", "gtin", "active", "public_view")
_LOCATION_FIELDS = ("name", "address_line1", "address_line2", "postal_code", "city", "country", "gln", "active")


def _clean(key: str, value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, StrEnum):
        value = value.strip()
        if key == "country":
            value = value.upper()
        if key in ("description", "address_line2") and not value:
            return None
    return value


def _snapshot(item, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(item, name) for name in fields}


def _unique(session: Session, model, organization_id: uuid.UUID, field: str, value: Any, *, exclude: uuid.UUID | None = None) -> None:
    if value is None:
        return
    query = sa.select(model.id).where(model.organization_id == organization_id, getattr(model, field) == value)
    if exclude is not None:
        query = query.where(model.id != exclude)
    if session.execute(query).first():
        raise Conflict(f"Your organization already has a {model.__name__.lower()} with this {field}.", errors={field: ["Already in use in your organization."]})


def _create(session: Session, principal: Principal, model, fields, data: dict[str, Any], unique: str, action: Action):
    policy.require_writer(principal)
    values = {key: _clean(key, data.get(key)) for key in fields if key in data}
    _unique(session, model, principal.org.id, unique, values[unique])
    item = model(organization_id=principal.org.id, **values)
    session.add(item)
    session.flush()
    record(
        session,
        action,
        actor=principal.actor,
        subject_org_id=principal.org.id,
        object_type=model.__tablename__[:-1],
        object_id=item.id,
        after=_snapshot(item, fields),
    )
    commit_or_conflict(
        session, f"Your organization already has a {model.__name__.lower()} with this {unique}.", {unique: ["Already in use in your organization."]}
    )
    return item


def _update(session: Session, principal: Principal, model, fields, item_id: uuid.UUID, changes: dict[str, Any], unique: str, action: Action):
    item = policy.get_visible(session, model, item_id, principal, for_update=True)
    policy.require_writer(principal)
    values = {key: _clean(key, value) for key, value in changes.items()}
    if unique in values:
        _unique(session, model, item.organization_id, unique, values[unique], exclude=item.id)
    before = {key: getattr(item, key) for key in values}
    for key, value in values.items():
        setattr(item, key, value)
    record(
        session,
        action,
        actor=principal.actor,
        subject_org_id=item.organization_id,
        object_type=model.__tablename__[:-1],
        object_id=item.id,
        before=before,
        after={key: getattr(item, key) for key in values},
    )
    commit_or_conflict(
        session, f"Your organization already has a {model.__name__.lower()} with this {unique}.", {unique: ["Already in use in your organization."]}
    )
    return item


def _search(model, principal: Principal, *, q: str | None, active: bool | None, text_columns) -> sa.Select:
    query = sa.select(model).where(policy.visible(principal, model))
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"
        query = query.where(sa.or_(*[sa.func.lower(column).like(pattern, escape="\\") for column in text_columns]))
    if active is not None:
        query = query.where(model.active.is_(active))
    return query


def create_product(session: Session, principal: Principal, data: dict[str, Any]) -> Product:
    return _create(session, principal, Product, _PRODUCT_FIELDS, data, "sku", Action.PRODUCT_CREATED)


def update_product(session: Session, principal: Principal, product_id: uuid.UUID, changes: dict[str, Any]) -> Product:
    """Change a product. What the public sees of it through its GS1 Digital Link
    (`public_view`) is the brand owner's admins' choice; a public product needs a GTIN no
    other organization publishes (its `published_gtin`, unique on the platform)."""
    item = policy.get_visible(session, Product, product_id, principal, for_update=True)
    view = changes.get("public_view", item.public_view)
    if view != item.public_view:
        policy.require_admin(principal)
    gtin = _clean("gtin", changes["gtin"]) if "gtin" in changes else item.gtin
    if view != PublicView.NONE and not gtin:
        raise Conflict("A product is public only with a GTIN: its Digital Link names it.", errors={"public_view": ["Give the product a GTIN first."]})
    published = gtin.zfill(14) if gtin and view != PublicView.NONE else None
    if published != item.published_gtin:
        taken = session.execute(sa.select(Product.id).where(Product.published_gtin == published, Product.id != item.id)).first() if published else None
        if taken:
            raise Conflict("Another organization already publishes a product with this GTIN.", errors={"gtin": ["Published by another brand owner."]})
        changes = {**changes, "published_gtin": published}
    return _update(session, principal, Product, _PRODUCT_FIELDS, product_id, changes, "sku", Action.PRODUCT_UPDATED)


def published_product(session: Session, gtin14: str) -> Product | None:
    """The product a brand owner made public under this GTIN (14 digits), if any."""
    return session.execute(sa.select(Product).where(Product.published_gtin == gtin14)).scalar_one_or_none()


def products_query(principal: Principal, *, q: str | None = None, active: bool | None = None) -> sa.Select:
    return _search(Product, principal, q=q, active=active, text_columns=(Product.sku, Product.name))


def create_location(session: Session, principal: Principal, data: dict[str, Any]) -> Location:
    return _create(session, principal, Location, _LOCATION_FIELDS, data, "name", Action.LOCATION_CREATED)


def update_location(session: Session, principal: Principal, location_id: uuid.UUID, changes: dict[str, Any]) -> Location:
    return _update(session, principal, Location, _LOCATION_FIELDS, location_id, changes, "name", Action.LOCATION_UPDATED)


def locations_query(principal: Principal, *, q: str | None = None, active: bool | None = None) -> sa.Select:
    return _search(Location, principal, q=q, active=active, text_columns=(Location.name, Location.city))
