"""Pure decisions about the database's revision state against the script directory."""

from __future__ import annotations

from dataclasses import dataclass

from migrator.core.errors import RevisionStateError


@dataclass(frozen=True)
class DatabaseState:
    has_version_table: bool
    current: tuple[str, ...]
    other_tables: tuple[str, ...]


@dataclass(frozen=True)
class ScriptState:
    heads: tuple[str, ...]
    known: frozenset[str]


def describe(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) if revisions else "base (no revision)"


def is_at_head(db: DatabaseState, script: ScriptState) -> bool:
    return set(db.current) == set(script.heads)


def unknown(db: DatabaseState, script: ScriptState) -> tuple[str, ...]:
    return tuple(rev for rev in db.current if rev not in script.known)


def refuse_unknown(db: DatabaseState, script: ScriptState) -> None:
    """The database names a revision this code lacks: it is ahead of the code."""
    missing = unknown(db, script)
    if missing:
        raise RevisionStateError(
            f"the database is at revision {describe(missing)}, which this code does not know: "
            f"the database is ahead of the code (heads here: {describe(script.heads)})",
            hint="deploy the code that contains that revision (e.g. after an app rollback, "
            "downgrade with the newer image first)",
        )


def refuse_several_heads(script: ScriptState, target: str) -> None:
    if target == "head" and len(script.heads) > 1:
        raise RevisionStateError(
            f"the migrations have several heads: {describe(script.heads)}",
            hint="merge them with `migrator merge -m 'merge heads' " + " ".join(script.heads) + "`",
        )


def refuse_unversioned(db: DatabaseState, version_table: str) -> None:
    """Tables but no version table: built without migrations; never build into it."""
    if not db.has_version_table and db.other_tables:
        shown = ", ".join(db.other_tables[:5]) + (" …" if len(db.other_tables) > 5 else "")
        raise RevisionStateError(
            f"the database has tables ({shown}) but no {version_table} table: it was built without migrations",
            hint="if its schema matches a revision REV, adopt it with `migrator upgrade --baseline REV` "
            "(stamps REV, then upgrades) or `migrator stamp REV`",
        )


def check_before_upgrade(db: DatabaseState, script: ScriptState, target: str, version_table: str) -> None:
    refuse_unversioned(db, version_table)
    refuse_unknown(db, script)
    refuse_several_heads(script, target)


def check_before_downgrade(db: DatabaseState, script: ScriptState, version_table: str) -> None:
    refuse_unversioned(db, version_table)
    refuse_unknown(db, script)


def nothing_to_downgrade(db: DatabaseState) -> bool:
    """A downgrade on a database at base (no revision): there is nothing below it."""
    return not db.current


def nothing_to_do(db: DatabaseState, script: ScriptState, target: str) -> bool:
    """An upgrade to head (or heads) on a database already there."""
    return target in ("head", "heads") and db.has_version_table and is_at_head(db, script)
