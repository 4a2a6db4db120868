"""Log chunking: size and time limits, as upstream Workers send their output."""

from __future__ import annotations

from flamenco_pkg.worker.chunker import LogChunker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_small_output_goes_out_in_one_chunk_at_the_end():
    sent: list[str] = []
    chunker = LogChunker(sent.append, clock=Clock())
    for i in range(10):
        chunker.add(f"line {i}")
    assert sent == []
    chunker.flush()
    assert sent == ["".join(f"line {i}\n" for i in range(10))]
    chunker.flush()
    assert len(sent) == 1  # nothing buffered, nothing sent


def test_a_chunk_goes_out_once_it_exceeds_10_kib():
    sent: list[str] = []
    chunker = LogChunker(sent.append, clock=Clock())
    line = "x" * 99  # 100 bytes with its newline
    for _ in range(102):
        chunker.add(line)
    assert sent == []
    chunker.add(line)  # 10300 > 10240
    assert len(sent) == 1 and len(sent[0].encode()) == 10300
    chunker.add("tail")
    chunker.flush()
    assert sent[1] == "tail\n"


def test_a_chunk_goes_out_when_30_s_passed_at_the_next_line():
    sent: list[str] = []
    clock = Clock()
    chunker = LogChunker(sent.append, clock=clock)
    chunker.add("first")
    clock.now += 30.0
    chunker.add("second")
    assert sent == []  # exactly 30 s is not more than 30 s
    clock.now += 0.5
    chunker.add("third")
    assert sent == ["first\nsecond\nthird\n"]
    clock.now += 29
    chunker.add("fourth")
    assert len(sent) == 1  # the clock restarted at the last flush


def test_sender_errors_propagate():
    def refuse(_text: str) -> None:
        raise RuntimeError("409")

    chunker = LogChunker(refuse, max_bytes=5, clock=Clock())
    try:
        chunker.add("long enough")
    except RuntimeError as exc:
        assert str(exc) == "409"
    else:
        raise AssertionError("a failed send must reach the command")
