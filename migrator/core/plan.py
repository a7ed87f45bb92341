"""The run's one decision, pure: what ``upgrade``, ``downgrade`` or ``check`` does with the
database as read (core/state.py) and the revision files as known.

Known from the files' fingerprint alone (the light stage: no Alembic), the answer is either
nothing to do or "needs Alembic". Known from Alembic's graph (the full stage), it is nothing
to do, a refusal with its exit code and hint, or the work: the pending revisions Alembic
itself would run, with its own head semantics (effective heads, ``depends_on``, labels).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from migrator.core import phases, revisions
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


def hands_over_locked(command: str) -> bool:
    """Whether the light stage, finding work, takes the migration lock before it hands the session to
    the engine: for ``upgrade``, whose engine takes it next anyway; ``check`` changes nothing."""
    return command == "upgrade"


def walks_up(command: str) -> bool:
    """Whether the decision reads Alembic's walk up to the target (``Graph.pending``): ``upgrade`` and
    ``check`` do; ``downgrade`` walks the other way (its job reads that walk), ``stamp`` records what it is told."""
    return command in ("upgrade", "check")


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


HELD_HINT = "they run with `upgrade --phase contract`"


class Scope(NamedTuple):
    """What an upgrade runs in its phase: the outcome, the Alembic targets it runs to, what waits."""

    outcome: Outcome
    targets: tuple[str, ...]
    held: tuple[tuple[str, str], ...] = ()  # (revision, message) held back for the contract phase


def scope(
    phase: str,
    outcome: Outcome,
    target: str,
    rows: tuple[str, ...],
    steps: Callable[[Sequence[tuple[str, str]]], Sequence[phases.Step]],
) -> Scope:
    """What ``upgrade --phase PHASE`` runs of the decided ``outcome``: in the expand phase the pending
    revisions before the first contract step (core/phases.py), to their heads; otherwise all of it, to
    ``target``. ``steps`` reads the pending revisions' phases, asked only in the expand phase."""
    if phase != "expand" or not isinstance(outcome, Work) or not outcome.pending:
        return Scope(outcome, (target,))
    found = steps(outcome.pending)
    expandable, held = phases.split(found)
    if not held:
        return Scope(outcome, (target,))
    waiting = tuple(p for p in outcome.pending if p[0] in set(held))
    if not expandable:
        return Scope(NothingToDo(tuple(sorted(rows)), reason="only contract steps are pending"), (target,), waiting)
    ran = set(expandable)  # the work is what runs now: migration.started counts of these
    work = Work(tuple(p for p in outcome.pending if p[0] in ran))
    return Scope(work, tuple(phases.targets(found, expandable)), waiting)
