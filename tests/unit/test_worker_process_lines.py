"""Reading a program's output: 40 KiB pieces that never split a UTF-8 character."""

from __future__ import annotations

import io

from flamenco_pkg.worker.process import quote_argv, read_lines, utf8_cut


def test_lines_lose_their_endings():
    stream = io.BytesIO(b"one\ntwo\r\n\nlast without newline")
    assert list(read_lines(stream)) == ["one", "two", "", "last without newline"]


def test_long_lines_are_split_into_limit_sized_pieces():
    stream = io.BytesIO(b"a" * 25 + b"\nb\n")
    assert list(read_lines(stream, limit=10)) == ["a" * 10, "a" * 10, "a" * 5, "b"]


def test_a_multibyte_character_is_never_cut():
    text = "ab" + "é" * 10  # é = 2 bytes; a 7-byte limit lands inside one
    pieces = list(read_lines(io.BytesIO(text.encode() + b"\n"), limit=7))
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
    assert all(len(p.encode()) <= 7 for p in pieces)


def test_utf8_cut():
    euro = "€".encode()  # 3 bytes
    assert utf8_cut(b"abc") == 3
    assert utf8_cut(b"a" + euro) == 4
    assert utf8_cut(b"a" + euro[:2]) == 1
    assert utf8_cut(b"a" + euro[:1]) == 1


def test_quote_argv_is_pasteable():
    assert quote_argv(["blender", "-b", "my file.blend", "--python-expr", "a; b"]) == \
        "blender -b 'my file.blend' --python-expr 'a; b'"
