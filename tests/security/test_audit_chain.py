"""The audit trail is a hash chain: whoever edits the table behind the platform's back —
alters, removes or slips in an entry — is named by `concord audit verify`, entry and kind."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from concord import cli
from concord.audit.models import AuditEntry
from concord.audit.service import GENESIS, Action, Actor, compute_hash, record, verify
from concord.db import database
from sqlalchemy.exc import IntegrityError

from tests.factories import PASSWORD
from tests.security.helpers import portal_login

# The CLI opens its own app and engine; tampering goes through connections of its own: commits are real.
pytestmark = pytest.mark.real_commits

ENTRIES = AuditEntry.__table__


@pytest.fixture
def activity(app, client, world):
    """The world's onboarding plus some requests: logins, a failed login, a token, a probe."""
    assert client.post("/api/v1/auth/token", json={"email": world.buyer.admin.email, "password": "wrong-password"}).status_code == 401
    browser = app.test_client()
    portal_login(browser, world.buyer.admin.email, PASSWORD)
    assert client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "ci"}).status_code == 201
    assert client.get(f"/api/v1/users/{world.supplier.admin.id}", headers=world.buyer.headers).status_code == 404
    with database(app).engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(ENTRIES)).scalar_one()
    assert count >= 30
    return count


@pytest.fixture
def run_verify(app, tmp_path, monkeypatch):
    """`concord audit verify` as an operator runs it: a fresh process configuration from
    the environment, pointed at the test database."""
    url = database(app).engine.url.render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "CONCORD_INSTANCE_DIR": str(tmp_path / "instance"), "CONCORD_SECRET_KEY": "audit-verify-test-secret"}
    apps = []
    real_app = cli._app
    monkeypatch.setattr(cli, "_app", lambda: apps.append(real_app()) or apps[-1])

    def run():
        result = CliRunner().invoke(cli.main, ["audit", "verify"], env=env)
        assert apps and database(apps[-1]).url == database(app).url, "the CLI did not use the test database"
        database(apps[-1]).engine.dispose()
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.exit_code, result.output

    return run


def problems_in(output: str) -> list[tuple[int, str]]:
    return [(int(seq), kind) for seq, kind in re.findall(r"^  entry (\d+) (altered|removed|inserted):", output, re.M)]


def tamper(app, statement) -> None:
    with database(app).engine.begin() as connection:
        connection.execute(statement)


def row(app, seq: int):
    with database(app).engine.connect() as connection:
        return connection.execute(sa.select(ENTRIES).where(ENTRIES.c.seq == seq)).one()


def test_intact_chain_verifies_with_exit_code_0(app, activity, run_verify):
    code, output = run_verify()
    assert code == 0, output
    assert f"Audit chain intact: {activity} entries verified." in output


@pytest.mark.parametrize(
    "column, forged",
    [
        ("summary", {"after": {"status": "active", "note": "nothing to see"}}),
        ("action", "auth:logout"),
        ("actor_user_id", uuid.UUID(int=7)),
        ("object_id", "00000000-0000-0000-0000-000000000000"),
        ("ip", "10.6.6.6"),
    ],
)
def test_altering_an_entry_is_named_by_seq_and_kind(app, activity, run_verify, column, forged):
    seq = activity // 2
    tamper(app, sa.update(ENTRIES).where(ENTRIES.c.seq == seq).values({column: forged}))
    code, output = run_verify()
    assert code == 1, output
    assert problems_in(output) == [(seq, "altered")], output
    assert f"First: entry {seq} altered" in output


def test_backdating_an_entry_is_detected(app, activity, run_verify):
    seq = activity // 3
    tamper(app, sa.update(ENTRIES).where(ENTRIES.c.seq == seq).values(occurred_at=row(app, seq).occurred_at - timedelta(days=3)))
    code, output = run_verify()
    assert code == 1 and problems_in(output) == [(seq, "altered")], output


def test_altering_an_entry_and_recomputing_its_hash_still_names_that_entry(app, activity, run_verify):
    """A forger who knows the algorithm re-hashes the entry they changed: the next entry
    still commits to the original hash, which gives the forgery away."""
    seq = activity // 2
    original = row(app, seq)
    probe = AuditEntry(**{c.key: getattr(original, c.key) for c in ENTRIES.columns})
    probe.summary = {"after": {"role": "admin"}}
    tamper(app, sa.update(ENTRIES).where(ENTRIES.c.seq == seq).values(summary=probe.summary, hash=compute_hash(probe.prev_hash, probe)))
    code, output = run_verify()
    assert code == 1, output
    assert problems_in(output) == [(seq, "altered")], output


def test_overwriting_only_an_entrys_hash_names_that_entry_once(app, activity, run_verify):
    seq = activity // 2
    tamper(app, sa.update(ENTRIES).where(ENTRIES.c.seq == seq).values(hash=uuid.uuid4().hex * 2))
    code, output = run_verify()
    assert code == 1 and problems_in(output) == [(seq, "altered")], output


