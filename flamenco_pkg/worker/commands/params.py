"""Reading command parameters the way Flamenco Workers do.

Managers and job types are written against the Go Worker, so error texts,
number formatting and the `exeArgs` splitting rules follow it: JSON numbers
are floats, list items become Go `%v` text, and `exeArgs` is split like
google/shlex (backslash escapes any character, also inside double quotes).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any


class CommandError(Exception):
    """A command failed; the message is what the task log and activity show."""


class TaskCanceled(Exception):
    """The task's context was cancelled; nothing more may be reported for it."""


def go_value(value: Any) -> str:
    """Text of a JSON value as Go's `%v` prints it after decoding into interface{}."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def go_type(value: Any) -> str:
    """Go's name for the dynamic type of a decoded JSON value (for error texts)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def _go_float(value: float) -> str:
    # Go %v on float64 is strconv's 'g' with the shortest digits: an exponent
    # form once the decimal exponent is below -4 or at least 6 (1e6 -> 1e+06).
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, exp = _shortest_digits(abs(value))
    if exp < -4 or exp >= 6:
        return sign + _exponent_form(digits, exp)
    return sign + _fixed_form(digits, exp)


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-tripping significant digits and the decimal exponent of the first one."""
    tup = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(d) for d in tup.digits)
    exp = len(digits) + int(tup.exponent) - 1
    return digits, exp


def _exponent_form(digits: str, exp: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def _fixed_form(digits: str, exp: int) -> str:
    if exp < 0:
        return "0." + "0" * (-exp - 1) + digits
    if len(digits) <= exp + 1:
        return digits + "0" * (exp + 1 - len(digits))
    return digits[:exp + 1] + "." + digits[exp + 1:]


def decimal_text(value: float) -> str:
    """Shortest decimal without exponent (`24`, `23.976`), as FFmpeg's `-r` wants it."""
    if value == 0:
        return "0"
    digits, exp = _shortest_digits(abs(value))
    return ("-" if value < 0 else "") + _fixed_form(digits, exp)


def params_text(params: dict[str, Any]) -> str:
    return go_value(params)


def missing(cmd: str, key: str, params: dict[str, Any]) -> CommandError:
    return CommandError(f'{cmd}: mandatory parameter "{key}" is missing: {params_text(params)}')


def invalid(cmd: str, key: str, value: Any, problem: str) -> CommandError:
    return CommandError(f'{cmd}: parameter "{key}" has invalid value {go_value(value)}: {problem}')


def mandatory_str(cmd: str, params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or value == "":
        raise missing(cmd, key, params)
    return value


def optional_str(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    return value if isinstance(value, str) else ""


def optional_list(cmd: str, params: dict[str, Any], key: str) -> list[str]:
    if key not in params or params[key] is None:
        return []
    value = params[key]
    if not isinstance(value, list):
        raise invalid(cmd, key, value, "cannot convert to list of strings")
    return [item if isinstance(item, str) else go_value(item) for item in value]


def shell_split(cmd: str, key: str, text: str) -> list[str]:
    """Split like google/shlex: what job types expect from `exeArgs` (`{blenderArgs}`)."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
        elif ch == "#" and not in_word:
            while i < n and text[i] != "\n":
                i += 1
        elif ch == "\\":
            if i + 1 >= n:
                raise invalid(cmd, key, text, "EOF found after escape character")
            word.append(text[i + 1])
            in_word = True
            i += 2
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise invalid(cmd, key, text, "EOF found when expecting closing quote")
            word.append(text[i + 1:end])
            in_word = True
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= n:
                    raise invalid(cmd, key, text, "EOF found when expecting closing quote")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    if i + 1 >= n:
                        raise invalid(cmd, key, text, "EOF found after escape character")
                    word.append(text[i + 1])
                    i += 2
                    continue
                word.append(c)
                i += 1
            in_word = True
        else:
            word.append(ch)
            in_word = True
            i += 1
    if in_word:
        words.append("".join(word))
    return words


def go_quote(text: str) -> str:
    """Go's `%q`: double-quoted with Go escapes (what `echo` logs)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_duration(seconds: int) -> str:
    """Go's Duration text for whole seconds: `0s`, `5s`, `1m30s`, `1h0m0s`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
