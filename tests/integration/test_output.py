"""What reaches stderr: one JSON object per line in json mode, whatever wrote it; on a terminal, every line
colored the same way, core's and the engine's; plain with NO_COLOR or off a terminal."""

from __future__ import annotations

import errno
import os
import pty
import subprocess
from pathlib import Path

from tests.conftest import MIGRATOR, assert_no_secret, clean_env, run, start
from tests.support.projects import Revision, write_project
from tests.support.servers import Server

ESC = "\x1b["
DIM = "\x1b[2m"  # every console line opens with its dimmed timestamp when colored
CREATE_T = 'op.execute("create table t (id int)")'
WARNS = Revision("w1", "w0", upgrade='import warnings\nwarnings.warn("column type money is deprecated here")')
PROJECT = [Revision("w0", None, upgrade=CREATE_T, downgrade='op.drop_table("t")'), WARNS]


def on_a_terminal(args: list[str], url: str, cwd: Path, **env: str) -> tuple[int, list[str]]:
    """The CLI with its stderr on a pseudo-terminal (the console format's default there); its lines."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [MIGRATOR, *args],
        cwd=cwd,
        env=clean_env(DATABASE_URL=url, MIGRATOR_LOG_FORMAT="", **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    code = proc.wait(timeout=90)
    text = b"".join(chunks).decode()
    assert_no_secret(text, url)
    return code, [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def test_a_warning_and_a_report_that_cannot_be_written_are_json_lines_too(
    server: Server, database: str, tmp_path: Path
) -> None:
    """--report naming a directory: report.not_written; a revision that warns: python.warning; every stderr
    line parses as JSON (run() requires it), exit 0, on the full stage and the light one."""
    write_project(tmp_path, PROJECT)
    url = server.url_for(database)
    for stage in ("full", "light"):
        result = run(["upgrade", "--report", str(tmp_path)], url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.event("run.finished").get("fast_path", False) is (stage == "light")
        failed = result.event("report.not_written")
        assert {k: failed[k] for k in ("level", "path", "error")} == {
            "level": "warning",
            "path": str(tmp_path),
            "error": os.strerror(errno.EISDIR),
        }
        assert result.names()[-2:] == ["run.finished", "report.not_written"]
    assert run(["downgrade", "w0"], url, cwd=tmp_path).returncode == 0
    warning = run(["upgrade"], url, cwd=tmp_path).event("python.warning")
    assert {k: warning[k] for k in ("level", "category", "message", "line")} == {
        "level": "warning",
        "category": "UserWarning",
        "message": "column type money is deprecated here",
        "line": 16,
    }
    assert Path(warning["path"]).name == "w1.py"


def test_every_console_line_is_colored_on_a_terminal_and_none_with_no_color(
    server: Server, database: str, tmp_path: Path
) -> None:
    """On a terminal each line (core's db.ready, the engine's migration.started, a warning, the light stage's
    lines) is colored alike; NO_COLOR or a pipe gives the same lines without a single escape sequence."""
    write_project(tmp_path, PROJECT)
    url = server.url_for(database)
    for args in (["upgrade"], ["upgrade"]):  # the full stage, then the light one
        code, lines = on_a_terminal(args, url, tmp_path)
        assert code == 0, lines
        assert lines and all(line.startswith(DIM) for line in lines), lines
    _, colored = on_a_terminal(["downgrade", "base"], url, tmp_path)
    code, plain = on_a_terminal(["upgrade"], url, tmp_path, NO_COLOR="1")
    assert code == 0 and not any(ESC in line for line in plain), plain
    for name in ("db.ready", "migration.started", "python.warning", "run.finished"):
        assert any(name in line for line in plain), name
    assert all(line.startswith(DIM) for line in colored) and any("migration.started" in line for line in colored)
    piped = start(["downgrade", "base"], url, cwd=tmp_path, MIGRATOR_LOG_FORMAT="console")
    _, stderr = piped.communicate(timeout=90)
    assert piped.returncode == 0 and ESC not in stderr and "migration.started" in stderr, stderr
