"""Lint without a database: configuration, per-revision exceptions, squawk's report, the output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from migrator.core.errors import ConfigError, ExitCode
from migrator.tools import lintconfig, squawk
from migrator.tools.lint import Finding, format_finding
from tests.conftest import REPO

ADDING_REQUIRED_FIELD = {
    "file": "r2.sql",
    "line": 4,
    "column": 14,
    "level": "Warning",
    "message": "Adding a new column that is `NOT NULL` and has no default value to an existing table.",
    "help": "Make the field nullable or add a non-VOLATILE DEFAULT",
    "rule_name": "adding-required-field",
    "column_end": 39,
    "line_end": 4,
}


def test_the_projects_own_exclusions_are_the_four_documented_rules() -> None:
    """pyproject.toml next to alembic.ini turns off the rules migrator handles itself."""
    assert lintconfig.load(REPO, None) == lintconfig.LintConfig(
        exclude=frozenset(
            {"require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts", "prefer-text-field"}
        )
    )


def test_pyproject_and_alembic_ini_exclusions_both_apply(tmp_path: Path) -> None:
    """[tool.migrator.lint] exclude and alembic.ini's lint_exclude are merged; pg_version is passed on."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.migrator.lint]\nexclude = ["adding-required-field"]\npg_version = 15\n'
    )
    assert lintconfig.load(tmp_path, " prefer-identity,ban-drop-column ") == lintconfig.LintConfig(
        exclude=frozenset({"adding-required-field", "prefer-identity", "ban-drop-column"}), pg_version="15"
    )


def test_no_pyproject_means_only_the_ini_exclusions(tmp_path: Path) -> None:
    assert lintconfig.load(tmp_path, None) == lintconfig.LintConfig()
    assert lintconfig.load(tmp_path, "prefer-identity") == lintconfig.LintConfig(exclude=frozenset({"prefer-identity"}))


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ('exclude = "prefer-identity"', "exclude in pyproject.toml must be a list of squawk rule names"),
        ("exclude = [1]", "exclude in pyproject.toml must be a list of squawk rule names"),
        ('exclude = ["Prefer Identity"]', "not a squawk rule name in [tool.migrator.lint] exclude in pyproject.toml"),
        ('excludes = ["prefer-identity"]', "unknown key(s) in [tool.migrator.lint] of pyproject.toml: excludes"),
        ("pg_version = [15]", "[tool.migrator.lint] pg_version in pyproject.toml must be a version such as"),
    ],
)
def test_a_malformed_lint_section_is_a_usage_error(section: str, error: str) -> None:
    """Typos in the configuration fail (2) instead of silently linting with other rules."""
    import tomllib

    with pytest.raises(ConfigError) as caught:
        lintconfig.from_pyproject(tomllib.loads("[tool.migrator.lint]\n" + section), "pyproject.toml")
    assert caught.value.exit_code == ExitCode.USAGE
    assert error in caught.value.message


def test_invalid_toml_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.migrator.lint\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        lintconfig.load(tmp_path, None)


def test_a_revision_exempts_itself_with_a_reasoned_comment() -> None:
    """`# migrator-lint: ignore=a,b  reason` lines, any number, at the start of a line."""
    source = (
        '"""doc"""\n'
        "# migrator-lint: ignore=prefer-identity,prefer-bigint-over-int  new table on an empty database\n"
        "#migrator-lint:ignore=ban-drop-column   the column was never read\n"
        "    # migrator-lint: ignore=adding-required-field  indented: not a module-level directive\n"
    )
    assert lintconfig.revision_exceptions(source, "r1.py") == {
        "prefer-identity",
        "prefer-bigint-over-int",
        "ban-drop-column",
    }
    assert lintconfig.revision_exceptions('"""doc"""\nrevision = "r1"\n', "r1.py") == frozenset()


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("# migrator-lint: ignore=prefer-identity", "the lint exception in r1.py gives no reason"),
        ("# migrator-lint: ignore=prefer-identity   ", "the lint exception in r1.py gives no reason"),
        ("# migrator-lint: skip prefer-identity because", "cannot read '# migrator-lint: skip prefer-identity"),
        ("# migrator-lint: ignore=Prefer_Identity  why", "not a squawk rule name in r1.py: Prefer_Identity"),
    ],
)
def test_an_unexplained_or_malformed_exception_is_a_usage_error(line: str, error: str) -> None:
    """Every exception carries its reason; a directive that cannot be read is not ignored silently."""
    with pytest.raises(ConfigError) as caught:
        lintconfig.revision_exceptions(line + "\n", "r1.py")
    assert caught.value.exit_code == ExitCode.USAGE
    assert error in caught.value.message


