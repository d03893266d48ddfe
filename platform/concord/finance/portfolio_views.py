"""Portal pages of a financier's portfolio (exposure per buyer and supplier with its limits,
ageing, due dates, expected and realised settlements, yield; charts of exposure over time
and ageing with their tables beside them), its CSV export, and the buyer-led financing
programmes (a buyer asks a financier partner; the financier opens or declines it)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, timedelta
from decimal import Decimal

from flask import Blueprint, Response, flash, redirect, render_template, url_for

from concord import clock, db, policy
from concord.auth.web import login_required
from concord.errors import NotFound
from concord.finance import limits, portfolio, programmes
from concord.finance.financing_schemas import ExposureLimitInputSchema, FinancingReasonSchema, ProgrammeInputSchema, ProgrammeOpenSchema
from concord.finance.models import FinancingProgramme, LimitSide, ProgrammeState
from concord.portal import attempt_with_status, form_data, load, principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Capability, PartnershipStatus, Relation

finance_portfolio = Blueprint("finance_portfolio", __name__)

#: Days of exposure the chart and its table show, up to today.
SERIES_DAYS = 90
CSV_COLUMNS = (
    "receivable_id",
    "invoice_number",
    "supplier",
    "buyer",
    "currency",
    "face_amount",
    "advance",
    "claim",
    "expected_payment",
    "expected_financier_share",
    "expected_supplier_rebate",
    "expected_shortfall",
    "funded_on",
    "due_date",
    "days_past_due",
    "ageing_bucket",
    "offer_state",
    "receivable_state",
    "settled_on",
    "amount_paid",
    "financier_share",
    "supplier_share",
    "shortfall",
    "annualised_yield_percent",
    "settlement_tx_hash",
)


def _financier() -> None:
    """The portfolio is a financier's: to anyone else the page does not exist."""
    if not principal().org.has(Capability.FINANCIER):
        raise NotFound("No such page.")


def bucket_of(days_past_due: int) -> str:
    for key, _label, low, high in portfolio.AGEING_BUCKETS:
        if (low is None or days_past_due >= low) and (high is None or days_past_due <= high):
            return key
    raise ValueError(days_past_due)


def chart_data(series: dict[str, list[tuple[date, Decimal]]], buckets: list[portfolio.AgeingBucket]) -> str:
    """The charts' data, as the page's inline JSON: amounts stay decimal strings (the
    script draws them; the tables beside the charts are what people and tests read)."""
    return json.dumps(
        {
            "exposure": {currency: [[day.isoformat(), str(amount)] for day, amount in points] for currency, points in series.items()},
            "ageing": [{"bucket": b.label, "currency": b.currency, "advanced": str(b.advanced), "claims": str(b.claims)} for b in buckets],
        }
    )


@finance_portfolio.route("/finance/portfolio")
@login_required
def index():
    return _portfolio_page()


def _portfolio_page(*, errors: dict | None = None, form: dict | None = None, status: int = 200):
    _financier()
    me = principal()
    session = db.session()
    today = clock.utcnow().date()
    positions = portfolio.positions(session, me.org.id)
    per_buyer = portfolio.exposure(session, me.org.id, LimitSide.BUYER)
    per_supplier = portfolio.exposure(session, me.org.id, LimitSide.SUPPLIER)
    buckets = portfolio.ageing(session, me.org.id, today)
    series = portfolio.exposure_series(positions, today - timedelta(days=SERIES_DAYS - 1), today)
    limit_rows = [limits.shown_limit(session, row) for row in session.execute(limits.limits_query(me)).scalars()]
    names = tenancy.legal_names(
        session,
        {p.buyer_org_id for p in positions} | {p.supplier_org_id for p in positions} | {e.counterparty_org_id for e in [*per_buyer, *per_supplier]},
    )
    return (
        render_template(
            "finance/workspace_portfolio.html",
            today=today,
            positions=positions,
            outstanding=[p for p in positions if p.outstanding],
            totals=portfolio.totals(positions),
            per_buyer=per_buyer,
            per_supplier=per_supplier,
            buckets=buckets,
            series=series,
            series_days=SERIES_DAYS,
            chart_json=chart_data(series, buckets),
            settlements=portfolio.realised_settlements(session, me.org.id),
            limits=sorted(limit_rows, key=lambda row: (row["side"], row["counterparty_name"], row["currency"])),
            counterparties=_counterparties(),
            names=names,
            errors=errors or {},
            form=form or {},
            writer=me.user.role != "viewer",
        ),
        status,
    )


