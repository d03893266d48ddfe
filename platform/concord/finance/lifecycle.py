"""An invoice's lifecycle: one table of (state, action) -> (next state, who takes it), with
the guards each step must pass. The invoice services consult it; `allowed_actions` and every
409 come from here, and tests iterate it.

Who moves an invoice: the supplier (it cancels its invoice, and issues credit notes against
it), the buyer (it approves an exception, or a matched invoice on open account, which makes
it an approved payable; it rejects an invoice, saying why; on open account it pays an
approved one) and the chain (the escrow's release or the buyer's payment is mined: paid).
A credit note has no lifecycle of its own: it is issued, and raises the credited invoice's
`credited_total`.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.errors import Forbidden, InvalidTransition
from concord.finance.models import Invoice, InvoiceKind, InvoiceState, Receivable, Settlement
from concord.policy import Principal, require_writer

BUYER, SUPPLIER, CHAIN = "buyer", "supplier", "chain"
#: The sides of an invoice that have allowed actions on its page.
PARTIES = (BUYER, SUPPLIER)
READER = "reader"

S = InvoiceState
#: (state, action) -> (next state, who takes it). "credit" (a credit note) and "pay" (the
#: buyer's payment is queued on chain) leave the state as it is; "settle" is the chain
#: confirming the payment (concord.finance.invoices.mark_paid).
TRANSITIONS: dict[tuple[InvoiceState, str], tuple[InvoiceState, str]] = {
    (S.MATCHED, "approve"): (S.APPROVED, BUYER),
    (S.EXCEPTION, "approve"): (S.APPROVED, BUYER),
    (S.MATCHED, "reject"): (S.REJECTED, BUYER),
    (S.EXCEPTION, "reject"): (S.REJECTED, BUYER),
    (S.MATCHED, "cancel"): (S.CANCELLED, SUPPLIER),
    (S.EXCEPTION, "cancel"): (S.CANCELLED, SUPPLIER),
    (S.APPROVED, "cancel"): (S.CANCELLED, SUPPLIER),
    (S.MATCHED, "credit"): (S.MATCHED, SUPPLIER),
    (S.EXCEPTION, "credit"): (S.EXCEPTION, SUPPLIER),
    (S.APPROVED, "credit"): (S.APPROVED, SUPPLIER),
    (S.APPROVED, "pay"): (S.APPROVED, BUYER),
    (S.MATCHED, "settle"): (S.PAID, CHAIN),  # an escrowed invoice is paid by the escrow's release
    (S.APPROVED, "settle"): (S.PAID, CHAIN),
}
TERMINAL = frozenset({S.REJECTED, S.PAID, S.CANCELLED})

Guard = Callable[[Session, Invoice], "str | None"]


def side_of(invoice: Invoice, principal: Principal) -> str:
    if invoice.supplier_org_id == principal.org.id:
        return SUPPLIER
    return BUYER if invoice.buyer_org_id == principal.org.id else READER


def has_receivable(session: Session, invoice: Invoice) -> bool:
    query = sa.select(Receivable.id).where(Receivable.invoice_id == invoice.id)
    return session.execute(query).first() is not None


def _no_receivable(session: Session, invoice: Invoice) -> str | None:
    if has_receivable(session, invoice):
        return "it is registered as a receivable on the ledger"
    return None


def _unpaid(session: Session, invoice: Invoice) -> str | None:
    return "a payment of it is recorded" if invoice.paid_amount is not None else None


def _open_account(session: Session, invoice: Invoice) -> str | None:
    if invoice.settlement != Settlement.OPEN_ACCOUNT:
        return "it is paid by the order's escrow"
    return None


def _matched_needs_approval(session: Session, invoice: Invoice) -> str | None:
    """A matched invoice paid by escrow is paid on the escrow's release: nothing to approve."""
    if invoice.state == S.MATCHED and invoice.settlement != Settlement.OPEN_ACCOUNT:
        return "a matched invoice is paid by the order's escrow without approval"
    return None


def _issued_by_supplier(session: Session, invoice: Invoice) -> str | None:
    return "the buyer issued it by self-billing" if invoice.self_billed else None


def _left_to_credit(session: Session, invoice: Invoice) -> str | None:
    return "it is credited in full" if invoice.credited_total >= invoice.total else None


def _is_invoice(session: Session, invoice: Invoice) -> str | None:
    return "it is a credit note" if invoice.kind != InvoiceKind.INVOICE else None


GUARDS: dict[tuple[InvoiceState, str], tuple[Guard, ...]] = {
    **{(state, action): (_is_invoice,) for (state, action) in TRANSITIONS},
    (S.MATCHED, "approve"): (_is_invoice, _matched_needs_approval),
    **{(state, "cancel"): (_is_invoice, _issued_by_supplier, _no_receivable, _unpaid) for state in (S.MATCHED, S.EXCEPTION, S.APPROVED)},
    **{(state, "credit"): (_is_invoice, _no_receivable, _unpaid, _left_to_credit) for state in (S.MATCHED, S.EXCEPTION, S.APPROVED)},
    (S.APPROVED, "pay"): (_is_invoice, _open_account, _unpaid),
}


def refusal(session: Session, invoice: Invoice, action: str) -> str | None:
    """Why the (state, action) row's guards refuse `action` now (None: they allow it)."""
    if (invoice.state, action) not in TRANSITIONS:
        return f"it is {invoice.state}"
    for guard in GUARDS.get((invoice.state, action), ()):
        if (why := guard(session, invoice)) is not None:
            return why
    return None


def allowed_actions(session: Session, invoice: Invoice, side: str) -> list[str]:
    """What `side` may do with the invoice now: its rows of the table whose guards pass."""
    return sorted(
        action
        for (state, action), (_next, actor) in TRANSITIONS.items()
        if state == invoice.state and actor == side and refusal(session, invoice, action) is None
    )


def check(session: Session, invoice: Invoice, principal: Principal, action: str) -> None:
    """Raise unless the principal's side may take `action` on the invoice now."""
    require_writer(principal)
    side = side_of(invoice, principal)
    actors = {actor for (_s, a), (_n, actor) in TRANSITIONS.items() if a == action}
    if side not in actors:
        raise Forbidden(f"Only the {' or '.join(sorted(actors))} may {action} an invoice.")
    allowed = allowed_actions(session, invoice, side)
    if action not in allowed:
        raise InvalidTransition("invoice", str(invoice.state), action, allowed, refusal(session, invoice, action))


def enter(invoice: Invoice, action: str) -> InvoiceState:
    """Take the table's (state, action) row. Returns the state the invoice was in."""
    row = TRANSITIONS.get((invoice.state, action))
    if row is None:
        raise InvalidTransition("invoice", str(invoice.state), action, [])
    before, invoice.state = invoice.state, row[0]
    return before
