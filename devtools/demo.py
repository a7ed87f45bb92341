"""`make demo`: an embedded PostgreSQL and the real migrator CLI, end to end, with its logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devtools.embedded_pg import EmbeddedPostgres

REPO = Path(__file__).resolve().parent.parent
MIGRATOR = str(Path(sys.executable).with_name("migrator"))


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def migrator(*args: str, url: str) -> int:
    print(f"$ migrator {' '.join(args)}", flush=True)
    env = {**os.environ, "DATABASE_URL": url, "MIGRATOR_LOG_FORMAT": "console"}
    return subprocess.run([MIGRATOR, *args], cwd=REPO, env=env, check=False).returncode


def main() -> int:
    pg = EmbeddedPostgres()
    step(f"starting an embedded PostgreSQL on 127.0.0.1:{pg.port}")
    pg.init()
    pg.start()
    try:
        pg.psql("create database travelpacker")
        pg.psql("create database racing")
        url = pg.url("travelpacker")
        step("upgrade an empty database: wait, lock, migrate, release")
        assert migrator("upgrade", url=url) == 0
        step("current revision (stdout)")
        assert migrator("current", url=url) == 0
        step("a second run finds nothing to do")
        assert migrator("upgrade", url=url) == 0
        step("check: exit 0 at head")
        assert migrator("check", url=url) == 0
        step("five runners at once on another empty database: one migrates, the others wait and find nothing to do")
        env = {**os.environ, "DATABASE_URL": pg.url("racing"), "MIGRATOR_LOG_FORMAT": "console"}
        runners = [
            subprocess.Popen([MIGRATOR, "upgrade"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
            for _ in range(5)
        ]
        for index, runner in enumerate(runners, 1):
            _, stderr = runner.communicate(timeout=120)
            summary = next((line for line in stderr.splitlines() if "run.finished" in line), stderr)
            print(f"runner {index}: exit {runner.returncode}: {summary.strip()}", flush=True)
            assert runner.returncode == 0
        step("exit codes: see `migrator --help`")
        return 0
    finally:
        pg.destroy()


if __name__ == "__main__":
    sys.exit(main())
