"""Go duration notation (``1h30m``, ``10m``, ``1.5s``, ``300ms``) <-> ``timedelta``.

Flamenco's configuration file stores durations the way Go's ``time.ParseDuration``
reads them, so a file written by either Manager can be read by the other.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

__all__ = ["parse_duration", "format_duration", "DURATION_EXAMPLES"]

DURATION_EXAMPLES = "10m or 1h30m"

# Length of one unit in nanoseconds. Go accepts both micro signs for microseconds.
_UNIT_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # MICRO SIGN
    "\u03bcs": 1_000,  # GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_UNIT_LIST = "h, m, s, ms, us, ns"
_NUMBER_CHARS = set("0123456789.")


def parse_duration(text: str) -> timedelta:
    """Parse Go duration notation, as found in ``flamenco-manager.yaml``.

    Follows ``time.ParseDuration``: a sequence of decimal numbers, each with a unit
    (``1h30m``, ``1.5s``, ``-2m``); a bare ``0`` is allowed. Precision beyond a
    microsecond (``timedelta``'s resolution) is rounded away.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration: expected text like {DURATION_EXAMPLES}")
    original = text
    s = text.strip()

    def fail(problem: str) -> ValueError:
        return ValueError(f"{original!r} is not a valid duration ({problem}); write it like {DURATION_EXAMPLES}")

    negative = False
    if s[:1] in ("-", "+"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return timedelta(0)
    if not s:
        raise fail("it is empty")

    total_ns = Fraction(0)
    while s:
        if s[0] not in _NUMBER_CHARS:
            raise fail(f"expected a number at {s!r}")
        i = 0
        while i < len(s) and s[i].isdigit() and s[i].isascii():
            i += 1
        whole = s[:i]
        frac = ""
        if i < len(s) and s[i] == ".":
            j = i + 1
            while j < len(s) and s[j].isdigit() and s[j].isascii():
                j += 1
            frac = s[i + 1 : j]
            i = j
        if not whole and not frac:
            raise fail("a number needs at least one digit")
        k = i
        while k < len(s) and s[k] not in _NUMBER_CHARS:
            k += 1
        unit = s[i:k]
        if not unit:
            raise fail(f"missing unit after {s[:i]!r}; units are {_UNIT_LIST}")
        if unit not in _UNIT_NS:
            raise fail(f"unknown unit {unit!r}; units are {_UNIT_LIST}")
        number = Fraction(int(whole or "0"))
        if frac:
            number += Fraction(int(frac), 10 ** len(frac))
        total_ns += number * _UNIT_NS[unit]
        s = s[k:]

    micros = round(total_ns / 1000)
    try:
        result = timedelta(microseconds=micros)
    except OverflowError:
        raise fail("it is too large") from None
    return -result if negative else result


def _trim_fraction(whole: int, remainder: int, digits: int) -> str:
    """Render ``whole.remainder`` (remainder has `digits` digits) without trailing zeros."""
    if remainder == 0:
        return str(whole)
    frac = str(remainder).rjust(digits, "0").rstrip("0")
    return f"{whole}.{frac}"


def format_duration(value: timedelta) -> str:
    """Render a ``timedelta`` in compact Go notation that ``time.ParseDuration`` accepts.

    Zero components are left out (``1h30m``, ``744h``, ``1h0.5s``) so the written
    file reads like a human wrote it; zero is ``0s`` and sub-second values use
    ``ms``/``µs`` like Go does.
    """
    micros = value // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)

    if micros < 1_000:
        return f"{sign}{micros}\u00b5s"
    if micros < 1_000_000:
        return f"{sign}{_trim_fraction(micros // 1_000, micros % 1_000, 3)}ms"

    hours, rest = divmod(micros, 3600 * 1_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if rest:
        parts.append(f"{_trim_fraction(rest // 1_000_000, rest % 1_000_000, 6)}s")
    return sign + "".join(parts)
