"""The operator's settlement-token page: mint to a member, and every member's balances as
indexed from the chain. (Members see their own balances on the dashboard.)"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from concord import clock, db, policy
from concord.auth.web import login_required
from concord.ledger import health, schemas, service
from concord.ledger.models import ChainIntent
from concord.portal import attempt_with_status, form_data, load, principal
from concord.tenancy import service as tenancy
from concord.tenancy.models import Organization

ledger_portal = Blueprint("ledger_portal", __name__)


def ledger_stall() -> health.Stall | None:
    """The signed-in organization's stalled chain steps (for the banner on every page)."""
    me = g.get("principal")
    if me is None:
        return None
    try:
        return health.stall(db.session(), clock.utcnow(), organization_id=me.org.id)
    except sa.exc.SQLAlchemyError:  # the error page of a failed request must still render
        db.session().rollback()
        return None


@ledger_portal.app_context_processor
def _banner() -> dict:
    return {"ledger_stall": ledger_stall}


@ledger_portal.route("/operator/settlement-tokens", methods=["GET", "POST"])
@login_required
def settlement_tokens() -> ResponseReturnValue:
    me = principal()
    if not me.is_operator:
        abort(404)  # like every operator page: members do not learn it exists
    session = db.session()
    members = list(session.execute(tenancy.directory_query().order_by(sa.func.lower(Organization.legal_name))).scalars())
    errors: dict = {}
    status = 200
    if request.method == "POST":
        loaded, errors = load(schemas.MintSchema(), form_data("organization_id", "currency", "amount"))
        status = 422
        if loaded:
            intent, errors, status = attempt_with_status(service.mint, session, me, loaded["organization_id"], loaded["currency"], loaded["amount"])
            if intent:
                flash(f"{intent.purpose}: queued for the ledger. The balance changes once the transaction is mined and indexed.", "success")
                return redirect(url_for("ledger_portal.settlement_tokens"))
    chain_id = service.current_chain_id(session)
    balances = {org.id: {row["currency"]: row for row in service.balances(session, org.id, chain_id)} for org in members}
    currencies = sorted({currency for rows in balances.values() for currency in rows}) or list(current_app.config["SETTLEMENT_CURRENCIES"])
    mints = (
        session.execute(
            sa.select(ChainIntent).where(policy.visible(me, ChainIntent), ChainIntent.function == "mint").order_by(ChainIntent.seq.desc()).limit(20)
        )
        .scalars()
        .all()
    )
    return render_template(
        "ledger/settlement_tokens.html",
        members=members,
        balances=balances,
        currencies=currencies,
        chain_id=chain_id,
        mints=mints,
        settlement_currencies=current_app.config["SETTLEMENT_CURRENCIES"],
        mint_options=[(str(org.id), f"{org.legal_name} ({', '.join(org.capabilities)})") for org in members],
        currency_options=[(c, c) for c in current_app.config["SETTLEMENT_CURRENCIES"]],
        errors=errors,
        form=request.form if request.method == "POST" else {},
        can_mint=me.user.role == "admin",
    ), status
