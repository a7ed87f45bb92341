"""Checksums of revision files: what counts as a change."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from migrator.core.checksums import Sources, checksum, normalise


def _line_by_line(text: str) -> str:
    """The definition: line endings unified, each line stripped at its end, trailing blank lines dropped."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).rstrip("\n") + "\n"


def test_line_endings_trailing_spaces_and_blank_lines_do_not_change_the_checksum() -> None:
    """A file saved on Windows or with trailing spaces has the checksum of the tidy file."""
    tidy = 'revision = "abc"\n\ndef upgrade():\n    pass\n'
    for untidy in (tidy.replace("\n", "\r\n"), tidy.replace("\n", " \t\n"), tidy + "\n\n\n", tidy.rstrip("\n")):
        assert checksum(untidy) == checksum(tidy)
    assert checksum(tidy.replace("pass", "return")) != checksum(tidy)


@given(
    st.text(
        alphabet=st.sampled_from(
            ["a", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u00a0", "\u3000", "é"]
        )
    )
)
def test_the_quick_path_normalises_as_line_by_line(text: str) -> None:
    """Any text, whitespace of every kind included, normalises exactly as the line-by-line definition."""
    assert normalise(text) == _line_by_line(text)


@given(st.text())
def test_any_text_normalises_as_line_by_line(text: str) -> None:
    assert normalise(text) == _line_by_line(text)


def test_sources_take_the_bytes_already_read_and_read_the_others(tmp_path: Path) -> None:
    """A file the light stage hashed is not read again; one it did not is read; a revision without file has none."""
    kept, unread = tmp_path / "a_first.py", tmp_path / "b_second.py"
    kept.write_text("revision = 'a'\n")
    unread.write_text("revision = 'b'\n")
    sources = Sources({"a": kept, "b": unread}, {os.path.abspath(kept): b"revision = 'a'  \r\n"})
    kept.unlink()  # read from what was kept
    assert sources.of("a") == checksum("revision = 'a'\n")
    assert sources.of("b") == checksum("revision = 'b'\n")
    assert sources.of("gone") is None
