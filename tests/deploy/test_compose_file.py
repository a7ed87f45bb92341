"""docker-compose.yml: valid under the compose specification, and wired db -> migrate -> web -> migrate-contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import REPO, compose_command

COMPOSE_FILE = REPO / "docker-compose.yml"


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return loaded


def test_compose_file_validates_against_the_compose_spec() -> None:
    """check-jsonschema --builtin-schema vendor.compose-spec accepts the file."""
    checker = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_itself_accepts_the_file() -> None:
    """`docker compose config` (no engine needed) resolves anchors, secrets and conditions."""
    command = compose_command()
    if command is None:
        pytest.skip("no docker compose CLI")
    proc = subprocess.run([*command, "-f", str(COMPOSE_FILE), "config", "-q"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_db_is_healthy_only_once_it_answers_over_tcp() -> None:
    """postgres:15 with a pg_isready -h 127.0.0.1 healthcheck and a named volume."""
    db = services()["db"]
    assert db["image"] == "postgres:15"
    assert "pg_isready -h 127.0.0.1" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in yaml.safe_load(COMPOSE_FILE.read_text())["volumes"]


def test_migrate_is_a_one_shot_expand_job_reading_its_url_from_a_secret() -> None:
    """Built from Dockerfile.migrate, DATABASE_URL_FILE on a compose secret, no restart, after a healthy db;
    it applies the expand phase only."""
    migrate = services()["migrate"]
    assert migrate["build"] == {"context": ".", "dockerfile": "Dockerfile.migrate"}
    assert migrate["command"] == ["upgrade", "--phase", "expand"]
    assert migrate["restart"] == "no"
    assert migrate["secrets"] == ["database_url"]
    assert migrate["environment"] == {"DATABASE_URL_FILE": "/run/secrets/database_url"}
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}


def test_web_starts_only_after_migrate_completed_successfully() -> None:
    """web runs src.web from the same image once migrate exited 0, with the same URL secret."""
    web, migrate = services()["web"], services()["migrate"]
    assert web["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert web["entrypoint"] == ["python", "-m", "src.web"]
    assert web["image"] == migrate["image"]
    assert web["secrets"] == migrate["secrets"] and web["environment"] == migrate["environment"]


def test_migrate_contract_runs_the_contract_phase_once_web_is_healthy() -> None:
    """The same one-shot service as migrate but for its command and its dependency: a healthy web."""
    migrate, contract, web = services()["migrate"], services()["migrate-contract"], services()["web"]
    assert contract["command"] == ["upgrade", "--phase", "contract"]
    assert contract["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert "healthcheck" in web
    same = {key: value for key, value in contract.items() if key not in ("command", "depends_on")}
    assert same == {key: value for key, value in migrate.items() if key not in ("command", "depends_on")}


def test_nothing_depends_on_migrate_contract() -> None:
    """So `docker compose run --rm web` (the CI form) starts db and migrate only, never the contract phase."""
    needed = {name for service in services().values() for name in service.get("depends_on", {})}
    assert needed == {"db", "migrate", "web"}


def test_the_development_secret_matches_the_db_credentials() -> None:
    """compose/database_url names the db service with the user, password and database it creates."""
    env = services()["db"]["environment"]
    url = (REPO / "compose" / "database_url").read_text().strip()
    user, password, name = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
    assert url == f"postgresql://{user}:{password}@db:5432/{name}"
