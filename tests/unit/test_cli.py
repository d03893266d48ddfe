"""The `concord` command: demo data only where it belongs, and the operator bootstrap."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner
from concord import cli
from concord.app import create_app
from concord.tenancy.models import Organization, OrgStatus, User


def _env(tmp_path, database_url: str | None = None) -> dict[str, str]:
    env = {"CONCORD_INSTANCE_DIR": str(tmp_path / "instance"), "CONCORD_SECRET_KEY": "cli-test-secret"}
    env["DATABASE_URL"] = database_url or ""
    return env


def _count(app, model) -> int:
    from concord.db import database

    with database(app).sessionmaker() as session:
        return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_embedded_default_database_gets_the_demo_once(tmp_path, monkeypatch):
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    app = create_app()
    assert app.config["EMBEDDED_DEFAULTS"] is True
    cli.prepare(app)
    orgs = _count(app, Organization)
    assert orgs == 11  # operator, 9 members, 1 pending registration
    cli.prepare(app)  # a restart seeds nothing more
    assert _count(app, Organization) == orgs


def test_explicit_database_url_is_never_seeded_silently(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'production.db'}"
    for key, value in _env(tmp_path, url).items():
        monkeypatch.setenv(key, value)
    app = create_app()
    assert app.config["EMBEDDED_DEFAULTS"] is False
    cli.prepare(app)
    assert _count(app, Organization) == 0


def test_demo_command_prints_logins_and_refuses_a_non_empty_database(tmp_path):
    runner = CliRunner()
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'demo.db'}")
    first = runner.invoke(cli.main, ["demo"], env=env)
    assert first.exit_code == 0, first.output
    assert "operator@concord.example" in first.output and "buyer@northwind.example" in first.output
    second = runner.invoke(cli.main, ["demo"], env=env)
    assert second.exit_code != 0
    assert "already has organizations" in second.output


def test_operator_create_bootstraps_an_active_operator_once(tmp_path):
    runner = CliRunner()
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'prod.db'}")
    args = [
        "operator",
        "create",
        "--name",
        "Consortium Op",
        "--registration-number",
        "NL-1",
        "--country",
        "nl",
        "--admin-name",
        "Ops Admin",
        "--admin-email",
        "ops@example.test",
        "--password",
        "Long-enough-pass-7",
    ]
    result = runner.invoke(cli.main, args, env=env)
    assert result.exit_code == 0, result.output
    app = create_app({"SQLALCHEMY_DATABASE_URL": env["DATABASE_URL"], "SECRET_KEY": "x", "INSTANCE_DIR": str(tmp_path)})
    from concord.db import database

    with database(app).sessionmaker() as session:
        org = session.execute(sa.select(Organization)).scalar_one()
        assert org.is_operator and org.status == OrgStatus.ACTIVE and org.country == "NL"
        assert session.execute(sa.select(User.email)).scalar_one() == "ops@example.test"
    again = runner.invoke(cli.main, args, env=env)
    assert again.exit_code != 0 and "already has an operator" in again.output
    weak = runner.invoke(cli.main, [*args[:-1], "password1"], env={**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"})
    assert weak.exit_code != 0 and "commonly used" in weak.output
