"""Custodial signing keys: created at admission, encrypted at rest, bound to their
organization, and re-encryptable under a new master key without losing any."""

from __future__ import annotations

import os
import stat

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from concord import cli
from concord.ledger import keys
from concord.ledger.models import OrganizationKey

from tests import factories


@pytest.fixture
def ring(app, tmp_path):
    return keys.KeyRing.load(str(tmp_path), environ={})


def test_master_key_file_is_created_private(tmp_path):
    ring = keys.KeyRing.load(str(tmp_path), environ={})
    path = tmp_path / keys.MASTER_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert keys.KeyRing.load(str(tmp_path), environ={}).current == ring.current


def test_a_malformed_master_key_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(keys.SigningKeyError, match="32 bytes"):
        keys.KeyRing.load(str(tmp_path), environ={"CONCORD_MASTER_KEY": keys.encode_master(b"short")})


def test_approval_gives_the_organization_its_own_signing_key(app, session):
    op = factories.operator(session)
    supplier = factories.member(session, op, "supplier")
    pending = factories.member(session, op, "buyer", approve=False)
    rows = {row.organization_id: row for row in session.execute(sa.select(OrganizationKey)).scalars()}
    assert set(rows) == {op.org.id, supplier.org.id}  # not the pending one
    assert pending.org.id not in rows
    with app.app_context():
        from concord.ledger.service import keyring

        account = keys.signer_for(session, keyring(), supplier.org.id)
    assert account.address == rows[supplier.org.id].address
    # Only ciphertext is stored: the private key bytes appear nowhere in the row.
    assert bytes(account.key) not in rows[supplier.org.id].ciphertext


def test_a_key_blob_copied_to_another_organization_does_not_open(app, session):
    op = factories.operator(session)
    a = factories.member(session, op, "supplier")
    b = factories.member(session, op, "buyer")
    row_a, row_b = session.get(OrganizationKey, a.org.id), session.get(OrganizationKey, b.org.id)
    row_b.nonce, row_b.ciphertext = row_a.nonce, row_a.ciphertext
    session.commit()
    with app.app_context():
        from concord.ledger.service import keyring

        with pytest.raises(keys.SigningKeyError, match="altered or belongs to another organization"):
            keys.signer_for(session, keyring(), b.org.id)


def test_rotation_re_encrypts_every_key_and_the_old_master_no_longer_opens_them(app, session, ring, tmp_path):
    op = factories.operator(session)
    members = [factories.member(session, op, "supplier") for _ in range(3)]
    for m in [op, *members]:
        keys.create_key(session, ring, m.org.id)  # existing keys are kept (created by the app's ring)
    session.commit()
    # Re-key everything under this test's ring first, so the test owns the master key.
    app_ring = app.extensions["concord.keyring"]
    keys.rotate(session, str(tmp_path / "app"), keys.KeyRing(app_ring.current, (), "environment"), ring.current)
    addresses = {m.org.id: keys.signer_for(session, ring, m.org.id).address for m in [op, *members]}

    old_master = ring.current
    count = keys.rotate(session, str(tmp_path), ring)
    assert count == 4
    new_ring = keys.KeyRing.load(str(tmp_path), environ={})
    assert new_ring.current != old_master
    assert not (tmp_path / keys.NEXT_FILE).exists()
    for org_id, address in addresses.items():
        assert keys.signer_for(session, new_ring, org_id).address == address
        with pytest.raises(keys.SigningKeyError, match="No master key"):
            keys.signer_for(session, keys.KeyRing(old_master), org_id)


def test_a_crash_after_the_database_commit_but_before_the_file_swap_loses_nothing(app, session, ring, tmp_path, monkeypatch):
    op = factories.operator(session)
    app_ring = app.extensions["concord.keyring"]
    keys.rotate(session, str(tmp_path / "app"), keys.KeyRing(app_ring.current, (), "environment"), ring.current)
    address = keys.signer_for(session, ring, op.org.id).address

    def crash(*_args):
        raise OSError("power cut")

    monkeypatch.setattr(keys.os, "replace", crash)
    with pytest.raises(OSError):
        keys.rotate(session, str(tmp_path), ring)
    monkeypatch.undo()
    # The database holds blobs under the new key; master_key still holds the old one and
    # master_key.next the new one: the ring loads both and every key still opens.
    recovered = keys.KeyRing.load(str(tmp_path), environ={})
    assert keys.signer_for(session, recovered, op.org.id).address == address


@pytest.mark.real_commits  # the CLI opens its own app and engine
def test_keys_rotate_command_with_an_environment_master_key_prints_the_new_one(app, session, tmp_path):
    from concord.db import database

    url = database(app).engine.url.render_as_string(hide_password=False)
    op = factories.operator(session)
    old = app.extensions["concord.keyring"].current
    env = {"DATABASE_URL": url, "CONCORD_INSTANCE_DIR": str(tmp_path), "CONCORD_SECRET_KEY": "s", "CONCORD_MASTER_KEY": keys.encode_master(old)}
    result = CliRunner().invoke(cli.main, ["keys", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    new_value = result.output.strip().splitlines()[-1]
    new_ring = keys.KeyRing.load(str(tmp_path), environ={"CONCORD_MASTER_KEY": new_value})
    session.expire_all()
    assert keys.signer_for(session, new_ring, op.org.id).address == session.get(OrganizationKey, op.org.id).address
