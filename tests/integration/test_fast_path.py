"""The "nothing to do" fast path agrees with the full path on every database state."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, Result, run
from tests.support.dbutil import execute
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

HEAD = "c3d4e5f6a7b8"


def both(args: list[str], url: str, cwd: Path = REPO) -> tuple[Result, Result]:
    """The same command with the fast path allowed and with it switched off."""
    return run(args, url, cwd=cwd), run(args, url, cwd=cwd, MIGRATOR_FAST_PATH="0")


def used_fast_path(result: Result) -> bool:
    return any(event.get("fast_path") for event in result.events)


def assert_agree(fast: Result, full: Result) -> None:
    assert (fast.returncode, fast.stdout) == (full.returncode, full.stdout), (fast.stderr, full.stderr)
    assert not used_fast_path(full)


def test_at_head_takes_the_fast_path_with_the_same_answer(server: Server, database: str) -> None:
    """At head: check and upgrade exit 0 with the same output, without the full path's work."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    for args in (["check"], ["check", "--wait-for-head", "5"], ["upgrade"], ["upgrade", "heads"]):
        fast, full = both(args, url)
        assert_agree(fast, full)
        assert fast.returncode == 0
        assert used_fast_path(fast), args
    fast_upgrade = run(["upgrade"], url)
    assert fast_upgrade.event("run.finished")["to_revision"] == HEAD
    assert "lock.acquired" not in fast_upgrade.names()


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ([], 6),  # empty
        (["create table legacy (id int)"], 5),  # unversioned, not empty: refused, as upgrade refuses it
        (["create table alembic_version (version_num varchar(32) primary key)"], 6),  # versioned, at base
        (
            [
                "create table alembic_version (version_num varchar(32) primary key)",
                "insert into alembic_version values ('36a04cd7adbc')",
            ],
            6,
        ),  # pending
        (
            [
                "create table alembic_version (version_num varchar(32) primary key)",
                "insert into alembic_version values ('f00dfeed0001')",
            ],
            5,
        ),  # unknown revision
    ],
    ids=["empty", "unversioned", "base", "pending", "unknown-revision"],
)
def test_check_agrees_on_every_state_not_at_head(server: Server, database: str, setup: list[str], code: int) -> None:
    """Not at head, whatever the reason: the fast path declines and the full path answers."""
    execute(server, database, *setup)
    fast, full = both(["check"], server.url_for(database))
    assert_agree(fast, full)
    assert fast.returncode == code
    assert not used_fast_path(fast)


def test_several_heads_check_refuses_what_upgrade_refuses(server: Server, database: str, tmp_path: Path) -> None:
    """Two heads, the database at both: `check` and `upgrade` (target head) both refuse with 5 on
    either path; `upgrade heads` has nothing to do and takes the light path."""
    write_project(tmp_path, [Revision("aaa1", None), Revision("bbb2", None)])
    url = server.url_for(database)
    assert run(["upgrade", "heads"], url, cwd=tmp_path).returncode == 0
    for args in (["check"], ["upgrade"]):
        fast, full = both(args, url, tmp_path)
        assert_agree(fast, full)
        assert fast.returncode == 5, args
    fast, full = both(["upgrade", "heads"], url, tmp_path)
    assert_agree(fast, full)
    assert fast.returncode == 0 and used_fast_path(fast)


NON_PLAIN = [
    Revision("r001", None),
    # Not the generated form: computed at import time, so it must not be read as text.
    Revision("r002", "r001", upgrade="pass\nrevision = 'r002'"),
]


def test_revision_files_in_any_form_take_the_light_path(server: Server, database: str, tmp_path: Path) -> None:
    """A revision file no parser would trust (ids computed at import time): the light stage hashes
    files instead of reading them, so it engages all the same, with the full stage's answer."""
    write_project(tmp_path, NON_PLAIN)
    ids = tmp_path / "migrations" / "versions" / "r002.py"
    ids.write_text(ids.read_text().replace("down_revision = 'r001'", "down_revision = str('r001')"))
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    for args in (["check"], ["upgrade"]):
        fast, full = both(args, url, tmp_path)
        assert_agree(fast, full)
        assert fast.returncode == 0
        assert used_fast_path(fast)


def test_unreachable_database_is_left_to_the_full_path(server: Server) -> None:
    """No server: the fast path's single try changes nothing; the full path waits and exits 3."""
    from devtools.embedded_pg import free_port

    url = f"postgresql://app:pw-1234@127.0.0.1:{free_port()}/app"
    fast, full = both(["check", "--wait-timeout", "0"], url)
    assert (fast.returncode, full.returncode) == (3, 3)


def test_every_line_of_a_run_carries_its_run_id_and_honours_the_log_level(server: Server, database: str) -> None:
    """Light or full: one run id on every line from the first; --log-level warning silences info."""
    url = server.url_for(database)
    first = run(["upgrade"], url)
    noop = run(["upgrade"], url)
    check = run(["check"], url)
    for result in (first, noop, check):
        ids = {event.get("run_id") for event in result.events}
        assert len(ids) == 1 and None not in ids, result.stderr
    assert used_fast_path(noop)
    quiet = run(["upgrade"], url, MIGRATOR_LOG_LEVEL="warning")
    assert (quiet.returncode, quiet.events) == (0, [])


def test_a_check_that_falls_through_connects_once(server: Server, database: str) -> None:
    """Not at head: the light stage hands its connection over; the database is waited for once."""
    result = run(["check"], server.url_for(database))
    assert result.returncode == 6
    assert result.names().count("db.ready") == 1
