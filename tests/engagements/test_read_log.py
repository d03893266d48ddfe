"""The read log: one entry per request the auditor's users answered under an engagement (a
list with its query, or one object), seen by the grantor, paged; nothing else is logged."""

from __future__ import annotations

import sqlalchemy as sa
from concord.engagements.models import EngagementRead

from tests.engagements.conftest import ENGAGEMENTS, grant, under


def _reads(client, member, engagement, **params) -> dict:
    response = client.get(f"{ENGAGEMENTS}/{engagement['id']}/reads", headers=member.headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_every_read_under_the_engagement_is_logged_once_for_the_grantor(client, session, scene):
    engagement = grant(client, scene.grantor, scene.auditor)
    headers = under(scene.auditor, engagement)
    order_id = scene.a.order.id
    assert client.get("/api/v1/orders?state=disputed&limit=5", headers=headers).status_code == 200
    assert client.get(f"/api/v1/orders/{order_id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/products/{scene.a.product.id}", headers=headers).status_code == 200
    # Not logged: a refused read, a read outside the engagement, a read without naming it.
    assert client.get(f"/api/v1/orders/{scene.b.order.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get(f"/api/v1/orders/{order_id}", headers=scene.auditor.headers).status_code == 404
    reads = _reads(client, scene.grantor, engagement)["items"]
    assert [(r["request"], r["kinds"], r["object_id"], r["via"]) for r in reads] == [
        (f"/api/v1/products/{scene.a.product.id}", ["products"], str(scene.a.product.id), "api"),
        (f"/api/v1/orders/{order_id}", ["orders"], str(order_id), "api"),
        ("/api/v1/orders?state=disputed&limit=5", ["orders"], None, "api"),
    ]
    assert {r["user_id"] for r in reads} == {str(scene.auditor.admin.id)}
    assert {r["engagement_id"] for r in reads} == {engagement["id"]}
    first = _reads(client, scene.grantor, engagement, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = _reads(client, scene.grantor, engagement, limit=2, cursor=first["next_cursor"])
    assert [r["id"] for r in rest["items"]] == [reads[2]["id"]]
    # Reading the log (either side) is no read of the grantor's records.
    assert session.execute(sa.select(sa.func.count()).select_from(EngagementRead)).scalar_one() == 3


def test_reads_are_logged_under_the_engagement_they_were_made_under_only(client, session, scene, app):
    from concord.tenancy.models import Relation

    from tests import factories

    with app.test_request_context():
        factories.partner(session, Relation.PARTY_AUDITOR, scene.other, scene.auditor)
        session.commit()
    from_a = grant(client, scene.grantor, scene.auditor)
    from_b = grant(client, scene.other, scene.auditor)
    assert client.get(f"/api/v1/orders/{scene.b.order.id}", headers=under(scene.auditor, from_b)).status_code == 200
    assert client.get(f"/api/v1/orders/{scene.b.order.id}", headers=under(scene.auditor, from_a)).status_code == 404
    assert _reads(client, scene.grantor, from_a)["items"] == []
    assert [r["object_id"] for r in _reads(client, scene.other, from_b)["items"]] == [str(scene.b.order.id)]
    # Each grantor sees its own engagement's log, not the other's.
    assert client.get(f"{ENGAGEMENTS}/{from_b['id']}/reads", headers=scene.grantor.headers).status_code == 404
