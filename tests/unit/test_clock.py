"""Moments in messages read as people write them (issue 9, section 2, finding 8)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from concord import clock


def test_a_moment_is_shown_in_utc_to_the_minute():
    cet = timezone(timedelta(hours=1))
    assert clock.shown(datetime(2026, 12, 3, 9, 45, 59, 123456, tzinfo=cet)) == "2026-12-03 08:45 UTC"
