"""Projects configured as Alembic 1.16+ reads them: [tool.alembic] in pyproject.toml, with or without alembic.ini."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run
from tests.support.dbutil import version
from tests.support.servers import Server
from tests.support.shapes import pyproject_config

TEMPLATE_INI = """\
[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = driver://user:pass@localhost/dbname
"""


def _pyproject_only(root: Path) -> None:
    pyproject_config(root)
    (root / "alembic.ini").unlink()  # Alembic's pyproject template writes none


def test_every_command_works_on_a_pyproject_only_project(server: Server, database: str, tmp_path: Path) -> None:
    """No alembic.ini: upgrade, current, history, check, downgrade and stamp read [tool.alembic]."""
    _pyproject_only(tmp_path)
    url = server.url_for(database)
    for command, expected in (
        (["upgrade"], 0),
        (["current"], 0),
        (["history"], 0),
        (["check"], 0),
        (["downgrade", "-1"], 0),
        (["stamp", "q2"], 0),
    ):
        result = run(command, url, cwd=tmp_path)
        assert result.returncode == expected, (command, result.stderr)
    assert version(server, database) == ["q2"]
    assert "q1 -> q2 (head)" in run(["history"], url, cwd=tmp_path).stdout


def test_pyproject_toml_named_as_the_config_is_read_as_toml(server: Server, database: str, tmp_path: Path) -> None:
    """-c pyproject.toml and ALEMBIC_CONFIG=pyproject.toml, from another directory."""
    _pyproject_only(tmp_path)
    url = server.url_for(database)
    by_flag = run(["-c", str(tmp_path / "pyproject.toml"), "upgrade", "q1"], url)
    assert by_flag.returncode == 0, by_flag.stderr
    by_variable = run(["upgrade"], url, ALEMBIC_CONFIG=str(tmp_path / "pyproject.toml"))
    assert by_variable.returncode == 0, by_variable.stderr
    assert version(server, database) == ["q2"]


def test_no_config_at_all_names_both_files(tmp_path: Path) -> None:
    result = run(["current"], "postgresql://u@127.0.0.1:1/db", cwd=tmp_path)
    assert result.returncode == 2
    assert "alembic.ini not found" in result.stderr and "pyproject.toml" in result.stderr


def test_alembics_template_url_counts_as_no_url(tmp_path: Path) -> None:
    """`sqlalchemy.url = driver://user:pass@localhost/dbname`: sql and lint render offline as if none were given."""
    _pyproject_only(tmp_path)
    (tmp_path / "alembic.ini").write_text(TEMPLATE_INI)
    sql = run(["sql", "base:head"], None, cwd=tmp_path)
    assert sql.returncode == 0, sql.stderr
    assert "create table t_q1" in sql.stdout.lower() and "create table t_q2" in sql.stdout.lower()
    lint = run(["lint", "--all", "--format", "json"], None, cwd=tmp_path)
    assert lint.returncode in (0, 8), lint.stderr  # rendered and linted (8: squawk's own findings)
    assert "q1" in lint.stdout and "not-renderable" not in lint.stdout, lint.stdout
