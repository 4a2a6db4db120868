"""`utcnow` formats the time of day once a second: its stamps must still be exactly now, across seconds."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from flamenco_pkg.manager.db.connection import from_db_time, to_db_time, utcnow

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_stamps_are_now_in_the_stored_format_across_a_second_boundary():
    seconds_seen = set()
    deadline = time.monotonic() + 5
    while len(seconds_seen) < 3 and time.monotonic() < deadline:  # two boundaries crossed
        before = datetime.now(timezone.utc)
        stamp = utcnow()
        after = datetime.now(timezone.utc)
        assert STAMP.match(stamp), stamp
        assert before <= from_db_time(stamp) <= after, (before, stamp, after)
        assert to_db_time(from_db_time(stamp)) == stamp
        seconds_seen.add(stamp[:19])
    assert len(seconds_seen) >= 3