def test_changing_an_entrys_link_names_that_entry(app, activity, run_verify):
    seq = activity // 2
    tamper(app, sa.update(ENTRIES).where(ENTRIES.c.seq == seq).values(prev_hash=uuid.uuid4().hex * 2))
    code, output = run_verify()
    assert code == 1 and problems_in(output) == [(seq, "altered")], output
    assert f"entry {seq} altered: its link to the previous entry was changed" in output


def test_removing_an_entry_in_the_middle_is_named_by_seq_and_kind(app, activity, run_verify):
    seq = activity // 2
    tamper(app, sa.delete(ENTRIES).where(ENTRIES.c.seq == seq))
    code, output = run_verify()
    assert code == 1, output
    assert problems_in(output) == [(seq, "removed")], output
    assert f"entry {seq} missing before entry {seq + 1}" in output


def test_removing_several_entries_names_the_gap(app, activity, run_verify):
    tamper(app, sa.delete(ENTRIES).where(ENTRIES.c.seq.in_([10, 11, 12])))
    code, output = run_verify()
    assert code == 1 and problems_in(output) == [(10, "removed")], output
    assert "entries 10 to 12 missing before entry 13" in output


def _forged(seq: int, prev_hash: str, occurred_at) -> dict:
    entry = AuditEntry(
        seq=seq,
        id=uuid.uuid4(),
        occurred_at=occurred_at,
        action="organization:approved",
        actor_user_id=None,
        actor_org_id=None,
        subject_org_id=None,
        related_org_id=None,
        object_type="organization",
        object_id=str(uuid.uuid4()),
        summary={"after": {"status": "active"}},
        ip=None,
        prev_hash=prev_hash,
    )
    entry.hash = compute_hash(prev_hash, entry)  # well-formed: only its place in the chain is wrong
    return {c.key: getattr(entry, c.key) for c in ENTRIES.columns}


def test_a_forged_entry_appended_at_the_end_is_named_inserted(app, activity, run_verify):
    last = row(app, activity)
    tamper(app, sa.insert(ENTRIES).values(_forged(activity + 1, uuid.uuid4().hex * 2, last.occurred_at)))
    code, output = run_verify()
    assert code == 1, output
    assert problems_in(output) == [(activity + 1, "inserted")], output


def test_a_forged_entry_slipped_into_the_middle_is_named_inserted(app, activity, run_verify):
    """To make room the forger renumbers the entries after it; the forged one is named
    inserted (and the renumbered ones altered, since their hashes cover their numbers)."""
    seq = activity // 2
    tamper(app, sa.update(ENTRIES).where(ENTRIES.c.seq > seq).values(seq=-(ENTRIES.c.seq + 1)))
    tamper(app, sa.update(ENTRIES).where(ENTRIES.c.seq < 0).values(seq=-ENTRIES.c.seq))
    tamper(app, sa.insert(ENTRIES).values(_forged(seq + 1, uuid.uuid4().hex * 2, row(app, seq).occurred_at)))
    code, output = run_verify()
    assert code == 1, output
    found = problems_in(output)
    assert found[0] == (seq + 1, "inserted"), output
    assert set(found[1:]) == {(s, "altered") for s in range(seq + 2, activity + 2)}, output
    assert f"First: entry {seq + 1} inserted" in output


def test_a_forged_entry_cannot_claim_the_link_of_an_existing_one(app, activity):
    """Forking the chain — a second entry following the same predecessor — is refused by
    the database itself: prev_hash is unique."""
    seq = activity // 2
    taken = row(app, seq).prev_hash
    with pytest.raises(IntegrityError):
        tamper(app, sa.insert(ENTRIES).values(_forged(activity + 1, taken, row(app, seq).occurred_at)))


# --- concurrent appends -----------------------------------------------------------------


@pytest.mark.real_commits  # threads, each on its own connection
def test_concurrent_appends_extend_one_chain_without_forking(app, activity):
    threads, per_thread = 4, 5
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            with database(app).sessionmaker() as session:
                barrier.wait()
                for i in range(per_thread):
                    record(session, Action.ACCESS_DENIED, actor=Actor(None, None), object_type="race", object_id=f"{n}-{i}")
                    session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    with database(app).sessionmaker() as session:
        assert verify(session) == []
        rows = session.execute(sa.select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.hash).order_by(AuditEntry.seq)).all()
    assert [r.seq for r in rows] == list(range(1, activity + threads * per_thread + 1))
    assert len({r.prev_hash for r in rows}) == len(rows)
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


def test_two_writers_that_read_the_same_head_cannot_both_append(app, activity):
    """Without the append lock, two writers would read the same head and both link to it;
    the unique prev_hash makes the second commit fail instead of forking the chain."""
    head = row(app, activity)
    first = _forged(activity + 1, head.hash, head.occurred_at)
    second = _forged(activity + 2, head.hash, head.occurred_at)
    tamper(app, sa.insert(ENTRIES).values(first))
    with pytest.raises(IntegrityError):
        tamper(app, sa.insert(ENTRIES).values(second))
    with database(app).sessionmaker() as session:
        assert [(p.seq, p.kind) for p in verify(session)] == []
