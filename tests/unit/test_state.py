"""The light stage's one decision (core/state.py): the full stage's recorded answer still holds."""

from __future__ import annotations

from migrator.core.state import Facts, Recorded, at_head

RECORDED = Recorded("f1", ("b",), ("b",))


def test_same_files_and_same_rows_is_nothing_to_do() -> None:
    """What the full stage found at head, unchanged."""
    assert at_head(Facts(("b",), RECORDED), "f1", "head") is True


def test_anything_else_goes_to_the_full_stage() -> None:
    """Other files, other rows, no version table, nothing recorded."""
    assert at_head(Facts(("b",), RECORDED), "f2", "head") is False
    assert at_head(Facts(("a",), RECORDED), "f1", "head") is False
    assert at_head(Facts(None, RECORDED), "f1", "head") is False
    assert at_head(Facts(("b",), None), "f1", "head") is False


def test_several_heads_are_at_head_for_heads_but_not_for_head() -> None:
    """`upgrade` (head) refuses several heads; `upgrade heads` has nothing to do."""
    two = Recorded("f1", ("b", "c"), ("c", "b"))
    assert at_head(Facts(("b", "c"), two), "f1", "heads") is True
    assert at_head(Facts(("b", "c"), two), "f1", "head") is False
