"""Portal pages of the financing workspaces: the workspace of each side (a supplier's
receivables, offers and cash received; a buyer's invoices to approve, exceptions and
payables due; a financier's requests to answer), the offers page, and each receivable's
page with its evidence, the buyer's record, the offers side by side and the chain history.

The forms translate to `concord.finance.financing` calls (request offers, answer, decline,
withdraw, accept); what may happen is decided there, and its refusals are shown on the
receivable's page with the form kept."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from concord import clock, db, policy
from concord.auth.web import login_required
from concord.finance import financing, offers_lifecycle, portfolio
from concord.finance import receivables as receivables_service
from concord.finance.financing_schemas import FinancingReasonSchema, OfferRequestSchema, OfferTermsSchema
from concord.finance.models import FinancingOffer, OfferState, Receivable
from concord.portal import UTC_OFFSETS, attempt_with_status, form_data, form_moment, load, money_text, principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, PartnershipStatus, Relation

finance_workspace = Blueprint("finance_workspace", __name__)

#: The forms of a receivable's page, by the name its refusals come back under.
OFFER_FIELDS = ("advance_rate", "discount_rate", "fees", "valid_until")


@dataclass(frozen=True)
class Compared:
    """One offer as a supplier compares it with the others on the same receivable."""

    offer: FinancingOffer
    financier: str
    cost: Decimal | None  # discount + fees: the claim beyond the advance
    net: Decimal | None  # what the supplier ends with: the advance, and the payment beyond the claim
    actions: list[str]


def compare(offers: list[FinancingOffer], expected: Decimal, names: dict[uuid.UUID, str], side_actions) -> list[Compared]:
    """The offers side by side, the one leaving the supplier most first."""
    out = []
    for offer in offers:
        priced = offer.advance is not None and offer.claim is not None
        cost = offer.claim - offer.advance if priced else None  # type: ignore[operator]
        net = offer.advance + max(expected - offer.claim, Decimal("0.00")) if priced else None  # type: ignore[operator]
        out.append(Compared(offer, names.get(offer.financier_org_id, ""), cost, net, side_actions(offer)))
    return sorted(out, key=lambda c: (c.net is None, -(c.net or 0), c.financier))


def _offer_actions(offer: FinancingOffer) -> list[str]:
    return offers_lifecycle.offer_actions(offer, offers_lifecycle.offer_side(offer, principal()))


def invoice_href(invoice_id: uuid.UUID | str | None = None) -> str:
    """The invoices' list, or one invoice's page (the invoices' pages, concord.finance.views,
    live at /finance/invoices and /finance/invoices/<id>)."""
    return "/finance/invoices" if invoice_id is None else f"/finance/invoices/{invoice_id}"


@finance_workspace.app_context_processor
def _finance_helpers() -> dict[str, Any]:
    return {"invoice_href": invoice_href}


# -- the workspace -------------------------------------------------------------------------


@finance_workspace.route("/finance")
@login_required
def index() -> str:
    me = principal()
    session = db.session()
    context: dict[str, Any] = {"today": clock.utcnow().date()}
    names: set[uuid.UUID] = set()
    if me.org.has(Capability.SUPPLIER):
        receivables = list(
            session.execute(
                sa.select(Receivable).where(Receivable.supplier_org_id == me.org.id).order_by(Receivable.due_date.desc(), Receivable.id).limit(100)
            ).scalars()
        )
        live = defaultdict(int)
        for receivable_id, count in session.execute(
            sa.select(FinancingOffer.receivable_id, sa.func.count())
            .where(FinancingOffer.supplier_org_id == me.org.id, FinancingOffer.state.in_(offers_lifecycle.LIVE_OFFER_STATES))
            .group_by(FinancingOffer.receivable_id)
        ):
            live[receivable_id] = count
        cash = portfolio.cash_received(session, me.org.id)
        context.update(supplier_receivables=receivables, live_offers=live, cash=cash, cash_totals=portfolio.cash_totals(cash))
        names |= {r.buyer_org_id for r in receivables} | {r.holder_org_id for r in receivables}
    if me.org.has(Capability.BUYER):
        to_approve, exceptions = portfolio.invoices_to_decide(session, me.org.id)
        payables = portfolio.payables(session, me.org.id)
        context.update(to_approve=to_approve, exceptions=exceptions, payables=payables)
        names |= {i.supplier_org_id for i in [*to_approve, *exceptions, *payables]}
    if me.org.has(Capability.FINANCIER):
        requested = _financier_offers(OfferState.REQUESTED)
        waiting = _financier_offers(OfferState.OFFERED)
        context.update(requested=requested, waiting=waiting, totals=portfolio.totals(portfolio.positions(session, me.org.id)))
    context["names"] = tenancy.legal_names(session, names)
    return render_template("finance/workspace_index.html", **context)


def _financier_offers(state: OfferState) -> list[tuple[FinancingOffer, Receivable]]:
    me = principal()
    return list(
        db.session()
        .execute(
            sa.select(FinancingOffer, Receivable)
            .join(Receivable, Receivable.id == FinancingOffer.receivable_id)
            .where(FinancingOffer.financier_org_id == me.org.id, FinancingOffer.state == state)
            .order_by(Receivable.due_date, FinancingOffer.id)
            .limit(200)
        )
        .tuples()
    )


# -- offers --------------------------------------------------------------------------------


@finance_workspace.route("/finance/offers")
@login_required
def offers() -> str:
    """A financier's requests to answer and offers waiting for the supplier; a supplier's
    offers side by side, per receivable still on offer."""
    me = principal()
    session = db.session()
    context: dict[str, Any] = {}
    org_ids: set[uuid.UUID] = set()
    if me.org.has(Capability.FINANCIER):
        requested, waiting = _financier_offers(OfferState.REQUESTED), _financier_offers(OfferState.OFFERED)
        answered = list(
            session.execute(
                sa.select(FinancingOffer, Receivable)
                .join(Receivable, Receivable.id == FinancingOffer.receivable_id)
                .where(FinancingOffer.financier_org_id == me.org.id, FinancingOffer.state.not_in((OfferState.REQUESTED, OfferState.OFFERED)))
                .order_by(FinancingOffer.updated_at.desc(), FinancingOffer.id)
                .limit(50)
            ).tuples()
        )
        context.update(requested=requested, waiting=waiting, answered=answered)
        org_ids |= {r.supplier_org_id for _o, r in [*requested, *waiting, *answered]} | {r.buyer_org_id for _o, r in [*requested, *waiting, *answered]}
    if me.org.has(Capability.SUPPLIER):
        on_offer = list(
            session.execute(
                sa.select(Receivable)
                .where(
                    Receivable.supplier_org_id == me.org.id,
                    Receivable.id.in_(sa.select(FinancingOffer.receivable_id).where(FinancingOffer.state.in_((OfferState.REQUESTED, OfferState.OFFERED)))),
                )
                .order_by(Receivable.due_date, Receivable.id)
                .limit(50)
            ).scalars()
        )
        by_receivable: dict[uuid.UUID, list[FinancingOffer]] = defaultdict(list)
        for offer in session.execute(
            sa.select(FinancingOffer).where(FinancingOffer.receivable_id.in_([r.id for r in on_offer])).order_by(FinancingOffer.requested_at)
        ).scalars():
            by_receivable[offer.receivable_id].append(offer)
        org_ids |= {o.financier_org_id for group in by_receivable.values() for o in group} | {r.buyer_org_id for r in on_offer}
        names = tenancy.legal_names(session, org_ids)
        compared = []
        for receivable in on_offer:
            expected = receivables_service.expected_payment(session, receivable)
            compared.append((receivable, expected, compare(by_receivable[receivable.id], expected, names, _offer_actions)))
        context.update(compared=compared)
    context["names"] = tenancy.legal_names(session, org_ids)
    return render_template("finance/workspace_offers.html", **context)


# -- a receivable's page -------------------------------------------------------------------


def _receivable_page(receivable_id: uuid.UUID, *, active: str | None = None, errors: dict | None = None, form: dict | None = None, status: int = 200):
    me = principal()
    session = db.session()
    receivable = policy.get_visible(session, Receivable, receivable_id, me)
    detail = financing.receivable_detail(session, me, receivable.id)
    offers = list(session.execute(financing.offers_query(me, receivable_id=receivable.id).order_by(FinancingOffer.requested_at)).scalars())
    names = tenancy.legal_names(session, {receivable.supplier_org_id, receivable.buyer_org_id, receivable.holder_org_id, *(o.financier_org_id for o in offers)})
    side = "supplier" if me.org.id == receivable.supplier_org_id else "buyer" if me.org.id == receivable.buyer_org_id else "financier"
    mine = next((o for o in offers if o.financier_org_id == me.org.id), None)
    asked = {o.financier_org_id for o in offers if o.state in offers_lifecycle.LIVE_OFFER_STATES}
    financiers = []
    if side == "supplier" and "request_offers" in detail["allowed_actions"]:
        partnerships = session.execute(tenancy.partnerships_query(me, status=PartnershipStatus.ACTIVE, relation=Relation.SUPPLIER_FINANCIER)).unique().scalars()
        financiers = sorted(
            ((p.counterparty_of(me.org.id).id, p.counterparty_of(me.org.id).legal_name) for p in partnerships if p.counterparty_of(me.org.id).id not in asked),
            key=lambda pair: pair[1].lower(),
        )
    return (
        render_template(
            "finance/workspace_receivable.html",
            receivable=receivable,
            detail=detail,
            side=side,
            names=names,
            compared=compare(offers, detail["expected_payment"], names, _offer_actions) if side == "supplier" else [],
            mine=mine,
            mine_actions=_offer_actions(mine) if mine is not None else [],
            financiers=financiers,
            writer=me.user.role != "viewer",
            active=active,
            errors=errors or {},
            form=form or {},
            utc_offsets=UTC_OFFSETS,
        ),
        status,
    )


@finance_workspace.route("/finance/receivables/<uuid:receivable_id>")
@login_required
def receivable(receivable_id: uuid.UUID):
    return _receivable_page(receivable_id)


@finance_workspace.route("/finance/receivables/<uuid:receivable_id>/offers", methods=["POST"])
@login_required
def request_offers(receivable_id: uuid.UUID):
    """The supplier asks the financier partners it ticked for offers."""
    item = policy.get_visible(db.session(), Receivable, receivable_id, principal())
    chosen = request.form.getlist("financier_ids")
    loaded, errors = load(OfferRequestSchema(), {"financier_ids": chosen})
    status = 422
    if loaded:
        asked, errors, status = attempt_with_status(financing.request_offers, db.session(), principal(), item.id, loaded["financier_ids"])
        if asked:
            flash(f"Asked {len(asked)} financier{'s' if len(asked) != 1 else ''} for an offer: they are told now.", "success")
            return redirect(url_for("finance_workspace.receivable", receivable_id=item.id, _anchor="offers"))
    return _receivable_page(item.id, active="request_offers", errors=_flat(errors), form={"financier_ids": chosen}, status=status)


def _flat(errors: dict) -> dict[str, list[str]]:
    """Per-index messages of a list field (`financier_ids.0`) shown under the list."""
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        out.setdefault(key.split(".")[0], []).extend(messages)
    return out


def _offer(offer_id: uuid.UUID) -> FinancingOffer:
    return policy.get_visible(db.session(), FinancingOffer, offer_id, principal())


@finance_workspace.route("/finance/offers/<uuid:offer_id>/answer", methods=["POST"])
@login_required
def answer(offer_id: uuid.UUID):
    """The financier's terms: advance rate, annual discount rate, fees and validity."""
    offer = _offer(offer_id)
    valid_until, moment_errors = form_moment("valid_until")
    given = form_data("advance_rate", "discount_rate", "fees")
    if valid_until is not None:
        given["valid_until"] = valid_until
    loaded, errors = load(OfferTermsSchema(), given, errors=moment_errors)
    status = 422
    if loaded:
        made, errors, status = attempt_with_status(financing.make_offer, db.session(), principal(), offer.id, loaded)
        if made:
            flash(
                f"Offer made: {money_text(made.advance)} now against a claim of {money_text(made.claim)}. "
                "It goes to the ledger, and the supplier may accept it once it is there.",
                "success",
            )
            return redirect(url_for("finance_workspace.receivable", receivable_id=offer.receivable_id, _anchor="your-offer"))
    form = {name: request.form.get(name, "") for name in (*OFFER_FIELDS, "valid_until_offset")}
    return _receivable_page(offer.receivable_id, active="answer", errors=errors, form=form, status=status)


