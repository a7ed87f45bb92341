"""The run's report: one line of valid JSON that fits in a Kubernetes termination message, never via a link."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.core.report import ELLIPSIS, LIMIT, REVISION_ROOM, RunRecord, bounded, line, write

RUN_ID = "0" * 32


def record(applied: list[str], failed: str | None = None) -> RunRecord:
    found = RunRecord("upgrade")
    found.run_id = RUN_ID
    found.from_revision, found.to_revision = "base (no revision)", applied[-1] if applied else None
    found.applied = [{"revision": rev, "duration_ms": 7} for rev in applied]
    found.failed_revision = failed
    return found


def fits(summary: dict[str, Any]) -> bool:
    """The line as written, and json.dumps's wider default form, are at most LIMIT bytes and read back."""
    written = line(summary)
    return (
        len(written) <= LIMIT
        and len(json.dumps(summary).encode()) <= LIMIT
        and written.count(b"\n") == 1
        and json.loads(written) == summary
    )


def test_a_short_run_is_reported_whole() -> None:
    """Nothing to cut: every field as recorded, the applied list included, truncated false."""
    summary = record(["a1", "a2"]).summary(0, None)
    assert summary == {
        "status": "ok",
        "exit_code": 0,
        "command": "upgrade",
        "from_revision": "base (no revision)",
        "to_revision": "a2",
        "applied_count": 2,
        "applied_duration_ms": 14,
        "first_applied": "a1",
        "last_applied": "a2",
        "applied": [{"revision": "a1", "duration_ms": 7}, {"revision": "a2", "duration_ms": 7}],
        "run_id": RUN_ID,
        "truncated": False,
    }
    assert fits(summary)


def test_a_run_with_nothing_applied_says_so() -> None:
    """No revision applied: a count of 0, no first or last, an empty list."""
    summary = record([]).summary(0, None)
    assert {k: summary[k] for k in ("applied_count", "first_applied", "last_applied", "applied")} == {
        "applied_count": 0,
        "first_applied": None,
        "last_applied": None,
        "applied": [],
    }


def test_many_revisions_are_summarised_not_listed() -> None:
    """10,000 revisions: the list is left out; count, first, last and the total duration stay."""
    revisions = [f"{i:012x}" for i in range(10_000)]
    summary = record(revisions).summary(0, None)
    assert fits(summary)
    assert "applied" not in summary
    assert {k: summary[k] for k in ("applied_count", "applied_duration_ms", "first_applied", "last_applied")} == {
        "applied_count": 10_000,
        "applied_duration_ms": 70_000,
        "first_applied": revisions[0],
        "last_applied": revisions[-1],
    }
    assert summary["truncated"] is True


def test_a_huge_error_is_cut_and_marked() -> None:
    """A 20 kB error (non-ASCII too) is cut to what fits, ends with an ellipsis; the rest stays whole."""
    error = "migration a2 failed: " + "é€😀x" * 5000
    summary = record(["a1"], failed="a2").summary(1, error, "now at a1")
    assert fits(summary)
    assert summary["error"].endswith(ELLIPSIS) and error.startswith(summary["error"].removesuffix(ELLIPSIS))
    assert len(line(summary)) > LIMIT - 100  # near the limit: the margin is json.dumps's wider separators
    kept = {k: summary[k] for k in ("status", "exit_code", "failed_revision", "hint", "truncated")}
    assert kept == {"status": "failed", "exit_code": 1, "failed_revision": "a2", "hint": "now at a1", "truncated": True}


def test_a_huge_hint_gets_a_share_and_the_error_the_rest() -> None:
    """Both huge: both cut, the error keeps at least three times the hint's room."""
    summary = record([]).summary(1, "e" * 20_000, "h" * 20_000)
    assert fits(summary)
    assert summary["hint"].endswith(ELLIPSIS) and summary["error"].endswith(ELLIPSIS)
    assert len(summary["error"]) >= 3 * len(summary["hint"]) > 0


def test_a_long_revision_field_is_capped() -> None:
    """A described list of many heads is capped at REVISION_ROOM bytes of JSON, marked."""
    heads = ", ".join(f"{i:012x}" for i in range(2000))
    found = record(["a1"])
    found.to_revision = found.from_revision = heads
    summary = found.summary(0, None)
    assert fits(summary)
    assert summary["to_revision"].endswith(ELLIPSIS) and heads.startswith(summary["to_revision"][:-1])
    assert len(json.dumps(summary["to_revision"])) - 2 <= REVISION_ROOM
    assert summary["applied"] == [{"revision": "a1", "duration_ms": 7}]


@settings(max_examples=300, deadline=None)
@given(
    revisions=st.lists(st.text(st.characters(codec=None)), max_size=400),
    durations=st.integers(min_value=0, max_value=10**12),
    error=st.none() | st.text(st.characters(codec=None), max_size=30_000),
    hint=st.none() | st.text(max_size=10_000),
    failed=st.none() | st.text(st.characters(codec=None), max_size=5_000),
    exit_code=st.sampled_from([0, 1, 2, 5, 70, 130, 143]),
)
def test_any_run_fits_and_reads_back(
    revisions: list[str], durations: int, error: str | None, hint: str | None, failed: str | None, exit_code: int
) -> None:
    """Any revisions, any number, any error text in any characters (lone surrogates too): at most LIMIT bytes
    of JSON that reads back to the same value; what is cut is a marked prefix of what was given."""
    found = record(revisions, failed)
    found.applied = [{"revision": rev, "duration_ms": durations} for rev in revisions]
    summary = found.summary(exit_code, error, hint)
    assert fits(summary)
    assert summary["applied_count"] == len(revisions)
    for key, given_text in (("error", error), ("hint", hint), ("failed_revision", failed)):
        if given_text:
            kept = summary[key]
            assert kept == given_text or (given_text.startswith(kept.removesuffix(ELLIPSIS)) and summary["truncated"])


@given(st.lists(st.integers(min_value=0, max_value=500), max_size=30))
def test_bounded_leaves_a_summary_that_fits_unchanged(durations: list[int]) -> None:
    """Under the limit, bounded() only adds truncated: false."""
    summary = {"status": "ok", "applied": [{"revision": "r", "duration_ms": d} for d in durations]}
    assert bounded(summary) == {**summary, "truncated": False}


def test_the_report_is_one_line_written_over_an_old_one(tmp_path: Path) -> None:
    """A regular file: replaced by the one line, whatever it held before."""
    path = tmp_path / "report.json"
    path.write_text("x" * 10_000)
    summary = record(["a1"]).summary(0, None)
    write(path, summary)
    assert path.read_bytes() == line(summary)


def test_a_symlink_at_the_report_path_is_not_followed(tmp_path: Path) -> None:
    """ELOOP, and the link's target is left as it was."""
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    with pytest.raises(OSError) as raised:
        write(link, record([]).summary(0, None))
    assert raised.value.errno == errno.ELOOP
    assert target.read_text() == "keep me\n"
