"""The machine and code a run measured: date, CPU, cores, RAM, kernel, Python, PostgreSQL, migrator's commit."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def describe(postgres_version: str, data_dir: Path) -> dict[str, str]:
    return {
        "postgresql_data": filesystem(data_dir),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpuinfo_field("model name") or platform.processor() or "unknown CPU",
        "cores": str(os.cpu_count() or 0),
        "ram": f"{_mem_total_kb() / 1024 / 1024:.1f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": postgres_version,
        "migrator": _git_revision(),
        "load_at_start": load_average(),
    }


def filesystem(path: Path) -> str:
    """The type of the filesystem ``path`` is on (``tmpfs``, ``ext4``, ...), from /proc/mounts."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    resolved = str(path.resolve())
    on = [(point, kind) for point, kind in mounts if resolved == point or resolved.startswith(point.rstrip("/") + "/")]
    return max(on, key=lambda found: len(found[0]))[1] if on else "unknown"


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews absolute times (ratios less so)."""
    return f"{os.getloadavg()[0]:.2f}"


def _cpuinfo_field(name: str) -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _mem_total_kb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _git_revision() -> str:
    """Short commit, marked when migrator/ has uncommitted changes (the usual state while tuning)."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--", "migrator")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} + uncommitted changes" if dirty else commit


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
