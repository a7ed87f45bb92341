"""docker-compose.yml on a real engine: db -> migrate -> web, and web never starts on a failed migrate;
`up` goes on to migrate-contract once web is healthy. The app's own head is a contract step (the
users.profile_picture -> avatar_url rename), so `migrate` leaves the database at the expand step before it.

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

from tests.deploy.conftest import Stack, docker, docker_time, extra_revision, json_lines, mount_revision
from tests.support.servers import Server

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

TABLES = "select tablename from pg_tables where schemaname = 'public'"
PROBE = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/healthz').read().decode())"
# The app's revisions: the previous release's head, then the rename's expand and contract steps.
PREVIOUS, AVATAR_EXPAND, AVATAR_CONTRACT = "a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8"
USERS_COLUMNS = "select column_name from information_schema.columns where table_name = 'users'"
PICTURES = "select id, profile_picture, avatar_url from users order by id"
# What a pod of the new code does: the model maps avatar_url only (run inside the web container).
NEW_CODE_WRITES = """
import os, sys
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from src.database import User, normalise_url
url = open(os.environ["DATABASE_URL_FILE"]).read().strip()
with Session(create_engine(normalise_url(url))) as session, session.begin():
    user_id, avatar = sys.argv[1:]
    user = session.get(User, user_id)
    if user is None:
        session.add(User(id=user_id, username=user_id, email=user_id + "@example.org", avatar_url=avatar))
    else:
        user.avatar_url = avatar
