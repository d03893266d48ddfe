"""The ledger's moving parts for one app: its chain connection, its outbox worker and, in
embedded mode, the thread that runs the worker and the indexer beside the web server."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from concord import wiring
from concord.db import database
from concord.ledger import indexer, outbox
from concord.ledger.chain import Chain, open_chain

log = logging.getLogger(__name__)
_opening = threading.Lock()


def chain(app: Flask) -> Chain:
    """The app's chain, opened (and, when embedded, replayed from its journal) on first use."""
    with _opening:
        current = app.extensions.get("concord.chain")
        if current is None:
            current = app.extensions["concord.chain"] = open_chain(
                app.config["CHAIN_URL"], app.config["INSTANCE_DIR"], funder_key=app.config.get("CHAIN_FUNDER_KEY")
            )
        return current


def worker(app: Flask) -> outbox.Worker:
    current = app.extensions.get("concord.outbox")
    if current is None:
        current = app.extensions["concord.outbox"] = outbox.Worker(app, chain(app))
    return current


def index(app: Flask) -> int:
    with database(app).sessionmaker() as session:
        return indexer.sync(session, chain(app))


def after_round(app: Flask) -> None:
    """Index what was mined, then run the other domains' round jobs (in an app context of
    their own: they act for no one, see Worker.drain)."""
    index(app)
    with app.app_context():
        for job in wiring.of(app).round_jobs:  # registered by concord.bootstrap
            try:
                job(app)
            except Exception:  # one failing job must not stop the ledger worker
                log.exception("round job %s failed", getattr(job, "__name__", job))


def work_round(app: Flask) -> None:
    """One round of the worker process: send what is due, then index what was mined."""
    worker(app).drain()
    after_round(app)


def start_thread(app: Flask) -> threading.Event:
    """Run the outbox and the indexer in a daemon thread; set the returned event to stop."""
    stop = threading.Event()
    ledger_worker = worker(app)

    def loop() -> None:
        ledger_worker.run(stop, poll_seconds=float(app.config["LEDGER_POLL_SECONDS"]), after_round=lambda: after_round(app))

    threading.Thread(target=loop, name="concord-ledger", daemon=True).start()
    return stop


def close(app: Flask) -> None:
    current = app.extensions.pop("concord.chain", None)
    app.extensions.pop("concord.outbox", None)
    if current is not None:
        current.close()
