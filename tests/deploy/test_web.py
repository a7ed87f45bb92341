"""src.web, the app side of the contract: start only at head, serve /healthz with the revision."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from src import web
from src.database import normalise_url
from tests.conftest import REPO, assert_no_secret, clean_env, run
from tests.deploy.conftest import head_revisions, json_lines


def web_process(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "src.web", "--host", "127.0.0.1", "--port", "0", *args],
        cwd=REPO,
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def self_test(**env: str) -> tuple[int, str, list[dict[str, Any]]]:
    proc = web_process("--self-test", **env)
    stdout, stderr = proc.communicate(timeout=60)
    assert_no_secret(stdout + stderr, env.get("DATABASE_URL"))
    return proc.returncode, stdout, json_lines(stderr)


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_refuses_to_start_when_the_schema_is_not_at_head(database_url: str) -> None:
    """On an unmigrated database web exits 1 naming the current and expected revisions."""
    code, stdout, events = self_test(DATABASE_URL=database_url)
    (head,) = head_revisions()
    assert (code, stdout) == (web.EXIT_NOT_READY, "")
    (refused,) = events
    assert refused["event"] == "web.refused" and refused["status"] == "schema_not_at_head"
    assert refused["error"] == (
        f"database schema is at <base> (no revision), expected {head}; run `migrator upgrade` first"
    )


def test_starts_at_head_and_reports_the_revision(database_url: str) -> None:
    """After `migrator upgrade`, --self-test answers /healthz with 200 and the head revision."""
    assert run(["upgrade"], database_url).returncode == 0
    code, stdout, events = self_test(DATABASE_URL=database_url)
    (head,) = head_revisions()
    assert (code, json.loads(stdout)) == (0, {"status": "ok", "revision": head})
    assert [e["event"] for e in events] == ["web.started", "http.request"]


def test_reads_the_url_from_database_url_file(database_url: str, tmp_path: Path) -> None:
    """DATABASE_URL_FILE works as for migrator (the form compose secrets and Kubernetes use)."""
    assert run(["upgrade"], database_url).returncode == 0
    secret = tmp_path / "database-url"
    secret.write_text(database_url + "\n")
    code, stdout, _ = self_test(DATABASE_URL_FILE=str(secret))
    assert code == 0 and json.loads(stdout)["status"] == "ok"


def test_healthz_follows_the_schema_and_sigterm_stops_cleanly(database_url: str) -> None:
    """/healthz is 200 at head and with only the contract step pending, 503 once an expand step is
    pending, 404 elsewhere; SIGTERM exits 0."""
    assert run(["upgrade"], database_url).returncode == 0
    proc = web_process(DATABASE_URL=database_url)
    assert proc.stderr is not None
    started = json.loads(proc.stderr.readline())
    port = started["address"].rsplit(":", 1)[1]
    base = f"http://127.0.0.1:{port}"
    (head,) = head_revisions()
    try:
        assert get(f"{base}/healthz") == (200, {"status": "ok", "revision": head})
        assert get(f"{base}/other") == (404, {"status": "not_found"})
        assert run(["downgrade", "-1"], database_url).returncode == 0  # the avatar_url rename's contract step
        assert get(f"{base}/healthz") == (200, {"status": "ok", "revision": "b2c3d4e5f6a7"})
        assert run(["downgrade", "-1"], database_url).returncode == 0  # its expand step
        status, body = get(f"{base}/healthz")
        assert (status, body["status"]) == (503, "schema_not_at_head")
    finally:
        proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert json_lines(stderr)[-1]["event"] == "web.stopped"


def test_a_running_web_stays_ready_when_the_database_moves_ahead_but_does_not_start_there(
    database_url: str,
) -> None:
    """Newer code's expand phase applied a revision this code does not know: the running process
    keeps answering 200 ("ahead"), so old pods stay in the Service during a rollout; a process
    starting against that database (a rollback) refuses, naming the unknown revision."""
    assert run(["upgrade"], database_url).returncode == 0
    proc = web_process(DATABASE_URL=database_url)
    assert proc.stderr is not None
    port = json.loads(proc.stderr.readline())["address"].rsplit(":", 1)[1]
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("update alembic_version set version_num = 'f00dfeed0001'")
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert (status, body["status"], body["revision"]) == (200, "ahead", "f00dfeed0001")
        code, _, events = self_test(DATABASE_URL=database_url)
        assert code == 1 and events[-1]["status"] == "schema_ahead" and "f00dfeed0001" in events[-1]["error"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        engine.dispose()


def test_database_errors_are_reported_without_the_password(database_url: str) -> None:
    """A wrong password makes web exit 1 with the server's reason and the password masked."""
    wrong = make_url(database_url).set(password="wrong-Pa55word").render_as_string(hide_password=False)
    code, _, events = self_test(DATABASE_URL=wrong)
    (refused,) = events
    assert (code, refused["status"]) == (web.EXIT_NOT_READY, "database_error")
    assert "password authentication failed" in refused["error"]


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({}, "no database URL: set DATABASE_URL or DATABASE_URL_FILE"),
        ({"DATABASE_URL_FILE": "/nonexistent/url"}, "DATABASE_URL_FILE=/nonexistent/url cannot be read"),
    ],
)
def test_missing_url_is_a_usage_error(env: dict[str, str], error: str) -> None:
    """Without a readable URL web exits 2 and says where it looked."""
    code, _, events = self_test(**env)
    (refused,) = events
    assert code == web.EXIT_USAGE and refused["error"].startswith(error)


def test_masked_hides_the_url_and_every_spelling_of_the_password() -> None:
    """Error text quoting the URL or its password (raw or percent-encoded) is masked."""
    url = "postgresql://app:p%40ss@db/app"
    text = f"could not parse {url}; password p%40ss or p@ss"
    assert web.masked(text, url) == "could not parse ***; password *** or ***"


def test_database_url_prefers_the_variable_over_the_file(tmp_path: Path) -> None:
    """DATABASE_URL wins over DATABASE_URL_FILE, as in migrator's settings."""
    secret = tmp_path / "url"
    secret.write_text("postgresql://from-file\n")
    assert web.database_url({"DATABASE_URL": "postgresql://from-env", "DATABASE_URL_FILE": str(secret)}) == (
        "postgresql://from-env"
    )
    assert web.database_url({"DATABASE_URL_FILE": str(secret)}) == "postgresql://from-file"
