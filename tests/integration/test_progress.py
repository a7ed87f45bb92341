"""Long work is visible (issue 10, point 5): each step's place in the run."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Result, run
from tests.support.projects import recorded_chain, write_project
from tests.support.servers import Server


def started(result: Result) -> list[tuple[str, str, int, int | None]]:
    return [
        (e["revision"], e["direction"], e["position"], e.get("total"))
        for e in result.events
        if e["event"] == "migration.started"
    ]


def test_each_started_migration_says_its_position_of_the_steps_alembic_runs(
    server: Server, database: str, tmp_path: Path
) -> None:
    """migration.started carries position k and total n: 1..3 of 3 up, 1 of 1 for `downgrade -1`, 1..2 of 2 to base."""
    write_project(tmp_path, recorded_chain(3))
    url = server.url_for(database)
    up = run(["upgrade"], url, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert started(up) == [("r000", "upgrade", 1, 3), ("r001", "upgrade", 2, 3), ("r002", "upgrade", 3, 3)]
    down = run(["downgrade"], url, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert started(down) == [("r002", "downgrade", 1, 1)]
    to_base = run(["downgrade", "base"], url, cwd=tmp_path)
    assert to_base.returncode == 0, to_base.stderr
    assert started(to_base) == [("r001", "downgrade", 1, 2), ("r000", "downgrade", 2, 2)]
    partial = run(["upgrade", "r001"], url, cwd=tmp_path, MIGRATOR_TRANSACTION_PER_MIGRATION="1")
    assert started(partial) == [("r000", "upgrade", 1, 2), ("r001", "upgrade", 2, 2)]
