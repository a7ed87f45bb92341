"""Review SQL without a database: range parsing, direction, pending steps, and reading Alembic's SQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from migrator.core.errors import ConfigError, ExitCode, RevisionStateError
from migrator.tools import sqltext
from migrator.tools.review import direction, parse_range, pending_to
from tests.support.projects import Revision, write_project


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("head", ("base", "head")),
        ("base:head", ("base", "head")),
        ("head:base", ("head", "base")),
        (":head", ("base", "head")),
        (" a1b2 : 36a0 ", ("a1b2", "36a0")),
    ],
)
def test_parse_range_defaults_from_to_base(text: str, expected: tuple[str, str]) -> None:
    """TO alone or FROM:TO; a missing FROM means base."""
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["", "head:", "a:b:c", "  "])
def test_parse_range_refuses_what_is_not_a_range(text: str) -> None:
    """No TO, or more than one colon: a usage error (2) showing the form."""
    with pytest.raises(ConfigError) as caught:
        parse_range(text)
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint == "use TO or FROM:TO, e.g. base:head or head:base"


@pytest.fixture
def chain(tmp_path: Path) -> ScriptDirectory:
    """r1 → r2 → r3, plus a branch b1 off r1."""
    ini = write_project(
        tmp_path, [Revision("r1", None), Revision("r2", "r1"), Revision("r3", "r2"), Revision("b1", "r1")]
    )
    return ScriptDirectory.from_config(Config(str(ini)))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("base", "r3", "upgrade"),
        ("r1", "r3", "upgrade"),
        ("r3", "r1", "downgrade"),
        ("r3", "base", "downgrade"),
        ("r2", "r2", "upgrade"),
        ("base", "b1", "upgrade"),
    ],
)
def test_direction_is_downgrade_when_from_is_above_to(
    chain: ScriptDirectory, start: str, end: str, expected: str
) -> None:
    """FROM below (or at) TO renders an upgrade; FROM above TO a downgrade."""
    assert direction(chain, start, end) == expected


def test_direction_refuses_revisions_on_different_branches(chain: ScriptDirectory) -> None:
    """Neither is below the other: exit 5, saying so."""
    with pytest.raises(RevisionStateError) as caught:
        direction(chain, "r3", "b1")
    assert caught.value.message == "r3 and b1 are on different branches: neither is below the other"


def test_direction_refuses_an_unknown_revision(chain: ScriptDirectory) -> None:
    """An id the scripts do not have: exit 5 naming it."""
    with pytest.raises(RevisionStateError) as caught:
        direction(chain, "base", "deadbeef")
    assert caught.value.exit_code == ExitCode.REVISION_STATE
    assert "deadbeef" in caught.value.message


def test_pending_to_lists_what_an_upgrade_would_apply(tmp_path: Path) -> None:
    """From the current revision to the target, oldest first, with each message."""
    ini = write_project(tmp_path, [Revision("r1", None, "one"), Revision("r2", "r1", "two"), Revision("r3", "r2", "3")])
    script = ScriptDirectory.from_config(Config(str(ini)))
    assert pending_to(script, (), "head") == [("r1", "one"), ("r2", "two"), ("r3", "3")]
    assert pending_to(script, ("r1",), "head") == [("r2", "two"), ("r3", "3")]
    assert pending_to(script, ("r1",), "+1") == [("r2", "two")]
    assert pending_to(script, ("r3",), "head") == []


MERGE_SQL = """BEGIN;

-- Running upgrade a1 -> y1

create table y (id int);

INSERT INTO alembic_version (version_num) VALUES ('y1') RETURNING alembic_version.version_num;

-- Running upgrade x1, y1 -> m1

create table m (id int);

UPDATE alembic_version SET version_num='m1' WHERE alembic_version.version_num = 'y1';

COMMIT;
"""


def test_own_section_drops_the_steps_of_other_revisions() -> None:
    """A merge rendered from one parent also renders the other parent's step: that one is dropped."""
    assert sqltext.own_section(MERGE_SQL, "m1") == (
        "BEGIN;\n\n-- Running upgrade x1, y1 -> m1\n\ncreate table m (id int);\n\n"
        "UPDATE alembic_version SET version_num='m1' WHERE alembic_version.version_num = 'y1';\n\nCOMMIT;\n"
    )


def test_own_section_leaves_sql_without_the_revision_marker_alone() -> None:
    """No marker for the revision (a custom env.py): nothing is dropped."""
    assert sqltext.own_section(MERGE_SQL, "zz") == MERGE_SQL


CREATE_SQL = """BEGIN;

-- Running upgrade  -> r1

CREATE TABLE users (
    id VARCHAR NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE,
    PRIMARY KEY (id)
);

CREATE INDEX ix_users_created_at ON users (created_at);

COMMIT;
"""


@pytest.mark.parametrize(
    ("line", "statement"),
    [
        (0, "BEGIN;"),
        (4, "CREATE TABLE users ( id VARCHAR NOT NULL, created_at TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id) );"),
        (6, "CREATE TABLE users ( id VARCHAR NOT NULL, created_at TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id) );"),
        (10, "CREATE INDEX ix_users_created_at ON users (created_at);"),
        (99, ""),
    ],
)
def test_statement_at_returns_the_whole_statement_covering_a_line(line: int, statement: str) -> None:
    """Any line of a statement gives the whole statement, on one line, without Alembic's comments."""
    assert sqltext.statement_at(CREATE_SQL, line) == statement


@pytest.mark.parametrize(
    ("statement", "schema", "expected"),
    [
        ("CREATE TABLE alembic_version ( version_num VARCHAR(32) NOT NULL );", None, True),
        ("INSERT INTO alembic_version (version_num) VALUES ('r1');", None, True),
        ("UPDATE alembic_version SET version_num='r2' WHERE alembic_version.version_num = 'r1';", None, True),
        ("DELETE FROM alembic_version WHERE alembic_version.version_num = 'r1';", None, True),
        ("UPDATE app.alembic_version SET version_num='r2';", "app", True),
        ("UPDATE alembic_version_archive SET x = 1;", None, False),
        ("ALTER TABLE alembic_version ADD COLUMN x int;", None, False),
    ],
)
def test_version_table_bookkeeping_is_recognised(statement: str, schema: str | None, expected: bool) -> None:
    """Alembic's own version-table statements, and nothing else."""
    assert sqltext.is_version_table_statement(statement, "alembic_version", schema) is expected


def test_shorten_keeps_short_text_and_cuts_long_text() -> None:
    assert sqltext.shorten("select 1;") == "select 1;"
    assert sqltext.shorten("x" * 300, limit=10) == "xxxxxxxxx…"
