"""Expand / contract (core/phases.py): what may run before the rollout."""

from __future__ import annotations

import pytest

from migrator.core.phases import Step, declared, split, targets


def test_a_chain_runs_up_to_the_first_contract_step() -> None:
    pending = [
        Step("a", "expand", ()),
        Step("b", "expand", ("a",)),
        Step("c", "contract", ("b",)),
        Step("d", "expand", ("c",)),
    ]
    assert split(pending) == (["a", "b"], ["c", "d"])
    assert targets(pending, ["a", "b"]) == ["b"]


def test_other_branches_keep_their_expand_steps() -> None:
    """A contract step holds back what comes after it, not a branch beside it."""
    pending = [
        Step("x1", "contract", ()),
        Step("y1", "expand", ()),
        Step("y2", "expand", ("y1",)),
        Step("z", "expand", ("x1", "y2")),
    ]
    assert split(pending) == (["y1", "y2"], ["x1", "z"])
    assert targets(pending, ["y1", "y2"]) == ["y2"]


def test_only_contract_steps_pending_leaves_nothing_to_expand() -> None:
    assert split([Step("c", "contract", ())]) == ([], ["c"])


def test_a_phase_is_expand_or_contract() -> None:
    assert (declared(None), declared("expand"), declared("contract")) == ("expand", "expand", "contract")
    with pytest.raises(ValueError, match="'post'"):
        declared("post")
