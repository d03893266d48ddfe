"""Which outbox worker sends for which sender, when several share one PostgreSQL database.

A sender's nonces must belong to one worker at a time: two workers sending the same
sender's next intent make the node refuse one as "nonce too low" (or sign a second
transaction for a nonce), and two workers topping up gas from the one funder account
collide on its nonce. So a worker sends for a sender only while it holds that sender's
claim, a PostgreSQL session-level advisory lock taken with `pg_try_advisory_lock` on a
connection the worker keeps for its round: a sender claimed by another worker is skipped
this round (the workers divide the senders between them), and a worker that dies loses
its connection and with it every claim at once, so its peers take its senders over on
their next round. Advisory locks lock no row: business transactions (which lock the
sender's key row while they queue intents) never wait for a worker.

The funder is claimed the same way, but waited for (`pg_advisory_lock`): a top-up reads
the funder's nonce from the node and waits for its receipt, so the next worker to top up
reads the nonce after it.

SQLite serialises every writer and runs one worker: claims are always granted there.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


def lock_key(kind: str, address: str) -> int:
    """The advisory lock's 64-bit key of a sender or the funder (a hash: a collision makes
    two senders share one claim, never two workers share one sender)."""
    digest = hashlib.blake2b(f"concord.outbox.{kind}:{address.lower()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SenderClaims:
    """The claims of one worker (one thread: its connection is not shared)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self._connection: Connection | None = None
        self._held: set[str] = set()

    @contextlib.contextmanager
    def round(self) -> Iterator[None]:
        """Hold a connection for the claims of one round; every claim ends with the round."""
        if not self.enabled or self._connection is not None:
            yield
            return
        self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield
        finally:
            connection, self._connection = self._connection, None
            self._held.clear()
            try:
                if not connection.invalidated:  # a lost connection took its claims with it
                    connection.execute(sa.text("SELECT pg_advisory_unlock_all()"))
            finally:
                connection.close()

    def take(self, sender: str) -> bool:
        """Claim `sender` if no other worker holds it; True when this worker holds it now."""
        if self._connection is None:
            return True
        if sender in self._held:
            return True
        taken = bool(self._connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key("sender", sender)}).scalar_one())
        if taken:
            self._held.add(sender)
        return taken

    def release(self, sender: str) -> None:
        if self._connection is not None and sender in self._held:
            self._connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key("sender", sender)})
            self._held.discard(sender)

    @contextlib.contextmanager
    def funder(self, address: str) -> Iterator[None]:
        """Wait for the funder account and hold it while the block runs (one top-up at a time)."""
        if not self.enabled:
            yield
            return
        with self.round():
            connection = self._connection
            if connection is None:  # round() opened it
                raise RuntimeError("no connection for the funder's claim")
            key = lock_key("funder", address)
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
