"""The chain transactions (outbox intents) of the caller's organization and their states."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import page_of, page_response
from concord.auth.web import current_principal
from concord.ledger import schemas, service
from concord.ledger.models import ChainIntent

ledger = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger", description="Transactions your organization sends to the ledger.")
BLUEPRINTS = [ledger]


@ledger.route("/transactions")
class ChainTransactions(MethodView):
    @ledger.arguments(schemas.ChainTransactionFilterSchema, location="query")
    @ledger.response(200, page_of(schemas.ChainTransactionSchema))
    def get(self, args):
        """Your organization's chain transactions, newest first, with hash, block and status."""
        principal = current_principal()
        query = sa.select(ChainIntent).where(policy.visible(principal, ChainIntent))
        if args["state"]:
            query = query.where(ChainIntent.state == args["state"])
        return page_response(query, [ChainIntent.seq], args)


@ledger.route("/transactions/<uuid:transaction_id>")
class ChainTransactionItem(MethodView):
    @ledger.response(200, schemas.ChainTransactionSchema)
    def get(self, transaction_id: uuid.UUID):
        return policy.get_visible(db.session(), ChainIntent, transaction_id, current_principal())


@ledger.route("/mint")
class Mint(MethodView):
    @ledger.arguments(schemas.MintSchema)
    @ledger.response(202, schemas.ChainTransactionSchema)
    def post(self, data):
        """Issue settlement tokens to a member (operator admins); queued to the ledger."""
        return service.mint(db.session(), current_principal(), data["organization_id"], data["currency"], data["amount"])


@ledger.route("/balances")
class Balances(MethodView):
    @ledger.response(200, schemas.BalanceSchema(many=True))
    def get(self):
        """Your organization's settlement-token balances, as indexed from the chain."""
        session = db.session()
        return service.balances(session, current_principal().org.id, service.current_chain_id(session))
