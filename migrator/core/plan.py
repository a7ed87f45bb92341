"""The run's one decision, pure: what ``upgrade``, ``downgrade`` or ``check`` does with the
database as read (core/state.py) and the revision files as known.

Known from the files' fingerprint alone (the light stage: no Alembic), the answer is either
nothing to do or "needs Alembic". Known from Alembic's graph (the full stage), it is nothing
to do, a refusal with its exit code and hint, or the work: the pending revisions Alembic
itself would run, with its own head semantics (effective heads, ``depends_on``, labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from migrator.core import revisions
from migrator.core.errors import MigratorError
from migrator.core.revisions import ScriptState
from migrator.core.state import Facts

LIGHT_TARGETS = ("head", "heads")  # what a fingerprint can answer for; anything else needs Alembic


class NothingToDo(NamedTuple):
    rows: tuple[str, ...]  # the database's version rows
    reason: str = "at the target"

    @property
    def revision(self) -> str:
        """The database's revision(s), as shown to the user."""
        return revisions.describe(self.rows)


class Refuse(NamedTuple):
    error: MigratorError


class Work(NamedTuple):
    pending: tuple[tuple[str, str], ...]  # (revision, message), oldest first, as Alembic would run them


class NeedsAlembic(NamedTuple):
    reason: str


Outcome = NothingToDo | Refuse | Work | NeedsAlembic


class Graph(NamedTuple):
    """Alembic's view: the script state, and the steps from the database's rows to the target
    (or the error Alembic gave for that target)."""

    scripts: ScriptState
    pending: Sequence[tuple[str, str]] | MigratorError
    version_table: str = "alembic_version"  # as the refusals name it


def decide(command: str, target: str, facts: Facts, fingerprint: str | None, graph: Graph | None = None) -> Outcome:
    """``command`` is upgrade, downgrade, stamp or check; ``graph`` None: decide from the fingerprint alone."""
    if graph is None:
        return _from_fingerprint(command, target, facts, fingerprint)
    return _from_graph(command, target, facts, graph)


def _from_fingerprint(command: str, target: str, facts: Facts, fingerprint: str | None) -> Outcome:
    recorded = facts.recorded
    if command not in ("upgrade", "check") or target not in LIGHT_TARGETS:
        return NeedsAlembic(f"{command} to {target}")
    if fingerprint is None:
        return NeedsAlembic("the revision files could not be read")
    if facts.version_rows is None:
        return NeedsAlembic("no version table")
    if recorded is None:
        return NeedsAlembic("no head recorded for this version table")
    if recorded.fingerprint != fingerprint:
        return NeedsAlembic("the revision files differ from those recorded at head")
    if target == "head" and len(recorded.heads) != 1:
        return NeedsAlembic("several heads: Alembic decides what head means")
    if sorted(facts.version_rows) != sorted(recorded.head_rows):
        return NeedsAlembic("the version rows differ from those recorded at head")
    return NothingToDo(tuple(sorted(facts.version_rows)))


def _from_graph(command: str, target: str, facts: Facts, graph: Graph) -> Outcome:
    scripts = graph.scripts
    if command == "stamp":
        return Work(())  # records what it is told, on any database: adopting one built without migrations
    try:
        if command == "downgrade":
            revisions.check_before_downgrade(facts, scripts, graph.version_table)
            if not facts.current:
                return NothingToDo((), reason="already at base")
            return Work(())
        revisions.refuse_unversioned(facts, graph.version_table)
        revisions.refuse_unknown(facts, scripts)
        revisions.refuse_several_heads(scripts, target)
    except MigratorError as exc:
        return Refuse(exc)
    if isinstance(graph.pending, MigratorError):
        return Refuse(graph.pending)
    pending = tuple(graph.pending)
    if pending:
        return Work(pending)
    if command == "upgrade" and not facts.has_version_table:
        return Work(())  # Alembic creates the version table, even for a project without revisions
    return NothingToDo(tuple(sorted(facts.current)))
