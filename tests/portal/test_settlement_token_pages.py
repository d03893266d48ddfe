"""The operator mints settlement tokens in the portal and reads every member's balance;
members read their own on the dashboard and never reach the operator's page."""

from __future__ import annotations

import sqlalchemy as sa
from concord.db import database
from concord.ledger.models import ChainIntent
from concord.tenancy.models import Role

from tests import factories
from tests.ledger_helpers import settle
from tests.portal.helpers import field_error, text


def mints(app) -> list[ChainIntent]:
    with database(app).sessionmaker() as s:
        return list(s.execute(sa.select(ChainIntent).where(ChainIntent.function == "mint")).scalars())


def test_operator_mints_to_a_member_and_sees_the_balance_once_indexed(app, world, signed_in, chain_worker):
    operator = signed_in(world.operator)
    page = operator.get("/operator/settlement-tokens")
    assert page.status_code == 200
    assert f'<option value="{world.supplier.org.id}"' in page.get_data(as_text=True)
    assert f'<option value="{world.operator.org.id}"' not in page.get_data(as_text=True)  # members only
    done = operator.post(
        "/operator/settlement-tokens", {"organization_id": str(world.supplier.org.id), "currency": "USD", "amount": "1250.5"}, follow_redirects=True
    )
    assert done.status_code == 200
    assert f"Mint 1250.5 USD to {world.supplier.org.legal_name}: queued for the ledger." in text(done)
    (intent,) = mints(app)
    assert intent.state == "queued" and intent.args[1] == 1_250_500_000
    settle(app, chain_worker)
    after = operator.get("/operator/settlement-tokens")
    row = next(r for r in after.get_data(as_text=True).split("<tr>") if world.supplier.org.legal_name in r and "num" in r)
    assert "1,250.50" in row
    assert "confirmed" in text(after)  # the mint's transaction, with its hash and block
    # The member reads its own balance on its dashboard.
    dashboard = text(signed_in(world.supplier).get("/dashboard"))
    assert "Settlement balances" in dashboard and "USD 1,250.50" in dashboard


def test_mint_form_errors_are_shown_by_field_and_nothing_is_queued(app, world, signed_in, chain_worker):
    operator = signed_in(world.operator)
    bad = operator.post("/operator/settlement-tokens", {"organization_id": "", "currency": "EUR", "amount": "1.0000001"})
    assert bad.status_code == 422
    assert field_error(bad, "organization_id") == ["Missing data for required field."]
    assert field_error(bad, "amount") == ["At most 6 decimal places (the token's unit)."]
    assert 'value="1.0000001"' in bad.get_data(as_text=True)
    refused = operator.post("/operator/settlement-tokens", {"organization_id": str(world.operator.org.id), "currency": "GBP", "amount": "10"})
    assert refused.status_code == 422
    assert field_error(refused, "organization_id") == ["Not an active member of the consortium."]
    assert field_error(refused, "currency") == ["Settlement tokens exist for EUR, USD."]
    assert mints(app) == []


def test_members_never_reach_the_settlement_token_page(app, world, signed_in, session):
    for member in (world.buyer, world.supplier):
        browser = signed_in(member)
        assert browser.get("/operator/settlement-tokens").status_code == 404
        assert browser.post("/operator/settlement-tokens", {"organization_id": str(member.org.id), "currency": "EUR", "amount": "1000000"}).status_code == 404
    with app.test_request_context():
        clerk, _ = factories.add_user(session, world.operator, Role.MEMBER)
    session.commit()
    operator_member = signed_in(clerk)
    page = operator_member.get("/operator/settlement-tokens")
    assert page.status_code == 200 and "Mint to a member" not in text(page)  # only the operator's admins mint
    refused = operator_member.post("/operator/settlement-tokens", {"organization_id": str(world.buyer.org.id), "currency": "EUR", "amount": "10"})
    assert refused.status_code == 403
    assert mints(app) == []
    nav = signed_in(world.operator).get("/dashboard").get_data(as_text=True)
    assert ">Settlement tokens<" in nav
