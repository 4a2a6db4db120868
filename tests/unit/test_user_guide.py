"""The user guide's links and the repository files it names exist; its flags are the programs' flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flamenco_pkg.manager.cli import parse_args as manager_args
from flamenco_pkg.worker.cli import parse_args as worker_args

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted((REPO / "docs" / "user-guide").glob("*.md")) + [REPO / "README.md", REPO / "deploy" / "README.md"]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
REPO_PATH = re.compile(r"`((?:deploy|examples|docs)/[\w./-]+|deploy\\[\w.\\-]+)`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_links_and_named_files_exist(page):
    text = page.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
    for named in REPO_PATH.findall(text):
        path = REPO / named.replace("\\", "/")
        if "*" in named:
            continue
        assert path.exists(), f"{page.name} names {named}, which does not exist"


def test_every_page_is_in_the_index():
    index = (REPO / "docs" / "user-guide" / "README.md").read_text(encoding="utf-8")
    for page in (REPO / "docs" / "user-guide").glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_flags_the_guide_uses_exist():
    """`flamenco-manager.pyz -x` and `flamenco-worker.pyz -x` in the guide are real flags."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
    seen = set()
    for program, parse in (("flamenco-manager.pyz", manager_args), ("flamenco-worker.pyz", worker_args)):
        for flag, value in re.findall(rf"{re.escape(program)}\s+(-[a-z-]+)(?: (\S+))?", text):
            argv = [flag] + ([value] if value and not value.startswith(("-", "#", "`")) and flag in
                             ("-manager", "-config", "-scripts", "-restart-exit-code", "-devices",
                                 "-token", "-add-user", "-role", "-new-token", "-revoke-token", "-delete-user") else [])
            if flag == "-help":
                continue  # prints and exits
            parse([a.strip("`") for a in argv])
            seen.add(flag)
    assert {"-manager", "-find-manager", "-shaman-gc-show", "-write-config", "-devices"} <= seen
