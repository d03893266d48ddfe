"""The `concord` command: init, demo, run, worker, audit verify, contracts build/deploy,
ledger verify, keys rotate, operator create."""

from __future__ import annotations

import os
import secrets
import sys

import click

from concord import migrate
from concord.ledger.compiler import build_contracts


def _app():
    from concord.app import create_app

    return create_app()


def _session(app):
    from concord.db import database

    return database(app).sessionmaker()


@click.group()
def main() -> None:
    """Concord: supply-chain collaboration on a permissioned ledger."""


@main.command()
def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    app = _app()
    from concord.db import database

    migrate.upgrade(database(app).engine)
    click.echo(f"Database is at the latest schema: {database(app).engine.url.render_as_string(hide_password=True)}")


def _print_logins(logins) -> None:
    click.echo("Demo logins (password for all: shown once here and in README.md):")
    width = max(len(name) for name, _, _ in logins)
    for name, email, password in logins:
        click.echo(f"  {name.ljust(width)}  {email}  {password}")


@main.command()
def demo() -> None:
    """Seed the demo consortium into an empty database and print its logins."""
    from concord import demo as demo_data
    from concord.db import database
    from concord.tenancy.service import is_empty

    app = _app()
    migrate.upgrade(database(app).engine)
    with app.app_context(), _session(app) as session:
        if not is_empty(session):
            raise click.ClickException("The database already has organizations; the demo seeds only an empty one.")
        _print_logins(demo_data.seed(session))


def prepare(app) -> None:
    """Bring the schema up to date; seed the demo only into an empty embedded database,
    never silently into a production one."""
    from concord import demo as demo_data
    from concord.db import database
    from concord.tenancy.service import is_empty

    migrate.upgrade(database(app).engine)
    seeded = False
    with app.app_context(), _session(app) as session:
        if is_empty(session):
            if app.config["EMBEDDED_DEFAULTS"]:
                _print_logins(demo_data.seed(session))
                seeded = True
            else:
                click.echo("The database is empty. Create the operator with `concord operator create`, or seed a demo with `concord demo`.")
                return
    if _embedded_chain(app):
        _deploy(app)
        if seeded:
            with app.app_context(), _session(app) as session:
                demo_data.seed_on_ledger(session)


def _embedded_chain(app) -> bool:
    from concord.ledger.chain import EMBEDDED

    return app.config["CHAIN_URL"] == EMBEDDED


def _chain(app):
    """The app's chain; a clear message when another process holds the embedded one."""
    from concord.ledger import runtime
    from concord.ledger.chain import EmbeddedChainBusy

    try:
        return runtime.chain(app)
    except EmbeddedChainBusy as error:
        raise click.ClickException(str(error)) from None


def _deploy(app) -> None:
    from concord.ledger import runtime
    from concord.ledger.deploy import DeploymentError, deploy

    with app.app_context():
        chain = _chain(app)
        if getattr(chain, "resumed_from", None) is not None:
            click.echo(f"Embedded chain resumed at block {chain.resumed_from} (state proven), {chain.replayed_blocks} blocks replayed.")
        elif getattr(chain, "replayed_blocks", 0):
            click.echo(f"Embedded chain rebuilt: {chain.replayed_blocks} blocks replayed from its journal.")
        try:
            steps = deploy(app, chain, runtime.worker(app))
        except DeploymentError as error:
            raise click.ClickException(str(error)) from None
    if steps:
        click.echo(f"Deployed Concord's contracts on chain {chain.chain_id} ({len(steps)} steps).")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def run(host: str, port: int, threads: int) -> None:
    """Migrate, seed the demo when the embedded database is empty, and serve portal and API."""
    from waitress import serve

    from concord.ledger import runtime

    app = _app()
    app.config["PUBLIC_BASE_URL"] = app.config["PUBLIC_BASE_URL"] or f"http://{host}:{port}"
    prepare(app)
    if _embedded_chain(app):
        runtime.start_thread(app)  # the embedded chain lives in this process, and so does its worker
    click.echo(f"Concord is serving the portal on http://{host}:{port}/ and the API on http://{host}:{port}/api/v1 (docs: /api/docs)")
    serve(app, host=host, port=port, threads=threads, ident="concord")


