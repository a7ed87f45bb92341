"""Malformed database URLs: every command, every way of giving the URL, refused alike (exit 2 at once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import run
from tests.support.servers import Server

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


# --- one connection-string model -----------------------------------------------------------------


def libpq_string(server: Server, database: str, **extra: str) -> str:
    """The server's URL as libpq's key=value string, every value quoted as libpq reads it."""
    url = make_url(server.url_for(database))
    parts = {"host": url.host, "port": str(url.port), "dbname": database, "user": url.username}
    parts |= {"password": url.password or "", **extra}
    return " ".join(f"{key}={quoted(str(value))}" for key, value in parts.items())


def quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def test_connect_timeout_in_the_url_is_passed_once_and_honoured(server: Server, database: str) -> None:
    """?connect_timeout=5 used to crash every command (passed to libpq twice): now it is the URL's own."""
    url = with_query(server.url_for(database), "connect_timeout=5&application_name=from-url")
    upgraded = run(["upgrade"], url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert run(["check"], url).returncode == 0


def test_a_libpq_key_value_string_is_the_same_connection(server: Server, database: str) -> None:
    """DATABASE_URL in libpq's key=value syntax, the password quoted, works for every command."""
    dsn = libpq_string(server, database, sslmode="disable", connect_timeout="5")
    assert "password='" in dsn
    upgraded = run(["upgrade"], dsn)
    assert upgraded.returncode == 0, upgraded.stderr
    current = run(["current"], dsn)
    assert current.returncode == 0 and current.stdout.strip() != "base"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sslmod=require", "names an unknown parameter 'sslmod'"),
        ("application_name=a%00b", "holds a NUL character in application_name"),
        ("port=5432,x", "a port must be a number"),
    ],
)
def test_a_bad_query_parameter_is_refused_at_once_naming_it(
    server: Server, database: str, query: str, expected: str
) -> None:
    """An unknown key, a NUL or a bad port in the query: exit 2 in one line, never a crash (70)."""
    result = run(["current"], with_query(server.url_for(database), query))
    assert_refused_at_once(result.returncode, result.stderr, result.stdout, expected)


@pytest.mark.parametrize(
    "content",
    [
        "Sup3rSecr3t\n",  # a file holding only the password
        '{"username": "app", "password": "Sup3rSecr3t", "host": "db"}\n',  # a JSON secret
        "postgres:Sup3rSecr3t@127.0.0.1/app\n",  # a typo: no //
        "host=127.0.0.1 dbname=app password=Sup3r Secr3t\n",  # a libpq string, the password not quoted
        "host=127.0.0.1 dbname=app password='Sup3r Secr3t\n",
        "dbname=app\x00 password=Sup3rSecr3t\n",  # a raw NUL
        "Sup3r" + "Secr3t" * 37_000 + "=\n",  # 223 KB of something else
    ],
    ids=["password", "json", "typo", "unquoted", "unterminated", "nul", "huge"],
)
def test_a_file_that_does_not_parse_is_described_never_echoed(content: str, tmp_path: Path) -> None:
    """DATABASE_URL_FILE holding anything but a connection string: exit 2 at once, nothing of it shown."""
    secret = tmp_path / "database_url"
    secret.write_text(content)
    result = run(["upgrade"], None, MIGRATOR_WAIT_TIMEOUT="30", DATABASE_URL_FILE=str(secret))
    assert result.elapsed < 30  # generous: the refusal is milliseconds, it took 73 s for 100 KB before
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert (result.returncode, len(lines)) == (2, 1), result.stderr[:2000]
    assert len(lines[0]) < 1000
    for part in PASSWORD_PARTS:
        assert part not in result.stderr + result.stdout


def test_migrators_own_url_wins_over_the_apps_pooled_one(server: Server, database: str, tmp_path: Path) -> None:
    """MIGRATOR_DATABASE_URL (or its _FILE) is used instead of DATABASE_URL, which the app keeps for its pooler."""
    direct = server.url_for(database)
    pooled = "postgresql://app:Sup3rSecr3t@127.0.0.1:1/app"  # nothing listens there: using it would fail
    upgraded = run(["upgrade"], pooled, MIGRATOR_DATABASE_URL=direct, MIGRATOR_WAIT_TIMEOUT="2")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Sup3rSecr3t" not in upgraded.stderr + upgraded.stdout
    secret = tmp_path / "direct_url"
    secret.write_text(direct + "\n")
    current = run(["current"], pooled, MIGRATOR_DATABASE_URL_FILE=str(secret), MIGRATOR_WAIT_TIMEOUT="2")
    assert current.returncode == 0, current.stderr
    assert "(head)" in current.stdout
    missing = run(["current"], pooled, MIGRATOR_DATABASE_URL_FILE=str(tmp_path / "absent"))
    assert missing.returncode == 2
    assert "MIGRATOR_DATABASE_URL_FILE=" in missing.stderr and "cannot be read" in missing.stderr
