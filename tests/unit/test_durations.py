from datetime import timedelta

import pytest

from flamenco_pkg.manager.config.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("-0", timedelta(0)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("744h", timedelta(hours=744)),
        ("24h", timedelta(hours=24)),
        ("1.5s", timedelta(seconds=1.5)),
        ("300ms", timedelta(milliseconds=300)),
        ("1.5h", timedelta(minutes=90)),
        (".5s", timedelta(milliseconds=500)),
        ("5.s", timedelta(seconds=5)),
        ("+5s", timedelta(seconds=5)),
        ("-1h30m", -timedelta(hours=1, minutes=30)),
        ("10m0s", timedelta(minutes=10)),  # what Go's Duration.String() writes
        ("1h0m0s", timedelta(hours=1)),
        ("2us", timedelta(microseconds=2)),
        ("2\u00b5s", timedelta(microseconds=2)),
        ("2\u03bcs", timedelta(microseconds=2)),
        ("1500ns", timedelta(microseconds=2)),  # rounded to timedelta's resolution
        ("1h1m1s1ms1us", timedelta(hours=1, minutes=1, seconds=1, milliseconds=1, microseconds=1)),
        (" 10m ", timedelta(minutes=10)),
    ],
)
def test_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("-", "empty"),
        ("ten minutes", "expected a number"),
        ("10", "missing unit"),
        ("1h30", "missing unit"),
        ("10x", "unknown unit 'x'"),
        ("10 m", "unknown unit"),
        (".s", "at least one digit"),
        ("1..5s", "missing unit"),
    ],
)
def test_parse_errors_say_what_is_wrong(text, fragment):
    with pytest.raises(ValueError) as exc:
        parse_duration(text)
    message = str(exc.value)
    assert fragment in message
    assert "10m or 1h30m" in message


def test_parse_rejects_non_text():
    with pytest.raises(ValueError):
        parse_duration(10)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value, expected",
    [
        (timedelta(0), "0s"),
        (timedelta(minutes=10), "10m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(hours=744), "744h"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(milliseconds=300), "300ms"),
        (timedelta(microseconds=1500), "1.5ms"),
        (timedelta(microseconds=15), "15\u00b5s"),
        (timedelta(hours=1, seconds=30), "1h30s"),
        (timedelta(minutes=1, microseconds=1), "1m0.000001s"),
        (-timedelta(minutes=90), "-1h30m"),
    ],
)
def test_format(value, expected):
    assert format_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        timedelta(0),
        timedelta(days=31),
        timedelta(hours=2, minutes=3, seconds=4, microseconds=5),
        timedelta(microseconds=999),
        timedelta(milliseconds=999, microseconds=999),
        -timedelta(seconds=42),
    ],
)
def test_round_trip(value):
    assert parse_duration(format_duration(value)) == value
