"""Cursor pagination: `limit` and `cursor` walk a list newest first with no duplicates and
no gaps, even when rows share a timestamp or new rows arrive between pages; a cursor the
API did not issue, or a limit out of range, is a 422 problem."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.pagination import MAX_LIMIT
from concord.tenancy import users
from concord.tenancy.models import Invitation, Relation, Role

from tests import factories, orders_factory
from tests.api.helpers import assert_problem, row_counts, select_all

BAD_CURSOR = {"cursor": ["Not a cursor this API issued."]}
LIMIT_RANGE = {"limit": [f"Must be greater than or equal to 1 and less than or equal to {MAX_LIMIT}."]}


def walk(client, path: str, headers: dict, limit: int, **params) -> list[list[dict]]:
    """Every page of a list, following next_cursor to the end."""
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the walk does not end"


def forge(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def invite_many(app, arrange, member, count: int, prefix: str) -> None:
    with app.test_request_context():
        for n in range(count):
            users.invite_user(arrange, member.principal, email=f"{prefix}{n}@example.test", role=Role.VIEWER)
    arrange.commit()


def test_walking_the_audit_trail_in_pages_returns_every_entry_once_newest_first(app, api, arrange, consortium):
    invite_many(app, arrange, consortium.buyer, 13, "audit-walk")
    expected = [str(i) for i in select_all(app, sa.select(AuditEntry.id).order_by(AuditEntry.seq.desc()))]
    assert len(expected) > 3 * 7
    pages = walk(api, "/api/v1/audit", consortium.operator.headers, limit=7)
    assert [len(p) for p in pages[:-1]] == [7] * (len(pages) - 1) and 1 <= len(pages[-1]) <= 7
    walked = [entry["id"] for page in pages for entry in page]
    assert walked == expected  # same order, no duplicates, no gaps
    seqs = [entry["seq"] for page in pages for entry in page]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)


def test_a_member_walks_only_its_own_audit_entries_and_a_forged_cursor_shows_no_more(app, api, arrange, consortium):
    invite_many(app, arrange, consortium.buyer, 9, "mine")
    invite_many(app, arrange, consortium.supplier, 9, "theirs")
    org = consortium.buyer.org.id
    expected = [
        str(i)
        for i in select_all(
            app,
            sa.select(AuditEntry.id)
            .where(sa.or_(AuditEntry.actor_org_id == org, AuditEntry.subject_org_id == org, AuditEntry.related_org_id == org))
            .where(AuditEntry.action != "access:denied")
            .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()),
        )
    ]
    pages = walk(api, "/api/v1/audit", consortium.buyer.headers, limit=4)
    assert [e["id"] for page in pages for e in page] == expected
    # A hand-made cursor is only a position: it cannot widen what the caller sees.
    beyond = forge([{"dt": "2999-01-01T00:00:00+00:00"}, {"uuid": "ffffffff-ffff-4fff-bfff-ffffffffffff"}])
    forged = api.get("/api/v1/audit", query_string={"cursor": beyond, "limit": MAX_LIMIT}, headers=consortium.buyer.headers)
    assert forged.status_code == 200
    assert [e["id"] for e in forged.get_json()["items"]] == expected


def test_filtered_audit_pages_hold_only_matching_entries(app, api, arrange, consortium):
    invite_many(app, arrange, consortium.buyer, 11, "filtered")
    pages = walk(api, "/api/v1/audit", consortium.buyer.headers, limit=3, action="user:invited")
    assert [len(p) for p in pages] == [3, 3, 3, 2]
    emails = [e["summary"]["after"]["email"] for page in pages for e in page]
    assert emails == [f"filtered{n}@example.test" for n in reversed(range(11))]


def test_rows_sharing_a_timestamp_are_paged_by_id_without_loss(app, api, arrange, consortium, frozen_clock):
    # Every invitation is created at the same instant: the id alone orders them.
    invite_many(app, arrange, consortium.buyer, 23, "tie")
    stored = select_all(app, sa.select(Invitation).where(Invitation.organization_id == consortium.buyer.org.id))
    assert len({i.created_at for i in stored}) == 1
    expected = [str(i.id) for i in sorted(stored, key=lambda i: (i.created_at, i.id), reverse=True)]
    for limit in (1, 5, 23, 50):
        pages = walk(api, "/api/v1/invitations", consortium.buyer.headers, limit=limit)
        assert [i["id"] for page in pages for i in page] == expected, limit
        assert len(pages) == -(-23 // limit)  # a full last page is the last: no empty page after it


def test_users_are_paged_newest_first_and_a_full_last_page_ends_the_walk(app, api, arrange, consortium, frozen_clock):
    owner = consortium.buyer
    with app.test_request_context():
        for n in range(5):
            frozen_clock.advance(seconds=1)
            invitation, raw = users.invite_user(arrange, owner.principal, email=f"user{n}@example.test", role=Role.MEMBER)
            users.accept_invitation(arrange, token=raw, full_name=f"User {n}", password="Amber-Falcon-Ridge-3")
    arrange.commit()
    pages = walk(api, "/api/v1/users", owner.headers, limit=3)
    assert [len(p) for p in pages] == [3, 3]
    emails = [u["email"] for page in pages for u in page]
    assert emails == [f"user{n}@example.test" for n in (4, 3, 2, 1, 0)] + [owner.admin.email]


def test_rows_added_between_pages_neither_repeat_nor_push_older_rows_out(app, api, arrange, consortium, frozen_clock):
    owner = consortium.buyer
    invite_many(app, arrange, owner, 10, "before")
    first = api.get("/api/v1/invitations", query_string={"limit": 4}, headers=owner.headers).get_json()
    frozen_clock.advance(seconds=5)
    invite_many(app, arrange, owner, 6, "during")
    rest = walk(api, "/api/v1/invitations", owner.headers, limit=4, cursor=first["next_cursor"])
    seen = [i["email"] for i in first["items"]] + [i["email"] for page in rest for i in page]
    assert sorted(seen) == sorted(f"before{n}@example.test" for n in range(10))
    assert len(seen) == len(set(seen)) == 10


# --- what is refused -----------------------------------------------------------------------


def list_operations(client, path_ids: dict[str, str] | None = None) -> list[str]:
    """Every GET path of the OpenAPI document that takes a `cursor`; with `path_ids`, its
    path parameters filled in (a list under a parameter they lack fails the test)."""
    document = client.get("/api/v1/openapi.json").get_json()
    paths = [path for path, item in document["paths"].items() if any(p.get("name") == "cursor" for p in item.get("get", {}).get("parameters", []))]
    return paths if path_ids is None else [path.format(**path_ids) for path in paths]


@pytest.fixture
def path_ids(app, arrange, consortium) -> dict[str, str]:
    """The operator's own objects, for the lists under a path parameter (a dispute it arbitrates)."""
    from concord.notifications import service as notifications

    with app.test_request_context():
        webhook, _secret = notifications.create_subscription(arrange, consortium.operator.principal, {"url": "https://erp.example.com/ops", "events": ["*"]})
        factories.partner(arrange, Relation.BUYER_SUPPLIER, consortium.buyer, consortium.supplier)
        _shipment, dispute = orders_factory.shipped_and_disputed(arrange, consortium.buyer, consortium.supplier, consortium.supplier, consortium.operator)
        engagement = _engagement_granted_by(arrange, consortium.operator)
    arrange.commit()
    return {
        "webhook_id": str(webhook.id),
        "user_id": str(consortium.operator.admin.id),
        "dispute_id": str(dispute.id),
        "engagement_id": str(engagement.id),
        # No receivable is the operator's to see: its offers' list refuses the cursor first.
        "receivable_id": str(uuid.uuid4()),
    }


