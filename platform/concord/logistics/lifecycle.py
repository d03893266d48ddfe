"""A shipment's lifecycle: (state, action) -> (next state, who takes it). Only the carrier
the supplier handed the goods to moves a shipment; its proof of delivery ends it."""

from __future__ import annotations

from concord import policy
from concord.errors import Forbidden, InvalidTransition
from concord.orders.models import Shipment, ShipmentState
from concord.policy import Principal
from concord.tenancy.models import Role

CARRIER = "carrier"
TRANSITIONS: dict[tuple[ShipmentState, str], tuple[ShipmentState, str]] = {
    (ShipmentState.IN_TRANSIT, "record_milestone"): (ShipmentState.IN_TRANSIT, CARRIER),
    (ShipmentState.IN_TRANSIT, "prove_delivery"): (ShipmentState.DELIVERED, CARRIER),
}
TERMINAL = frozenset({ShipmentState.DELIVERED})
#: How a refusal names each action ("Cannot record a milestone on this shipment: ...").
_PHRASES = {"record_milestone": "record a milestone on", "prove_delivery": "prove the delivery of"}
_DOING = {"record_milestone": "record its milestones", "prove_delivery": "prove its delivery"}


def actor_of(shipment: Shipment, principal: Principal) -> str | None:
    return CARRIER if shipment.carrier_org_id == principal.org.id else None


def allowed_actions(shipment: Shipment, principal: Principal) -> list[str]:
    """What the principal may do with the shipment now (a viewer does nothing)."""
    if principal.user.role not in (Role.ADMIN, Role.MEMBER):
        return []
    actor = actor_of(shipment, principal)
    return sorted(action for (state, action), (_next, who) in TRANSITIONS.items() if state == shipment.state and who == actor)


def check(shipment: Shipment, principal: Principal, action: str) -> None:
    policy.require_writer(principal)
    if actor_of(shipment, principal) != CARRIER:
        raise Forbidden(f"Only the shipment's carrier may {_DOING[action]}.")
    if (shipment.state, action) not in TRANSITIONS:
        raise InvalidTransition("shipment", str(shipment.state), _PHRASES[action], allowed_actions(shipment, principal))


def enter(shipment: Shipment, action: str) -> ShipmentState:
    """Take the table's (state, action) row; returns the state the shipment was in."""
    before, shipment.state = shipment.state, TRANSITIONS[(shipment.state, action)][0]
    return before
