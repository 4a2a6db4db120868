"""serialize.api_time trims database time text without parsing it, and agrees with parsing."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from flamenco_pkg.manager.db.connection import to_db_time
from flamenco_pkg.manager.serialize import ZERO_TIME, api_time


def parsed(db_time: str) -> str:
    moment = datetime.strptime(db_time, "%Y-%m-%dT%H:%M:%S.%fZ")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else "") + "Z"


def test_text_trim_matches_parsing():
    rng = random.Random(15)
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    moments = [start + timedelta(seconds=rng.randrange(10**8), microseconds=rng.choice(
        [0, 1, 10, 120_000, 999_999, rng.randrange(10**6)])) for _ in range(2000)]
    for moment in moments:
        text = to_db_time(moment)
        assert api_time(text) == parsed(text)
    assert api_time("2026-01-02T03:04:05.000000Z") == "2026-01-02T03:04:05Z"
    assert api_time("2026-01-02T03:04:05.120000Z") == "2026-01-02T03:04:05.12Z"


def test_missing_time_is_the_zero_time():
    assert api_time(None) == api_time("") == ZERO_TIME
