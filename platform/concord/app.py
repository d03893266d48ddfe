"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from flask import Flask, send_from_directory

from concord import api_common, bootstrap, errors, files, idempotency, system_api
from concord.audit import api as audit_api
from concord.audit import views as audit_views
from concord.auth import api as auth_api
from concord.auth import views as auth_views
from concord.auth import web as auth_web
from concord.catalog import api as catalog_api
from concord.catalog import views as catalog_views
from concord.config import Config
from concord.db import Database
from concord.disputes import api as disputes_api
from concord.disputes import views as disputes_views
from concord.documents import api as documents_api
from concord.documents import views as documents_views
from concord.engagements import api as engagements_api
from concord.engagements import views as engagements_views
from concord.engagements import web as engagements_web
from concord.extensions import ConcordApi, csrf
from concord.finance import api as invoices_api
from concord.finance import financing_api, portfolio_views, workspace_views
from concord.finance import views as invoices_views
from concord.ledger import api as ledger_api
from concord.ledger import rpc_api as ledger_rpc_api
from concord.ledger import views as ledger_views
from concord.logistics import api as logistics_api
from concord.logistics import views as shipment_views
from concord.notifications import api as notifications_api
from concord.notifications import views as notifications_views
from concord.orders import api as orders_api
from concord.orders import views as orders_views
from concord.provenance import api as provenance_api
from concord.provenance import views as provenance_views
from concord.provenance.resolver import resolver as digital_link_resolver
from concord.tenancy import api as tenancy_api
from concord.tenancy import views as tenancy_views
from concord.vmi import agreements_api as vmi_agreements_api
from concord.vmi import proposals_api as vmi_proposals_api
from concord.vmi import stock_api as vmi_stock_api
from concord.vmi import stock_views as vmi_stock_views
from concord.vmi import views as vmi_views
from concord.web import navigation
from concord.web import views as web_views

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        "concord",
        template_folder=str(FRONTEND / "templates"),
        static_folder=str(FRONTEND / "static"),
        static_url_path="/static",
    )
    given = dict(config or {})
    # A test or embedding that names the database, secret and instance folder reads no environment.
    settings = Config.defaults() if Config.REQUIRED <= given.keys() else Config.from_env().as_mapping()
    app.config.update({**settings, **given})
    app.config["OPENAPI_SWAGGER_UI_URL"] = "/api/docs/assets/"
    register_extensions(app)
    register_blueprints(app)
    errors.register_error_handlers(app)
    navigation.register(app)
    bootstrap.wire(app)
    logging.basicConfig(level=logging.INFO)
    return app


#: The endpoints that take files (a dispute's evidence), through the API and the portal.
UPLOAD_ENDPOINTS = frozenset({"disputes.DisputeEvidenceList", "disputes_portal.add_evidence", "documents.Documents", "documents_portal.upload"})


def register_extensions(app: Flask) -> None:
    Database(app.config["SQLALCHEMY_DATABASE_URL"]).init_app(app)
    auth_web.register(app)
    engagements_web.register(app)  # after auth: reads the principal it resolved
    api_common.register(app)
    files.register(app, UPLOAD_ENDPOINTS)  # before idempotency, which reads the body
    vmi_stock_api.register(app)  # likewise: stock batches and CSV uploads carry larger bodies
    idempotency.register(app)
    csrf.init_app(app)
    api = ConcordApi()
    app.extensions["concord.api"] = api
    api.init_app(
        app, spec_kwargs={"info": {"description": "Concord: purchase orders, shipments, escrow and provenance shared across a supply-chain consortium."}}
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]


def register_blueprints(app: Flask) -> None:
    api = app.extensions["concord.api"]
    for module in (
        system_api,
        auth_api,
        tenancy_api,
        catalog_api,
        orders_api,
        logistics_api,
        disputes_api,
        audit_api,
        ledger_api,
        notifications_api,
        provenance_api,
        engagements_api,
        documents_api,
        invoices_api,
        financing_api,
        vmi_agreements_api,
        vmi_proposals_api,
        vmi_stock_api,
    ):
        for blueprint in module.BLUEPRINTS:
            api.register_blueprint(blueprint)
            csrf.exempt(blueprint)  # the API authenticates with bearer tokens, not cookies
    for blueprint in ledger_rpc_api.BLUEPRINTS:  # JSON-RPC, not a REST resource: outside the OpenAPI document
        app.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    for blueprint in (web_views.web, auth_views.auth_portal, tenancy_views.admin, audit_views.audit_portal):
        app.register_blueprint(blueprint)
    for blueprint in (
        catalog_views.catalog_portal,
        orders_views.orders_portal,
        ledger_views.ledger_portal,
        shipment_views.shipments_portal,
        disputes_views.disputes_portal,
        notifications_views.notifications_portal,
        provenance_views.provenance_portal,
        engagements_views.engagements_portal,
        digital_link_resolver,
        documents_views.documents_portal,
        invoices_views.invoices_portal,
        workspace_views.finance_workspace,
        portfolio_views.finance_portfolio,
        vmi_views.vmi_portal,
        vmi_stock_views.vmi_stock_portal,
    ):
        app.register_blueprint(blueprint)

    @app.route("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    @app.route("/static/vendor/htmx.min.js")
    def htmx_script():
        # npm's copy, at the version frontend/package-lock.json pins (`make` installs it).
        return send_from_directory(FRONTEND / "node_modules" / "htmx.org" / "dist", "htmx.min.js", max_age=3600)

    @app.route("/static/vendor/uplot/<any('uPlot.iife.min.js', 'uPlot.min.css'):filename>")
    def uplot_asset(filename: str):
        # The portfolio's charts: npm's uPlot at the version frontend/package-lock.json pins.
        return send_from_directory(FRONTEND / "node_modules" / "uplot" / "dist", filename, max_age=3600)
