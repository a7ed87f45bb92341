"""The pre-migration backup hook: a shell command run under the lock, before any change.

The command gets the connection as libpq's environment variables (PGHOST, PGDATABASE,
PGSSLMODE ...), derived from the same parsed value migrator connects with, so `pg_dump` with
no connection arguments dumps exactly the database being migrated.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping

from migrator.core.errors import MigrationFailed
from migrator.core.signals import Stop, unblocked_child_signals
from migrator.core.urls import LIBPQ_KEYWORDS, DatabaseUrl
from migrator.engine import logs

_OUTPUT_TAIL = 2000


def environment(url: DatabaseUrl, base: Mapping[str, str], from_revision: str, to_target: str) -> dict[str, str]:
    """libpq's variables for the command (so `pg_dump -Fc -f FILE` needs no URL), plus the revisions."""
    variables, unpassed = libpq_environment(url)
    if unpassed:
        logs.get().info(
            "backup.parameters_not_passed", parameters=unpassed, reason="libpq has no environment variable for them"
        )
    return {**base, **variables, "MIGRATOR_FROM_REVISION": from_revision, "MIGRATOR_TARGET": to_target}


def libpq_environment(url: DatabaseUrl) -> tuple[dict[str, str], list[str]]:
    """Each of the URL's libpq parameters as its PG* variable, and the parameters that have none."""
    variables: dict[str, str] = {}
    unpassed: list[str] = []
    for key, value in url.libpq_params().items():
        name = LIBPQ_KEYWORDS.get(key)
        if name is None:
            unpassed.append(key)
        else:
            variables[name] = value
    return variables, unpassed


def run(command: str, env: dict[str, str], stop: Stop) -> None:
    """Run ``command`` with ``sh -c``; a non-zero exit stops the run before any change."""
    log = logs.get()
    log.info("backup.started", command=command)
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        shell=True,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=unblocked_child_signals,  # SIGTERM/SIGINT are blocked in migrator; not in the child
    )
    while True:
        try:
            output, _ = proc.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if stop.stopped:
                proc.terminate()
                proc.communicate()
                stop.raise_if_stopped()
    tail = (output or "")[-_OUTPUT_TAIL:].strip()
    duration_ms = round((time.monotonic() - started) * 1000)
    if proc.returncode != 0:
        raise MigrationFailed(
            f"backup command failed with exit code {proc.returncode}: {tail or '(no output)'}",
            hint="nothing was changed; fix the backup or run without --backup-command",
        )
    log.info("backup.finished", duration_ms=duration_ms, output=tail)
