"""Expand and contract: which pending revisions may run before the web rollout (pure).

A revision declares itself a post-rollout step with a module-level ``phase = "contract"``
beside ``revision`` and ``down_revision``; no marker (or ``phase = "expand"``) is an ordinary
step. ``upgrade --phase expand`` (the Job before the rollout) applies the pending revisions up
to the first contract step: every pending revision that is not a contract step and does not
come after one. ``--phase contract`` (after the rollout) applies the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

PHASES = ("all", "expand", "contract")
CONTRACT = "contract"
# squawk's rules against taking away what running clients use ("may break existing clients"). A contract
# step runs after the rollout, when no code still uses what it removes: that is where these belong, so
# `migrator lint` does not report them there (and reports them, with its own phase rule, in expand steps).
AFTER_ROLLOUT_RULES = frozenset(
    {"ban-drop-column", "ban-drop-table", "ban-drop-function", "renaming-column", "renaming-table"}
)


class Step(NamedTuple):
    revision: str
    phase: str  # "expand" or "contract", as the revision declares
    parents: tuple[str, ...]  # down revisions and depends_on


def split(pending: Sequence[Step]) -> tuple[list[str], list[str]]:
    """(expandable, held back): ``pending`` oldest first, as Alembic would run it."""
    held: set[str] = set()
    expandable: list[str] = []
    for step in pending:
        if step.phase == CONTRACT or any(parent in held for parent in step.parents):
            held.add(step.revision)
        else:
            expandable.append(step.revision)
    return expandable, [s.revision for s in pending if s.revision in held]


def targets(pending: Sequence[Step], expandable: Sequence[str]) -> list[str]:
    """The revisions to upgrade to so that exactly ``expandable`` runs: its heads, oldest first."""
    chosen = set(expandable)
    below = {parent for s in pending if s.revision in chosen for parent in s.parents}
    return [rev for rev in expandable if rev not in below]


def declared(value: object) -> str:
    """A revision module's ``phase`` attribute, checked: anything else is a mistake worth stopping for."""
    if value is None or value == "expand":
        return "expand"
    if value == CONTRACT:
        return CONTRACT
    raise ValueError(f"phase = {value!r}: use 'expand' (the default) or 'contract'")
