"""The deployment artifacts: static checks always, a container tier whenever a Docker engine answers.

Tests marked ``docker`` skip with the reason when no engine answers, and fail instead when
``MIGRATOR_REQUIRE_DOCKER=1`` (CI sets it, so the container tier can never silently vanish).
The image is built once per session; every compose test gets a project of its own.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.support.servers import docker_answers

REPO = Path(__file__).resolve().parents[2]
# One tag per checkout: worktrees testing other branches on the same engine at the same time
# would otherwise re-tag the image under test with their own build in the middle of a run.
IMAGE_TAG = f"travelpacker/migrator:pytest-{hashlib.sha256(str(REPO).encode()).hexdigest()[:10]}"
_REPORT: list[str] = []


@functools.cache
def compose_command() -> tuple[str, ...] | None:
    """Compose v2 (`docker compose`) when the plugin is there, else v1 (`docker-compose`)."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    return None


@functools.cache
def engine_missing() -> str | None:
    """Why the container tier cannot run here, or None when it can."""
    if not shutil.which("docker"):
        return "no docker CLI on PATH"
    if not docker_answers():
        return "no Docker engine answers (start one with `bash .ci/docker-setup.sh`)"
    if compose_command() is None:
        return "neither `docker compose` nor `docker-compose` is installed"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is None:
        return
    reason = engine_missing()
    if reason is None:
        return
    if os.environ.get("MIGRATOR_REQUIRE_DOCKER") == "1":
        pytest.fail(f"MIGRATOR_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(f"container tier: {reason}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _REPORT:
        terminalreporter.write_line(line)


def docker(*args: str, timeout: float = 120, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(Config(str(REPO / "alembic.ini"))).get_heads())


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among the lines (compose's own progress lines are not JSON)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def docker_time(value: str) -> datetime:
    """Docker's RFC 3339 timestamps carry nanoseconds; datetime takes microseconds."""
    value = value.replace("Z", "+00:00")
    if "." in value:
        head, rest = value.split(".", 1)
        digits = rest[: len(rest) - 6]
        value = f"{head}.{digits[:6].ljust(6, '0')}{rest[-6:]}"
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class Image:
    tag: str
    size_bytes: int
    build_seconds: float


@pytest.fixture(scope="session")
def image() -> Image:
    """Dockerfile.migrate built once per session (the layer cache makes rebuilds take seconds)."""
    started = time.monotonic()
    build = docker("build", "-f", "Dockerfile.migrate", "-t", IMAGE_TAG, ".", cwd=REPO, timeout=900, check=False)
    assert build.returncode == 0, f"docker build failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    seconds = time.monotonic() - started
    size = int(docker("image", "inspect", "--format", "{{.Size}}", IMAGE_TAG).stdout.strip())
    _REPORT.append(f"image {IMAGE_TAG}: {size / 1e6:.0f} MB, built in {seconds:.1f} s")
    return Image(IMAGE_TAG, size, seconds)


@dataclass
class Stack:
    """One compose project of docker-compose.yml (plus overrides) on the image under test."""

    project: str
    files: list[Path]
    env: dict[str, str]
    log: list[str] = field(default_factory=list)

    def compose(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        command = compose_command()
        assert command is not None
        files = [arg for f in self.files for arg in ("-f", str(f))]
        argv = [*command, "-p", self.project, *files, *args]
        proc = subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout)
        self.log.append(f"$ {' '.join(argv)}\n-> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def start_healthy(self, service: str, timeout: float = 60) -> None:
        """`up -d SERVICE`, then wait for its healthcheck (compose v1 has no `--wait`)."""
        assert self.compose("up", "-d", service).returncode == 0, self.log[-1]
        deadline = time.monotonic() + timeout
        while self.state(service).get("Health", {}).get("Status") != "healthy":
            assert time.monotonic() < deadline, f"{service} not healthy: {self.state(service)}"
            time.sleep(0.3)

    def containers(self, service: str) -> list[str]:
        labels = [f"label=com.docker.compose.project={self.project}", f"label=com.docker.compose.service={service}"]
        return docker("ps", "-a", "-q", *(arg for label in labels for arg in ("--filter", label))).stdout.split()

    def services_created(self) -> set[str]:
        """The services that have a container in this project (`run --rm` removes its own)."""
        label = f"label=com.docker.compose.project={self.project}"
        listed = docker("ps", "-a", "--filter", label, "--format", '{{.Label "com.docker.compose.service"}}')
        return set(listed.stdout.split())

    def wait_exited(self, service: str, timeout: float = 60) -> dict[str, Any]:
        """The state of the service's container once it has exited."""
        deadline = time.monotonic() + timeout
        while (state := self.state(service))["Status"] != "exited":
            assert time.monotonic() < deadline, f"{service} still {state['Status']}"
            time.sleep(0.2)
        return state

    def container(self, service: str) -> str:
        found = self.containers(service)
        assert len(found) == 1, f"expected one {service} container, found {found}"
        return found[0]

    def state(self, service: str) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(
            docker("inspect", "--format", "{{json .State}}", self.container(service)).stdout
        )
        return state

    def events(self, service: str) -> list[dict[str, Any]]:
        logs = docker("logs", self.container(service))
        return json_lines(logs.stdout + logs.stderr)

    def sql(self, query: str) -> str:
        """A query run by psql inside the db container (its socket: no port leaves the stack)."""
        out = docker("exec", self.container("db"), "psql", "-U", "travelpacker", "-d", "travelpacker", "-Atc", query)
        return out.stdout.strip()


@pytest.fixture
def stack(image: Image, tmp_path: Path) -> Iterator[Any]:
    """A factory of compose projects; every one is taken down with its volumes afterwards."""
    made: list[Stack] = []

    def make(override: dict[str, Any] | None = None, **env: str) -> Stack:
        files = [REPO / "docker-compose.yml"]
        if override is not None:
            path = tmp_path / f"override-{len(made)}.yml"
            path.write_text(yaml.safe_dump(override))
            files.append(path)
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DATABASE_URL"))}
        environ.update(MIGRATOR_IMAGE=image.tag, **env)
        made.append(Stack(f"mtest-{uuid.uuid4().hex[:10]}", files, environ))
        return made[-1]

    yield make
    for item in made:
        item.compose("down", "-v", "--remove-orphans", "-t", "2", timeout=120)


def extra_revision(
    directory: Path, revision: str, *statements: str, down: str | None = None, phase: str | None = None
) -> Path:
    """A revision file on `down` (default: the current head), to mount into the image's alembic/versions."""
    if down is None:
        (down,) = head_revisions()
    body = "\n".join(f"    op.execute({statement!r})" for statement in statements)
    declared = "" if phase is None else f"phase = {phase!r}\n"
    path = directory / f"{revision}_extra.py"
    path.write_text(
        f'"""test revision {revision}"""\nfrom alembic import op\n\n'
        f"revision = {revision!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n{declared}\n\n"
        f"def upgrade():\n{body}\n\n\ndef downgrade():\n    pass\n"
    )
    path.chmod(0o644)
    return path


def mount_revision(*paths: Path, services: tuple[str, ...] = ("migrate",)) -> dict[str, Any]:
    """A compose override giving these services (the image's code) more revision files."""
    volumes = [f"{path}:/app/alembic/versions/{path.name}:ro" for path in paths]
    return {"services": {service: {"volumes": volumes} for service in services}}
