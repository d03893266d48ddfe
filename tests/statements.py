"""Counting the SQL statements an app's engine runs (for tests that hold a page to a
constant number of statements whatever its size)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from concord.db import database


@contextmanager
def statements(app) -> Iterator[Counter[str]]:
    """The SQL statements the app's engine runs meanwhile, by their text."""
    seen: Counter[str] = Counter()

    def count(_conn, _cursor, statement, _params, _context, _executemany) -> None:
        seen[" ".join(statement.split())] += 1

    engine = database(app).engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
