"""Dependencies point one way: cli → verbs → tools → engine → core (docs/development.md, README "Architecture").

Read from the source (every import, those inside functions too), so a late import that would
pull the engine into the core, or the CLI into a tool, fails here before it costs a no-op run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "migrator"

# What each part of migrator may import from migrator (the package root, __version__, is free).
ALLOWED = {
    "core": {"core"},
    "engine": {"core", "engine"},
    "online": {"core", "engine"},
    "tools": {"core", "engine", "tools"},
    "verbs": {"core", "engine", "tools"},  # the commands' functions, over one Run
    "cli": {"core", "verbs"},
    "__main__": {"cli"},
}


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_parts(path: Path) -> set[str]:
    """The parts of migrator that ``path`` imports, e.g. {"core", "engine"}."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = node.module.split(".")
            if names[0] != "migrator":
                continue
            if len(names) > 1:
                found.add(names[1])
            else:  # from migrator import cli / __version__
                found.update(alias.name for alias in node.names if alias.name != "__version__")
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("migrator."))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if part_of(p) in ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below_it(path: Path) -> None:
    extra = imported_parts(path) - ALLOWED[part_of(path)]
    assert not extra, f"{path.relative_to(PACKAGE)} ({part_of(path)}) imports {sorted(extra)}"


def test_every_module_belongs_to_a_layer() -> None:
    """A new top-level module gets a row in ALLOWED, so the rule above cannot silently skip it."""
    loose = {part_of(p) for p in PACKAGE.rglob("*.py")} - set(ALLOWED) - {"__init__"}
    assert not loose, loose


def test_the_rule_sees_a_late_import() -> None:
    """The check reads imports inside functions too (most of the engine is imported late)."""
    source = PACKAGE / "verbs.py"
    assert {"engine", "tools"} <= imported_parts(source)
