"""docker-compose.yml on a real engine: db -> migrate -> web, and web never starts on a failed migrate;
`up` goes on to migrate-contract once web is healthy.

`docker compose run --rm web` is the CI form under test: it starts the dependency chain and
returns web's own exit code, or fails without starting web when migrate did not complete.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from src.database import Base
from tests.deploy.conftest import Stack, docker, docker_time, extra_revision, head_revisions, json_lines, mount_revision
from tests.support.servers import Server

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

TABLES = "select tablename from pg_tables where schemaname = 'public'"
# What a rolled-back upgrade must not leave: the version table, the app's tables, the test's own.
MUST_NOT_EXIST = {"alembic_version", "must_not_survive", *Base.metadata.tables}
PACKING_ITEMS_COLUMNS = "select column_name from information_schema.columns where table_name = 'packing_items'"
PROBE = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/healthz').read().decode())"


def events_named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == name]


def assert_web_never_started(stack: Stack, output: str) -> None:
    assert not events_named(json_lines(output), "web.started")
    assert stack.containers("web") == []  # compose did not even create it


def test_web_starts_after_migrate_and_a_second_run_is_a_no_op(stack: Any) -> None:
    """The first run migrates a fresh database, then web reports head; the second run migrates nothing."""
    compose: Stack = stack()
    (head,) = head_revisions()
    first = compose.compose("run", "--rm", "web", "--self-test")
    assert first.returncode == 0, compose.log[-1]
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {"status": "ok", "revision": head}
    assert compose.services_created() == {"db", "migrate"}  # never migrate-contract
    migrate = compose.state("migrate")
    (finished,) = events_named(compose.events("migrate"), "run.finished")
    assert (migrate["ExitCode"], finished["to_revision"], finished["migrations_applied"]) == (0, head, 2)
    (web_started,) = events_named(json_lines(first.stderr), "web.started")
    assert docker_time(migrate["FinishedAt"]) < docker_time(web_started["timestamp"])  # db -> migrate -> web

    started = time.monotonic()
    second = compose.compose("run", "--rm", "web", "--self-test")
    elapsed = time.monotonic() - started
    assert second.returncode == 0, compose.log[-1]
    runs = events_named(compose.events("migrate"), "run.finished")
    assert [(r["to_revision"], r["migrations_applied"]) for r in runs] == [(head, 2), (head, 0)]
    assert events_named(compose.events("migrate"), "run.nothing_to_do")
    assert runs[-1]["duration_ms"] < 5000 and elapsed < 60


def test_web_serves_healthz_until_stopped(stack: Any) -> None:
    """`up -d` runs web as a service: its healthcheck turns healthy, /healthz shows head, stop exits 0."""
    compose: Stack = stack(WEB_PORT="0")
    compose.start_healthy("web")
    body = docker("exec", compose.container("web"), "python", "-c", PROBE).stdout
    (head,) = head_revisions()
    assert json.loads(body) == {"status": "ok", "revision": head}
    assert compose.compose("stop", "-t", "20", "web").returncode == 0
    assert compose.state("web")["ExitCode"] == 0
    assert events_named(compose.events("web"), "web.stopped")


def test_up_expands_starts_web_between_the_phases_then_contracts(stack: Any, tmp_path: Path) -> None:
    """`up -d`: migrate expands, web turns healthy with the contract step pending, then migrate-contract
    drops the column the old code used and the database is at head."""
    expand = extra_revision(tmp_path, "eeeeeeee0001", "alter table packing_items add column times_used integer")
    drop = "alter table packing_items drop column actually_used"  # PackingItem.actually_used: the old code's
    contract = extra_revision(tmp_path, "cccccccc0001", drop, down="eeeeeeee0001", phase="contract")
    code = mount_revision(expand, contract, services=("migrate", "web", "migrate-contract"))
    compose: Stack = stack(code, WEB_PORT="0")
    assert compose.compose("up", "-d").returncode == 0, compose.log[-1]
    contracted = compose.wait_exited("migrate-contract")
    assert contracted["ExitCode"] == 0, compose.events("migrate-contract")

    migrate, migrate_events = compose.state("migrate"), compose.events("migrate")
    (expanded,) = events_named(migrate_events, "run.finished")
    assert (migrate["ExitCode"], expanded["to_revision"], expanded["migrations_applied"]) == (0, "eeeeeeee0001", 3)
    assert events_named(migrate_events, "phase.held_back")[0]["revisions"] == ["cccccccc0001"]
    web_events = compose.events("web")
    (web_started,) = events_named(web_events, "web.started")
    assert web_started["revision"] == "eeeeeeee0001"  # the new code started with the contract step pending
    assert docker_time(migrate["FinishedAt"]) < docker_time(web_started["timestamp"])
    healthy_between = [
        e
        for e in events_named(web_events, "http.request")
        if '"GET /healthz HTTP/1.1" 200' in e["request"]
        and docker_time(e["timestamp"]) < docker_time(contracted["StartedAt"])
    ]
    assert healthy_between, web_events  # the healthcheck's /healthz was 200 before the contract phase began

    (finished,) = events_named(compose.events("migrate-contract"), "run.finished")
    assert (finished["from_revision"], finished["to_revision"], finished["migrations_applied"]) == (
        "eeeeeeee0001",
        "cccccccc0001",
        1,
    )
    assert compose.sql("select version_num from alembic_version") == "cccccccc0001"
    columns = set(compose.sql(PACKING_ITEMS_COLUMNS).split())
    assert "times_used" in columns and "actually_used" not in columns
    body = docker("exec", compose.container("web"), "python", "-c", PROBE).stdout
    assert json.loads(body) == {"status": "ok", "revision": "cccccccc0001"}


def test_failing_migration_keeps_web_from_starting_and_rolls_back(stack: Any, tmp_path: Path) -> None:
    """A migration that fails makes migrate exit 1; the command fails, web never starts, no table is left."""
    failing = extra_revision(tmp_path, "ffffffff0001", "create table must_not_survive (id int)", "select 1/0")
    compose: Stack = stack(mount_revision(failing))
    result = compose.compose("run", "--rm", "web", "--self-test")
    assert result.returncode != 0
    assert_web_never_started(compose, result.stdout + result.stderr)
    assert compose.state("migrate")["ExitCode"] == 1
    (failed,) = events_named(compose.events("migrate"), "run.failed")
    assert failed["error"] == "migration ffffffff0001 failed: division by zero"
    assert not MUST_NOT_EXIST & set(compose.sql(TABLES).split())  # all pending migrations were one transaction


def test_wrong_credentials_keep_web_from_starting(stack: Any, tmp_path: Path) -> None:
    """A URL secret with a wrong password: migrate fails at once with 3, web never starts, nothing leaks."""
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://travelpacker:Wrong-pa55@db:5432/travelpacker\n")
    secret.chmod(0o644)
    compose: Stack = stack(DATABASE_URL_SECRET_FILE=str(secret))
    result = compose.compose("run", "--rm", "web", "--self-test")
    assert result.returncode != 0
    assert_web_never_started(compose, result.stdout + result.stderr)
    assert compose.state("migrate")["ExitCode"] == 3
    (failed,) = events_named(compose.events("migrate"), "run.failed")
    assert "password authentication failed" in failed["error"]
    logs = docker("logs", compose.container("migrate"))
    assert "Wrong-pa55" not in logs.stdout + logs.stderr + result.stdout + result.stderr


def test_docker_stop_mid_migration_exits_143_and_rolls_back(stack: Any, tmp_path: Path) -> None:
    """SIGTERM from `docker stop` during a slow migration: exit 143 well within the grace period, database unchanged."""
    slow = extra_revision(tmp_path, "ffffffff0002", "create table must_not_survive (id int)", "select pg_sleep(120)")
    compose: Stack = stack(mount_revision(slow))
    assert compose.compose("up", "-d", "migrate").returncode == 0, compose.log[-1]
    deadline = time.monotonic() + 60
    while not [
        e for e in events_named(compose.events("migrate"), "migration.started") if e["revision"] == slow.stem[:12]
    ]:
        assert time.monotonic() < deadline, "the slow migration never started"
        time.sleep(0.2)
    time.sleep(0.5)  # inside pg_sleep now
    started = time.monotonic()
    docker("stop", "-t", "30", compose.container("migrate"))
    assert time.monotonic() - started < 10
    assert compose.state("migrate")["ExitCode"] == 143
    assert events_named(compose.events("migrate"), "run.interrupted")
    assert not MUST_NOT_EXIST & set(compose.sql(TABLES).split())
    assert compose.sql("select count(*) from pg_locks where locktype = 'advisory'") == "0"


def test_integration_suite_runs_on_testcontainers_when_an_engine_answers(server: Server) -> None:
    """With an engine up (and no TEST_DATABASE_URL) the whole integration suite used a postgres:15 container."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL chooses the server")
    assert server.kind == "docker"
