"""The report fits where it is read (issue 18): at most 4096 bytes of valid JSON, every outcome, never via a link."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run
from tests.support.dbutil import query
from tests.support.projects import Revision, recorded_chain, write_project
from tests.support.servers import Server

LIMIT = 4096  # bytes of a Kubernetes termination message


def read_report(path: Path) -> dict[str, Any]:
    """The report as the platform reads it: one line, at most LIMIT bytes, valid JSON."""
    raw = path.read_bytes()
    assert len(raw) <= LIMIT, f"{len(raw)} bytes"
    assert raw.count(b"\n") == 1 and raw.endswith(b"\n")
    summary: dict[str, Any] = json.loads(raw)
    return summary


def test_a_long_chain_is_summarised_within_the_limit(server: Server, database: str, tmp_path: Path) -> None:
    """120 revisions applied: the report counts them and names the first and last, in 4096 bytes."""
    chain = recorded_chain(120)
    write_project(tmp_path, chain)
    report = tmp_path / "report.json"
    result = run(["upgrade", "--report", str(report)], server.url_for(database), cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    summary = read_report(report)
    assert {k: summary[k] for k in ("status", "exit_code", "applied_count", "first_applied", "last_applied")} == {
        "status": "ok",
        "exit_code": 0,
        "applied_count": 120,
        "first_applied": "r000",
        "last_applied": "r119",
    }
    assert (summary["to_revision"], summary["run_id"]) == ("r119", result.event("run.finished")["run_id"])
    assert summary["applied_duration_ms"] >= 0
    assert query(server, database, "select count(*) from body_runs") == [(120,)]


def test_a_huge_error_is_cut_to_fit(server: Server, database: str, tmp_path: Path) -> None:
    """A migration that fails with a ~20 kB message (not ASCII): exit 1, the report names the revision and
    keeps the message's start, cut and marked, within 4096 bytes; h1 went back with h2 (one transaction)."""
    raising = 'raise RuntimeError("boom " + "é€😀" * 7000)'
    write_project(tmp_path, [Revision("h1", None), Revision("h2", "h1", upgrade=raising)])
    report = tmp_path / "report.json"
    result = run(["upgrade", "--report", str(report)], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert len(result.event("run.failed")["error"]) > 20_000  # the log keeps it whole
    summary = read_report(report)
    assert {k: summary[k] for k in ("status", "exit_code", "failed_revision", "to_revision", "truncated")} == {
        "status": "failed",
        "exit_code": 1,
        "failed_revision": "h2",
        "to_revision": "base (no revision)",
        "truncated": True,
    }
    assert summary["error"].startswith("migration h2 failed: ") and "boom é€😀" in summary["error"]
    assert summary["error"].endswith("…")
    assert query(server, database, "select to_regclass('alembic_version')") == [(None,)]


@pytest.mark.parametrize(
    ("url", "where", "env"),
    [
        ("postgresql://u:SECRET@host:notaport/db", "flag", {}),
        ("postgresql://u:SECRET@host/db", "env", {"MIGRATOR_LOCK_TIMEOUT": "soon"}),
    ],
    ids=["malformed-url", "bad-setting"],
)
def test_a_configuration_error_is_reported_too(tmp_path: Path, url: str, where: str, env: dict[str, str]) -> None:
    """Exit 2 before any connection: the report is written all the same (from --report or MIGRATOR_REPORT),
    status failed, exit code 2, the error described and the password nowhere in it."""
    report = tmp_path / "report.json"
    flags = ["--report", str(report)] if where == "flag" else []
    extra = {"MIGRATOR_REPORT": str(report)} if where == "env" else {}
    result = run(["upgrade", *flags], url, tmp_path, 90, **env, **extra)
    assert result.returncode == 2, result.stderr
    summary = read_report(report)
    assert {k: summary[k] for k in ("status", "exit_code", "command", "applied_count")} == {
        "status": "failed",
        "exit_code": 2,
        "command": "upgrade",
        "applied_count": 0,
    }
    assert summary["error"] == result.event("run.failed")["error"]
    assert summary["run_id"] == result.event("run.failed")["run_id"]
    assert "SECRET" not in report.read_text()


def test_a_command_that_does_not_report_writes_nothing_on_a_configuration_error(tmp_path: Path) -> None:
    """`current` never reports, so MIGRATOR_REPORT is left alone even when its settings fail."""
    report = tmp_path / "report.json"
    result = run(["current"], "postgresql://u:SECRET@host:notaport/db", cwd=tmp_path, MIGRATOR_REPORT=str(report))
    assert result.returncode == 2, result.stderr
    assert not report.exists()


def test_a_symlink_at_the_report_path_is_not_followed(server: Server, database: str, tmp_path: Path) -> None:
    """A link planted at the report path: its target is left as it was, the run exits as it would (0),
    and report.not_written says why."""
    write_project(tmp_path, [Revision("s1", None)])
    target = tmp_path / "precious.conf"
    target.write_text("do not overwrite\n")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    result = run(["upgrade", "--log-format", "json", "--report", str(link)], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "do not overwrite\n"
    assert link.is_symlink()
    failed = result.event("report.not_written")
    assert {k: failed[k] for k in ("level", "path", "error")} == {
        "level": "warning",
        "path": str(link),
        "error": "it is a symbolic link (not followed)",
    }
    assert query(server, database, "select version_num from alembic_version") == [("s1",)]