def _decision(offer_id: uuid.UUID, action, verb: str, anchor: str, *, with_reason: bool):
    offer = _offer(offer_id)
    args: list[Any] = [db.session(), principal(), offer.id]
    errors: dict = {}
    status = 422
    loaded: dict | None = {}
    if with_reason:
        loaded, errors = load(FinancingReasonSchema(), form_data("reason"))
        if loaded is not None:
            args.append(loaded["reason"])
    if loaded is not None:
        done, errors, status = attempt_with_status(action, *args)
        if done:
            flash(verb, "success")
            return redirect(url_for("finance_workspace.receivable", receivable_id=offer.receivable_id, _anchor=anchor))
    return _receivable_page(offer.receivable_id, active=action.__name__, errors=errors, form={"reason": request.form.get("reason", "")}, status=status)


@finance_workspace.route("/finance/offers/<uuid:offer_id>/decline", methods=["POST"])
@login_required
def decline(offer_id: uuid.UUID):
    return _decision(offer_id, financing.decline, "Declined: the supplier is told.", "your-offer", with_reason=True)


@finance_workspace.route("/finance/offers/<uuid:offer_id>/withdraw", methods=["POST"])
@login_required
def withdraw(offer_id: uuid.UUID):
    return _decision(offer_id, financing.withdraw, "Withdrawn: the other party is told.", "offers", with_reason=True)


