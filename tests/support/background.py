"""The real CLI in the background, for tests that act while it runs."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import MIGRATOR, Result, assert_no_secret, clean_env, parse_events


class Background:
    """The CLI in the background, its stderr in a file so tests can poll the log."""

    def __init__(self, args: list[str], url: str, cwd: Path, log: Path, **env: str) -> None:
        self.log = log
        self.url = url
        self._err = open(log, "w")  # noqa: SIM115  (closed in result())
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [MIGRATOR, *args],
            cwd=cwd,
            env=clean_env(DATABASE_URL=url, **env),
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )

    def logged(self, text: str) -> bool:
        return text in self.log.read_text()

    def result(self, timeout: float = 60) -> Result:
        stdout, _ = self.proc.communicate(timeout=timeout)
        self._err.close()
        stderr = self.log.read_text()
        assert_no_secret(stdout + stderr, self.url)
        return Result(self.proc.returncode, stdout, stderr, time.monotonic() - self.started, parse_events(stderr))

    def events(self) -> list[dict[str, Any]]:
        """The events logged so far (complete lines only: the last one may still be being written)."""
        text = self.log.read_text()
        return parse_events(text[: text.rfind("\n") + 1])