def _counterparties() -> list[tuple[str, str]]:
    """Whom a limit may name: the financier's supplier partners and the buyers it is exposed to
    or runs programmes for."""
    me = principal()
    session = db.session()
    found: dict[uuid.UUID, str] = {}
    for partnership in session.execute(tenancy.partnerships_query(me, status=PartnershipStatus.ACTIVE)).unique().scalars():
        if partnership.relation in (Relation.SUPPLIER_FINANCIER, Relation.BUYER_FINANCIER):
            other = partnership.counterparty_of(me.org.id)
            found[other.id] = other.legal_name
    for position in portfolio.positions(session, me.org.id):
        found.setdefault(position.buyer_org_id, "")
    names = tenancy.legal_names(session, [org_id for org_id, name in found.items() if not name])
    return sorted(((str(org_id), name or names.get(org_id, "")) for org_id, name in found.items()), key=lambda pair: pair[1].lower())


@finance_portfolio.route("/finance/portfolio/limits", methods=["POST"])
@login_required
def set_limit():
    _financier()
    given = form_data("counterparty_id", "side", "currency", "amount")
    loaded, errors = load(ExposureLimitInputSchema(), given)
    status = 422
    if loaded:
        limit, errors, status = attempt_with_status(limits.set_limit, db.session(), principal(), loaded)
        if limit:
            flash(f"Limit set: {limit.amount} {limit.currency} on this {limit.side}.", "success")
            return redirect(url_for("finance_portfolio.index", _anchor="limits"))
    return _portfolio_page(errors=errors, form=given, status=status)


@finance_portfolio.route("/finance/portfolio.csv")
@login_required
def export():
    """One row per position: exact decimal strings, ISO dates, UTF-8, a header row."""
    _financier()
    me = principal()
    session = db.session()
    today = clock.utcnow().date()
    positions = portfolio.positions(session, me.org.id)
    names = tenancy.legal_names(session, {p.buyer_org_id for p in positions} | {p.supplier_org_id for p in positions})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for p in positions:
        outstanding = p.outstanding
        writer.writerow(
            [
                p.receivable_id,
                _text_cell(p.invoice_number),
                _text_cell(names.get(p.supplier_org_id, "")),
                _text_cell(names.get(p.buyer_org_id, "")),
                p.currency,
                p.face,
                p.advance,
                p.claim,
                p.expected_payment,
                p.expected_financier_share,
                p.expected_rebate,
                p.expected_shortfall,
                p.funded_on.isoformat(),
                p.due_date.isoformat(),
                p.days_past_due(today) if outstanding else "",
                bucket_of(p.days_past_due(today)) if outstanding else "",
                p.offer_state,
                p.receivable_state,
                p.settled_on.isoformat() if p.settled_on else "",
                _maybe(p.amount_paid),
                _maybe(p.financier_share),
                _maybe(p.supplier_share),
                _maybe(p.shortfall),
                _maybe(p.annualised_yield),
                p.settlement_tx or "",
            ]
        )
    return Response(
        out.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="portfolio-{today.isoformat()}.csv"', "Content-Type": "text/csv; charset=utf-8"},
    )


