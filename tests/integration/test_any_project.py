"""Projects migrator did not write: every shape reaches head, and the light stage engages on each."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run
from tests.support.dbutil import query
from tests.support.servers import Server
from tests.support.shapes import SHAPES


def fast(result_events: list[dict[str, object]]) -> bool:
    return any(event.get("fast_path") for event in result_events)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_migrates_and_then_decides_nothing_to_do_without_the_engine(
    shape: str, server: Server, database: str, tmp_path: Path
) -> None:
    """upgrade reaches head; then upgrade and check at head take the light stage with the full stage's answer."""
    heads = SHAPES[shape](tmp_path)
    url = server.url_for(database)
    first = run(["upgrade", "--log-level", "debug"], url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert tuple(sorted(r[0] for r in query(server, database, "select version_num from alembic_version"))) == heads
    for args in (["upgrade"], ["check"]):
        light = run([*args, "--log-level", "debug"], url, cwd=tmp_path)
        full = run(args, url, cwd=tmp_path, MIGRATOR_FAST_PATH="0")
        assert (light.returncode, light.stdout) == (full.returncode, full.stdout) == (0, light.stdout)
        assert fast(light.events), light.stderr


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_an_edited_applied_revision_is_refused_on_both_stages(
    shape: str, server: Server, database: str, tmp_path: Path
) -> None:
    """Any byte changed in a revision file: the light stage hands over, and the full stage refuses (5)."""
    SHAPES[shape](tmp_path)
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    edited = sorted(p for p in tmp_path.rglob("*.py") if "versions" in p.parent.name)[0]
    edited.write_text(edited.read_text() + "\n# edited after it was applied\n")
    for args in (["upgrade"], ["check"]):
        result = run([*args, "--log-level", "debug"], url, cwd=tmp_path)
        assert result.returncode == 5, result.stderr
        assert "changed since they were applied" in result.event("run.failed")["error"]
        assert "fast_path.handover" in result.names()
