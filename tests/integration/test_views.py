"""See the state: `status`, and `--format json` on current, heads, history, status, check, verify and
lint, parsed as JSON through the real CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, run
from tests.support.packages import several_packages
from tests.support.servers import Server

# The app's revisions (alembic/versions/), oldest first: HEAD is a contract step.
FIRST, ACTUALLY_USED, AVATAR_EXPAND, HEAD = "36a04cd7adbc", "a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8"
APP = [FIRST, ACTUALLY_USED, AVATAR_EXPAND, HEAD]
MESSAGES = {
    FIRST: "Initial schema with users, trips, travelers, packing_items, audit_log",
    ACTUALLY_USED: "Add actually_used column to packing_items",
    AVATAR_EXPAND: "Rename users.profile_picture to avatar_url, expand: add avatar_url, sync both, backfill",
    HEAD: "Rename users.profile_picture to avatar_url, contract: drop the sync trigger and profile_picture",
}


def document(result: Result) -> Any:
    assert result.stdout.count("\n") == 1, result.stdout  # one document, one line
    return json.loads(result.stdout)


def test_status_shows_each_revision_pending_then_applied_with_when_how_long_and_by_whom(
    server: Server, database: str
) -> None:
    url = server.url_for(database)
    before = run(["status"], url)
    assert before.returncode == 0, before.stderr
    assert re.search(rf"^{HEAD} \(head\)\s+pending", before.stdout, re.M)
    assert before.stdout.splitlines()[-1] == (
        "database at base (no revision); 0 applied, 4 pending for head (1 of them contract steps: after the rollout)"
    )
    upgraded = run(["upgrade"], url)
    run_id = upgraded.event("run.finished")["run_id"]
    after = document(run(["status", "--format", "json"], url))
    assert after["current"] == [HEAD] and after["pending"] == [] and after["applied"] == 4
    by_revision = {r["revision"]: r for r in after["revisions"]}
    assert list(by_revision) == APP  # oldest first
    head = by_revision[HEAD]
    assert (head["state"], head["how"], head["head"], head["current"], head["run_id"]) == (
        "applied",
        "upgrade",
        True,
        True,
        run_id,
    )
    assert head["applied_at"] and head["duration_ms"] is not None and head["applied_by"]
    text = run(["status"], url).stdout
    assert re.search(rf"^{HEAD} \(head\) \(current\)\s+applied\s+upgrade\s+\d{{4}}-", text, re.M)


def test_json_outputs_parse_and_say_what_the_text_says(server: Server, database: str) -> None:
    url = server.url_for(database)
    assert document(run(["current", "--format", "json"], url)) == {"current": []}
    not_yet = run(["check", "--format", "json"], url)
    assert not_yet.returncode == 6
    assert document(not_yet) == {
        "target": "head",
        "at_target": False,
        "current": [],
        "pending": [{"revision": revision, "message": MESSAGES[revision]} for revision in APP],
    }
    assert run(["upgrade"], url).returncode == 0
    for stage in ("1", "0"):
        at = run(["check", "--format", "json"], url, MIGRATOR_FAST_PATH=stage)
        assert at.returncode == 0 and document(at) == {
            "target": "head",
            "at_target": True,
            "current": [HEAD],
            "pending": [],
        }
    (current,) = document(run(["current", "--format", "json"], url))["current"]
    assert (current["revision"], current["head"], current["down_revisions"]) == (HEAD, True, [AVATAR_EXPAND])
    (head,) = document(run(["heads", "--format", "json"], None))["heads"]
    assert head["revision"] == HEAD and not head["effective_head"]
    revisions = document(run(["history", "--format", "json"], url))["revisions"]
    assert [r["revision"] for r in revisions] == APP
    assert [r["current"] for r in revisions] == [False, False, False, True]
    applied = document(run(["history", "--applied", "--format", "json"], url))["entries"]
    assert [(e["revision"], e["direction"], e["success"]) for e in applied] == [
        (revision, "upgrade", True) for revision in APP
    ]
    verified = document(run(["verify", "--format", "json"], url))
    assert verified["passed"] is True and all(c["passed"] for c in verified["checks"])
    linted = document(run(["lint", "--all", "--format", "json"], None))
    assert linted["revisions"] == APP and isinstance(linted["findings"], list)


def test_history_takes_the_ranges_its_help_shows_and_applied_honours_them(server: Server, database: str) -> None:
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    ranged = run(["history", "-r", "-1:current"], url)
    assert ranged.returncode == 0, ranged.stderr
    assert HEAD in ranged.stdout
    only_head = run(["history", "--applied", "-r", f"{HEAD}:"], url)
    assert only_head.returncode == 0, only_head.stderr
    lines = only_head.stdout.splitlines()
    assert len(lines) == 2 and HEAD in lines[1] and FIRST not in only_head.stdout
    assert lines[0].index("revision") == lines[1].index(HEAD)  # the columns line up


def test_status_on_several_packages_marks_the_effective_head_and_uses_the_target(
    server: Server, database: str, tmp_path: Path
) -> None:
    several_packages(tmp_path)
    url = server.url_for(database)
    assert run(["upgrade", "heads"], url, cwd=tmp_path).returncode == 0
    view = document(run(["status", "--format", "json"], url, cwd=tmp_path, MIGRATOR_TARGET="heads"))
    assert view["target"] == "heads" and view["pending"] == [] and view["applied"] == 8
    effective = [r["revision"] for r in view["revisions"] if r["effective_head"]]
    assert effective == ["a2"]


@pytest.mark.parametrize("command", ["current", "heads", "history", "status", "check", "verify", "lint"])
def test_every_view_offers_json(command: str) -> None:
    result = run([command, "--help"], None)
    assert "--format {text,json}" in result.stdout
