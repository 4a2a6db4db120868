"""docs/benchmarks.md: each benchmark owns one section and replaces it on every run.

A section lies between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`;
text outside the markers is kept as written.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"

__all__ = ["DOC", "machine_line", "write_section"]

HEADER = """# Benchmarks

`make bench` runs every benchmark in `bench/` and prints its figures. Each
benchmark writes its own section below and replaces it when run again; the
machine each ran on is named in its section. These are measurements on shared,
noisy machines, not pass/fail tests: compare figures taken in the same run.
"""


def machine_line() -> str:
    """CPU model, cores, memory, Python version and date of this run."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                       if l.startswith("MemTotal")).split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB memory"
    except (OSError, StopIteration, ValueError):
        pass
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()} "
            f"({platform.system()} {platform.release()}), {date}")


def write_section(name: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) section `name` of the benchmarks document with `body`."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