def _maybe(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _text_cell(value: str) -> str:
    """A name or number as a spreadsheet shows it, never as a formula it would run."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# -- programmes ----------------------------------------------------------------------------


def _programmes_page(*, active: str | None = None, target: uuid.UUID | None = None, errors: dict | None = None, form: dict | None = None, status: int = 200):
    me = principal()
    session = db.session()
    rows = list(session.execute(programmes.programmes_query(me).order_by(FinancingProgramme.created_at.desc(), FinancingProgramme.id)).scalars())
    financiers = []
    if me.org.has(Capability.BUYER):
        partnerships = session.execute(tenancy.partnerships_query(me, status=PartnershipStatus.ACTIVE, relation=Relation.BUYER_FINANCIER)).unique().scalars()
        financiers = sorted(
            ((str(p.counterparty_of(me.org.id).id), p.counterparty_of(me.org.id).legal_name) for p in partnerships), key=lambda pair: pair[1].lower()
        )
    outstanding = {row.id: programmes.programme_outstanding(session, row.id) for row in rows if row.state == ProgrammeState.OPEN}
    return (
        render_template(
            "finance/workspace_programmes.html",
            programmes=[(row, programmes.allowed_actions(row, programmes.side_of(row, me))) for row in rows],
            outstanding=outstanding,
            financiers=financiers,
            names=tenancy.legal_names(session, {r.buyer_org_id for r in rows} | {r.financier_org_id for r in rows}),
            is_buyer=me.org.has(Capability.BUYER),
            writer=me.user.role != "viewer",
            active=active,
            target=target,
            errors=errors or {},
            form=form or {},
        ),
        status,
    )


@finance_portfolio.route("/finance/programmes")
@login_required
def programme_list():
    return _programmes_page()


@finance_portfolio.route("/finance/programmes", methods=["POST"])
@login_required
def request_programme():
    given = form_data("financier_id", "currency")
    loaded, errors = load(ProgrammeInputSchema(), given)
    status = 422
    if loaded:
        made, errors, status = attempt_with_status(programmes.request, db.session(), principal(), loaded)
        if made:
            flash(f"Asked for a {made.currency} programme: the financier is told.", "success")
            return redirect(url_for("finance_portfolio.programme_list"))
    return _programmes_page(active="request", errors=errors, form=given, status=status)


def _programme(programme_id: uuid.UUID) -> FinancingProgramme:
    return policy.get_visible(db.session(), FinancingProgramme, programme_id, principal())


@finance_portfolio.route("/finance/programmes/<uuid:programme_id>/open", methods=["POST"])
@login_required
def open_programme(programme_id: uuid.UUID):
    programme = _programme(programme_id)
    given = form_data("discount_rate", "limit_amount")
    loaded, errors = load(ProgrammeOpenSchema(), given)
    status = 422
    if loaded:
        opened, errors, status = attempt_with_status(programmes.open_programme, db.session(), principal(), programme.id, loaded)
        if opened:
            flash("Programme opened: the buyer's suppliers may take early payment on its approved invoices.", "success")
            return redirect(url_for("finance_portfolio.programme_list"))
    return _programmes_page(active="open", target=programme.id, errors=errors, form=given, status=status)


def _programme_decision(programme_id: uuid.UUID, action, done_message: str, name: str):
    programme = _programme(programme_id)
    given = form_data("reason")
    loaded, errors = load(FinancingReasonSchema(), given)
    status = 422
    if loaded is not None:
        done, errors, status = attempt_with_status(action, db.session(), principal(), programme.id, loaded["reason"])
        if done:
            flash(done_message, "success")
            return redirect(url_for("finance_portfolio.programme_list"))
    return _programmes_page(active=name, target=programme.id, errors=errors, form=given, status=status)


@finance_portfolio.route("/finance/programmes/<uuid:programme_id>/decline", methods=["POST"])
@login_required
def decline_programme(programme_id: uuid.UUID):
    return _programme_decision(programme_id, programmes.decline, "Programme declined: the buyer is told.", "decline")


@finance_portfolio.route("/finance/programmes/<uuid:programme_id>/close", methods=["POST"])
@login_required
def close_programme(programme_id: uuid.UUID):
    return _programme_decision(programme_id, programmes.close, "Programme closed: no new early payments; those taken run their course.", "close")
