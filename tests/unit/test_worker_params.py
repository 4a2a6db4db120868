"""Parameter reading shared by all Worker commands: Go-compatible texts and exeArgs splitting."""

from __future__ import annotations

import pytest

from flamenco_pkg.worker.commands.params import (CommandError, decimal_text, go_duration, go_quote, go_value,
                                                 mandatory_str, optional_list, shell_split)


@pytest.mark.parametrize("value, text", [
    (24, "24"), (24.0, "24"), (23.976, "23.976"), (1e6, "1e+06"), (123456, "123456"),
    (1234567, "1.234567e+06"), (0.0001, "0.0001"), (0.00001, "1e-05"), (-2.5, "-2.5"), (0, "0"),
    (None, "<nil>"), (True, "true"), ("x y", "x y"), ([1, "a"], "[1 a]"), ({"b": 1, "a": "x"}, "map[a:x b:1]"),
])
def test_go_value_prints_like_go_percent_v(value, text):
    assert go_value(value) == text


@pytest.mark.parametrize("value, text", [(24.0, "24"), (23.976, "23.976"), (1e6, "1000000"), (0.5, "0.5")])
def test_decimal_text_never_uses_an_exponent(value, text):
    assert decimal_text(value) == text


@pytest.mark.parametrize("text, words", [
    ("-b -y", ["-b", "-y"]),
    ("  -b\t-y\n", ["-b", "-y"]),
    ("'a b' c", ["a b", "c"]),
    ('"a b" c', ["a b", "c"]),
    (r'"C:\x"', ["C:x"]),              # backslash escapes any character, unlike POSIX
    (r"a\ b", ["a b"]),
    ("'a\\b'", ["a\\b"]),               # literal inside single quotes
    ("-b # a comment\n-y", ["-b", "-y"]),
    ("a#b", ["a#b"]),                   # '#' mid-word is literal
    ('x"y z"w', ["xy zw"]),
    ("", []),
])
def test_shell_split_follows_google_shlex(text, words):
    assert shell_split("blender-render", "exeArgs", text) == words


@pytest.mark.parametrize("text", ['"open', "'open", "trailing\\"])
def test_shell_split_rejects_unterminated_input(text):
    with pytest.raises(CommandError, match=r'^blender-render: parameter "exeArgs" has invalid value'):
        shell_split("blender-render", "exeArgs", text)


def test_mandatory_string_missing_empty_or_wrong_type():
    for params in ({}, {"exe": ""}, {"exe": 3}):
        with pytest.raises(CommandError) as err:
            mandatory_str("exec", params, "exe")
        assert str(err.value).startswith('exec: mandatory parameter "exe" is missing: map[')
    assert mandatory_str("exec", {"exe": "/bin/true"}, "exe") == "/bin/true"


def test_optional_list_converts_items_and_rejects_non_lists():
    assert optional_list("exec", {}, "args") == []
    assert optional_list("exec", {"args": ["-r", 24, 23.976, None]}, "args") == ["-r", "24", "23.976", "<nil>"]
    with pytest.raises(CommandError, match='parameter "args" has invalid value -r: cannot convert to list of strings'):
        optional_list("exec", {"args": "-r"}, "args")


def test_go_quote_and_duration():
    assert go_quote('say "hi"\n\\') == r'"say \"hi\"\n\\"'
    assert go_quote("tab\there\x01") == r'"tab\there\x01"'
    assert go_quote("héllo") == '"héllo"'
    assert [go_duration(s) for s in (0, 5, 90, 3600, 3725)] == ["0s", "5s", "1m30s", "1h0m0s", "1h2m5s"]
