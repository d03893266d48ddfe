"""What the audit view shows whom (issue 9, finding 7): a stranger's refused probe is not
readable by the stranger, other organizations' people and addresses are not named, and
members do not see the platform-wide sequence."""

from __future__ import annotations

from tests import orders_factory
from tests.api.helpers import assert_problem


def audit(client, member, **query):
    response = client.get("/api/v1/audit", query_string=query, headers=member.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_probe_of_a_real_foreign_id_leaves_nothing_the_prober_can_read(app, client, session, world):
    with app.test_request_context():
        products, _location = orders_factory.catalog_of(session, world.buyer, count=1)
    session.commit()
    real = str(products[0].id)
    made_up = "00000000-0000-4000-8000-000000000000"
    for object_id in (real, made_up):
        assert_problem(client.get(f"/api/v1/products/{object_id}", headers=world.supplier2.headers), 404)
    # Identical for the prober: nothing under either id, no access:denied entries at all.
    assert audit(client, world.supplier2, object_id=real)["items"] == audit(client, world.supplier2, object_id=made_up)["items"] == []
    assert audit(client, world.supplier2, action="access:denied")["items"] == []
    # The operator sees the probe, with who made it.
    (probe,) = audit(client, world.operator, action="access:denied")["items"]
    assert probe["object_id"] == real and probe["actor_org_id"] == str(world.supplier2.org.id)
    assert probe["actor_user_id"] == str(world.supplier2.admin.id)
    denied_entry = probe["id"]
    assert_problem(client.get(f"/api/v1/audit/{denied_entry}", headers=world.supplier2.headers), 404)


def test_other_organizations_people_and_addresses_are_not_named(app, client, world):
    # The buyer's own login names its user and address; the operator's approval of the
    # buyer (an entry about the buyer, made by the operator's admin) names neither.
    assert client.post("/api/v1/auth/token", json={"email": world.buyer.admin.email, "password": "Correct-Horse-42"}).status_code == 201
    entries = audit(client, world.buyer, limit=200)["items"]
    own = [e for e in entries if e["actor_org_id"] == str(world.buyer.org.id)]
    foreign = [e for e in entries if e["actor_org_id"] not in (None, str(world.buyer.org.id))]
    assert own and foreign
    assert any(e["ip"] == "127.0.0.1" for e in own) and all(e["actor_user_id"] for e in own)
    assert all(e["actor_user_id"] is None and e["ip"] is None for e in foreign)
    assert all(e["seq"] is None for e in entries)
    # The operator sees everything as it was written.
    everything = audit(client, world.operator, limit=200)["items"]
    assert all(isinstance(e["seq"], int) for e in everything)
    assert any(e["actor_org_id"] == str(world.operator.org.id) and e["actor_user_id"] for e in everything)


def test_members_page_through_their_entries_by_time_without_gaps_or_repeats(client, world):
    seen, cursor = [], None
    while True:
        page = audit(client, world.buyer, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = [e["id"] for e in audit(client, world.buyer, limit=200)["items"]]
    assert seen == everything and len(seen) == len(set(seen)) > 2
