"""Where each connection attempt's password comes from (core/credentials.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from migrator.core import credentials, urls
from migrator.core.errors import ConfigError, DatabaseUnavailable


def _command(tmp_path: Path, body: str) -> str:
    script = tmp_path / "mint.py"
    script.write_text(body)
    return f"{sys.executable} {script}"


def test_the_first_line_is_the_password_and_a_secret_before_it_is_returned(tmp_path: Path) -> None:
    """Only the first line counts (a trailing CR dropped); the run's Redactor learns it first."""
    learned: list[str] = []
    fetch = credentials.command_password(_command(tmp_path, "print('tok-1\\r')\nprint('other')\n"), learned.append)
    assert fetch() == "tok-1"
    assert learned == ["tok-1"]


def test_a_command_that_prints_nothing_or_cannot_run_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="printed no password"):
        credentials.command_password(_command(tmp_path, "print()\n"), lambda _s: None)()
    with pytest.raises(ConfigError, match="cannot be run"):
        credentials.command_password("/nonexistent/mint --now", lambda _s: None)()
    with pytest.raises(ConfigError, match="is empty"):
        credentials.command_password("   ", lambda _s: None)


def test_a_failing_command_may_be_retried_and_its_stderr_is_shown_without_its_password(tmp_path: Path) -> None:
    body = "import sys\nprint('tok-9')\nprint('denied for tok-9', file=sys.stderr)\nsys.exit(4)\n"
    with pytest.raises(DatabaseUnavailable, match="exited with 4") as raised:
        credentials.command_password(_command(tmp_path, body), lambda _s: None)()
    assert "tok-9" not in raised.value.message
    assert "denied for ***" in raised.value.message


def test_a_url_file_is_read_again_at_every_attempt(tmp_path: Path) -> None:
    """A rotated secret file gives the next attempt its new password, learned as a secret."""
    secret = tmp_path / "url"
    secret.write_text("postgresql://app:first-pw@db/app\n")
    learned: list[str] = []
    source = credentials.Source(None, ("DATABASE_URL_FILE", str(secret), "DATABASE_URL"), learned.append)
    url = urls.parse("postgresql://app:first-pw@db/app")
    assert source.for_attempt(url).password == "first-pw"
    secret.write_text("postgresql://app:second-pw@db/app\n")
    assert source.for_attempt(url).password == "second-pw"
    assert "second-pw" in learned
    assert not credentials.NO_SOURCE.changes and credentials.NO_SOURCE.for_attempt(url) is url
