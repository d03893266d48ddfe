"""Granting and revoking engagements: only the grantor's admins, only to an auditor partner,
a sound period and expiry; revoked once (409 with the allowed actions after that), audited."""

from __future__ import annotations

import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.engagements.models import Engagement
from concord.tenancy.models import Relation, Role

from tests import factories
from tests.engagements.conftest import ENGAGEMENTS, grant, later, this_year


def _body(auditor, **overrides) -> dict:
    return {"auditor_id": str(auditor.org.id), "kinds": ["orders"], **this_year(), "valid_until": later(), **overrides}


def test_an_admin_grants_an_auditor_partner_an_engagement_and_both_sides_see_it(client, session, scene):
    shown = grant(client, scene.grantor, scene.auditor, "orders", "events", "orders", note="Annual audit")
    assert shown["state"] == "granted"
    assert shown["kinds"] == ["events", "orders"]
    assert shown["allowed_actions"] == ["revoke"]
    assert (shown["grantor_org_id"], shown["auditor_org_id"]) == (str(scene.grantor.org.id), str(scene.auditor.org.id))
    for member, side in ((scene.grantor, "granted"), (scene.auditor, "received")):
        listed = client.get(f"{ENGAGEMENTS}?side={side}", headers=member.headers).get_json()["items"]
        assert [e["id"] for e in listed] == [shown["id"]]
        assert client.get(f"{ENGAGEMENTS}/{shown['id']}", headers=member.headers).status_code == 200
    assert client.get(f"{ENGAGEMENTS}?side=granted", headers=scene.auditor.headers).get_json()["items"] == []
    assert client.get(f"{ENGAGEMENTS}/{shown['id']}", headers=scene.auditor.headers).get_json()["allowed_actions"] == []
    entry = session.execute(sa.select(AuditEntry).where(AuditEntry.action == "engagement:granted")).scalar_one()
    assert (entry.actor_org_id, entry.related_org_id, entry.object_id) == (scene.grantor.org.id, scene.auditor.org.id, shown["id"])


def test_a_grant_is_refused_field_by_field_and_nothing_is_written(client, session, scene, app):
    with app.test_request_context():
        stranger = factories.member(session, scene.world.operator, "auditor", name="Unpartnered Audit SA")
        session.commit()
    cases = [
        (_body(stranger), "auditor_id"),  # an auditor, but no partner of the grantor
        (_body(scene.world.supplier), "auditor_id"),  # a partner, but no auditor partnership
        (_body(scene.auditor, period_from="2026-12-31", period_to="2026-01-01"), "period_to"),
        (_body(scene.auditor, valid_until="2021-01-01T00:00:00+00:00"), "valid_until"),
        (_body(scene.auditor, valid_until="2099-01-01T00:00:00+00:00"), "valid_until"),
        (_body(scene.auditor, kinds=[]), "kinds"),
        (_body(scene.auditor, kinds=["invoices"]), "kinds"),
        (_body(scene.auditor, period_from="1800-01-01"), "period_from"),
        (_body(scene.auditor, valid_until="2030-01-01T00:00:00"), "valid_until"),  # no offset
    ]
    for body, field in cases:
        response = client.post(ENGAGEMENTS, json=body, headers=scene.grantor.headers)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], (body, response.get_json())
    assert session.execute(sa.select(sa.func.count()).select_from(Engagement)).scalar_one() == 0


def test_only_admins_of_the_grantor_grant_and_revoke(client, session, scene, app):
    with app.test_request_context():
        factories.add_user(session, scene.grantor, Role.MEMBER)
        session.commit()
    member = scene.grantor.headers_for("member")
    assert client.post(ENGAGEMENTS, json=_body(scene.auditor), headers=member).status_code == 403
    engagement = grant(client, scene.grantor, scene.auditor)
    assert client.get(f"{ENGAGEMENTS}/{engagement['id']}", headers=member).get_json()["allowed_actions"] == []
    assert client.post(f"{ENGAGEMENTS}/{engagement['id']}/revoke", headers=member).status_code == 403
    assert client.post(f"{ENGAGEMENTS}/{engagement['id']}/revoke", headers=scene.auditor.headers).status_code == 403
    # Another organization does not learn that the engagement exists.
    assert client.post(f"{ENGAGEMENTS}/{engagement['id']}/revoke", headers=scene.other.headers).status_code == 404
    assert client.get(f"{ENGAGEMENTS}/{engagement['id']}", headers=scene.other.headers).status_code == 404
    assert client.get(f"{ENGAGEMENTS}/{engagement['id']}", headers=member).get_json()["state"] == "granted"


def test_an_engagement_is_revoked_once_then_answers_409_with_no_allowed_action(client, session, scene):
    engagement = grant(client, scene.grantor, scene.auditor)
    revoked = client.post(f"{ENGAGEMENTS}/{engagement['id']}/revoke", headers=scene.grantor.headers)
    assert revoked.status_code == 200
    body = revoked.get_json()
    assert (body["state"], body["revoked_by"], body["allowed_actions"]) == ("revoked", str(scene.grantor.admin.id), [])
    again = client.post(f"{ENGAGEMENTS}/{engagement['id']}/revoke", headers=scene.grantor.headers)
    assert again.status_code == 409
    assert (again.get_json()["current_state"], again.get_json()["allowed_actions"]) == ("revoked", [])
    assert session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "engagement:revoked")).scalar_one() == 1
    listed = client.get(f"{ENGAGEMENTS}?state=revoked", headers=scene.auditor.headers).get_json()["items"]
    assert [e["id"] for e in listed] == [engagement["id"]]
    assert client.get(f"{ENGAGEMENTS}?state=granted", headers=scene.auditor.headers).get_json()["items"] == []


def test_an_expired_engagement_cannot_be_revoked(client, scene, frozen_clock):
    from datetime import timedelta

    engagement = grant(client, scene.grantor, scene.auditor, valid_until=(frozen_clock.now + timedelta(minutes=5)).isoformat())
    frozen_clock.advance(minutes=5)
    refused = client.post(f"{ENGAGEMENTS}/{engagement['id']}/revoke", headers=scene.grantor.headers)
    assert refused.status_code == 409
    assert (refused.get_json()["current_state"], refused.get_json()["allowed_actions"]) == ("expired", [])
    listed = client.get(f"{ENGAGEMENTS}?state=expired", headers=scene.grantor.headers).get_json()["items"]
    assert [e["id"] for e in listed] == [engagement["id"]]


def test_an_auditor_partnership_the_auditor_has_not_accepted_is_no_ground_for_a_grant(client, session, scene, app):
    with app.test_request_context():
        pending = factories.member(session, scene.world.operator, "auditor", name="Pending Partner Audit")
        factories.partner(session, Relation.PARTY_AUDITOR, scene.grantor, pending, accept=False)
        session.commit()
    response = client.post(ENGAGEMENTS, json=_body(pending), headers=scene.grantor.headers)
    assert response.status_code == 422
    assert "auditor_id" in response.get_json()["errors"]
