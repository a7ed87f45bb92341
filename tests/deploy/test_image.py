"""The image on a real engine: non-root, no compilers, the CLI's contract through `docker run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.core.errors import EXIT_CODE_HELP
from tests.deploy.conftest import REPO, Image, docker, head_revisions, json_lines

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

MAX_IMAGE_MB = 350  # base image ~150 MB + the venv; a compiler toolchain alone would break this


def test_runs_as_a_fixed_non_root_uid_without_build_tools(image: Image) -> None:
    """The image's user is 10001, processes run as it, and no compiler or make is installed."""
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image.tag).stdout)
    assert (config["User"], config["Entrypoint"], config["Cmd"]) == ("10001:10001", ["migrator"], ["upgrade"])
    assert "PYTHONUNBUFFERED=1" in config["Env"]
    probe = "import json, os, shutil; print(json.dumps([os.getuid(), os.getgid(), {t: shutil.which(t) for t in %r}]))"
    tools = ("gcc", "cc", "c++", "g++", "clang", "make", "ld")
    out = docker("run", "--rm", "--entrypoint", "python", image.tag, "-c", probe % (tools,)).stdout
    assert json.loads(out) == [10001, 10001, dict.fromkeys(tools)]
    assert image.size_bytes < MAX_IMAGE_MB * 1e6


def test_help_lists_every_exit_code(image: Image) -> None:
    """`docker run IMAGE --help` prints the exit-code table of the stable contract."""
    out = " ".join(docker("run", "--rm", image.tag, "--help").stdout.split())  # help wraps long lines
    for code, text in EXIT_CODE_HELP.items():
        assert f"{int(code)} {' '.join(text.split())}" in out


def test_loads_migrations_read_only_under_any_uid(image: Image) -> None:
    """With a read-only root, all capabilities dropped and an arbitrary uid, `heads` shows the scripts' head."""
    out = docker(
        "run", "--rm", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
        "--user", "4242:4242", image.tag, "heads",
    ).stdout  # fmt: skip
    (head,) = head_revisions()
    assert out == f"{head} (head)\n"


@pytest.mark.parametrize(
    ("env", "code", "error"),
    [
        ({}, 2, "no database URL"),
        ({"DATABASE_URL": "postgresql://app:Secret-pw1@127.0.0.1:1/app"}, 3, "not reachable within 0s"),
    ],
    ids=["no-url", "unreachable"],
)
def test_failures_keep_their_exit_code_and_log_json(image: Image, env: dict[str, str], code: int, error: str) -> None:
    """Without a TTY the logs are JSON lines, and the container exits with migrator's own code."""
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    proc = docker("run", "--rm", *flags, image.tag, "upgrade", "--wait-timeout", "0", check=False)
    assert proc.returncode == code
    (failed,) = [e for e in json_lines(proc.stderr) if e["event"] == "run.failed"]
    assert failed["exit_code"] == code and error in failed["error"]
    assert "Secret-pw1" not in proc.stdout + proc.stderr


def test_reports_to_the_kubernetes_termination_log(image: Image, tmp_path: Path) -> None:
    """Where a pod has /dev/termination-log, the run's summary lands there (what `kubectl describe` shows)."""
    termination_log = tmp_path / "termination-log"
    termination_log.write_text("")
    termination_log.chmod(0o666)  # the image's uid writes it, as the kubelet's file allows
    url = "postgresql://app:Secret-pw1@127.0.0.1:1/app"
    proc = docker(
        "run", "--rm", "-v", f"{termination_log}:/dev/termination-log", "-e", f"DATABASE_URL={url}",
        image.tag, "upgrade", "--wait-timeout", "0", check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    written = termination_log.read_text()
    summary = json.loads(written)
    assert (summary["status"], summary["exit_code"], summary["command"]) == ("failed", 3, "upgrade")
    assert "not reachable within 0s" in summary["error"]
    assert "Secret-pw1" not in written


def test_build_context_holds_only_what_the_image_needs(image: Image) -> None:
    """.dockerignore keeps .git, .venv, tests and caches out of what the engine receives."""
    lister = f"FROM {image.tag}\nCOPY . /tmp/context\nRUN find /tmp/context -type f | sort\n"
    build = docker("build", "--rm", "--no-cache", "-q", "-f", "-", ".", cwd=REPO, input=lister, check=False)
    assert build.returncode == 0, build.stderr
    image_id = build.stdout.strip()
    try:
        files = docker("run", "--rm", "--entrypoint", "find", image_id, "/tmp/context", "-type", "f").stdout.split()
    finally:
        docker("rmi", image_id, check=False)
    names = {f.removeprefix("/tmp/context/") for f in files}
    assert {"pyproject.toml", "alembic.ini", "migrator/cli.py", "src/web.py", "src/database/models.py"} <= names
    assert {n.split("/")[0] for n in names} == {
        "pyproject.toml",
        "README.md",
        "alembic.ini",
        "migrator",
        "alembic",
        "src",
    }
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
