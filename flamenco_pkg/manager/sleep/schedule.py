"""Worker sleep schedules: pure rules, in the Manager's local time.

A schedule says when a worker should be asleep: on the listed days (two-letter
names, '' = every day), from start_time to end_time (HH:MM, '' = no bound).
Times are compared at minute precision; an end before the start is swapped
(no overnight wrap, as upstream).

The rules work on wall-clock time (naive datetimes as the Manager's clock
shows them); `wall_clock` and `to_utc` convert at the edges with the zone's
own rules, so a boundary after a DST change is not off by an hour (a fixed
UTC offset taken "now" would be).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo

DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")


@dataclass(frozen=True)
class Schedule:
    is_active: bool
    days_of_week: str
    start_time: str
    end_time: str


def parse_hhmm(text: str) -> time | None:
    if not text:
        return None
    hours, minutes = text.split(":")
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(23, 59, 59)
    return time(h, m)


def normalise(schedule: Schedule) -> Schedule:
    """Lower-case two-letter days joined by spaces; start and end in order."""
    days = " ".join(d[:2].lower() for d in schedule.days_of_week.split() if d)
    start, end = schedule.start_time, schedule.end_time
    if start and end and parse_hhmm(end) < parse_hhmm(start):
        start, end = end, start
    return Schedule(schedule.is_active, days, start, end)


def verdict(schedule: Schedule, now: datetime) -> str:
    """`asleep` or `awake` at a wall-clock time."""
    if not schedule.is_active:
        return "awake"
    today = DAYS[now.weekday()]
    if schedule.days_of_week and today not in schedule.days_of_week:
        return "awake"
    minute = now.time().replace(second=0, microsecond=0)
    start, end = parse_hhmm(schedule.start_time), parse_hhmm(schedule.end_time)
    if start is not None and minute < start:
        return "awake"
    if end is not None and minute >= end:
        return "awake"
    return "asleep"


def next_check(schedule: Schedule, now: datetime) -> datetime:
    """The next wall-clock moment the verdict may change: midnight, the next start or end.

    `now` is wall-clock time (any tzinfo is ignored); so is the result.
    """
    now = now.replace(tzinfo=None)
    midnight = datetime.combine(now.date() + timedelta(days=1), time(0))
    candidates = [midnight]
    for text in (schedule.start_time, schedule.end_time):
        moment = parse_hhmm(text)
        if moment is None:
            continue
        at = datetime.combine(now.date(), moment)
        if at <= now:
            at += timedelta(days=1)
        candidates.append(at)
    return min(candidates)


def wall_clock(moment: datetime, zone: tzinfo | None = None) -> datetime:
    """An aware moment as the clock in `zone` shows it (naive); None = this machine's zone."""
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return local.replace(tzinfo=None)


def to_utc(wall: datetime, zone: tzinfo | None = None) -> datetime:
    """The UTC moment of a wall-clock time in `zone`, with the UTC offset of that date.

    None = this machine's zone (the C library's rules for that date, as
    Python does for naive datetimes).
    """
    if zone is None:
        return wall.astimezone(timezone.utc)
    return wall.replace(tzinfo=zone).astimezone(timezone.utc)