def test_squawk_json_report_is_read_into_violations() -> None:
    """squawk's JSON reporter (0-based lines); help may be null."""
    robust = dict(ADDING_REQUIRED_FIELD, rule_name="prefer-robust-stmts", help=None, level="Error")
    assert squawk.parse(json.dumps([ADDING_REQUIRED_FIELD, robust]), "r2") == [
        squawk.Violation(
            rule="adding-required-field",
            level="warning",
            line=4,
            column=14,
            message="Adding a new column that is `NOT NULL` and has no default value to an existing table.",
            help="Make the field nullable or add a non-VOLATILE DEFAULT",
        ),
        squawk.Violation(
            rule="prefer-robust-stmts",
            level="error",
            line=4,
            column=14,
            message="Adding a new column that is `NOT NULL` and has no default value to an existing table.",
            help=None,
        ),
    ]
    assert squawk.parse("", "r2") == []


@pytest.mark.parametrize("output", ["not json", '{"rule": 1}', '[{"line": 1}]'])
def test_an_unreadable_squawk_report_is_an_error(output: str) -> None:
    with pytest.raises(ConfigError, match="cannot read squawk's report on r2"):
        squawk.parse(output, "r2")


def test_squawk_is_found_next_to_the_interpreter_first(tmp_path: Path) -> None:
    """A virtualenv's bin/ holds squawk next to python, whatever PATH says."""
    binary = tmp_path / "squawk"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert squawk.find(str(tmp_path / "python"), path="") == str(binary)


def test_squawk_is_found_on_path_otherwise(tmp_path: Path) -> None:
    elsewhere = tmp_path / "tools"
    elsewhere.mkdir()
    binary = elsewhere / "squawk"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert squawk.find(str(tmp_path / "python"), path=os.pathsep.join(["/nonexistent", str(elsewhere)])) == str(binary)


def test_missing_squawk_is_a_usage_error_saying_how_to_install_it(tmp_path: Path) -> None:
    """Not next to the interpreter, not on PATH: exit 2 and `pip install squawk-cli`."""
    with pytest.raises(ConfigError) as caught:
        squawk.find(str(tmp_path / "python"), path=str(tmp_path))
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.message == "squawk, the SQL linter behind `migrator lint`, is not installed"
    assert caught.value.hint is not None and "pip install squawk-cli" in caught.value.hint
    assert "migrator[lint]" not in caught.value.hint  # an unrelated package of that name is on PyPI


def finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "revision": "r2",
        "message": "add required weight",
        "rule": "adding-required-field",
        "level": "warning",
        "line": 5,
        "statement": "ALTER TABLE items ADD COLUMN weight BIGINT NOT NULL;",
        "line_text": "ALTER TABLE items ADD COLUMN weight BIGINT NOT NULL;",
        "problem": "Adding a new column that is `NOT NULL` and has no default value.",
        "help": "Make the field nullable or add a non-VOLATILE DEFAULT",
    }
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


def test_a_finding_names_revision_rule_line_statement_problem_and_help() -> None:
    assert format_finding(finding()) == (
        "r2 (add required weight): adding-required-field (warning) at line 5 of its SQL\n"
        "  statement: ALTER TABLE items ADD COLUMN weight BIGINT NOT NULL;\n"
        "  problem: Adding a new column that is `NOT NULL` and has no default value.\n"
        "  help: Make the field nullable or add a non-VOLATILE DEFAULT"
    )


def test_a_finding_inside_a_long_statement_also_shows_its_line() -> None:
    """In a multi-line CREATE TABLE the reported line says which column; no help line without help."""
    long = finding(
        rule="prefer-timestamp-tz",
        statement="CREATE TABLE users ( id VARCHAR NOT NULL, created_at TIMESTAMP WITHOUT TIME ZONE );",
        line_text="    created_at TIMESTAMP WITHOUT TIME ZONE, ",
        help=None,
        message="",
    )
    assert format_finding(long) == (
        "r2: prefer-timestamp-tz (warning) at line 5 of its SQL\n"
        "  statement: CREATE TABLE users ( id VARCHAR NOT NULL, created_at TIMESTAMP WITHOUT TIME ZONE );\n"
        "  at: created_at TIMESTAMP WITHOUT TIME ZONE,\n"
        "  problem: Adding a new column that is `NOT NULL` and has no default value."
    )
