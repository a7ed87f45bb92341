"""The run's one decision (core/plan.py), pure: from the fingerprint alone, or from Alembic's graph."""

from __future__ import annotations

from migrator.core.errors import ExitCode, RevisionStateError
from migrator.core.plan import Graph, NeedsAlembic, NothingToDo, Refuse, Work, decide
from migrator.core.revisions import ScriptState
from migrator.core.state import Facts, Recorded

RECORDED = Recorded("f1", ("b",), ("b",))
ONE = ScriptState(("b",), frozenset({"a", "b"}))
PACKAGES = ScriptState(
    ("c2", "a2", "s2"),
    frozenset({"c1", "c2", "a1", "a2", "s1", "s2"}),
    {"c2": ("core",), "a2": ("audit",), "s2": ("search",)},
)


def test_same_files_and_same_rows_is_nothing_to_do_without_alembic() -> None:
    assert decide("upgrade", "head", Facts(("b",), (), RECORDED), "f1") == NothingToDo(("b",))
    assert decide("check", "heads", Facts(("b",), (), RECORDED), "f1") == NothingToDo(("b",))


def test_anything_else_needs_alembic() -> None:
    """Other files, other rows, no version table, nothing recorded, another target or verb."""
    for command, target, facts, fingerprint in (
        ("upgrade", "head", Facts(("b",), (), RECORDED), "f2"),
        ("upgrade", "head", Facts(("a",), (), RECORDED), "f1"),
        ("upgrade", "head", Facts(None, (), RECORDED), "f1"),
        ("upgrade", "head", Facts(("b",)), "f1"),
        ("upgrade", "head", Facts(("b",), (), RECORDED), None),
        ("upgrade", "b", Facts(("b",), (), RECORDED), "f1"),
        ("downgrade", "head", Facts(("b",), (), RECORDED), "f1"),
    ):
        assert isinstance(decide(command, target, facts, fingerprint), NeedsAlembic), (command, target, facts)


def test_several_recorded_heads_are_at_heads_but_head_needs_alembic() -> None:
    two = Recorded("f1", ("b", "c"), ("c", "b"))
    assert decide("upgrade", "heads", Facts(("b", "c"), (), two), "f1") == NothingToDo(("b", "c"))
    assert isinstance(decide("upgrade", "head", Facts(("b", "c"), (), two), "f1"), NeedsAlembic)


def test_alembics_walk_decides_at_head_and_work() -> None:
    """Effective heads: the rows need not name every head; Alembic's pending steps decide."""
    at_heads = Facts(("c2", "s2"))
    assert decide("check", "heads", at_heads, None, Graph(PACKAGES, [])) == NothingToDo(("c2", "s2"))
    work = decide("upgrade", "heads", Facts(("c1", "s2")), None, Graph(PACKAGES, [("c2", "core 2")]))
    assert work == Work((("c2", "core 2"),))


def test_refusals_carry_their_code_and_hint() -> None:
    unversioned = decide("upgrade", "head", Facts(None, ("users",)), None, Graph(ONE, []))
    assert isinstance(unversioned, Refuse) and "--baseline" in (unversioned.error.hint or "")
    ahead = decide("check", "head", Facts(("zz",)), None, Graph(ONE, []))
    assert isinstance(ahead, Refuse) and ahead.error.exit_code == ExitCode.REVISION_STATE
    alembic_said = RevisionStateError("Can't locate revision identified by 'nope'")
    assert decide("upgrade", "nope", Facts(("b",)), None, Graph(ONE, alembic_said)) == Refuse(alembic_said)


def test_labelled_branches_are_advised_heads_and_label_at_head_not_a_merge() -> None:
    outcome = decide("upgrade", "head", Facts(()), None, Graph(PACKAGES, []))
    assert isinstance(outcome, Refuse)
    assert "migrator upgrade heads" in (outcome.error.hint or "") and "MIGRATOR_TARGET=heads" in (
        outcome.error.hint or ""
    )
    assert "core@head" in (outcome.error.hint or "") and "merge" not in (outcome.error.hint or "")


def test_divergent_heads_without_labels_are_advised_a_merge() -> None:
    diverged = ScriptState(("x", "y"), frozenset({"a", "x", "y"}))
    outcome = decide("upgrade", "head", Facts(("a",)), None, Graph(diverged, []))
    assert isinstance(outcome, Refuse) and "migrator merge" in (outcome.error.hint or "")


def test_downgrade_at_base_has_nothing_to_do() -> None:
    assert decide("downgrade", "-1", Facts(()), None, Graph(ONE, [])) == NothingToDo((), reason="already at base")
