"""migrator.online: the helpers applied by `migrator upgrade` on tables of thousands of rows, their
reruns after a failure in the middle, and their offline SQL under `migrator lint` (issue 11)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import finish, run, start, wait_until
from tests.support.dbutil import execute, query
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

ROWS = 3000
SETUP = Revision(
    "s1",
    None,
    upgrade="\n".join(
        [
            'op.execute("create table owners (id bigint primary key)")',
            'op.execute("insert into owners select g from generate_series(1, 100) g")',
            'op.execute("create table items (id bigint primary key, owner_id bigint, name text, status text, '
            'qty int, qty2 int, touched int not null default 0)")',
            'op.execute("insert into items (id, owner_id, name, status, qty) '
            "select g, 1 + g % 100, 'item ' || g, case when g % 3 = 0 then 'active' else 'archived' end, g "
            f'from generate_series(1, {ROWS}) g")',
            'op.execute("create table gate (id int)")',
        ]
    ),
)
IMPORT = "from migrator import online\n"
BACKFILL = 'online.backfill("items", "qty2 = qty * 2, touched = touched + 1", "qty2 IS NULL", batch_size=500)'
INDEX = 'online.create_index_concurrently("ix_items_name_active", "items", ["name"], where="status = \'active\'")'
FOREIGN_KEY = 'online.add_foreign_key("fk_items_owner", "items", "owners", ["owner_id"], ["id"])'
CHECK = 'online.add_check_constraint("ck_items_qty_positive", "items", "qty > 0")'
NOT_NULL = 'online.set_not_null("items", "qty2")'
HELPERS = [BACKFILL, INDEX, FOREIGN_KEY, CHECK, NOT_NULL]

INDEX_STATE = (
    "select indisvalid, pg_get_indexdef(indexrelid) from pg_index "
    "where indexrelid = to_regclass('ix_items_name_active')"
)
CONSTRAINTS = (
    "select conname, contype, convalidated from pg_constraint "
    "where conrelid = 'items'::regclass and contype in ('c', 'f') order by conname"
)
NOT_NULL_STATE = "select attnotnull from pg_attribute where attrelid = 'items'::regclass and attname = 'qty2'"
BACKFILLED = "select count(*) filter (where qty2 = qty * 2 and touched = 1), count(*) from items"
INVALID = "select indexrelid::regclass::text from pg_index where not indisvalid"


def helper_revisions(*bodies: str) -> list[Revision]:
    """SETUP, then one revision per helper call (the way to write them: each on its own)."""
    revisions = [SETUP]
    for index, body in enumerate(bodies, start=1):
        revisions.append(Revision(f"h{index}", revisions[-1].id, upgrade=IMPORT + body))
    return revisions


def expect_every_helper_done(server: Server, database: str) -> None:
    assert query(server, database, INDEX_STATE) == [
        (True, "CREATE INDEX ix_items_name_active ON public.items USING btree (name) WHERE (status = 'active'::text)")
    ]
    assert query(server, database, CONSTRAINTS) == [("ck_items_qty_positive", "c", True), ("fk_items_owner", "f", True)]
    assert query(server, database, NOT_NULL_STATE) == [(True,)]
    assert query(server, database, BACKFILLED) == [(ROWS, ROWS)]


def test_each_helper_reaches_its_catalog_state_on_a_table_of_thousands_of_rows(
    server: Server, database: str, tmp_path: Path
) -> None:
    """Backfill, concurrent partial index, FK and check validated, NOT NULL set through a check that
    is gone afterwards: all in one default-mode run, every revision applied."""
    write_project(tmp_path, helper_revisions(*HELPERS))
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(server, database, "select version_num from alembic_version") == [("h5",)]
    expect_every_helper_done(server, database)
    done = result.event("online.backfill_done")
    assert (done["rows"], done["batches"], done["table"]) == (ROWS, ROWS // 500, "items")
    batches = [e for e in result.events if e["event"] == "online.backfill_batch"]
    assert [(e["rows"], e["last_key"]) for e in batches] == [(500 * n, 500 * n) for n in range(1, 7)]
    assert result.event("online.index_built")["index"] == "ix_items_name_active"
    validated = [e["constraint"] for e in result.events if e["event"] == "online.constraint_validated"]
    assert validated == ["fk_items_owner", "ck_items_qty_positive", "items_qty2_online_not_null"]
    assert result.event("online.not_null_set")["already"] is False


def test_every_helper_is_a_no_op_on_the_rerun_after_a_later_failure(
    server: Server, database: str, tmp_path: Path
) -> None:
    """A revision that fails after its helpers: their work is committed (the autocommit blocks), the
    version row is not; the rerun runs the revision again and each helper finds its work done."""
    gated = "\n".join([IMPORT.strip(), *HELPERS, 'op.execute("select 1 / (select count(*) from gate)")'])
    write_project(tmp_path, [SETUP, Revision("all", "s1", upgrade=gated)])
    url = server.url_for(database)
    failed = run(["upgrade"], url, cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "division by zero" in failed.event("run.failed")["error"]
    assert query(server, database, "select version_num from alembic_version") == [("s1",)]
    expect_every_helper_done(server, database)
    execute(server, database, "insert into gate values (1)")
    again = run(["upgrade"], url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    expect_every_helper_done(server, database)  # each row backfilled once: touched = 1
    assert again.event("online.backfill_done")["rows"] == 0
    assert again.event("online.index_exists")["index"] == "ix_items_name_active"
    valid = [e["constraint"] for e in again.events if e["event"] == "online.constraint_valid"]
    assert valid == ["fk_items_owner", "ck_items_qty_positive"]
    assert again.event("online.not_null_set")["already"] is True
    assert "online.constraint_validating" not in again.names()


def test_an_invalid_index_left_by_a_failed_build_is_dropped_and_rebuilt_by_the_rerun(
    server: Server, database: str, tmp_path: Path
) -> None:
    """A unique index built concurrently on duplicates fails and stays INVALID; once the data is
    fixed, the rerun drops it concurrently and builds it again."""
    unique = 'online.create_index_concurrently("ux_items_name", "items", ["name"], unique=True)'
    write_project(tmp_path, helper_revisions(unique))
    url = server.url_for(database)
    assert run(["upgrade", "s1"], url, cwd=tmp_path).returncode == 0
    execute(server, database, "update items set name = 'twin' where id in (10, 20)")
    failed = run(["upgrade"], url, cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "could not create unique index" in failed.event("run.failed")["error"]
    assert query(server, database, INVALID) == [("ux_items_name",)]
    execute(server, database, "update items set name = 'item 20' where id = 20")
    again = run(["upgrade"], url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    found = again.event("online.index_invalid_found")
    assert (found["index"], found["definition"]) == (
        "ux_items_name",
        "CREATE UNIQUE INDEX ux_items_name ON public.items USING btree (name)",
    )
    assert again.names().index("online.index_invalid_dropped") < again.names().index("online.index_built")
    assert query(server, database, INVALID) == []
    assert query(server, database, "select indisunique from pg_index where indexrelid = 'ux_items_name'::regclass") == [
        (True,)
    ]


def test_a_valid_index_of_that_name_with_another_definition_is_refused(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The name is taken by an index on other columns: exit 1 naming it, the index left as it is."""
    write_project(tmp_path, helper_revisions(INDEX))
    url = server.url_for(database)
    assert run(["upgrade", "s1"], url, cwd=tmp_path).returncode == 0
    execute(server, database, "create index ix_items_name_active on items (status)")
    result = run(["upgrade"], url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    error = result.event("run.failed")["error"]
    assert "OnlineDDLError: index ix_items_name_active already exists with another definition" in error
    definition = query(server, database, INDEX_STATE)[0][1]
    assert definition == "CREATE INDEX ix_items_name_active ON public.items USING btree (status)"


def test_index_build_progress_is_logged_from_a_second_connection(server: Server, database: str, tmp_path: Path) -> None:
    """While the concurrent build waits for a writer's transaction, pg_stat_progress_create_index is
    reported (phase, lockers); the watcher's connection is gone once the build is done."""
    write_project(tmp_path, helper_revisions(INDEX))
    url = server.url_for(database)
    assert run(["upgrade", "s1"], url, cwd=tmp_path).returncode == 0
    polled = (
        "select count(*) from pg_stat_activity where application_name = 'migrator' and state = 'idle' "
        "and query like '%pg_stat_progress_create_index%'"
    )
    engine = server.engine(database)
    with engine.connect() as writer:
        writer.exec_driver_sql("begin")
        writer.exec_driver_sql("update items set qty = qty where id = 1")
        proc = start(["upgrade"], url, cwd=tmp_path, MIGRATOR_DDL_LOCK_TIMEOUT="60")
        wait_until(lambda: query(server, database, polled)[0][0] == 1, what="a progress poll")
        writer.exec_driver_sql("rollback")
    engine.dispose()
    result = finish(proc, time.monotonic())
    assert result.returncode == 0, result.stderr
    first = next(e for e in result.events if e["event"] == "online.index_progress")
    assert (first["index"], first["phase"]) == ("ix_items_name_active", "waiting for writers before build")
    assert first["lockers_total"] >= 1  # our writer (an autovacuum may be another)
    assert result.names().index("online.index_progress") < result.names().index("online.index_built")
    wait_until(lambda: query(server, database, polled) == [(0,)], what="the watcher's connection to go")


QUOTED_SETUP = Revision(
    "q1",
    None,
    upgrade="\n".join(
        [
            "op.execute('create schema \"Shop\"')",
            'op.execute(\'create table "Shop"."Order Items" ("Key" bigint primary key, "Qty" int, "Qty2" int)\')',
            f'op.execute(\'insert into "Shop"."Order Items" select g, g from generate_series(1, {ROWS}) g\')',
        ]
    ),
)
QUOTED = "\n".join(
    [
        IMPORT.strip(),
        "online.backfill('Order Items', '\"Qty2\" = \"Qty\" + 1', '\"Qty2\" IS NULL', key='Key', schema='Shop', "
        "batch_size=700)",
        "online.create_index_concurrently('Order Items Qty', 'Order Items', ['Qty'], schema='Shop')",
        "online.add_check_constraint('Qty positive', 'Order Items', '\"Qty\" > 0', schema='Shop')",
        "online.set_not_null('Order Items', 'Qty2', schema='Shop')",
    ]
)


def test_names_that_need_quoting_in_another_schema_are_found_again_by_the_rerun(
    server: Server, database: str, tmp_path: Path
) -> None:
    """Mixed case and spaces, schema "Shop": the helpers quote as Alembic does and find their own
    objects again (the revision run a second time after a downgrade finds every step done)."""
    write_project(tmp_path, [QUOTED_SETUP, Revision("q2", "q1", upgrade=QUOTED)])
    url = server.url_for(database)
    first = run(["upgrade"], url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert run(["downgrade", "q1"], url, cwd=tmp_path).returncode == 0  # its downgrade() does nothing
    again = run(["upgrade"], url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.event("online.index_exists")["index"] == "Order Items Qty"
    assert again.event("online.not_null_set")["already"] is True
    assert again.event("online.backfill_done")["rows"] == 0
    table = '"Shop"."Order Items"'
    regclass = f"'{table}'::regclass"
    index = (
        f"select indisvalid, pg_get_indexdef(indexrelid) from pg_index where indrelid = {regclass} and not indisprimary"
    )
    assert query(server, database, index) == [(True, f'CREATE INDEX "Order Items Qty" ON {table} USING btree ("Qty")')]
    check = f"select conname, convalidated from pg_constraint where conrelid = {regclass} and contype = 'c'"
    assert query(server, database, check) == [("Qty positive", True)]
    not_null = f"select attnotnull from pg_attribute where attrelid = {regclass} and attname = 'Qty2'"
    assert query(server, database, not_null) == [(True,)]
    assert query(server, database, f'select count(*) from {table} where "Qty2" = "Qty" + 1') == [(ROWS,)]


VIOLATIONS = {
    "foreign key": (
        FOREIGN_KEY,
        "update items set owner_id = 999 where id = 7",
        "update items set owner_id = 1 where id = 7",
        "select convalidated from pg_constraint where conname = 'fk_items_owner'",
    ),
    "check": (
        CHECK,
        "update items set qty = -1 where id = 7",
        "update items set qty = 7 where id = 7",
        "select convalidated from pg_constraint where conname = 'ck_items_qty_positive'",
    ),
    "not null": (
        NOT_NULL,
        "update items set qty2 = 0 where id <> 7",
        "update items set qty2 = 0 where id = 7",
        "select convalidated from pg_constraint where conname = 'items_qty2_online_not_null'",
    ),
}


@pytest.mark.parametrize("helper", list(VIOLATIONS))
def test_a_row_that_fails_validation_leaves_the_not_valid_constraint_for_the_rerun(
    helper: str, server: Server, database: str, tmp_path: Path
) -> None:
    """Validation meets a violating row: exit 1, the NOT VALID constraint stays committed; once the
    row is fixed the rerun validates it (and for NOT NULL sets it and drops the check)."""
    call, break_data, fix_data, validated = VIOLATIONS[helper]
    write_project(tmp_path, helper_revisions(call))
    url = server.url_for(database)
    assert run(["upgrade", "s1"], url, cwd=tmp_path).returncode == 0
    execute(server, database, break_data)
    failed = run(["upgrade"], url, cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "violat" in failed.event("run.failed")["error"]
    assert failed.event("run.failed")["hint"] == (
        "rolled back; the database is still at s1; but h1 committed part of its work itself first (an "
        "autocommit_block, e.g. a migrator.online helper): that part stays, and the next run runs it again from the "
        "top, which succeeds only if what it committed can run twice (IF NOT EXISTS, a resumable backfill); otherwise "
        "undo that part by hand or make the step idempotent before running again"
    )
    assert query(server, database, validated) == [(False,)]
    execute(server, database, fix_data)
    again = run(["upgrade"], url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "online.constraint_added" not in again.names()
    if helper == "not null":
        assert query(server, database, NOT_NULL_STATE) == [(True,)]
        assert query(server, database, validated) == []
    else:
        assert query(server, database, validated) == [(True,)]


def test_a_backfill_that_fails_in_a_later_batch_resumes_on_rerun_and_updates_each_row_once(
    server: Server, database: str, tmp_path: Path
) -> None:
    """Row 2300 divides by zero: the batches before it stay committed, exit 1; once the row is fixed,
    the rerun starts at the first row not done and every row ends up updated exactly once."""
    call = 'online.backfill("items", "qty2 = 6000 / qty, touched = touched + 1", "qty2 IS NULL", batch_size=500)'
    write_project(tmp_path, helper_revisions(call))
    url = server.url_for(database)
    assert run(["upgrade", "s1"], url, cwd=tmp_path).returncode == 0
    execute(server, database, "update items set qty = 0 where id = 2300")
    failed = run(["upgrade"], url, cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "division by zero" in failed.event("run.failed")["error"]
    assert failed.event("online.backfill_batch")["rows"] == 2000
    assert query(server, database, "select count(*), max(id) from items where touched = 1") == [(2000, 2000)]
    execute(server, database, "update items set qty = 2300 where id = 2300")
    again = run(["upgrade"], url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    first = next(e for e in again.events if e["event"] == "online.backfill_batch")
    assert (first["rows"], first["last_key"]) == (500, 2500)
    assert again.event("online.backfill_done")["rows"] == ROWS - 2000
    assert query(server, database, "select count(*) from items where touched = 1 and qty2 = 6000 / qty") == [(ROWS,)]


def test_sigterm_during_a_backfill_pause_ends_the_run_at_once_and_the_rerun_finishes(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The pause between batches sleeps on migrator's stop event: SIGTERM exits 143 within a moment,
    not after the pause; the committed batch stays and the rerun (no pause) does the rest, once each."""
    call = (
        "import os\n"
        'online.backfill("items", "qty2 = qty * 2, touched = touched + 1", "qty2 IS NULL", batch_size=1000, '
        'pause=float(os.environ["BACKFILL_PAUSE"]))'
    )
    write_project(tmp_path, helper_revisions(call))
    url = server.url_for(database)
    assert run(["upgrade", "s1"], url, cwd=tmp_path).returncode == 0
    proc = start(["upgrade"], url, cwd=tmp_path, BACKFILL_PAUSE="60")
    done = "select count(*) from items where touched = 1"
    wait_until(lambda: query(server, database, done)[0][0] == 1000, what="the first batch")
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    result = finish(proc, signalled, timeout=30)
    assert result.returncode == 143, result.stderr
    assert result.elapsed < 8  # the 60 s pause was cut short, well inside the 10 s grace
    assert query(server, database, done) == [(1000,)]
    again = run(["upgrade"], url, cwd=tmp_path, BACKFILL_PAUSE="0")
    assert again.returncode == 0, again.stderr
    assert query(server, database, BACKFILLED) == [(ROWS, ROWS)]


def test_a_helper_inside_an_autocommit_block_of_the_revision_is_refused(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The helpers open their own block: called inside one, they say so instead of an AssertionError."""
    nested = "with op.get_context().autocommit_block():\n    " + CHECK
    write_project(tmp_path, helper_revisions(nested))
    result = run(["upgrade"], server.url_for(database), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "call them outside `with op.get_context().autocommit_block():`" in result.event("run.failed")["error"]


LINT_CONFIG = """
[tool.migrator.lint]
exclude = ["require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts"]
"""
ONLINE_RULES = {
    "require-concurrent-index-creation",
    "constraint-missing-not-valid",
    "adding-foreign-key-constraint",
    "adding-not-nullable-field",
}
PLAIN = "\n".join(
    [
        'op.create_index("ix_items_name_active", "items", ["name"])',
        'op.create_foreign_key("fk_items_owner", "items", "owners", ["owner_id"], ["id"])',
        'op.create_check_constraint("ck_items_qty_positive", "items", "qty > 0")',
        'op.alter_column("items", "qty2", nullable=False)',
    ]
)


def lint_findings(root: Path, revisions: list[Revision], lint: list[str]) -> tuple[int, list[dict[str, object]]]:
    write_project(root, revisions)
    (root / "pyproject.toml").write_text(LINT_CONFIG)
    result = run(["lint", *lint, "--format", "json"], None, cwd=root)
    return result.returncode, json.loads(result.stdout)["findings"]


def test_lint_finds_nothing_in_revisions_written_with_the_helpers(tmp_path: Path) -> None:
    """Offline the helpers emit what they run (CONCURRENTLY, NOT VALID, VALIDATE after a COMMIT, the
    validated check before SET NOT NULL) without a database: squawk has nothing to say; the same
    changes written with plain ops get exactly the rules the helpers avoid."""
    code, findings = lint_findings(tmp_path / "online", helper_revisions(*HELPERS), ["h1", "h2", "h3", "h4", "h5"])
    assert (code, findings) == (0, [])
    code, findings = lint_findings(tmp_path / "plain", [SETUP, Revision("p1", "s1", upgrade=PLAIN)], ["p1"])
    assert code == 8
    assert {str(f["rule"]) for f in findings} == ONLINE_RULES


def test_sql_shows_what_each_helper_runs_outside_the_transaction(tmp_path: Path) -> None:
    """`migrator sql` renders the helpers without a database, as a first run runs them: each slow
    part between a COMMIT and a BEGIN, the short ADD … NOT VALID inside the migration's transaction."""
    write_project(tmp_path, helper_revisions(*HELPERS))
    result = run(["sql", "s1:h5"], None, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    statements = [line for line in result.stdout.splitlines() if line and not line.startswith("--")]
    version = "UPDATE alembic_version SET version_num='{}' WHERE alembic_version.version_num = '{}';"
    assert statements == [
        "BEGIN;",
        "COMMIT;",
        "WITH batch AS (SELECT id FROM items WHERE (qty2 IS NULL) ORDER BY id LIMIT 500), updated AS "
        "(UPDATE items SET qty2 = qty * 2, touched = touched + 1 WHERE id IN (SELECT id FROM batch) RETURNING 1) "
        "SELECT (SELECT count(*) FROM updated), (SELECT id FROM batch ORDER BY id DESC LIMIT 1);",
        "BEGIN;",
        version.format("h1", "s1"),
        "COMMIT;",
        "CREATE INDEX CONCURRENTLY ix_items_name_active ON items (name) WHERE status = 'active';",
        "BEGIN;",
        version.format("h2", "h1"),
        "ALTER TABLE items ADD CONSTRAINT fk_items_owner FOREIGN KEY(owner_id) REFERENCES owners (id) NOT VALID;",
        "COMMIT;",
        "ALTER TABLE items VALIDATE CONSTRAINT fk_items_owner;",
        "BEGIN;",
        version.format("h3", "h2"),
        "ALTER TABLE items ADD CONSTRAINT ck_items_qty_positive CHECK (qty > 0) NOT VALID;",
        "COMMIT;",
        "ALTER TABLE items VALIDATE CONSTRAINT ck_items_qty_positive;",
        "BEGIN;",
        version.format("h4", "h3"),
        "ALTER TABLE items ADD CONSTRAINT items_qty2_online_not_null CHECK (qty2 IS NOT NULL) NOT VALID;",
        "COMMIT;",
        "ALTER TABLE items VALIDATE CONSTRAINT items_qty2_online_not_null;",
        "ALTER TABLE items ALTER COLUMN qty2 SET NOT NULL;",
        "ALTER TABLE items DROP CONSTRAINT items_qty2_online_not_null;",
        "BEGIN;",
        version.format("h5", "h4"),
        "COMMIT;",
    ]