def _engagement_granted_by(arrange, grantor):
    """An engagement `grantor` granted an auditor partner (the list of its reads is paged)."""
    from datetime import UTC, date, datetime, timedelta

    from concord.engagements import service as engagements

    auditor = factories.member(arrange, grantor, "auditor", name="Auditor Gamma SAS")
    factories.partner(arrange, Relation.PARTY_AUDITOR, grantor, auditor)
    period = {"period_from": date(2026, 1, 1), "period_to": date(2026, 12, 31)}
    return engagements.grant(
        arrange, grantor.principal, {"auditor_id": auditor.org.id, "kinds": ["orders"], **period, "valid_until": datetime.now(UTC) + timedelta(days=1)}
    )


def test_every_foundation_list_endpoint_pages(api):
    # The refusal tests below walk every list the document names, later domains' included.
    assert set(list_operations(api)) >= {
        "/api/v1/tokens",
        "/api/v1/organizations",
        "/api/v1/directory",
        "/api/v1/users",
        "/api/v1/invitations",
        "/api/v1/partnerships",
        "/api/v1/audit",
    }


GARBAGE_CURSORS = {
    "not base64": "garbage!!",
    "base64 of text": base64.urlsafe_b64encode(b"hello world").decode(),
    "not a list": forge({"seq": 1}),
    "empty list": forge([]),
    "three values": forge([1, 2, 3]),
    "null values": forge([None, None]),
    "booleans": forge([True, False]),
    "floats": forge([1.5, 2.5]),
    "strings": forge(["x", "y"]),
    "integers": forge([1, 2]),
    "bad datetime": forge([{"dt": "yesterday"}, {"uuid": str(uuid.uuid4())}]),
    "naive datetime": forge([{"dt": "2020-01-01T00:00:00"}, {"uuid": str(uuid.uuid4())}]),
    "before the calendar in UTC": forge([{"dt": "0001-01-01T00:00:00+14:00"}, {"uuid": str(uuid.uuid4())}]),
    "after the calendar in UTC": forge([{"dt": "9999-12-31T23:59:59-14:00"}, {"uuid": str(uuid.uuid4())}]),
    "bad uuid": forge([{"dt": "2020-01-01T00:00:00+00:00"}, {"uuid": "not-a-uuid"}]),
    "uuid of wrong type": forge([{"dt": "2020-01-01T00:00:00+00:00"}, {"uuid": 7}]),
    "swapped values": forge([{"uuid": str(uuid.uuid4())}, {"dt": "2020-01-01T00:00:00+00:00"}]),
    "huge integer": forge([10**30]),
    "datetime for a sequence": forge([{"dt": "2020-01-01T00:00:00+00:00"}]),
    "string for a sequence": forge(["12"]),
}


