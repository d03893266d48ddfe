"""An action the current state does not allow answers 409 problem+json with the current
state and the actions that are allowed, and changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.tenancy import service as tenancy
from concord.tenancy import users
from concord.tenancy.models import Invitation, Organization, OrgStatus, Partnership, PartnershipStatus, Relation, Role, User, UserStatus

from tests import factories
from tests.api.helpers import assert_problem, fetch, row_counts, select_all

ORG_ACTIONS = ("approve", "reject", "suspend", "reactivate")
# What the operator may do to a member in each state (ARCHITECTURE §2: pending → active → suspended).
ORG_ALLOWED = {
    OrgStatus.PENDING: ["approve", "reject"],
    OrgStatus.ACTIVE: ["suspend"],
    OrgStatus.SUSPENDED: ["reactivate"],
    OrgStatus.REJECTED: [],
}
PARTNERSHIP_ACTIONS = ("accept", "decline", "withdraw", "end")
# What each side may do to a partnership in each state.
PARTNERSHIP_ALLOWED = {
    (PartnershipStatus.REQUESTED, "requester"): ["withdraw"],
    (PartnershipStatus.REQUESTED, "addressee"): ["accept", "decline"],
    (PartnershipStatus.ACTIVE, "requester"): ["end"],
    (PartnershipStatus.ACTIVE, "addressee"): ["end"],
    (PartnershipStatus.DECLINED, "requester"): [],
    (PartnershipStatus.DECLINED, "addressee"): [],
    (PartnershipStatus.ENDED, "requester"): [],
    (PartnershipStatus.ENDED, "addressee"): [],
}


def audit_head(app) -> int:
    return max(select_all(app, sa.select(AuditEntry.seq)), default=0)


def assert_refused_unchanged(app, response, *, before_counts, before_head, current_state, allowed, detail=None):
    body = assert_problem(response, 409, title="Invalid state transition", current_state=current_state, allowed_actions=allowed)
    if detail is not None:
        assert body["detail"] == detail
    assert row_counts(app) == before_counts
    assert audit_head(app) == before_head


# --- organizations ----------------------------------------------------------------------


@pytest.fixture
def orgs_in_every_state(app, arrange, consortium):
    """One member organization in each status."""
    op = consortium.operator
    with app.test_request_context():
        pending = factories.member(arrange, None, "buyer", name="Pending Co", approve=False).org
        rejected = factories.member(arrange, None, "buyer", name="Rejected Co", approve=False).org
        tenancy.transition_organization(arrange, op.principal, rejected.id, "reject")
        suspended = factories.member(arrange, op, "buyer", name="Suspended Co").org
        tenancy.transition_organization(arrange, op.principal, suspended.id, "suspend")
    arrange.commit()
    return {OrgStatus.PENDING: pending, OrgStatus.ACTIVE: consortium.buyer.org, OrgStatus.SUSPENDED: suspended, OrgStatus.REJECTED: rejected}


def test_the_expected_organization_table_is_the_services_table():
    assert {status: tenancy.allowed_org_actions(status) for status in OrgStatus} == ORG_ALLOWED
    assert {action for (_, action) in tenancy.ORG_TRANSITIONS} == set(ORG_ACTIONS)


def test_approving_an_already_active_organization_is_409_with_its_state_and_allowed_actions(app, api, consortium):
    org = consortium.buyer.org
    before, head = row_counts(app), audit_head(app)
    response = api.post(f"/api/v1/organizations/{org.id}/approve", json={"reason": "again"}, headers=consortium.operator.headers)
    assert_refused_unchanged(
        app,
        response,
        before_counts=before,
        before_head=head,
        current_state="active",
        allowed=["suspend"],
        detail="Cannot approve this organization: it is active.",
    )
    stored = fetch(app, Organization, org.id)
    assert stored.status == OrgStatus.ACTIVE and stored.status_reason is None


def test_reactivating_an_active_organization_is_409(app, api, consortium):
    before, head = row_counts(app), audit_head(app)
    response = api.post(f"/api/v1/organizations/{consortium.supplier.org.id}/reactivate", json={}, headers=consortium.operator.headers)
    assert_refused_unchanged(app, response, before_counts=before, before_head=head, current_state="active", allowed=["suspend"])


def test_every_organization_action_its_state_does_not_allow_is_409(app, api, consortium, orgs_in_every_state):
    headers = consortium.operator.headers
    refused = 0
    for status, org in orgs_in_every_state.items():
        assert fetch(app, Organization, org.id).status == status
        for action in ORG_ACTIONS:
            if action in ORG_ALLOWED[status]:
                continue
            before, head = row_counts(app), audit_head(app)
            response = api.post(f"/api/v1/organizations/{org.id}/{action}", json={}, headers=headers)
            assert_refused_unchanged(
                app,
                response,
                before_counts=before,
                before_head=head,
                current_state=str(status),
                allowed=ORG_ALLOWED[status],
                detail=f"Cannot {action} this organization: it is {status}.",
            )
            assert fetch(app, Organization, org.id).status == status
            refused += 1
    assert refused == 16 - 4  # four states x four actions, less the four real transitions


def test_the_operator_cannot_change_its_own_membership(app, api, consortium):
    before = row_counts(app)
    response = api.post(f"/api/v1/organizations/{consortium.operator.org.id}/suspend", json={}, headers=consortium.operator.headers)
    assert_problem(response, 403, detail="The operator organization cannot change its own membership status.")
    assert row_counts(app) == before


# --- partnerships -----------------------------------------------------------------------


@pytest.fixture
def partnerships_in_every_state(app, arrange, consortium):
    """Between two organizations with every capability: one partnership per state (and an
    ended one each way: withdrawn before an answer, and ended after acceptance), with the
    organization that asked for it."""
    op = consortium.operator
    everything = ("buyer", "supplier", "carrier", "financier", "auditor")
    with app.test_request_context():
        a = factories.member(arrange, op, *everything, name="Alpha Trading")
        b = factories.member(arrange, op, *everything, name="Bravo Logistics")

        def ask(asker, other, relation, side):
            return tenancy.request_partnership(arrange, asker.principal, relation=relation, counterparty_id=other.org.id, my_side=side, message=None)

        requested = ask(a, b, Relation.BUYER_SUPPLIER, "buyer")
        active = ask(b, a, Relation.BUYER_SUPPLIER, "buyer")
        tenancy.transition_partnership(arrange, a.principal, active.id, "accept")
        declined = ask(a, b, Relation.SUPPLIER_FINANCIER, "supplier")
        tenancy.transition_partnership(arrange, b.principal, declined.id, "decline")
        withdrawn = ask(a, b, Relation.SHIPPER_CARRIER, "shipper")
        tenancy.transition_partnership(arrange, a.principal, withdrawn.id, "withdraw")
        ended = ask(b, a, Relation.PARTY_AUDITOR, "party")
        tenancy.transition_partnership(arrange, a.principal, ended.id, "accept")
        tenancy.transition_partnership(arrange, a.principal, ended.id, "end")
    arrange.commit()
    return {
        "requested": (requested.id, a, b),
        "active": (active.id, b, a),
        "declined": (declined.id, a, b),
        "withdrawn": (withdrawn.id, a, b),
        "ended": (ended.id, b, a),
    }


def test_the_expected_partnership_table_is_the_services_table():
    assert {action for (_, action) in tenancy.PARTNERSHIP_TRANSITIONS} == set(PARTNERSHIP_ACTIONS)
    assert {state for (state, _) in PARTNERSHIP_ALLOWED} == set(PartnershipStatus)


def test_accepting_a_withdrawn_partnership_is_409_with_no_allowed_actions(app, api, partnerships_in_every_state):
    partnership_id, requester, addressee = partnerships_in_every_state["withdrawn"]
    before, head = row_counts(app), audit_head(app)
    response = api.post(f"/api/v1/partnerships/{partnership_id}/accept", headers=addressee.headers)
    assert_refused_unchanged(
        app,
        response,
        before_counts=before,
        before_head=head,
        current_state="ended",
        allowed=[],
        detail="Cannot accept this partnership: it is ended.",
    )
    assert fetch(app, Partnership, partnership_id).status == PartnershipStatus.ENDED


def test_the_requesting_side_cannot_accept_its_own_request(app, api, partnerships_in_every_state):
    partnership_id, requester, addressee = partnerships_in_every_state["requested"]
    before, head = row_counts(app), audit_head(app)
    response = api.post(f"/api/v1/partnerships/{partnership_id}/accept", headers=requester.headers)
    assert_refused_unchanged(
        app,
        response,
        before_counts=before,
        before_head=head,
        current_state="requested",
        allowed=["withdraw"],
        detail="Only the other organization may accept this partnership request.",
    )
    stored = fetch(app, Partnership, partnership_id)
    assert stored.status == PartnershipStatus.REQUESTED and stored.responded_at is None
    # ... and the other side may not withdraw it.
    response = api.post(f"/api/v1/partnerships/{partnership_id}/withdraw", headers=addressee.headers)
    assert_refused_unchanged(
        app,
        response,
        before_counts=before,
        before_head=head,
        current_state="requested",
        allowed=["accept", "decline"],
        detail="Only the requesting organization may withdraw this partnership request.",
    )


def test_every_partnership_action_a_side_may_not_take_is_409_with_that_sides_allowed_actions(app, api, partnerships_in_every_state):
    refused = 0
    for name, (partnership_id, requester, addressee) in partnerships_in_every_state.items():
        status = fetch(app, Partnership, partnership_id).status
        assert status == (PartnershipStatus.ENDED if name == "withdrawn" else PartnershipStatus(name))
        for side, member in (("requester", requester), ("addressee", addressee)):
            allowed = PARTNERSHIP_ALLOWED[(status, side)]
            shown = api.get(f"/api/v1/partnerships/{partnership_id}", headers=member.headers)
            assert shown.get_json()["allowed_actions"] == allowed, (name, side)
            for action in PARTNERSHIP_ACTIONS:
                if action in allowed:
                    continue
                before, head = row_counts(app), audit_head(app)
                response = api.post(f"/api/v1/partnerships/{partnership_id}/{action}", headers=member.headers)
                assert_refused_unchanged(app, response, before_counts=before, before_head=head, current_state=str(status), allowed=allowed)
                assert fetch(app, Partnership, partnership_id).status == status
                refused += 1
    # 5 partnerships x 2 sides x 4 actions, less what is allowed: 3 when requested, 2 when active.
    assert refused == 40 - 5


# --- users and invitations ----------------------------------------------------------------


def test_revoking_an_accepted_invitation_and_disabling_a_disabled_user_are_409(app, api, arrange, consortium):
    owner = consortium.buyer
    with app.test_request_context():
        invitation, raw = users.invite_user(arrange, owner.principal, email="joiner@example.test", role=Role.MEMBER)
        joiner = users.accept_invitation(arrange, token=raw, full_name="Jo Iner", password=factories.PASSWORD)
        users.set_user_status(arrange, owner.principal, joiner.id, "disable")
    arrange.commit()
    before, head = row_counts(app), audit_head(app)

    response = api.post(f"/api/v1/invitations/{invitation.id}/revoke", headers=owner.headers)
    assert_refused_unchanged(app, response, before_counts=before, before_head=head, current_state="accepted", allowed=[])
    assert fetch(app, Invitation, invitation.id).revoked_at is None

    response = api.post(f"/api/v1/users/{joiner.id}/disable", headers=owner.headers)
    assert_refused_unchanged(app, response, before_counts=before, before_head=head, current_state="disabled", allowed=["enable"])
    response = api.post(f"/api/v1/users/{owner.admin.id}/enable", headers=owner.headers)
    assert_refused_unchanged(app, response, before_counts=before, before_head=head, current_state="active", allowed=["disable"])
    assert fetch(app, User, joiner.id).status == UserStatus.DISABLED