@finance_workspace.route("/finance/offers/<uuid:offer_id>/accept", methods=["POST"])
@login_required
def accept(offer_id: uuid.UUID):
    return _decision(
        offer_id,
        financing.accept,
        "Accepted: the ledger assigns the receivable to the financier and pays you the advance in one transaction; the other offers are withdrawn.",
        "offers",
        with_reason=False,
    )


# -- the dashboard's figures ---------------------------------------------------------------


def dashboard_figures(session, me) -> dict[str, Any]:
    """What the dashboard's finance cards show: a supplier's receivables by state, a
    financier's requests to answer and offers waiting, and its portfolio per currency."""
    out: dict[str, Any] = {}
    if me.org.has(Capability.SUPPLIER):
        by_state = sa.select(Receivable.state, sa.func.count()).where(Receivable.supplier_org_id == me.org.id).group_by(Receivable.state)
        out["receivables"] = {str(state): count for state, count in session.execute(by_state)}
    if me.org.has(Capability.FINANCIER):
        open_offers = (
            sa.select(FinancingOffer.state, sa.func.count())
            .where(FinancingOffer.financier_org_id == me.org.id, FinancingOffer.state.in_((OfferState.REQUESTED, OfferState.OFFERED)))
            .group_by(FinancingOffer.state)
        )
        out["offers"] = {str(state): count for state, count in session.execute(open_offers)}
        out["totals"] = portfolio.totals(portfolio.positions(session, me.org.id))
    if me.org.has(Capability.BUYER):
        to_approve, exceptions = portfolio.invoices_to_decide(session, me.org.id)
        out["buyer"] = {"to_approve": len(to_approve), "exceptions": len(exceptions), "payables": portfolio.payables(session, me.org.id)}
    return out