@main.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the chain; name every entry that was altered, inserted or removed; check
    every anchored head against ProvenanceAnchor on chain."""
    import sqlalchemy as sa

    from concord.audit.anchoring import verify_anchors
    from concord.audit.models import AuditAnchor, AuditEntry
    from concord.audit.service import verify

    app = _app()
    with app.app_context(), _session(app) as session:
        problems = verify(session)
        count = session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one()
        anchored = session.execute(sa.select(sa.func.count()).select_from(AuditAnchor)).scalar_one()
        chain, through = _reading_chain(app) if anchored else (None, None)
        try:
            report = verify_anchors(session, chain, problems, block=through)
        finally:
            if through is not None and chain is not None:
                chain.close()
    if anchored:
        click.echo(f"Anchored heads: {report.checked} checked on chain, {report.pending} not mined yet.")
    problems = report.problems
    _report(
        problems,
        ok=f"Audit chain intact: {count} entries verified.",
        broken=f"Audit chain BROKEN: {len(problems)} problem(s) in {count} entries. First: {problems[0] if problems else ''}",
    )


def _report(problems, *, ok: str, broken: str) -> None:
    """Print a verification's outcome; exit 1 when it found problems (one line each)."""
    if not problems:
        click.echo(ok)
        return
    click.echo(broken, err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


@main.group()
def keys() -> None:
    """Custodial signing keys of the organizations."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every organization's signing key under a new master key."""
    from concord.ledger import keys as ledger_keys

    app = _app()
    ring = ledger_keys.KeyRing.load(app.config["INSTANCE_DIR"])
    new_master = secrets.token_bytes(32)
    with app.app_context(), _session(app) as session:
        count = ledger_keys.rotate(session, app.config["INSTANCE_DIR"], ring, new_master)
    click.echo(f"Re-encrypted {count} signing key(s) under master key {ledger_keys.master_key_id(new_master)}.")
    if ring.source == "environment":
        click.echo("Set CONCORD_MASTER_KEY to this value before the next start (it is shown only now):")
        click.echo(ledger_keys.encode_master(new_master))
    else:
        click.echo(f"The new master key replaced {ring.source}.")


@main.group()
def contracts() -> None:
    """Concord's Solidity contracts (contracts/): compile them into contracts/build."""


contracts.add_command(build_contracts)


@contracts.command("deploy")
def contracts_deploy() -> None:
    """Deploy the contracts on the configured chain, once per chain id (again: no change)."""
    from concord.db import database

    app = _app()
    migrate.upgrade(database(app).engine)
    _deploy(app)
    click.echo("Contracts are deployed.")


@main.command()
def worker() -> None:
    """Send queued chain intents and index the chain's events, until interrupted."""
    import signal
    import threading

    from concord.ledger import runtime

    app = _app()
    if _embedded_chain(app):
        raise click.ClickException(
            "The embedded chain lives inside `concord run`, which runs its own worker; `concord worker` is for a chain node given by CONCORD_CHAIN_URL."
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"Concord worker: outbox and indexer on {app.config['CHAIN_URL']}")
    with app.app_context():
        try:
            runtime.worker(app).run(stop, poll_seconds=float(app.config["LEDGER_POLL_SECONDS"]), after_round=lambda: runtime.after_round(app))
        except KeyboardInterrupt:
            pass


@main.group()
def ledger() -> None:
    """The permissioned ledger: compare the database with the chain."""


@ledger.command("verify")
@click.option("--full", is_flag=True, help="Check everything, not only what changed since the last run.")
def ledger_verify(full: bool) -> None:
    """Compare the database with the chain, read-only, beside the running platform.

    Reads the chain at its head when the run starts; checks what changed since the last
    run unless --full (the first run on a chain is always full). Exits 1 on a disagreement.
    """
    from concord.ledger import verification

    app = _app()
    with app.app_context(), _session(app) as session:
        chain, through = _reading_chain(app)
        try:
            run = verification.check(session, chain, full=full, progress=_progress_printer(), through_block=through)
        finally:
            if through is not None:
                chain.close()  # a snapshot of our own; the app's chain stays open
        row = verification.record(session, run)
        scope = run.scope
        since = f"changes since run {scope.previous.id} at block {scope.previous.through_block}" if scope.previous is not None else "everything"
        checked = ", ".join(f"{count} {what}" for what, count in scope.checked.items())
        click.echo(f"Run {row.id} checked {since}, at block {scope.through_block} (indexed through {scope.indexed_through}): {checked} in {run.seconds:.1f} s.")
        if scope.deferred:
            click.echo(f"{len(set(scope.deferred))} moved on chain while being read; the next run checks them.")
    _report(
        run.problems,
        ok=f"Ledger verified: the database and chain {scope.chain_id} agree.",
        broken=f"Ledger DISAGREES with the database in {len(run.problems)} place(s):",
    )


def _reading_chain(app):
    """(chain, block to read at). The embedded chain is read from a snapshot of its state on
    disk, so verify runs beside `concord run`; a node is read at its head."""
    from concord.ledger.chain import ChainUnavailable
    from concord.ledger.embedded import EmbeddedSnapshot, StateRefused

    if _embedded_chain(app):
        from pathlib import Path

        try:
            snapshot = EmbeddedSnapshot(Path(app.config["INSTANCE_DIR"]) / "chain")
            return snapshot, snapshot.head
        except StateRefused as error:
            click.echo(f"The embedded chain's state on disk cannot be read as it is ({error}); opening the chain itself.", err=True)
        except ChainUnavailable as error:
            raise click.ClickException(str(error)) from None
    return _chain(app), None


def _progress_printer(every_seconds: float = 2.0):
    """Progress lines on stderr for long runs, at most one every `every_seconds`."""
    import time

    last = [time.monotonic()]

    def show(what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_seconds:
            last[0] = now
            click.echo(f"  {what}: {done:,} of {total:,} checked", err=True)

    return show


@main.group()
def operator() -> None:
    """The consortium operator organization."""


@operator.command("create")
@click.option("--name", "legal_name", required=True, help="Legal name of the operator organization.")
@click.option("--registration-number", required=True)
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code.")
@click.option("--admin-name", required=True)
@click.option("--admin-email", required=True)
@click.password_option("--password", envvar="CONCORD_OPERATOR_PASSWORD", help="Asked for when not given.")
def operator_create(legal_name, registration_number, country, admin_name, admin_email, password) -> None:
    """Create the operator and its first admin on an empty production database."""
    from concord.db import database
    from concord.errors import DomainError
    from concord.tenancy.service import bootstrap_operator

    app = _app()
    migrate.upgrade(database(app).engine)
    with app.app_context(), _session(app) as session:
        try:
            org, user = bootstrap_operator(
                session,
                legal_name=legal_name,
                registration_number=registration_number,
                country=country,
                admin_name=admin_name,
                admin_email=admin_email,
                password=password,
            )
        except DomainError as error:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in (error.errors or {}).items())
            raise click.ClickException(f"{error.detail} {details}".strip()) from None
    click.echo(f"Operator {org.legal_name} created; its admin {user.email} can log in now.")


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
