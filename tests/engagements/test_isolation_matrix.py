"""An auditor under an engagement from A, walked over every GET route that names an order,
shipment, product or EPCIS event: it reads A's records the engagement covers, and for
anything else (B's records, A's outside the engagement's kinds or period, any after the
revocation) the answer is the 404 a stranger gets, and list pages show none of it."""

from __future__ import annotations

import pytest
from concord.tenancy.models import Relation

from tests import factories
from tests.engagements.conftest import ENGAGEMENTS, grant, under
from tests.url_map import expand

IDS = {"order_id", "shipment_id", "product_id", "event_id"}
LISTS = {"/api/v1/orders": "id", "/api/v1/shipments": "id", "/api/v1/products": "id"}


def _routes(app):
    """The API's GET routes naming only objects of the kinds engagements cover."""
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/") and "GET" in rule.methods and rule.arguments and rule.arguments <= IDS]


def _targets(holdings, *, dated: bool = True) -> dict:
    return {
        "order_id": [("order", holdings.order.id)],
        "shipment_id": [("shipment", holdings.shipment.id)],
        "product_id": [("product", holdings.product.id)],
        "event_id": [("event", holdings.event_in if dated else holdings.event_old)],
    }


def _walk(client, app, headers, targets) -> dict[str, int]:
    answers = {}
    for rule in _routes(app):
        for url, _values, _label in expand(rule, targets):
            answers[url] = client.get(url, headers=headers).status_code
    assert len(answers) >= 10, "the walk lost its routes"
    return answers


def _listed(client, headers) -> set[str]:
    seen = set()
    for url, key in LISTS.items():
        seen |= {item[key] for item in client.get(url, headers=headers).get_json()["items"]}
    events = client.get("/api/v1/epcis/events", headers=headers).get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return seen | {e["eventID"] for e in events}


def _ids(holdings) -> set[str]:
    return {str(holdings.order.id), str(holdings.shipment.id), holdings.event_in, holdings.event_old} | holdings.product_ids


def test_within_the_engagement_every_route_of_the_grantors_covered_records_answers(app, client, scene):
    engagement = grant(client, scene.grantor, scene.auditor, "orders", "products", "events")
    answers = _walk(client, app, under(scene.auditor, engagement), _targets(scene.a))
    # An event's proof bundle answers 409 until its batch is anchored (no chain here): seen, not hidden.
    expected = {url: 409 if url.endswith("/proof") else 200 for url in answers}
    assert answers == expected, {url: status for url, status in answers.items() if status != expected[url]}
    assert _listed(client, under(scene.auditor, engagement)) == _ids(scene.a) - {scene.a.event_old}


@pytest.mark.parametrize("case", ["another organization", "outside its kinds", "outside its period", "after revocation", "without naming it"])
def test_outside_the_engagement_every_route_answers_404_and_lists_show_nothing(app, client, session, scene, case):
    kinds = ("products",) if case == "outside its kinds" else ("orders", "products", "events")
    engagement = grant(client, scene.grantor, scene.auditor, *kinds)
    headers = under(scene.auditor, engagement)
    targets = _targets(scene.b if case == "another organization" else scene.a)
    if case == "outside its kinds":
        targets["product_id"] = []  # the one kind it covers
    if case == "outside its period":
        engagement = grant(client, scene.grantor, scene.auditor, "orders", "events", period_from="2021-01-01", period_to="2021-12-31")
        headers = under(scene.auditor, engagement)
        targets = {**_targets(scene.a, dated=False), "product_id": []}  # the 2020 event, orders of this year
    if case == "after revocation":
        assert client.post(f"{ENGAGEMENTS}/{engagement['id']}/revoke", headers=scene.grantor.headers).status_code == 200
    if case == "without naming it":
        headers = scene.auditor.headers
    answers = _walk(client, app, headers, targets)
    assert set(answers.values()) == {404}, {url: status for url, status in answers.items() if status != 404}
    shown = _listed(client, headers)
    assert not shown & _ids(scene.b)
    if case == "outside its kinds":
        assert shown == scene.a.product_ids
    elif case != "another organization":  # (which reads A's records as granted)
        assert not shown & _ids(scene.a)


def test_an_engagement_from_a_reads_nothing_of_b_even_when_b_granted_one_too(app, client, session, scene):
    with app.test_request_context():
        factories.partner(session, Relation.PARTY_AUDITOR, scene.other, scene.auditor)
        session.commit()
    from_a = grant(client, scene.grantor, scene.auditor)
    from_b = grant(client, scene.other, scene.auditor, "products")
    assert set(_walk(client, app, under(scene.auditor, from_a), _targets(scene.b)).values()) == {404}
    assert not _listed(client, under(scene.auditor, from_a)) & _ids(scene.b)
    assert _listed(client, under(scene.auditor, from_b)) == scene.b.product_ids
    # Another auditor cannot read under an engagement it did not receive.
    assert set(_walk(client, app, under(scene.world.financier, from_a), _targets(scene.a)).values()) == {404}
