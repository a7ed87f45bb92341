"""Refusals instead of damage, and configuration errors, each with its exit code and next step."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from src.database import Base
from tests.conftest import MIGRATOR, REPO, clean_env, parse_events, run, start
from tests.support.dbutil import copy_app, execute
from tests.support.dbutil import tables as public_tables
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

HEAD = "c3d4e5f6a7b8"


def test_database_ahead_of_code_is_refused(server: Server, database: str) -> None:
    """A version table naming a revision the code lacks: exit 5, nothing touched."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    execute(server, database, "update alembic_version set version_num = 'f00dfeed0001'")
    for command in (["upgrade"], ["downgrade"], ["check"]):
        result = run(command, url)
        assert result.returncode == 5, command
        error = result.event("run.failed")["error"]
        assert "f00dfeed0001" in error and "ahead of the code" in error


def test_several_heads_are_refused_with_the_merge_hint(server: Server, database: str, tmp_path: Path) -> None:
    """Two heads and target head: exit 5 listing both and saying how to merge."""
    write_project(tmp_path, [Revision("aaa1", None), Revision("bbb2", None)])
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 5
    failed = result.event("run.failed")
    assert "several heads: aaa1, bbb2" in failed["error"] or "several heads: bbb2, aaa1" in failed["error"]
    assert "migrator merge" in failed["hint"]
    assert public_tables(server, database) == set()


def test_unversioned_database_with_tables_is_refused(server: Server, database: str) -> None:
    """Tables but no version table (built by create_all): exit 5, told to stamp, nothing created."""
    engine = server.engine(database)
    Base.metadata.create_all(engine)
    engine.dispose()
    before = public_tables(server, database)
    result = run(["upgrade"], server.url_for(database))
    assert result.returncode == 5
    failed = result.event("run.failed")
    assert "no alembic_version table" in failed["error"]
    assert "migrator stamp" in failed["hint"]
    assert public_tables(server, database) == before


def test_stamp_adopts_a_database_built_without_migrations(server: Server, database: str) -> None:
    """The guide's first-time setup: stamp the existing schema, then upgrade has nothing to do."""
    engine = server.engine(database)
    Base.metadata.create_all(engine)
    engine.dispose()
    url = server.url_for(database)
    assert run(["stamp", "head"], url).returncode == 0
    again = run(["upgrade"], url)
    assert again.returncode == 0
    assert "run.nothing_to_do" in again.names()


def test_unknown_target_revision_is_refused(server: Server, database: str) -> None:
    """`upgrade deadbeef`: exit 5 naming the revision."""
    result = run(["upgrade", "deadbeef"], server.url_for(database))
    assert result.returncode == 5
    assert "deadbeef" in result.event("run.failed")["error"]


def test_downgrade_at_base_has_nothing_to_do(server: Server, database: str) -> None:
    """`downgrade` on an empty database: nothing below base, said so, exit 0 (not Alembic's
    'Relative revision -1 didn't produce 1 migrations')."""
    result = run(["downgrade"], server.url_for(database))
    assert result.returncode == 0
    assert result.event("run.nothing_to_do")["revision"] == "base (no revision)"


def test_missing_url_is_a_usage_error() -> None:
    """No URL anywhere: exit 2 and where to set it."""
    result = run(["upgrade"], None)
    assert result.returncode == 2
    assert "DATABASE_URL_FILE" in result.event("run.failed")["hint"]


def test_missing_alembic_ini_is_a_usage_error(server: Server, database: str, tmp_path: Path) -> None:
    """No alembic.ini at the given path: exit 2 naming it."""
    result = run(["upgrade", "-c", str(tmp_path / "nope.ini")], server.url_for(database))
    assert result.returncode == 2
    assert "nope.ini" in result.event("run.failed")["error"]


def test_unknown_flag_is_a_usage_error() -> None:
    """argparse's own usage error maps to 2, with the usage on stderr."""
    result = subprocess.run([MIGRATOR, "upgrade", "--no-such-flag"], capture_output=True, text=True, env=clean_env())
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in result.stderr


