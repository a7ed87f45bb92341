"""Which squawk rules `migrator lint` skips, and for which revisions.

Project-wide: ``[tool.migrator.lint] exclude = [...]`` in the pyproject.toml next
to alembic.ini, and/or ``[migrator] lint_exclude = a, b`` in alembic.ini (both
apply). Per revision: a comment in the revision file,
``# migrator-lint: ignore=rule-a,rule-b  why this revision may break them``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.core.errors import ConfigError

PYPROJECT = "pyproject.toml"
INI_SECTION = "migrator"
INI_OPTION = "lint_exclude"
_RULE = re.compile(r"^[a-z][a-z0-9-]*$")
_DIRECTIVE = re.compile(r"^#\s*migrator-lint:(?P<rest>.*)$", re.MULTILINE)
_IGNORE = re.compile(r"^\s*ignore=(?P<rules>\S+)\s*(?P<reason>.*?)\s*$")


@dataclass(frozen=True)
class LintConfig:
    exclude: frozenset[str] = frozenset()
    pg_version: str | None = None


def load(directory: Path, ini_exclude: str | None) -> LintConfig:
    """The project's lint settings: pyproject.toml in ``directory`` (if any) plus alembic.ini's option."""
    from_ini = rule_list(ini_exclude or "", f"[{INI_SECTION}] {INI_OPTION} in alembic.ini")
    path = directory / PYPROJECT
    if not path.is_file():
        return LintConfig(exclude=from_ini)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    found = from_pyproject(document, str(path))
    return LintConfig(exclude=found.exclude | from_ini, pg_version=found.pg_version)


def from_pyproject(document: dict[str, Any], where: str) -> LintConfig:
    """``[tool.migrator.lint]``: ``exclude`` (list of rule names) and ``pg_version`` (e.g. "15")."""
    section = document.get("tool", {}).get("migrator", {}).get("lint", {})
    if not isinstance(section, dict):
        raise ConfigError(f"[tool.migrator.lint] in {where} must be a table")
    unknown = sorted(set(section) - {"exclude", "pg_version"})
    if unknown:
        raise ConfigError(f"unknown key(s) in [tool.migrator.lint] of {where}: {', '.join(unknown)}")
    exclude = section.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(rule, str) for rule in exclude):
        raise ConfigError(f"[tool.migrator.lint] exclude in {where} must be a list of squawk rule names")
    pg_version = section.get("pg_version")
    if pg_version is not None and not isinstance(pg_version, str | int | float):
        raise ConfigError(f'[tool.migrator.lint] pg_version in {where} must be a version such as "15"')
    return LintConfig(
        exclude=rule_list(",".join(exclude), f"[tool.migrator.lint] exclude in {where}"),
        pg_version=str(pg_version) if pg_version is not None else None,
    )


def rule_list(text: str, where: str) -> frozenset[str]:
    """``a, b,c`` → {a, b, c}; a name that cannot be a squawk rule is a configuration error."""
    rules = [rule.strip() for rule in text.split(",") if rule.strip()]
    bad = [rule for rule in rules if not _RULE.match(rule)]
    if bad:
        raise ConfigError(f"not a squawk rule name in {where}: {', '.join(bad)}", hint="e.g. adding-required-field")
    return frozenset(rules)


def revision_exceptions(source: str, where: str) -> frozenset[str]:
    """Rules a revision file exempts itself from; each ``# migrator-lint:`` line must say why."""
    rules: set[str] = set()
    for directive in _DIRECTIVE.finditer(source):
        parsed = _IGNORE.match(directive["rest"])
        if parsed is None:
            raise ConfigError(
                f"cannot read '# migrator-lint:{directive['rest']}' in {where}",
                hint="write '# migrator-lint: ignore=rule-a,rule-b  the reason'",
            )
        if not parsed["reason"]:
            raise ConfigError(
                f"the lint exception in {where} gives no reason",
                hint="write the reason after the rules: '# migrator-lint: ignore=rule-a  why it is safe here'",
            )
        rules |= rule_list(parsed["rules"], where)
    return frozenset(rules)