"""


def events_named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == name]


def at_app_head(compose: Stack) -> None:
    """The previous release fully deployed (both phases): the mounted revision on top is then the one
    `migrate` runs (pending after a contract step, it would be held back until the contract phase)."""
    assert compose.compose("run", "--rm", "migrate", "upgrade", AVATAR_CONTRACT).returncode == 0, compose.log[-1]


def assert_web_never_started(stack: Stack, output: str) -> None:
    assert not events_named(json_lines(output), "web.started")
    assert stack.containers("web") == []  # compose did not even create it


def test_web_starts_after_migrate_and_a_second_run_is_a_no_op(stack: Any) -> None:
    """The first run expands a fresh database, then web reports the expand step (the contract step
    pending); the second run migrates nothing."""
    compose: Stack = stack()
    first = compose.compose("run", "--rm", "web", "--self-test")
    assert first.returncode == 0, compose.log[-1]
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {"status": "ok", "revision": AVATAR_EXPAND}
    assert compose.services_created() == {"db", "migrate"}  # never migrate-contract
    migrate = compose.state("migrate")
    (finished,) = events_named(compose.events("migrate"), "run.finished")
    assert (migrate["ExitCode"], finished["to_revision"], finished["migrations_applied"]) == (0, AVATAR_EXPAND, 3)
    (web_started,) = events_named(json_lines(first.stderr), "web.started")
    assert docker_time(migrate["FinishedAt"]) < docker_time(web_started["timestamp"])  # db -> migrate -> web

    started = time.monotonic()
    second = compose.compose("run", "--rm", "web", "--self-test")
    elapsed = time.monotonic() - started
    assert second.returncode == 0, compose.log[-1]
    runs = events_named(compose.events("migrate"), "run.finished")
    assert [(r["to_revision"], r["migrations_applied"]) for r in runs] == [(AVATAR_EXPAND, 3), (AVATAR_EXPAND, 0)]
    assert events_named(compose.events("migrate"), "run.nothing_to_do")
    assert runs[-1]["duration_ms"] < 5000 and elapsed < 60


def test_web_serves_healthz_until_stopped(stack: Any) -> None:
    """`up -d` runs web as a service: its healthcheck turns healthy, /healthz shows the revision, stop exits 0."""
    compose: Stack = stack(WEB_PORT="0")
    compose.start_healthy("web")
    body = docker("exec", compose.container("web"), "python", "-c", PROBE).stdout
    assert json.loads(body) == {"status": "ok", "revision": AVATAR_EXPAND}
    assert compose.compose("stop", "-t", "20", "web").returncode == 0
    assert compose.state("web")["ExitCode"] == 0
    assert events_named(compose.events("web"), "web.stopped")


def test_the_rename_expands_serves_old_and_new_code_then_contracts_under_a_healthy_web(stack: Any) -> None:
    """The app's users.profile_picture -> avatar_url rename on a database of the previous release: `up`
    expands (backfill, contract step held back) and starts web; between the phases an old pod's write
    (SQL naming only profile_picture) and a new pod's (the model) reach both columns; then
    migrate-contract drops profile_picture while the same web container stays healthy and its model works."""
    compose: Stack = stack(WEB_PORT="0")
    assert compose.compose("run", "--rm", "migrate", "upgrade", PREVIOUS).returncode == 0, compose.log[-1]
    compose.sql(
        "insert into users (id, username, email, profile_picture) "
        "select 'u' || g, 'user' || g, g || '@example.org', 'https://img/' || g from generate_series(1, 3) g"
    )

    compose.start_healthy("web")  # the rollout: db -> migrate (expand) -> web, not yet migrate-contract
    migrate_events = compose.events("migrate")
    (expanded,) = events_named(migrate_events, "run.finished")
    assert (expanded["from_revision"], expanded["to_revision"], expanded["migrations_applied"]) == (
        PREVIOUS,
        AVATAR_EXPAND,
        1,
    )
    assert events_named(migrate_events, "phase.held_back")[0]["revisions"] == [AVATAR_CONTRACT]
    assert events_named(migrate_events, "online.backfill_done")[0]["rows"] == 3
    (web_started,) = events_named(compose.events("web"), "web.started")
    assert web_started["revision"] == AVATAR_EXPAND
    assert {"profile_picture", "avatar_url"} <= set(compose.sql(USERS_COLUMNS).split())
    compose.sql("insert into users (id, username, email, profile_picture) values ('old', 'o', 'o@x', 'https://o/1')")
    web = compose.container("web")
    docker("exec", web, "python", "-c", NEW_CODE_WRITES, "new", "https://n/1")
    docker("exec", web, "python", "-c", NEW_CODE_WRITES, "u1", "https://n/2")
    assert compose.sql(PICTURES).splitlines() == [
        "new|https://n/1|https://n/1",
        "old|https://o/1|https://o/1",
        "u1|https://n/2|https://n/2",
        "u2|https://img/2|https://img/2",
        "u3|https://img/3|https://img/3",
    ]

    web_since = compose.state("web")["StartedAt"]
    assert compose.compose("up", "-d").returncode == 0, compose.log[-1]  # the rest of `up`: migrate-contract
    contracted = compose.wait_exited("migrate-contract")
    assert contracted["ExitCode"] == 0, compose.events("migrate-contract")
    (finished,) = events_named(compose.events("migrate-contract"), "run.finished")
    assert (finished["from_revision"], finished["to_revision"], finished["migrations_applied"]) == (
        AVATAR_EXPAND,
        AVATAR_CONTRACT,
        1,
    )
    assert "profile_picture" not in compose.sql(USERS_COLUMNS).split()
    assert (compose.container("web"), compose.state("web")["StartedAt"]) == (web, web_since)  # never restarted
    body = docker("exec", web, "python", "-c", PROBE).stdout
    assert json.loads(body) == {"status": "ok", "revision": AVATAR_CONTRACT}
    docker("exec", web, "python", "-c", NEW_CODE_WRITES, "u2", "https://n/3")
    assert compose.sql("select id, avatar_url from users where id in ('u2', 'u3') order by id").splitlines() == [
        "u2|https://n/3",
        "u3|https://img/3",
    ]


def test_up_runs_both_phases_in_order_on_a_fresh_database(stack: Any) -> None:
    """One `up -d` on an empty database: migrate expands, web turns healthy with the contract step
    pending, and only then migrate-contract applies it; the database ends at head."""
    compose: Stack = stack(WEB_PORT="0")
    assert compose.compose("up", "-d").returncode == 0, compose.log[-1]
    contracted = compose.wait_exited("migrate-contract")
    assert contracted["ExitCode"] == 0, compose.events("migrate-contract")
    migrate = compose.state("migrate")
    (expanded,) = events_named(compose.events("migrate"), "run.finished")
    assert (migrate["ExitCode"], expanded["to_revision"], expanded["migrations_applied"]) == (0, AVATAR_EXPAND, 3)
    web_events = compose.events("web")
    (web_started,) = events_named(web_events, "web.started")
    assert web_started["revision"] == AVATAR_EXPAND
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
        AVATAR_EXPAND,
        AVATAR_CONTRACT,
        1,
    )
    assert compose.sql("select version_num from alembic_version") == AVATAR_CONTRACT
    body = docker("exec", compose.container("web"), "python", "-c", PROBE).stdout
    assert json.loads(body) == {"status": "ok", "revision": AVATAR_CONTRACT}


def test_failing_migration_keeps_web_from_starting_and_rolls_back(stack: Any, tmp_path: Path) -> None:
    """The next release's migration fails: migrate exits 1, the command fails, web never starts, and
    the revision's table is rolled back."""
    failing = extra_revision(tmp_path, "ffffffff0001", "create table must_not_survive (id int)", "select 1/0")
    compose: Stack = stack(mount_revision(failing))
    at_app_head(compose)
    result = compose.compose("run", "--rm", "web", "--self-test")
    assert result.returncode != 0
    assert_web_never_started(compose, result.stdout + result.stderr)
    assert compose.state("migrate")["ExitCode"] == 1
    (failed,) = events_named(compose.events("migrate"), "run.failed")
    assert failed["error"] == "migration ffffffff0001 failed: division by zero"
    assert "must_not_survive" not in compose.sql(TABLES).split()
    assert compose.sql("select version_num from alembic_version") == AVATAR_CONTRACT


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
    at_app_head(compose)
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
    assert "must_not_survive" not in compose.sql(TABLES).split()
    assert compose.sql("select version_num from alembic_version") == AVATAR_CONTRACT
    assert compose.sql("select count(*) from pg_locks where locktype = 'advisory'") == "0"


def test_integration_suite_runs_on_testcontainers_when_an_engine_answers(server: Server) -> None:
    """With an engine up (and no TEST_DATABASE_URL) the whole integration suite used a postgres:15 container."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL chooses the server")
    assert server.kind == "docker"
