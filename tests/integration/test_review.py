"""Review SQL and lint through the real CLI: `sql`, `upgrade --dry-run`, `lint`, against a real PostgreSQL."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, run
from tests.support.dbutil import tables, version
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

# The app's revisions, oldest first: users.profile_picture is renamed by an expand and a contract step.
INITIAL, ACTUALLY_USED, AVATAR_EXPAND, HEAD = "36a04cd7adbc", "a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8"
APP = [INITIAL, ACTUALLY_USED, AVATAR_EXPAND, HEAD]
APP_TABLES = {"users", "trips", "travelers", "packing_items", "audit_logs"}
# What the project's own pyproject.toml excludes, for throwaway projects.
# migrator's own record of runs: not part of what the migrations build.
RUNNER_TABLES = {"migrator_history", "migrator_state"}
PROJECT_EXCLUSIONS = ["require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts", "prefer-text-field"]


def execute_script(server: Server, database: str, script: str) -> None:
    """Apply the script with psql, as a DBA would (`psql -1 -f`), stopping at the first error."""
    from devtools.embedded_pg import _bin

    psql = shutil.which("psql") or _bin("psql")
    subprocess.run(
        [psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", server.url_for(database), "-f", "-"],
        input=script,
        text=True,
        capture_output=True,
        check=True,
    )


def query(server: Server, database: str, sql: str) -> list[tuple[Any, ...]]:
    engine = server.engine(database)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.exec_driver_sql(sql)]
    engine.dispose()
    return rows


def schema(server: Server, database: str) -> dict[str, list[tuple[Any, ...]]]:
    """Columns, indexes, constraints and enum labels of the public schema (migrator's own table left out)."""
    found = {
        "columns": query(
            server,
            database,
            "select table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, column_default, "
            "character_maximum_length from information_schema.columns where table_schema = 'public' "
            "order by table_name, ordinal_position",
        ),
        "indexes": query(
            server,
            database,
            "select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' "
            "order by tablename, indexname",
        ),
        "constraints": query(
            server,
            database,
            "select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint "
            "where connamespace = 'public'::regnamespace order by 1, 2",
        ),
        "enums": query(
            server,
            database,
            "select t.typname, e.enumsortorder, e.enumlabel from pg_type t join pg_enum e on e.enumtypid = t.oid "
            "order by 1, 2",
        ),
    }
    return {kind: [row for row in rows if row[0] not in RUNNER_TABLES] for kind, rows in found.items()}


# --- migrator sql ---------------------------------------------------------------------------------


def test_sql_base_to_head_applied_by_hand_builds_what_upgrade_builds(
    server: Server, database: str, second_database: str
) -> None:
    """`sql base:head` run on an empty database gives the same schema and version as `upgrade`."""
    rendered = run(["sql", "base:head"], None)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.event("sql.rendered")["direction"] == "upgrade"
    execute_script(server, database, rendered.stdout)
    assert run(["upgrade"], server.url_for(second_database)).returncode == 0
    by_hand, by_upgrade = schema(server, database), schema(server, second_database)
    assert {row[0] for row in by_hand["columns"]} == APP_TABLES | {"alembic_version"}
    assert by_hand == by_upgrade
    assert version(server, database) == [HEAD]


def test_sql_head_to_base_renders_the_downgrade(server: Server, database: str) -> None:
    """`sql head:base` is a downgrade: run on an upgraded database it removes every table and type."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    rendered = run(["sql", "head:base"], url)  # a URL given is used, and never printed
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.event("sql.rendered")["direction"] == "downgrade"
    assert "DROP TABLE audit_logs;" in rendered.stdout and "CREATE TABLE" not in rendered.stdout
    execute_script(server, database, rendered.stdout)
    assert tables(server, database) - RUNNER_TABLES == {"alembic_version"}
    assert version(server, database) == []
    assert schema(server, database)["enums"] == []


def test_sql_between_two_revisions_picks_the_direction() -> None:
    """FROM below TO renders the step up, FROM above TO the step down, no database needed."""
    up = run(["sql", f"{INITIAL}:{ACTUALLY_USED}"], None)
    down = run(["sql", f"{ACTUALLY_USED}:{INITIAL}"], None)
    assert (up.returncode, down.returncode) == (0, 0)
    assert "ALTER TABLE packing_items ADD COLUMN actually_used BOOLEAN;" in up.stdout
    assert "ALTER TABLE packing_items DROP COLUMN actually_used;" in down.stdout
    assert "CREATE TABLE" not in up.stdout + down.stdout


def test_sql_with_an_unknown_revision_is_refused() -> None:
    """An id the scripts do not know: exit 5 naming it, no SQL printed."""
    result = run(["sql", "base:deadbeef"], None)
    assert result.returncode == 5
    assert result.stdout == ""
    assert "deadbeef" in result.event("run.failed")["error"]


# --- migrator upgrade --dry-run -------------------------------------------------------------------


def test_dry_run_prints_pending_revisions_and_their_sql_and_changes_nothing(server: Server, database: str) -> None:
    """On an empty database: every revision listed, their SQL printed (a backfill as its first batch), no
    table, no lock."""
    result = run(["upgrade", "--dry-run"], server.url_for(database))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        f"-- pending: {INITIAL} Initial schema with users, trips, travelers, packing_items, audit_log",
        f"-- pending: {ACTUALLY_USED} Add actually_used column to packing_items",
        f"-- pending: {AVATAR_EXPAND} Rename users.profile_picture to avatar_url, expand: add avatar_url, sync both, "
        "backfill",
        f"-- pending: {HEAD} Rename users.profile_picture to avatar_url, contract: drop the sync trigger and "
        "profile_picture",
    ]
    assert "CREATE TABLE users (" in result.stdout
    assert "ALTER TABLE packing_items ADD COLUMN actually_used BOOLEAN;" in result.stdout
    assert "-- backfill of users: this statement runs again and again" in result.stdout
    assert "ALTER TABLE users DROP COLUMN profile_picture;" in result.stdout
    assert tables(server, database) == set()
    assert "lock.acquired" not in result.names()
    assert result.event("dry_run.state")["pending"] == APP


def test_dry_run_starts_from_the_current_revision(server: Server, database: str) -> None:
    """At the initial revision only the later ones are pending; at head there is nothing to do."""
    url = server.url_for(database)
    assert run(["upgrade", INITIAL], url).returncode == 0
    before = schema(server, database)
    result = run(["upgrade", "--dry-run"], url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"-- pending: {ACTUALLY_USED} Add actually_used column to packing_items"
    assert f"UPDATE alembic_version SET version_num='{HEAD}'" in result.stdout
    assert "CREATE TABLE" not in result.stdout
    assert (schema(server, database), version(server, database)) == (before, [INITIAL])
    assert run(["upgrade"], url).returncode == 0
    at_head = run(["upgrade", "--dry-run"], url)
    assert (at_head.returncode, at_head.stdout) == (0, f"-- nothing to do: the database is at {HEAD}\n")


def test_dry_run_refuses_what_upgrade_would_refuse(server: Server, database: str) -> None:
    """Unknown target, database ahead of the code: exit 5 as the real upgrade, nothing printed."""
    url = server.url_for(database)
    unknown = run(["upgrade", "--dry-run", "deadbeef"], url)
    assert (unknown.returncode, unknown.stdout) == (5, "")
    assert "deadbeef" in unknown.event("run.failed")["error"]
    assert run(["upgrade"], url).returncode == 0
    execute_script(server, database, "update alembic_version set version_num = 'f00dfeed0001'")
    ahead = run(["upgrade", "--dry-run"], url)
    assert (ahead.returncode, ahead.stdout) == (5, "")
    assert "ahead of the code" in ahead.event("run.failed")["error"]


def phased_project(root: Path) -> None:
    """e1 and e2 expand steps, c3 a contract step after them."""
    write_project(
        root,
        [
            Revision("e1", None, "create items", upgrade='op.execute("create table items (id int, old_name text)")'),
            Revision("e2", "e1", "add new_name", upgrade='op.execute("alter table items add column new_name text")'),
            Revision("c3", "e2", "drop old_name", upgrade='op.execute("alter table items drop column old_name")'),
        ],
    )
    path = root / "migrations" / "versions" / "c3.py"
    path.write_text(path.read_text().replace("depends_on = None\n", 'depends_on = None\nphase = "contract"\n'))


def listed(stdout: str, kind: str) -> list[str]:
    """The revisions of a dry run's ``-- KIND: REV message`` lines."""
    return [line.split()[2] for line in stdout.splitlines() if line.startswith(f"-- {kind}: ")]


def test_dry_run_in_the_expand_phase_lists_what_upgrade_in_that_phase_applies(
    server: Server, database: str, tmp_path: Path
) -> None:
    """--phase expand: the expand steps pending, their SQL only, the contract step held; the real
    run of each phase then applies exactly what its dry run listed."""
    phased_project(tmp_path)
    url = server.url_for(database)
    dry = run(["upgrade", "--dry-run", "--phase", "expand"], url, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert (listed(dry.stdout, "pending"), listed(dry.stdout, "held")) == (["e1", "e2"], ["c3"])
    assert "alter table items add column new_name text;" in dry.stdout
    assert "drop column old_name" not in dry.stdout
    assert (dry.event("dry_run.state")["pending"], dry.event("dry_run.state")["held"]) == (["e1", "e2"], ["c3"])
    assert tables(server, database) == set()
    expand = run(["upgrade", "--phase", "expand"], url, cwd=tmp_path)
    assert expand.returncode == 0, expand.stderr
    assert expand.event("run.finished")["revisions"] == listed(dry.stdout, "pending")
    assert expand.event("phase.held_back")["revisions"] == listed(dry.stdout, "held")
    between = run(["upgrade", "--dry-run", "--phase", "expand"], url, cwd=tmp_path)
    assert (between.returncode, listed(between.stdout, "held")) == (0, ["c3"]), between.stderr
    assert between.stdout.endswith("-- nothing to do: the database is at e2\n")
    dry_contract = run(["upgrade", "--dry-run", "--phase", "contract"], url, cwd=tmp_path)
    assert (listed(dry_contract.stdout, "pending"), listed(dry_contract.stdout, "held")) == (["c3"], [])
    assert "drop column old_name" in dry_contract.stdout
    contract = run(["upgrade", "--phase", "contract"], url, cwd=tmp_path)
    assert contract.event("run.finished")["revisions"] == listed(dry_contract.stdout, "pending")
    assert version(server, database) == ["c3"]


def refusal(result: Result) -> tuple[int, str, str, str]:
    failed = result.event("run.failed")
    return result.returncode, result.stdout, failed["error"], failed["hint"]


def test_dry_run_refuses_several_heads_as_upgrade_does(server: Server, database: str, tmp_path: Path) -> None:
    """Two heads pending and the target head: the dry run's exit code, error and hint are upgrade's."""
    write_project(tmp_path, [Revision("h1", None), Revision("h2a", "h1"), Revision("h2b", "h1")])
    url = server.url_for(database)
    assert run(["upgrade", "h1"], url, cwd=tmp_path).returncode == 0
    dry = run(["upgrade", "--dry-run"], url, cwd=tmp_path)
    real = run(["upgrade"], url, cwd=tmp_path)
    assert refusal(dry) == refusal(real)
    assert (real.returncode, version(server, database)) == (5, ["h1"])
    assert "several heads" in real.event("run.failed")["error"]


def test_dry_run_refuses_a_database_ahead_of_the_code_as_upgrade_does(
    server: Server, database: str, tmp_path: Path
) -> None:
    """The version row names a revision this code lacks (an app rolled back after its upgrade): the dry
    run's exit code, error and hint are upgrade's ("ahead of the code"), not those of an edited file."""
    write_project(tmp_path, [Revision("k1", None), Revision("k2", "k1")])
    url = server.url_for(database)
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    (tmp_path / "migrations" / "versions" / "k2.py").unlink()
    dry = run(["upgrade", "--dry-run"], url, cwd=tmp_path)
    real = run(["upgrade"], url, cwd=tmp_path)
    assert refusal(dry) == refusal(real)
    assert real.returncode == 5
    assert "ahead of the code" in real.event("run.failed")["error"]


@pytest.fixture
def unused_url() -> str:
    """A URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://migrator:secret-pw@127.0.0.1:{port}/nowhere"


def test_dry_run_waits_for_the_database_like_the_other_commands(unused_url: str) -> None:
    """Nothing listening: retried until the wait timeout, then exit 3, as for `upgrade`."""
    result = run(["upgrade", "--dry-run", "--wait-timeout", "0.5"], unused_url)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.event("db.waiting")["attempt"] == 1
    assert "not reachable within 0.5s" in result.event("run.failed")["error"]


# --- migrator lint --------------------------------------------------------------------------------


def lint_project(root: Path, also_excluded: tuple[str, ...] = ()) -> Path:
    """r1 creates a table, r2 adds a NOT NULL column without default (unsafe), r3 a nullable one."""
    ini = write_project(
        root,
        [
            Revision("r1", None, "create items", upgrade='op.execute("create table items (id bigint primary key)")'),
            Revision(
                "r2",
                "r1",
                "add required weight",
                upgrade='op.add_column("items", sa.Column("weight", sa.BigInteger(), nullable=False))',
            ),
            Revision(
                "r3", "r2", "add note", upgrade='op.add_column("items", sa.Column("note", sa.Text(), nullable=True))'
            ),
        ],
    )
    exclude = json.dumps([*PROJECT_EXCLUSIONS, *also_excluded])
    (root / "pyproject.toml").write_text(f"[tool.migrator.lint]\nexclude = {exclude}\n")
    return ini


ADDING_REQUIRED_FIELD = (
    "r2 (add required weight): adding-required-field (warning) at line 5 of its SQL\n"
    "  statement: ALTER TABLE items ADD COLUMN weight BIGINT NOT NULL;\n"
    "  problem: Adding a new column that is `NOT NULL` and has no default value to an existing table effectively "
    "makes it required.\n"
    "  help: Make the field nullable or add a non-VOLATILE DEFAULT\n"
)


def test_lint_flags_a_not_null_column_without_default(tmp_path: Path) -> None:
    """Exit 8; the finding names the revision, the statement and the rule; the safe revisions pass."""
    lint_project(tmp_path)
    result = run(["lint", "--all"], None, cwd=tmp_path)
    assert result.returncode == 8
    assert result.stdout == ADDING_REQUIRED_FIELD + "lint: 1 finding(s) in 1 of 3 revision(s) checked: r1, r2, r3\n"
    finding = result.event("lint.finding")
    assert (finding["revision"], finding["rule"], finding["statement"]) == (
        "r2",
        "adding-required-field",
        "ALTER TABLE items ADD COLUMN weight BIGINT NOT NULL;",
    )
    assert result.event("run.failed")["exit_code"] == 8


def test_lint_passes_the_applications_own_revisions() -> None:
    """Every revision is clean under the project's configuration: the initial one by its own exceptions,
    the contract step by its phase (what it drops is no longer used after the rollout), the rename's
    expand step (helpers, no breaking change) without any."""
    result = run(["lint", "--all"], None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"lint: 4 revision(s) clean: {', '.join(APP)}\n"
    ignored = {e["revision"]: set(e["ignored_rules"]) for e in result.events if e.get("event") == "lint.revision"}
    assert {"prefer-timestamp-tz", "prefer-bigint-over-int", "prefer-identity"} <= ignored[INITIAL]
    assert ignored[AVATAR_EXPAND] == set(PROJECT_EXCLUSIONS)
    after_rollout = {"ban-drop-column", "ban-drop-table", "ban-drop-function", "renaming-column", "renaming-table"}
    assert ignored[HEAD] == set(PROJECT_EXCLUSIONS) | after_rollout


def test_lint_by_default_checks_only_the_revisions_not_yet_applied(
    server: Server, database: str, tmp_path: Path
) -> None:
    """Before r2 is applied its finding fails the lint; once applied only r3 is linted, and passes."""
    lint_project(tmp_path)
    url = server.url_for(database)
    before = run(["lint"], url, cwd=tmp_path)
    assert before.returncode == 8
    assert before.stdout.endswith("lint: 1 finding(s) in 1 of 3 revision(s) checked: r1, r2, r3\n")
    assert run(["upgrade", "r2"], url, cwd=tmp_path).returncode == 0
    after = run(["lint"], url, cwd=tmp_path)
    assert (after.returncode, after.stdout) == (0, "lint: 1 revision(s) clean: r3\n")
    assert [e["revision"] for e in after.events if e.get("event") == "lint.revision"] == ["r3"]
    assert run(["upgrade"], url, cwd=tmp_path).returncode == 0
    done = run(["lint"], url, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "lint: nothing to lint: no revision is waiting to be applied\n")


def test_lint_checks_the_revisions_named(tmp_path: Path) -> None:
    """Explicit ids lint those only, no database needed; an unknown one is exit 5."""
    lint_project(tmp_path)
    clean = run(["lint", "r3", "r1"], None, cwd=tmp_path)
    assert (clean.returncode, clean.stdout) == (0, "lint: 2 revision(s) clean: r3, r1\n")
    assert run(["lint", "r2"], None, cwd=tmp_path).returncode == 8
    unknown = run(["lint", "deadbeef"], None, cwd=tmp_path)
    assert unknown.returncode == 5
    assert "deadbeef" in unknown.event("run.failed")["error"]


def test_an_excluded_rule_is_not_reported(tmp_path: Path) -> None:
    """The rule off in pyproject.toml, in alembic.ini, or in the revision's own file: exit 0."""
    ini = lint_project(tmp_path, also_excluded=("adding-required-field",))
    assert run(["lint", "r2"], None, cwd=tmp_path).returncode == 0
    lint_project(tmp_path)
    ini.write_text(ini.read_text() + "\n[migrator]\nlint_exclude = adding-required-field\n")
    assert run(["lint", "r2"], None, cwd=tmp_path).returncode == 0
    lint_project(tmp_path)  # rewrites alembic.ini without the option
    revision_file = tmp_path / "migrations" / "versions" / "r2.py"
    revision_file.write_text(
        revision_file.read_text() + "\n# migrator-lint: ignore=adding-required-field  items is empty in every env\n"
    )
    result = run(["lint", "r2"], None, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "lint: 1 revision(s) clean: r2\n")


def test_an_exception_without_a_reason_is_a_usage_error(tmp_path: Path) -> None:
    """An unexplained per-revision exception is refused (2), not applied."""
    lint_project(tmp_path)
    revision_file = tmp_path / "migrations" / "versions" / "r2.py"
    revision_file.write_text(revision_file.read_text() + "\n# migrator-lint: ignore=adding-required-field\n")
    result = run(["lint", "r2"], None, cwd=tmp_path)
    assert result.returncode == 2
    assert "gives no reason" in result.event("run.failed")["error"]


def test_lint_without_revisions_needs_the_database_url(tmp_path: Path) -> None:
    """Default mode reads what is applied: no URL is exit 2 pointing at --all."""
    lint_project(tmp_path)
    result = run(["lint"], None, cwd=tmp_path)
    assert result.returncode == 2
    assert "--all" in result.event("run.failed")["hint"]


READS_DATA = 'count = op.get_bind().execute(sa.text("select count(*) from items")).scalar()\nassert count is not None'


def test_lint_all_reports_an_unrenderable_revision_and_goes_on(tmp_path: Path) -> None:
    """A revision that reads data cannot be rendered offline: a finding of its own, the rest still linted."""
    write_project(
        tmp_path,
        [
            Revision("u1", None, upgrade='op.execute("create table items (id bigint)")'),
            Revision("u2", "u1", upgrade=READS_DATA),
            Revision("u3", "u2", upgrade='op.execute("alter table items add column weight bigint not null")'),
        ],
    )
    result = run(["lint", "--all"], None, cwd=tmp_path)
    assert result.returncode == 8
    assert "u2 (u2): not-renderable-offline (error)\n  problem: cannot render u1:u2 as SQL" in result.stdout
    assert "u3 (u3): adding-required-field" in result.stdout
    assert result.stdout.endswith("finding(s) in 2 of 3 revision(s) checked: u1, u2, u3\n")


def test_lint_of_a_merge_revision_renders_that_revision_alone(tmp_path: Path) -> None:
    """The other branch (here unrenderable) is not rendered again when the merge is linted."""
    write_project(
        tmp_path,
        [
            Revision("g0", None, upgrade='op.execute("create table items (id bigint)")'),
            Revision("g1", "g0", upgrade=READS_DATA),
            Revision("g2", "g0"),
            Revision("g3", ("g1", "g2"), upgrade='op.execute("create table merged (id bigint)")'),
        ],
    )
    result = run(["lint", "g3"], None, cwd=tmp_path, MIGRATOR_LOG_LEVEL="info")
    assert (result.returncode, result.stdout) == (0, "lint: 1 revision(s) clean: g3\n"), result.stderr
