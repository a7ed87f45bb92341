"""Static reading of revision files: trusted only in the plain generated form."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.core.scriptfiles import heads, parse, read_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('revision = "abc123"\ndown_revision = None\n', ("abc123", ())),
        ("revision = 'abc123'\ndown_revision = 'def456'\n", ("abc123", ("def456",))),
        (
            'revision: str = "abc"\ndown_revision: Union[str, Sequence[str], None] = ("a1", "b2")\n'
            "branch_labels: Union[str, Sequence[str], None] = None\ndepends_on: Union[str, None] = None\n",
            ("abc", ("a1", "b2")),
        ),
        ('revision = "abc"  # the id\ndown_revision = ["a1", "b2",]\n', ("abc", ("a1", "b2"))),
        ('"""hand-written"""\n\nrevision = "abc"\n\ndown_revision = None\n', ("abc", ())),
    ],
    ids=["initial", "linear", "annotated-merge", "list-and-comment", "blank-lines-before"],
)
def test_plain_generated_forms_are_read(text: str, expected: tuple[str, tuple[str, ...]]) -> None:
    """The forms Alembic's templates write are read without executing anything."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "revision = make_id()\ndown_revision = None\n",
        'revision = "abc"\ndown_revision = PREVIOUS\n',
        'revision = "abc"\ndown_revision = None\ndepends_on = "other"\n',
        'revision = "abc"\nrevision = "def"\ndown_revision = None\n',
        'revision = "abc"\ndown_revision = None\nif True:\n    revision = "def"\n',
        'revision = "abc"\ndown_revision = None\nif True:\n\n\tdown_revision = "def"\n',
        'revision = "abc"\ndown_revision = None\nrevision = compute()\n',
        "down_revision = None\n",
        '"""Revision ID: abc"""\n',
    ],
    ids=[
        "computed-id",
        "computed-down",
        "depends-on",
        "assigned-twice",
        "reassigned-in-block",
        "reassigned-after-blank",
        "reassigned-computed",
        "no-id",
        "docstring",
    ],
)
def test_anything_else_is_a_doubt(text: str) -> None:
    """Non-plain files return None so Alembic's own loader decides."""
    assert parse(text) is None


def test_heads_are_the_revisions_nothing_revises() -> None:
    """A branch and its merge: one head; two open branches: two heads, sorted."""
    assert heads({"a": (), "b": ("a",), "c": ("a",), "m": ("b", "c")}) == ("m",)
    assert heads({"a": (), "c": ("a",), "b": ("a",)}) == ("b", "c")
    assert heads({}) == ()


def test_a_missing_down_revision_is_a_doubt() -> None:
    """A down revision with no file: let Alembic report it."""
    assert heads({"b": ("a",)}) is None


def test_the_applications_own_revisions_are_plain() -> None:
    """The TravelPacker revisions are read statically: two revisions, one head."""
    graph = read_dir(REPO / "alembic" / "versions")
    assert graph == {"36a04cd7adbc": (), "a1b2c3d4e5f6": ("36a04cd7adbc",)}
    assert heads(graph) == ("a1b2c3d4e5f6",)


def test_a_duplicate_revision_id_is_a_doubt(tmp_path: Path) -> None:
    """Two files claiming one id: None (Alembic decides what that means)."""
    (tmp_path / "one.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "two.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "__init__.py").write_text("")
    assert read_dir(tmp_path) is None
    (tmp_path / "two.py").unlink()
    assert read_dir(tmp_path) == {"a": ()}


def test_a_rescan_sees_a_changed_file(tmp_path: Path) -> None:
    """Scans are remembered only while the files stay as they were: an edit is read again."""
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    assert read_dir(tmp_path) == {"a": (), "b": ("a",)}
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = None  # made a root\n')
    assert read_dir(tmp_path) == {"a": (), "b": ()}
    (tmp_path / "b.py").write_text("revision = compute()\ndown_revision = None\n")
    assert read_dir(tmp_path) is None
