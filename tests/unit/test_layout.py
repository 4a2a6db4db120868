"""The Manager's layout rules (issue 10): one package per concern, SQL only in
`db/`, routes imported only by `app.py`, every route module and loop listed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

MANAGER = Path(__file__).resolve().parents[2] / "flamenco_pkg" / "manager"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX))\b",
                 re.I | re.S)


def _modules() -> list[Path]:
    return sorted(p for p in MANAGER.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    rel = path.relative_to(MANAGER.parents[1]).with_suffix("")
    package = list(rel.parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            found.append(mod)
            found.extend(f"{mod}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_top_level_holds_at_most_twelve_modules() -> None:
    top = sorted(p.name for p in MANAGER.glob("*.py"))
    assert len(top) <= 12, top


def test_only_routes_and_app_import_routes() -> None:
    offenders = []
    for path in _modules():
        rel = path.relative_to(MANAGER)
        if rel.parts[0] == "routes" or rel.name == "app.py":
            continue
        if any(name.startswith("flamenco_pkg.manager.routes") for name in _imports(path)):
            offenders.append(str(rel))
    assert offenders == []


def test_sql_lives_in_db() -> None:
    offenders = []
    for path in _modules():
        rel = path.relative_to(MANAGER)
        if rel.parts[0] == "db":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and (body := node.body) and isinstance(body[0], ast.Expr)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and SQL.search(node.value)):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_no_run_time_discovery() -> None:
    offenders = [str(p.relative_to(MANAGER)) for p in _modules()
                 if {"pkgutil", "importlib.import_module"} & set(_imports(p))
                 or "import_module(" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_every_route_module_and_loop_is_listed() -> None:
    from flamenco_pkg.manager.loops import LOOPS
    from flamenco_pkg.manager.routes import ROUTE_MODULES

    listed = {m.__name__.rsplit(".", 1)[1] for m in ROUTE_MODULES}
    on_disk = {p.stem for p in (MANAGER / "routes").glob("*.py")} - {"__init__", "common"}
    assert listed == on_disk
    loop_files = {p for p in MANAGER.rglob("*.py")
                  if p.name in ("loop.py", "gc_loop.py") or p.parent.name == "loops"} - {MANAGER / "loops" / "__init__.py"}
    assert {Path(m.__file__) for m in LOOPS} == loop_files


def test_every_package_is_in_the_architecture_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    packages = sorted(p.parent.relative_to(MANAGER).as_posix() for p in MANAGER.rglob("__init__.py")
                      if p.parent != MANAGER and "__pycache__" not in p.parts)
    missing = [pkg for pkg in packages if f"`manager/{pkg}/`" not in table]
    assert missing == []


def test_migration_numbers_are_unique() -> None:
    """Two branches adding the same number would leave one migration unapplied on old databases."""
    from flamenco_pkg.manager.db.connection import migrations

    numbers = [number for number, _name, _sql in migrations()]
    assert len(numbers) == len(set(numbers)), sorted(numbers)
    assert numbers == list(range(1, len(numbers) + 1))
