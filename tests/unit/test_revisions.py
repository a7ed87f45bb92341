"""Decisions about the database's revision state against the migration scripts."""

from __future__ import annotations

import pytest

from migrator.core.errors import ExitCode, RevisionStateError
from migrator.core.plan import Graph, Work, decide
from migrator.core.revisions import ScriptState, refuse_several_heads, refuse_unknown, refuse_unversioned, unknown
from migrator.core.state import Facts as DatabaseState

ONE_HEAD = ScriptState(heads=("c3",), known=frozenset({"a1", "b2", "c3"}))
TWO_HEADS = ScriptState(heads=("c3", "d4"), known=frozenset({"a1", "b2", "c3", "d4"}))
EMPTY_DATABASE = DatabaseState(None)


def versioned(*current: str) -> DatabaseState:
    return DatabaseState(current)


def test_unknown_lists_current_revisions_the_scripts_lack() -> None:
    """Revisions recorded in the database but missing from the code, in database order."""
    assert unknown(versioned("z9", "c3", "y8"), ONE_HEAD) == ("z9", "y8")
    assert unknown(versioned("c3"), ONE_HEAD) == ()


def test_refuse_unknown_names_the_revision_the_code_lacks() -> None:
    """A database ahead of the code is refused with exit 5, naming the revision and the heads."""
    with pytest.raises(RevisionStateError) as raised:
        refuse_unknown(versioned("z9"), ONE_HEAD)
    error = raised.value
    assert (error.exit_code, error.message, error.hint) == (
        ExitCode.REVISION_STATE,
        "the database is at revision z9, which this code does not know: "
        "the database is ahead of the code (heads here: c3)",
        "deploy the code that contains that revision (e.g. after an app rollback, "
        "downgrade with the newer image first)",
    )


@pytest.mark.parametrize("db", [versioned("b2"), versioned(), EMPTY_DATABASE])
def test_refuse_unknown_accepts_known_revisions(db: DatabaseState) -> None:
    """Known revisions, base and an empty database pass."""
    refuse_unknown(db, ONE_HEAD)


def test_refuse_several_heads_for_an_upgrade_to_head() -> None:
    """'head' is ambiguous with two heads: exit 5, listing them and the merge command."""
    with pytest.raises(RevisionStateError) as raised:
        refuse_several_heads(TWO_HEADS, "head")
    error = raised.value
    assert (error.exit_code, error.message, error.hint) == (
        ExitCode.REVISION_STATE,
        "the migrations have several heads: c3, d4",
        "two revisions were created on the same parent: merge them with `migrator merge -m 'merge heads' c3 d4`",
    )


@pytest.mark.parametrize(("script", "target"), [(TWO_HEADS, "heads"), (TWO_HEADS, "d4"), (ONE_HEAD, "head")])
def test_refuse_several_heads_only_when_head_is_ambiguous(script: ScriptState, target: str) -> None:
    """'heads', an explicit revision, or a single head are fine."""
    refuse_several_heads(script, target)


def test_refuse_unversioned_database_with_tables() -> None:
    """Tables but no version table means built without migrations: exit 5, suggesting --baseline or stamp."""
    db = DatabaseState(None, ("users", "orders"))
    with pytest.raises(RevisionStateError) as raised:
        refuse_unversioned(db, "alembic_version")
    error = raised.value
    assert (error.exit_code, error.message, error.hint) == (
        ExitCode.REVISION_STATE,
        "the database has tables (users, orders) but no alembic_version table: it was built without migrations",
        "if its schema matches a revision REV, adopt it with `migrator upgrade --baseline REV` "
        "(stamps REV, then upgrades) or `migrator stamp REV`",
    )


def test_refuse_unversioned_shows_at_most_five_tables() -> None:
    """A long table list is cut after five names."""
    db = DatabaseState(None, ("t1", "t2", "t3", "t4", "t5", "t6"))
    with pytest.raises(RevisionStateError) as raised:
        refuse_unversioned(db, "custom_version")
    assert raised.value.message == (
        "the database has tables (t1, t2, t3, t4, t5 …) but no custom_version table: it was built without migrations"
    )


@pytest.mark.parametrize(
    "db",
    [
        EMPTY_DATABASE,
        versioned(),
        DatabaseState(("c3",)),
    ],
)
def test_refuse_unversioned_accepts_empty_or_versioned_databases(db: DatabaseState) -> None:
    """An empty database, or one with a version table, may be migrated."""
    refuse_unversioned(db, "alembic_version")


def test_an_empty_script_directory_on_an_empty_database_is_work() -> None:
    """No version table yet: the upgrade still runs to create it."""
    no_scripts = ScriptState(heads=(), known=frozenset())
    assert decide("upgrade", "head", EMPTY_DATABASE, None, Graph(no_scripts, [])) == Work(())
