"""Sleep schedule rules in local time: verdict, normalisation, next check."""

from __future__ import annotations

from datetime import datetime

import pytest

from flamenco_pkg.manager.sleep.schedule import Schedule, next_check, normalise, verdict

MONDAY_10 = datetime(2026, 11, 23, 10, 0)  # a Monday


def test_inactive_schedule_is_always_awake():
    assert verdict(Schedule(False, "", "", ""), MONDAY_10) == "awake"


@pytest.mark.parametrize("days,expected", [("", "asleep"), ("mo", "asleep"), ("tu we", "awake"), ("mo fr", "asleep")])
def test_days_of_week(days, expected):
    assert verdict(Schedule(True, days, "09:00", "18:00"), MONDAY_10) == expected


@pytest.mark.parametrize("start,end,expected", [
    ("09:00", "18:00", "asleep"), ("10:00", "18:00", "asleep"), ("10:01", "18:00", "awake"),
    ("09:00", "10:00", "awake"), ("", "11:00", "asleep"), ("11:00", "", "awake"), ("", "", "asleep")])
def test_time_window_bounds(start, end, expected):
    assert verdict(Schedule(True, "", start, end), MONDAY_10) == expected


def test_normalise_swaps_reversed_times_and_cleans_days():
    got = normalise(Schedule(True, "Monday  TUESDAY fr", "18:00", "09:00"))
    assert got == Schedule(True, "mo tu fr", "09:00", "18:00")


def test_next_check_is_earliest_boundary():
    sched = Schedule(True, "", "09:00", "18:00")
    assert next_check(sched, MONDAY_10) == datetime(2026, 11, 23, 18, 0)
    assert next_check(sched, datetime(2026, 11, 23, 19, 0)) == datetime(2026, 11, 24, 0, 0)
    assert next_check(sched, datetime(2026, 11, 23, 8, 0)) == datetime(2026, 11, 23, 9, 0)
    assert next_check(Schedule(True, "", "", ""), MONDAY_10) == datetime(2026, 11, 24, 0, 0)


# --- Daylight saving time: next checks are wall-clock boundaries in a real zone --------------

from datetime import timezone  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from flamenco_pkg.manager.config import Config  # noqa: E402
from flamenco_pkg.manager.context import open_manager  # noqa: E402
from flamenco_pkg.manager.db import workers as worker_db  # noqa: E402
from flamenco_pkg.manager.db.connection import from_db_time  # noqa: E402
from flamenco_pkg.manager.sleep import scheduler as sleep_scheduler  # noqa: E402
from flamenco_pkg.manager.sleep.schedule import to_utc, wall_clock  # noqa: E402

AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # CET +01:00; CEST +02:00 from 2026-03-29 02:00, back 2026-10-25 03:00


@pytest.mark.parametrize("now_utc, start, expected_utc", [
    # Spring forward: at 01:00 CET the 09:00 start is 07:00 UTC (CEST), not 08:00.
    (datetime(2026, 3, 29, 0, 0, tzinfo=timezone.utc), "09:00", datetime(2026, 3, 29, 7, 0, tzinfo=timezone.utc)),
    # Fall back: at 01:00 CEST the 09:00 start is 08:00 UTC (CET), not 07:00.
    (datetime(2026, 10, 24, 23, 0, tzinfo=timezone.utc), "09:00", datetime(2026, 10, 25, 8, 0, tzinfo=timezone.utc)),
    # The evening before spring forward: midnight comes first, still CET.
    (datetime(2026, 3, 28, 19, 0, tzinfo=timezone.utc), "09:00", datetime(2026, 3, 28, 23, 0, tzinfo=timezone.utc)),
    # The evening of spring forward: midnight is 22:00 UTC (CEST).
    (datetime(2026, 3, 29, 19, 0, tzinfo=timezone.utc), "22:30", datetime(2026, 3, 29, 20, 30, tzinfo=timezone.utc)),
])
def test_next_check_across_dst_changes(now_utc, start, expected_utc):
    sched = Schedule(True, "", start, "")
    wall = next_check(sched, wall_clock(now_utc, AMSTERDAM))
    assert to_utc(wall, AMSTERDAM) == expected_utc
    assert wall_clock(expected_utc, AMSTERDAM).time().strftime("%H:%M") in (start, "00:00")


def test_next_check_text_stored_in_utc_across_dst():
    sched = Schedule(True, "", "09:00", "18:00")
    text = sleep_scheduler.next_check_text(sched, datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc), AMSTERDAM)
    assert from_db_time(text) == datetime(2026, 3, 29, 7, 0, tzinfo=timezone.utc)


def test_machine_zone_is_used_without_a_zone(monkeypatch):
    import time as time_mod

    if not hasattr(time_mod, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    monkeypatch.setenv("TZ", "Europe/Amsterdam")
    time_mod.tzset()
    try:
        now = datetime(2026, 3, 29, 0, 0, tzinfo=timezone.utc)
        wall = next_check(Schedule(True, "", "09:00", ""), wall_clock(now))
        assert to_utc(wall) == datetime(2026, 3, 29, 7, 0, tzinfo=timezone.utc)
    finally:
        monkeypatch.delenv("TZ")
        time_mod.tzset()


def test_tick_stores_the_next_check_after_a_dst_change(tmp_path):
    """The loop's stored next check lands on the wall-clock boundary, on a real database."""
    manager = open_manager(Config(database=str(tmp_path / "db.sqlite")), tmp_path / "cfg.yaml", tmp_path, None)
    try:
        with manager.db.tx() as conn:
            wid = worker_db.insert_worker(conn, uuid="0b1d7a6e-40fb-4fd0-9f3a-0f1f4a0e2c11", secret_hash="x",
                                          name="w", address="", platform="linux", supported_task_types=["misc"])
            worker_db.save_schedule(conn, wid, is_active=True, days_of_week="", start_time="09:00",
                                    end_time="18:00", next_check=None)
        sleep_scheduler.tick(manager, datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc), AMSTERDAM)
        with manager.db.tx() as conn:
            stored = worker_db.fetch_schedule(conn, wid)["next_check"]
        assert from_db_time(stored) == datetime(2026, 3, 29, 7, 0, tzinfo=timezone.utc)
    finally:
        manager.db.close()
