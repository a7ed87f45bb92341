"""A newcomer's first day (issue 19): what people really type works or says what they meant."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import alembic
import pytest

from tests.conftest import MIGRATOR, REPO, clean_env, run
from tests.support.dbutil import execute, query
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

ONE = [Revision("aaa1", None)]


def usage_error(*args: str) -> subprocess.CompletedProcess[str]:
    """argparse's own usage errors are plain text on stderr, not log lines."""
    return subprocess.run([MIGRATOR, *args], env=clean_env(), capture_output=True, text=True, timeout=60, check=False)


def project(root: Path) -> None:
    write_project(root, ONE)
    shutil.copy(REPO / "alembic" / "script.py.mako", root / "migrations")


def test_a_mistyped_command_names_the_nearest_one() -> None:
    """`migrator upgade`: exit 2 and "did you mean 'upgrade'?", not only the list of every command."""
    result = usage_error("upgade")
    assert result.returncode == 2
    assert "unknown command 'upgade': did you mean 'upgrade'?" in result.stderr


def test_a_command_nothing_is_near_gets_the_list() -> None:
    result = usage_error("zzz")
    assert result.returncode == 2
    assert "invalid choice: 'zzz'" in result.stderr and "'upgrade'" in result.stderr


@pytest.mark.parametrize("args", [["-m", "add nickname"], ["add nickname"], ["--message", "add nickname"]])
def test_create_takes_the_message_as_an_argument_or_with_m(tmp_path: Path, args: list[str]) -> None:
    """`create -m MSG` (Alembic's and merge's way) and `create MSG` both write the revision."""
    project(tmp_path)
    result = run(["create", "--empty", *args], None, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = [p for p in (tmp_path / "migrations" / "versions").glob("*.py") if p.name != "aaa1.py"]
    assert len(written) == 1
    assert "add nickname" in written[0].read_text()


def test_create_with_the_message_twice_is_a_usage_error(tmp_path: Path) -> None:
    project(tmp_path)
    result = run(["create", "--empty", "one", "-m", "two"], None, cwd=tmp_path)
    assert result.returncode == 2
    assert "given twice" in result.event("run.failed")["error"]
    assert list((tmp_path / "migrations" / "versions").glob("*.py")) == [
        tmp_path / "migrations" / "versions" / "aaa1.py"
    ]


def test_a_plain_string_execute_names_sa_text_and_op_execute(server: Server, database: str, tmp_path: Path) -> None:
    """The guide's `connection.execute("UPDATE …")` under SQLAlchemy 2: exit 1, the hint says how to write it."""
    body = 'op.execute("create table t (id int)")\nop.get_bind().execute("update t set id = 1")'
    write_project(tmp_path, [Revision("p1", None, upgrade=body)])
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    failed = result.event("run.failed")
    assert "ObjectNotExecutableError" in failed["error"]
    assert "sa.text(" in failed["hint"] and "op.execute(" in failed["hint"]
    assert "rolled back; the database is still at base" in failed["hint"]


def test_create_on_a_database_behind_head_says_to_upgrade_first(server: Server, database: str, tmp_path: Path) -> None:
    """Autogenerate compares with a database at head: behind it, the hint is `migrator upgrade`, not a revision id."""
    project(tmp_path)
    result = run(["create", "add nickname"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 5, result.stderr
    failed = result.event("run.failed")
    assert "not up to date" in failed["error"]
    assert "`migrator upgrade`" in failed["hint"] and "--baseline" in failed["hint"]


def test_a_configuration_error_is_logged_in_the_format_asked_for(tmp_path: Path) -> None:
    """MIGRATOR_LOG_FORMAT=console holds for a malformed URL too (it was JSON whatever was asked)."""
    env = clean_env(DATABASE_URL="postgresql://u:SECRET@h:notaport/db", MIGRATOR_LOG_FORMAT="console")
    result = subprocess.run(
        [MIGRATOR, "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "run.failed" in result.stderr and "the port must be a number" in result.stderr
    assert not result.stderr.lstrip().startswith("{") and "SECRET" not in result.stderr


def test_stamp_and_baseline_rows_say_when_and_how_long(server: Server, database: str, tmp_path: Path) -> None:
    """`status` shows "applied at" and "took" for stamped and baselined revisions too, not blanks."""
    chain = [Revision("b1", None), Revision("b2", "b1")]
    write_project(tmp_path, chain)
    url = server.url_for(database)
    execute(server, database, "create table legacy (id int)")
    assert run(["upgrade", "--baseline", "b1"], url, cwd=tmp_path).returncode == 0
    assert run(["stamp", "b1"], url, cwd=tmp_path).returncode == 0
    rows = query(
        server,
        database,
        "select direction, started_at is not null, duration_ms is not null from migrator_history "
        "where direction in ('baseline', 'stamp') order by id",
    )
    assert rows == [("baseline", True, True), ("stamp", True, True)]


def test_a_relative_downgrade_at_a_merge_names_the_parents(server: Server, database: str, tmp_path: Path) -> None:
    """`downgrade -1` at a merge revision: exit 5 naming both parents and the commands to choose with."""
    merged = [Revision("m0", None), Revision("ma", "m0"), Revision("mb", "m0"), Revision("mm", ("ma", "mb"))]
    write_project(tmp_path, merged)
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    result = run(["downgrade", "-1"], url, cwd=tmp_path)
    assert result.returncode == 5, result.stderr
    failed = result.event("run.failed")
    assert "merge revision mm" in failed["error"] and "ma, mb" in failed["error"]
    assert failed["hint"] == "`migrator downgrade ma` or `migrator downgrade mb` (the parent to go back to)"
    assert run(["current"], url, cwd=tmp_path).stdout.startswith("mm")


MISSING_HOOK = """
[post_write_hooks]
hooks = tidy_check, tidy_format
tidy_check.type = module
tidy_check.module = no_such_formatter
tidy_check.options = check REVISION_SCRIPT_FILENAME
tidy_format.type = module
tidy_format.module = no_such_formatter
tidy_format.options = format REVISION_SCRIPT_FILENAME
"""


@pytest.mark.parametrize(
    ("command", "heads"), [(["create", "--empty", "-m", "add nickname"], 1), (["merge", "-m", "join"], 2)]
)
def test_a_post_write_hook_whose_tool_is_missing_is_skipped_and_said_once(
    tmp_path: Path, command: list[str], heads: int
) -> None:
    """The runtime venv has no formatter: create and merge write the file, exit 0, one hook_skipped line."""
    revisions = [Revision("h0", None), Revision("ha", "h0"), Revision("hb", "h0")][: 1 + (heads - 1) * 2]
    write_project(tmp_path, revisions)
    shutil.copy(REPO / "alembic" / "script.py.mako", tmp_path / "migrations")
    with (tmp_path / "alembic.ini").open("a") as ini:
        ini.write(MISSING_HOOK)
    result = run(command, None, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    skipped = [e for e in result.events if e.get("event") == "revision.hook_skipped"]
    assert len(skipped) == 1 and skipped[0]["hooks"] == ["tidy_check", "tidy_format"]
    assert "no_such_formatter" in skipped[0]["reason"]
    assert len(list((tmp_path / "migrations" / "versions").glob("*.py"))) == len(revisions) + 1


def test_current_and_status_explain_a_deleted_applied_revision_as_upgrade_does(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The guide's troubleshooting case: the file of an applied revision is gone. current and status say
    what upgrade says (exit 5, naming the unknown revision), not "check the revision id"."""
    write_project(tmp_path, [Revision("d1", None), Revision("d2", "d1")])
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    (tmp_path / "migrations" / "versions" / "d2.py").unlink()
    said = {command: run([command], url, cwd=tmp_path) for command in ("upgrade", "current", "status")}
    for command, result in said.items():
        assert result.returncode == 5, (command, result.stderr)
    failures = {command: result.event("run.failed") for command, result in said.items()}
    assert "revision d2, which this code does not know" in failures["upgrade"]["error"]
    assert failures["current"]["error"] == failures["status"]["error"] == failures["upgrade"]["error"]
    assert failures["current"]["hint"] == failures["upgrade"]["hint"]


def test_stamp_purge_recovers_from_a_deleted_applied_revision(server: Server, database: str, tmp_path: Path) -> None:
    """`stamp --purge REV` empties the version table that names the lost revision, then records REV;
    current and check answer again."""
    write_project(tmp_path, [Revision("d1", None), Revision("d2", "d1")])
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    (tmp_path / "migrations" / "versions" / "d2.py").unlink()
    assert run(["stamp", "d1"], url, cwd=tmp_path).returncode == 5  # without --purge: the row names d2
    result = run(["stamp", "--purge", "d1"], url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(server, database, "select version_num from alembic_version") == [("d1",)]
    assert run(["current"], url, cwd=tmp_path).stdout.startswith("d1")
    check = run(["check"], url, cwd=tmp_path)
    assert check.returncode == 0, check.stderr


def test_create_without_models_in_env_py_says_to_set_target_metadata_or_pass_empty(
    server: Server, database: str, tmp_path: Path
) -> None:
    """An env.py with target_metadata = None cannot autogenerate: exit 2 naming the fix, no file written."""
    write_project(tmp_path, [Revision("a1", None)])
    template = Path(alembic.__file__).parent / "templates" / "generic" / "script.py.mako"
    shutil.copy(template, tmp_path / "migrations" / "script.py.mako")  # as `alembic init` writes it
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    before = sorted((tmp_path / "migrations" / "versions").glob("*.py"))
    created = run(["create", "-m", "add nickname"], url, cwd=tmp_path)
    assert created.returncode == 2, created.stderr
    failed = created.event("run.failed")
    assert "target_metadata" in failed["error"] and "--empty" in failed["hint"]
    assert sorted((tmp_path / "migrations" / "versions").glob("*.py")) == before
    empty = run(["create", "--empty", "-m", "add nickname"], url, cwd=tmp_path)
    assert empty.returncode == 0, empty.stderr
