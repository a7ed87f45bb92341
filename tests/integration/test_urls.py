"""Malformed database URLs: every command, every way of giving the URL, refused alike (exit 2 at once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run

PASSWORD_PARTS = ("Sup3r", "Secr3t")
# (URL, what the refusal says); each password holds a raw character that must be percent-encoded.
MALFORMED = [
    ("postgresql://[::1", "'[' without ']' around an IPv6 host"),
    ("postgresql://app:Sup3r@Secr3t@127.0.0.1:1/app", "must be percent-encoded"),
    ("postgresql://app:Sup3r?Secr3t@127.0.0.1:1/app", "must be percent-encoded"),
    ("postgresql://app:Sup3r#Secr3t@127.0.0.1:1/app", "must be percent-encoded"),
    ("postgresql://app:Sup3r\\Secr3t@127.0.0.1:1/app", "must be percent-encoded"),
    ("postgresql://app:Sup3r$Secr3t@127.0.0.1:1/app", "must be percent-encoded"),
    ("postgresql://app:Sup3r%Secr3t@127.0.0.1:1/app", "must be percent-encoded"),
    ("postgresql://app:Sup3rSecr3t@127.0.0.1:1", "names no database"),
    ("postgresql://app:Sup3rSecr3t@127.0.0.1:port/app", "the port must be a number"),
]
COMMANDS = [["upgrade"], ["check"], ["current"], ["downgrade", "-1"], ["history"]]


def assert_refused_at_once(result_code: int, stderr: str, stdout: str, expected: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert result_code == 2, stderr
    assert len(lines) == 1, stderr  # one line: no traceback, no retries
    assert expected in lines[0]
    for part in PASSWORD_PARTS:
        assert part not in stderr + stdout


@pytest.mark.parametrize(("url", "expected"), MALFORMED)
def test_a_malformed_url_in_the_variable_is_refused_by_every_command(url: str, expected: str) -> None:
    """DATABASE_URL: exit 2 in one line for upgrade, check, current, downgrade and history alike."""
    for command in COMMANDS:
        result = run(command, url, MIGRATOR_WAIT_TIMEOUT="30")
        assert_refused_at_once(result.returncode, result.stderr, result.stdout, expected)
        assert result.events[0]["event"] == "run.failed"


@pytest.mark.parametrize(("url", "expected"), MALFORMED[:3])
def test_a_malformed_url_in_the_flag_or_the_file_is_refused_the_same_way(
    url: str, expected: str, tmp_path: Path
) -> None:
    """--database-url and DATABASE_URL_FILE go through the same rules."""
    secret = tmp_path / "database_url"
    secret.write_text(url + "\n")
    by_flag = run(["upgrade", "--database-url", url], None, MIGRATOR_WAIT_TIMEOUT="30")
    by_file = run(["upgrade"], None, MIGRATOR_WAIT_TIMEOUT="30", DATABASE_URL_FILE=str(secret))
    for result in (by_flag, by_file):
        assert_refused_at_once(result.returncode, result.stderr, result.stdout, expected)


def test_a_configuration_error_is_logged_with_the_flags_log_settings_and_a_run_id() -> None:
    """Even a refused URL is one JSON line carrying the run id, and --log-level error still shows it."""
    result = run(["upgrade", "--log-level", "error"], "postgresql://[::1")
    assert result.returncode == 2
    assert [e["event"] for e in result.events] == ["run.failed"]
    assert len(str(result.events[0]["run_id"])) == 32
