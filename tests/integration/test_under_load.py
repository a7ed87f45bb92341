"""Proof under load (issue 11): an expand step written with the online helpers, on the app's tables with
100,000 packing items, while another process keeps inserting and updating them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devtools.under_load import BEFORE_LOAD, EXPECTED_STATE, ONLINE, STATE_SQL, Dataset, write_project
from devtools.writer import Writer, during
from tests.conftest import clean_env, run
from tests.support.dbutil import execute, query
from tests.support.servers import Server

ITEMS = 100_000
# Set explicitly, below the 5 s default. With the helpers, the locks that block writes are taken by short
# statements and committed at once; a writer queued behind such a request waits at most until it gives up.
DDL_LOCK_TIMEOUT_S = 3.0


@pytest.mark.timeout(300)
def test_the_expand_step_keeps_a_writer_going_without_errors_or_a_stall_past_the_lock_timeout(
    server: Server, database: str, tmp_path: Path
) -> None:
    """`upgrade --phase expand` adds a column with a default, builds an index concurrently and adds a
    validated foreign key on 100,000 rows while a writer inserts and updates them from another process:
    exit 0, the writer kept writing meanwhile and saw no error, none of its statements waited as long as the
    DDL lock timeout, and the index is valid, the foreign key validated."""
    url = server.url_for(database)
    write_project(tmp_path, ONLINE)
    before = run(["upgrade", BEFORE_LOAD], url, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    data = Dataset(ITEMS)
    execute(server, database, *data.seed_sql())

    with Writer(url, data, clean_env()) as writer:
        writer.wait_until_writing()
        started = time.time()
        upgrade = run(
            ["upgrade", "--phase", "expand"], url, cwd=tmp_path, MIGRATOR_DDL_LOCK_TIMEOUT=f"{DDL_LOCK_TIMEOUT_S:g}"
        )
        ended = time.time()
        statements = writer.stop()

    assert upgrade.returncode == 0, upgrade.stderr
    assert [e["revision"] for e in upgrade.events if e["event"] == "migration.applied"] == ["load02", "load03"]
    seen = during(statements, started, ended)
    assert seen.errors == ()
    assert seen.written > 0
    assert seen.longest < DDL_LOCK_TIMEOUT_S
    assert all(s.error is None for s in statements)
    assert query(server, database, STATE_SQL) == [EXPECTED_STATE]
    count = "select count(*) from packing_items where id like 'w%'"
    assert query(server, database, count) == [(sum(1 for s in statements if s.kind == "insert item"),)]