@pytest.mark.parametrize("kind", sorted(GARBAGE_CURSORS))
def test_a_cursor_the_api_did_not_issue_is_422_on_every_list(app, api, consortium, path_ids, kind):
    cursor = GARBAGE_CURSORS[kind]
    before = row_counts(app)
    for path in list_operations(api, path_ids):
        response = api.get(path, query_string={"cursor": cursor}, headers=consortium.operator.headers)
        if response.status_code == 200:
            # Only a cursor of the right shape for this list may pass; these never are.
            raise AssertionError((kind, path, response.get_json()))
        assert_problem(response, 422, errors=BAD_CURSOR)
    assert row_counts(app) == before


def test_a_cursor_from_another_list_is_refused(app, api, consortium):
    audit = api.get("/api/v1/audit", query_string={"limit": 1}, headers=consortium.operator.headers).get_json()
    organizations = api.get("/api/v1/organizations", query_string={"limit": 1}, headers=consortium.operator.headers).get_json()
    assert audit["next_cursor"] and organizations["next_cursor"]
    assert_problem(api.get("/api/v1/users", query_string={"cursor": audit["next_cursor"]}, headers=consortium.operator.headers), 422, errors=BAD_CURSOR)
    assert_problem(api.get("/api/v1/audit", query_string={"cursor": organizations["next_cursor"]}, headers=consortium.operator.headers), 422, errors=BAD_CURSOR)


def test_an_overlong_cursor_is_422(api, consortium):
    response = api.get("/api/v1/audit", query_string={"cursor": "A" * 501}, headers=consortium.buyer.headers)
    assert_problem(response, 422, errors={"cursor": ["Longer than maximum length 500."]})


@pytest.mark.parametrize(
    "limit, errors",
    [
        ("0", LIMIT_RANGE),
        ("-1", LIMIT_RANGE),
        (str(MAX_LIMIT + 1), LIMIT_RANGE),
        ("10000000000000000000000", LIMIT_RANGE),
        ("ten", {"limit": ["Not a valid integer."]}),
        ("1.5", {"limit": ["Not a valid integer."]}),
        ("", {"limit": ["Not a valid integer."]}),
    ],
)
def test_a_limit_out_of_range_is_422_on_every_list(api, consortium, path_ids, limit, errors):
    for path in list_operations(api, path_ids):
        response = api.get(path, query_string={"limit": limit}, headers=consortium.operator.headers)
        assert_problem(response, 422, errors=errors)


def test_the_limits_at_the_edges_of_the_range_are_accepted(api, consortium):
    one = api.get("/api/v1/audit", query_string={"limit": 1}, headers=consortium.operator.headers).get_json()
    assert len(one["items"]) == 1 and one["next_cursor"]
    most = api.get("/api/v1/audit", query_string={"limit": MAX_LIMIT}, headers=consortium.operator.headers).get_json()
    assert 1 < len(most["items"]) <= MAX_LIMIT and most["next_cursor"] is None
    default = api.get("/api/v1/audit", headers=consortium.operator.headers).get_json()
    assert default["items"] == most["items"][: len(default["items"])]
