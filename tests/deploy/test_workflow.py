""".github/workflows/deploy.yml: valid, expand -> rollout -> contract gated on migrator's exit codes,
and its steps run for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import REPO, Image, Stack, json_lines

WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"
# The app's head is a contract step: the users.profile_picture -> avatar_url rename.
AVATAR_EXPAND, AVATAR_CONTRACT = "b2c3d4e5f6a7", "c3d4e5f6a7b8"


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def step(job: str, name: str) -> dict[str, Any]:
    (found,) = [s for s in workflow()["jobs"][job]["steps"] if s.get("name", "").startswith(name)]
    return found


def test_workflow_validates_against_the_github_workflow_schema() -> None:
    """check-jsonschema --builtin-schema vendor.github-workflows accepts the file."""
    checker = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rollout_is_gated_on_the_upgrade_exit_code() -> None:
    """The rollout job needs migrate and runs only when the expand upgrade exited 0; logs are kept whatever happened."""
    jobs = workflow()["jobs"]
    assert jobs["migrate"]["outputs"]["exit-code"] == "${{ steps.upgrade.outputs.exit-code }}"
    assert jobs["rollout"]["needs"] == "migrate"
    assert jobs["rollout"]["if"] == "needs.migrate.outputs.exit-code == '0'"
    keep = step("migrate", "Keep the migrator logs")
    assert keep["if"] == "always()" and keep["uses"].startswith("actions/upload-artifact@")
    assert step("migrate", "Remove the database URL file")["if"] == "always()"


def test_contract_runs_after_a_successful_rollout_as_the_upgrade_step_runs() -> None:
    """The contract job needs the rollout's success and runs the upgrade step's script with the contract
    phase, on the image the migrate job handed over; its logs are kept whatever happened."""
    jobs = workflow()["jobs"]
    assert (jobs["contract"]["needs"], jobs["contract"]["if"]) == ("rollout", "needs.rollout.result == 'success'")
    assert jobs["contract"]["outputs"]["exit-code"] == "${{ steps.contract.outputs.exit-code }}"
    expand = step("migrate", "Upgrade (expand phase)")["run"]
    contract = step("contract", "Upgrade (contract phase)")["run"]
    assert '"$IMAGE" upgrade --phase expand 2>' in expand
    assert contract == expand.replace("expand", "contract")
    handed = step("migrate", "Hand the image to the contract job")["with"]["name"]
    assert step("contract", "Fetch the image the expand phase ran")["with"]["name"] == handed
    keep = step("contract", "Keep the migrator logs")
    assert keep["if"] == "always()" and keep["uses"].startswith("actions/upload-artifact@")
    assert step("contract", "Remove the database URL file")["if"] == "always()"


def test_the_url_reaches_the_container_only_as_a_file() -> None:
    """Each job reads the secret in one step's env; the containers get DATABASE_URL_FILE, never DATABASE_URL."""
    text = WORKFLOW.read_text()
    assert text.count("secrets.DATABASE_URL") == 2
    for job, names in (("migrate", ("Pending migrations", "Upgrade")), ("contract", ("Upgrade",))):
        assert step(job, "Write the database URL")["env"] == {"DATABASE_URL": "${{ secrets.DATABASE_URL }}"}
        for name in names:
            script = step(job, name)["run"]
            assert "-e DATABASE_URL_FILE=" in script and "-e DATABASE_URL=" not in script


