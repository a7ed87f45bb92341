"""Pure decisions about the database's revision state against the script directory."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from migrator.core.errors import RevisionStateError
from migrator.core.state import Facts


class ScriptState(NamedTuple):
    """What Alembic computed of the revision files: every versioned head (effective heads
    included, as `alembic heads` lists them), every revision, and each head's branch labels."""

    heads: tuple[str, ...]
    known: frozenset[str]
    labels: Mapping[str, tuple[str, ...]] = MappingProxyType({})


def describe(revisions: tuple[str, ...]) -> str:
    """Revisions as shown to the user, sorted: the version table's rows come in no set order."""
    return ", ".join(sorted(revisions)) if revisions else "base (no revision)"


def unknown(db: Facts, script: ScriptState) -> tuple[str, ...]:
    return tuple(rev for rev in db.current if rev not in script.known)


def refuse_unknown(db: Facts, script: ScriptState) -> None:
    """The database names a revision this code lacks: it is ahead of the code."""
    missing = unknown(db, script)
    if missing:
        raise RevisionStateError(
            f"the database is at revision {describe(missing)}, which this code does not know: "
            f"the database is ahead of the code (heads here: {describe(script.heads)})",
            hint="deploy the code that contains that revision (e.g. after an app rollback, "
            "downgrade with the newer image first)",
        )


def separate_branches(script: ScriptState) -> bool:
    """Every head on a branch of its own label: independent on purpose (several packages), not a
    divergence to merge."""
    seen: set[str] = set()
    for head in script.heads:
        labels = set(script.labels.get(head, ()))
        if not labels or labels & seen:
            return False
        seen |= labels
    return True


def refuse_several_heads(script: ScriptState, target: str) -> None:
    """`head` names one head, as in Alembic; the advice depends on why there are several."""
    if target != "head" or len(script.heads) <= 1:
        return
    shown = ", ".join(
        f"{head} ({', '.join(sorted(script.labels[head]))})" if script.labels.get(head) else head
        for head in script.heads
    )
    if separate_branches(script):
        example = sorted(script.labels[script.heads[0]])[0]
        raise RevisionStateError(
            f"the target is head, but the migrations have several heads, each on its own labelled branch: {shown}",
            hint="apply every branch with `migrator upgrade heads` (for the Job and the compose service: "
            f"MIGRATOR_TARGET=heads), or one branch with `migrator upgrade {example}@head`",
        )
    raise RevisionStateError(
        f"the migrations have several heads: {shown}",
        hint="two revisions were created on the same parent: merge them with "
        "`migrator merge -m 'merge heads' " + " ".join(script.heads) + "`",
    )


def refuse_unversioned(db: Facts, version_table: str) -> None:
    """Tables but no version table: built without migrations; never build into it."""
    if not db.has_version_table and db.other_tables:
        shown = ", ".join(db.other_tables[:5]) + (" …" if len(db.other_tables) > 5 else "")
        raise RevisionStateError(
            f"the database has tables ({shown}) but no {version_table} table: it was built without migrations",
            hint="if its schema matches a revision REV, adopt it with `migrator upgrade --baseline REV` "
            "(stamps REV, then upgrades) or `migrator stamp REV`",
        )


def check_before_upgrade(db: Facts, script: ScriptState, target: str, version_table: str) -> None:
    refuse_unversioned(db, version_table)
    refuse_unknown(db, script)
    refuse_several_heads(script, target)


def check_before_downgrade(db: Facts, script: ScriptState, version_table: str) -> None:
    refuse_unversioned(db, version_table)
    refuse_unknown(db, script)
