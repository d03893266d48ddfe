"""The foundation's story in a real browser: the operator admits a registered company, its
admin invites a colleague who joins, and it opens a partnership that the partner accepts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.helpers import go_to, sign_in, sign_out

# A live server answers from its own threads: commits are real.
pytestmark = [pytest.mark.browser, pytest.mark.real_commits]


def test_login_through_the_page_shows_the_dashboard(live_server, page, session):
    op = factories.operator(session)
    buyer = factories.member(session, op, "buyer", name="Northwind Test GmbH")
    sign_in(page, live_server, buyer.admin.email)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Northwind Test GmbH")).to_be_visible()
    expect(page.get_by_role("heading", name="As a buyer")).to_be_visible()
    expect(page.get_by_text("Orders you issue to your suppliers")).to_be_visible()


def test_wrong_password_stays_on_login_with_a_clear_message(live_server, page, session):
    op = factories.operator(session)
    sign_in(page, live_server, op.admin.email, "not-the-password")
    expect(page.get_by_text("Email or password is incorrect.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_register_approve_invite_join_and_partner_in_the_portal(live_server, browser, page, session):
    op = factories.operator(session)
    buyer = factories.member(session, op, "buyer", name="Northwind Test GmbH")

    # A supplier registers itself.
    page.goto(f"{live_server}/register")
    page.get_by_label("Legal name").fill("Nordic Packaging AB")
    page.get_by_label("Company registration number").fill("SE-5591234567")
    page.get_by_label("Country").select_option("SE")
    page.get_by_label("Supplier").check()
    page.get_by_label("Contact person").fill("Erik Lund")
    page.get_by_label("Contact email").fill("contact@nordicpack.test")
    page.get_by_label("Full name").fill("Erik Lund")
    page.get_by_label("Email", exact=True).fill("erik@nordicpack.test")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Submit application").click()
    expect(page.get_by_text("among the most commonly used passwords")).to_be_visible()
    page.get_by_label("Password").fill("Packaging-2026!")
    page.get_by_role("button", name="Submit application").click()
    expect(page.get_by_text("Registration received")).to_be_visible()

    # Pending: the admin cannot sign in yet.
    sign_in(page, live_server, "erik@nordicpack.test", "Packaging-2026!")
    expect(page.get_by_text("awaiting approval")).to_be_visible()

    # The operator approves it.
    sign_in(page, live_server, op.admin.email)
    go_to(page, "Members")
    row = page.get_by_role("row").filter(has_text="Nordic Packaging AB")
    row.get_by_role("button", name=re.compile("^Approve")).click()
    expect(page.get_by_text("Nordic Packaging AB is now active.")).to_be_visible()
    sign_out(page)

    # Its admin invites a colleague.
    sign_in(page, live_server, "erik@nordicpack.test", "Packaging-2026!")
    expect(page.get_by_role("heading", name="Nordic Packaging AB")).to_be_visible()
    go_to(page, "Users")
    page.get_by_label("Email").fill("anna@nordicpack.test")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Create invitation").click()
    invite_link = page.locator("#invite-link").inner_text().strip()
    assert "/invitations/" in invite_link

    # The colleague joins through the link in their own browser.
    colleague = browser.new_context().new_page()
    colleague.goto(live_server + invite_link[invite_link.index("/invitations/") :])
    colleague.get_by_label("Full name").fill("Anna Berg")
    colleague.get_by_label("Choose a password").fill("Boxes-and-Pallets-9")
    colleague.get_by_role("button", name="Create my account").click()
    expect(colleague.get_by_text("Welcome to Concord")).to_be_visible()
    sign_in(colleague, live_server, "anna@nordicpack.test", "Boxes-and-Pallets-9")
    expect(colleague.get_by_text("signed in as Anna Berg (member)")).to_be_visible()
    colleague.context.close()

    # The admin asks the buyer for a partnership.
    go_to(page, "Partnerships")
    page.get_by_label("Relation").select_option("buyer_supplier")
    page.get_by_label("Partner organization").select_option(label="Northwind Test GmbH (buyer)")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_text("Partnership request sent to Northwind Test GmbH.")).to_be_visible()
    sign_out(page)

    # The buyer accepts it.
    sign_in(page, live_server, buyer.admin.email)
    go_to(page, "Partnerships")
    row = page.get_by_role("row").filter(has_text="Nordic Packaging AB")
    row.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Partnership with Nordic Packaging AB is now active.")).to_be_visible()

    # And the audit log shows the story.
    go_to(page, "Audit log")
    expect(page.get_by_role("cell", name="partnership:accepted").first).to_be_visible()
