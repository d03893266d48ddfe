"""A demo instance as `concord run` prepares it, for the tests that walk the README: the demo
seeded, the contracts deployed, the certificates uploaded, Northwind's orders with Acme taken
through their escrows, and the worker run until every provenance batch is anchored (batches
close at once) and the paid order's withdrawals are mined."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from concord import cli
from concord.app import create_app
from concord.auth.service import issue_token_for_login
from concord.db import database
from concord.ledger import runtime
from concord.tenancy.models import User
from flask import Flask


def prepared(instance: Path, public_base_url: str) -> Flask:
    """The app of a fresh demo instance in `instance`, whose links and proof bundles name
    `public_base_url`; close it with `runtime.close(app)`."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "CONCORD_INSTANCE_DIR": str(instance),
            "CONCORD_SECRET_KEY": "walkthrough-secret",
            "DATABASE_URL": "",
            "CONCORD_PROVENANCE_BATCH_AGE": "0",
        }.items():
            patch.setenv(key, value)
        app = create_app()
    app.config["PUBLIC_BASE_URL"] = public_base_url
    cli.prepare(app)  # seeds the demo, deploys the contracts, uploads the certificates
    for _ in range(3):  # mint and sign; close and anchor the batches; index
        runtime.work_round(app)
    return app


def bearer(app: Flask, email: str) -> dict[str, str]:
    """The headers of an API token of the demo user with that email."""
    with app.app_context(), database(app).sessionmaker() as session:
        user = session.execute(sa.select(User).where(User.email == email)).scalar_one()
        _, secret = issue_token_for_login(session, user, name="walk-through", expires_in_days=1)
        session.commit()
    return {"Authorization": f"Bearer {secret}"}
