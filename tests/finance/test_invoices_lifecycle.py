"""The invoice's lifecycle table, iterated: every state is in it, terminal states lead
nowhere, every row names a known actor; and for an invoice put in every state in turn, each
party's allowed actions are its rows whose guards pass, and every other step of the API
answers 409 with the allowed actions (403 for the wrong party) and writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.finance import lifecycle
from concord.finance.lifecycle import TERMINAL, TRANSITIONS
from concord.finance.models import Invoice, InvoiceState, Settlement

from tests.finance.invoice_factory import invoice, received_order, set_terms

ACTORS = {lifecycle.BUYER, lifecycle.SUPPLIER, lifecycle.CHAIN}
REQUESTS = {
    "approve": ("/approve", {}),
    "reject": ("/reject", {"reason": "Not ours"}),
    "cancel": ("/cancel", {}),
    "credit": ("/credit-notes", {"number": "CN-T", "issue_date": "2026-01-05", "reason": "Returned", "lines": [{"invoice_line_no": 1, "quantity": "1"}]}),
}


def test_every_state_is_in_the_table_and_terminal_states_lead_nowhere():
    sources = {state for state, _action in TRANSITIONS}
    targets = {row[0] for row in TRANSITIONS.values()}
    assert set(InvoiceState) == sources | targets | TERMINAL
    for state in set(InvoiceState) - TERMINAL:
        assert any(source == state for source, _a in TRANSITIONS), state
    assert not any(source in TERMINAL for source, _a in TRANSITIONS)
    assert all(actor in ACTORS for _next, actor in TRANSITIONS.values())


def test_every_party_action_has_a_request_and_only_the_chain_settles():
    party_actions = {action for (_s, action), (_n, actor) in TRANSITIONS.items() if actor in lifecycle.PARTIES}
    assert party_actions - {"pay"} == set(REQUESTS)  # "pay" is the financing domain's (open account, on chain)
    assert {action for (_s, action), (_n, actor) in TRANSITIONS.items() if actor == lifecycle.CHAIN} == {"settle"}


@pytest.mark.parametrize("settlement", list(Settlement))
@pytest.mark.parametrize("state", list(InvoiceState))
def test_in_every_state_each_party_may_take_only_its_rows(client, session, world, state, settlement):
    set_terms(session, world.buyer, world.supplier, settlement=settlement)
    made = invoice(session, world.supplier, received_order(session, world.buyer, world.supplier))
    session.execute(sa.update(Invoice).where(Invoice.id == made.id).values(state=state))
    session.commit()
    session.expire_all()
    for side, member in ((lifecycle.BUYER, world.buyer), (lifecycle.SUPPLIER, world.supplier)):
        shown = client.get(f"/api/v1/invoices/{made.id}", headers=member.headers).get_json()
        rows = {action for (s, action), (_n, actor) in TRANSITIONS.items() if s == state and actor == side}
        assert set(shown["allowed_actions"]) <= rows, (state, side)
        expected = sorted(a for a in rows if lifecycle.refusal(session, session.get(Invoice, made.id), a) is None)
        assert shown["allowed_actions"] == expected
        for action, (suffix, payload) in REQUESTS.items():
            if action in shown["allowed_actions"]:
                continue
            entries = session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one()
            answer = client.post(f"/api/v1/invoices/{made.id}{suffix}", json=payload, headers=member.headers)
            actors = {actor for (_s, a), (_n, actor) in TRANSITIONS.items() if a == action}
            if side not in actors:
                assert answer.status_code == 403, (state, side, action, answer.get_json())
            else:
                problem = answer.get_json()
                assert answer.status_code == 409, (state, side, action, problem)
                assert problem["current_state"] == str(state) and problem["allowed_actions"] == shown["allowed_actions"]
            session.expire_all()
            assert session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one() == entries
            assert session.get(Invoice, made.id).state == state


def test_a_credited_in_full_invoice_takes_no_more_credit(session, world):
    made = invoice(session, world.supplier, received_order(session, world.buyer, world.supplier))
    made.credited_total = made.total
    assert lifecycle.refusal(session, made, "credit") == "it is credited in full"
    made.credited_total = made.total - Decimal("0.01")
    assert lifecycle.refusal(session, made, "credit") is None
