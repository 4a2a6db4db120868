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