class Runner:
    """Runs a step's `run:` script as Actions does (`shell: bash`), with RUNNER_TEMP and a GITHUB_OUTPUT per job.

    A `docker` shim first on PATH adds `--network` to `docker run`, so the containers reach the
    compose project's db by name, as a hosted runner's containers reach the real database.
    """

    def __init__(self, root: Path, image: Image, network: str) -> None:
        self.root = root
        self.output = ""
        shim = root / "bin" / "docker"
        shim.parent.mkdir()
        real = shutil.which("docker")
        shim.write_text(
            "#!/bin/sh\n"
            f'if [ "$1" = run ]; then shift; exec {real} run --network {network} "$@"; fi\n'
            f'exec {real} "$@"\n'
        )
        shim.chmod(0o755)
        (root / "temp").mkdir()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MIGRATOR_"))},
            "PATH": f"{shim.parent}:{os.environ['PATH']}",
            "RUNNER_TEMP": str(root / "temp"),
            "IMAGE": image.tag,
        }

    def run(self, name: str, job: str = "migrate", **env: str) -> subprocess.CompletedProcess[str]:
        script = step(job, name)["run"]
        assert "${{" not in script  # nothing for Actions to substitute: the script runs as written
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            env={**self.env, "GITHUB_OUTPUT": str(self.root / f"{job}.output"), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.output += f"--- {job}: {name}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}\n"
        return proc


@pytest.mark.docker
@pytest.mark.timeout(600)
def test_the_steps_expand_then_contract_a_real_database_and_report_the_exit_codes(
    image: Image, stack: Any, tmp_path: Path
) -> None:
    """The workflow's own scripts, run by bash as Actions does: check tolerates 6, the expand upgrade holds
    the app's contract step (the avatar_url rename's) back and exits 0, the contract job's upgrade applies
    it and exits 0."""
    compose: Stack = stack()
    compose.start_healthy("db")
    runner = Runner(tmp_path, image, network=f"{compose.project}_default")
    url = "postgresql://travelpacker:travelpacker-dev@db:5432/travelpacker"
    for name in ("Write the database URL", "Pending migrations", "Upgrade", "Remove the database URL file"):
        assert runner.run(name, DATABASE_URL=url).returncode == 0, runner.output
    logs = tmp_path / "temp" / "migrator" / "logs"
    assert [e["event"] for e in json_lines((logs / "check.jsonl").read_text())][-1] == "run.failed"  # 6: pending
    expanded = json_lines((logs / "upgrade-expand.jsonl").read_text())
    (finished,) = [e for e in expanded if e["event"] == "run.finished"]
    (held,) = [e for e in expanded if e["event"] == "phase.held_back"]
    assert (finished["to_revision"], held["revisions"]) == (AVATAR_EXPAND, [AVATAR_CONTRACT])
    assert compose.sql("select version_num from alembic_version") == AVATAR_EXPAND

    for name in ("Write the database URL", "Upgrade"):
        assert runner.run(name, job="contract", DATABASE_URL=url).returncode == 0, runner.output
    contracted = json_lines((logs / "upgrade-contract.jsonl").read_text())
    (finished,) = [e for e in contracted if e["event"] == "run.finished"]
    assert (finished["from_revision"], finished["to_revision"], finished["migrations_applied"]) == (
        AVATAR_EXPAND,
        AVATAR_CONTRACT,
        1,
    )
    outputs = [(tmp_path / f"{job}.output").read_text() for job in ("migrate", "contract")]
    assert outputs == ["exit-code=0\n", "exit-code=0\n"]
    assert compose.sql("select version_num from alembic_version") == AVATAR_CONTRACT
    assert runner.run("Pending migrations").returncode == 0, runner.output  # now at head
    assert runner.run("Remove the database URL file", job="contract").returncode == 0
    assert not (tmp_path / "temp" / "migrator" / "database-url").exists()


@pytest.mark.docker
@pytest.mark.timeout(600)
def test_an_unreachable_database_fails_the_check_step(image: Image, stack: Any, tmp_path: Path) -> None:
    """A wrong password: the check step fails with migrator's 3 before upgrade is attempted."""
    compose: Stack = stack()
    compose.start_healthy("db")
    runner = Runner(tmp_path, image, network=f"{compose.project}_default")
    url = "postgresql://travelpacker:Wrong-pa55@db:5432/travelpacker"
    assert runner.run("Write the database URL", DATABASE_URL=url).returncode == 0
    result = runner.run("Pending migrations")
    assert result.returncode == 3
    assert "::error::migrator check exited 3" in result.stdout
    assert "Wrong-pa55" not in result.stdout + result.stderr
