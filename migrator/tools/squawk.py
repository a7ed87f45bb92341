"""squawk, the PostgreSQL migration linter (PyPI package ``squawk-cli``): find it, run it, read it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.core.errors import ConfigError
from migrator.core.signals import unblocked_child_signals

TIMEOUT_SECONDS = 60.0
# Into the Python migrator runs from (nothing named migrator on a package index is this project);
# in this repository `make install` builds the venv with it (make demo / make db: the runtime only).
INSTALL_HINT = (
    f"install squawk-cli where migrator runs: {sys.executable} -m pip install squawk-cli "
    "(in this repository: `make install`, the full venv)"
)


@dataclass(frozen=True)
class Violation:
    """One squawk report; ``line`` and ``column`` are 0-based, as squawk's JSON reporter gives them."""

    rule: str
    level: str
    line: int
    column: int
    message: str
    help: str | None


def find(executable: str, path: str | None = None) -> str:
    """The squawk binary next to the running interpreter (a virtualenv's bin/), else on PATH."""
    beside = Path(executable).parent / "squawk"
    if beside.is_file() and shutil.which(str(beside)) is not None:
        return str(beside)
    found = shutil.which("squawk", path=path)
    if found is None:
        raise ConfigError("squawk, the SQL linter behind `migrator lint`, is not installed", hint=INSTALL_HINT)
    return found


def check(
    binary: str, sql: str, name: str, pg_version: str | None, timeout: float = TIMEOUT_SECONDS
) -> list[Violation]:
    """Run squawk on ``sql`` written to ``NAME.sql`` in a scratch directory (so no stray .squawk.toml applies)."""
    with tempfile.TemporaryDirectory(prefix="migrator-lint-") as scratch:
        file = Path(scratch) / f"{name}.sql"
        file.write_text(sql, encoding="utf-8")
        args = [binary, "--reporter", "json", *(["--pg-version", pg_version] if pg_version else []), file.name]
        try:
            proc = subprocess.run(
                args,
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                preexec_fn=unblocked_child_signals,  # SIGTERM/SIGINT are blocked in migrator; not in the child
            )
        except subprocess.TimeoutExpired:
            raise ConfigError(f"squawk did not finish within {timeout:g} s on {name}") from None
        except OSError as exc:
            raise ConfigError(f"cannot run squawk ({binary}): {exc.strerror}", hint=INSTALL_HINT) from None
    # squawk exits 0 when clean, 1 when it reports something, 2 on a usage error.
    if proc.returncode not in (0, 1):
        detail = (proc.stderr or proc.stdout).strip() or f"exit code {proc.returncode}"
        raise ConfigError(f"squawk failed on {name}: {detail}", hint="check [tool.migrator.lint] in pyproject.toml")
    return parse(proc.stdout, name)


def parse(output: str, name: str) -> list[Violation]:
    """squawk's JSON reporter output: a list of objects with rule_name, level, line, column, message, help."""
    try:
        raw: Any = json.loads(output or "[]")
        return [_violation(item) for item in raw]
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"cannot read squawk's report on {name}: {exc}", hint="use squawk-cli 2.0 or later") from None


def _violation(item: dict[str, Any]) -> Violation:
    return Violation(
        rule=str(item["rule_name"]),
        level=str(item["level"]).lower(),
        line=int(item["line"]),
        column=int(item["column"]),
        message=str(item["message"]),
        help=str(item["help"]) if item.get("help") else None,
    )