def test_url_forms_and_url_file_all_work(server: Server, database: str, tmp_path: Path) -> None:
    """postgres://, postgresql+psycopg2:// and DATABASE_URL_FILE all reach the same database."""
    url = server.url_for(database)
    assert run(["upgrade", "+1"], url.replace("postgresql://", "postgres://", 1)).returncode == 0
    secret = tmp_path / "url"
    secret.write_text(url.replace("postgresql://", "postgresql+psycopg2://", 1) + "\n")
    result = run(["current"], None, DATABASE_URL_FILE=str(secret))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "36a04cd7adbc"


def test_flag_wins_over_environment(server: Server, database: str) -> None:
    """--database-url beats a broken DATABASE_URL."""
    result = run(["current", "--database-url", server.url_for(database)], "postgresql://x:y@127.0.0.1:1/none")
    assert result.returncode == 0, result.stderr


def test_broken_revision_file_is_a_usage_error(server: Server, database: str, tmp_path: Path) -> None:
    """A revision file that does not import: exit 2 naming the problem."""
    write_project(tmp_path, [Revision("aaa1", None, upgrade="def (")])
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 2
    assert "SyntaxError" in result.event("run.failed")["error"]


def test_create_writes_revisions(server: Server, database: str, tmp_path: Path) -> None:
    """`create --empty` writes a blank revision; `create` with nothing changed writes nothing and
    says so; a model change is detected, logged at info and written; a blank message is exit 2."""
    copy_app(tmp_path)
    url = server.url_for(database)
    blank = run(["create", "--empty", "add a note"], None, cwd=tmp_path)
    assert blank.returncode == 0, blank.stderr
    written = Path(blank.event("revision.created")["path"])
    assert written.parent == tmp_path / "alembic" / "versions"
    assert '"""add a note' in written.read_text()
    written.unlink()
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    before = sorted((tmp_path / "alembic" / "versions").glob("*.py"))
    auto = run(["create", "nothing changed"], url, cwd=tmp_path)
    assert auto.returncode == 0, auto.stderr
    assert "revision.created" not in auto.names()
    assert "--empty" in auto.event("revision.not_written")["hint"]
    assert sorted((tmp_path / "alembic" / "versions").glob("*.py")) == before
    models = tmp_path / "src" / "database" / "models.py"
    models.write_text(
        models.read_text() + "\n\nclass Note(Base):\n    __tablename__ = 'notes'\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")  # the project's ruff settings
    changed = run(["create", "add notes"], url, cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    assert changed.event("revision.change_detected")["change"] == "add_table notes"
    path = Path(changed.event("revision.created")["path"])
    assert 'op.create_table("notes"' in path.read_text()  # double quotes: ruff-formatted by the post-write hooks
    ruff = str(Path(sys.executable).with_name("ruff"))
    for check in (["check"], ["format", "--check"]):
        linted = subprocess.run([ruff, *check, str(path)], cwd=tmp_path, capture_output=True, text=True)
        assert linted.returncode == 0, linted.stdout + linted.stderr
    for blank_message in ("", "   "):
        assert run(["create", blank_message], url, cwd=tmp_path).returncode == 2


def test_a_post_write_hook_whose_tool_is_missing_is_skipped_with_a_warning(tmp_path: Path) -> None:
    """As in the image, where ruff is not installed: the revision is written, the hook named."""
    copy_app(tmp_path)
    ini = tmp_path / "alembic.ini"
    ini.write_text(ini.read_text().replace("ruff_format.module = ruff", "ruff_format.module = no_such_formatter"))
    result = run(["create", "--empty", "a note"], None, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Path(result.event("revision.created")["path"]).exists()
    skipped = result.event("revision.hook_skipped")
    assert skipped["hooks"] == ["ruff_format"] and "no_such_formatter" in skipped["reason"]  # ruff_check still ran


def test_a_reader_that_closes_stdout_early_does_not_change_the_exit_code(server: Server, database: str) -> None:
    """`migrator check | head -0` with pending revisions: still 6, and no crash in the logs."""
    proc = start(["check"], server.url_for(database))
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before migrator writes its pending lines
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 6, stderr
    assert [e["event"] for e in parse_events(stderr)][-1] == "run.failed"
    assert "Traceback" not in stderr
