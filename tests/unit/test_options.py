"""core/options.py is the one declaration of every option: argparse, Settings, --help and the
README's configuration and exit-code tables agree with it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from migrator.cli import build_parser
from migrator.core import options
from migrator.core.errors import EXIT_CODE_HELP
from migrator.core.settings import Settings, build

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
# Settings fields that no option sets: derived from others or from the process.
DERIVED = {"log_color", "backup_environment", "database_url_file"}
# A valid value for each option's environment variable, and what Settings makes of it.
SAMPLES: dict[str, tuple[str, object]] = {
    "config_path": ("other.ini", Path("other.ini")),
    "database_url": ("postgresql://u:p@h/db", "postgresql://u:p@h/db"),
    "wait_timeout": ("7", 7.0),
    "lock_timeout": ("8", 8.0),
    "lock_key": ("42", 42),
    "log_format": ("console", "console"),
    "log_level": ("warning", "warning"),
    "target": ("heads", "heads"),
    "phase": ("expand", "expand"),
    "transaction_per_migration": ("1", True),
    "allow_changed": ("a1,b2", ("a1", "b2")),
    "baseline": ("a1", "a1"),
    "report_path": ("/tmp/report.json", Path("/tmp/report.json")),
    "backup_command": ("true", "true"),
    "password_command": ("print-token --for app", "print-token --for app"),
    "ddl_lock_timeout": ("2", 2.0),
    "ddl_retries": ("3", 3),
    "statement_timeout": ("9", 9.0),
    "heartbeat_interval": ("1", 1.0),
    "fast_path": ("0", False),
}


def section_rows(title: str) -> list[str]:
    section = README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def test_the_readme_configuration_table_is_the_option_table() -> None:
    assert section_rows("Configuration") == options.markdown_table()


def test_the_readme_exit_codes_are_the_help_text() -> None:
    rows = section_rows("Exit codes")[2:]
    assert rows == [f"| {int(code)} | {text} |" for code, text in EXIT_CODE_HELP.items()]


def test_every_setting_is_an_option_and_every_option_a_setting() -> None:
    fields = set(Settings._fields) - DERIVED
    assert fields == {o.name for o in options.OPTIONS} == set(SAMPLES)


@pytest.mark.parametrize("option", options.OPTIONS, ids=lambda o: o.name)
def test_each_environment_variable_reaches_its_setting(option: options.Option) -> None:
    raw, expected = SAMPLES[option.name]
    assert option.env is not None
    args = argparse.Namespace(**{o.name: None for o in options.OPTIONS})
    settings = build(args, {option.env: raw}, stderr_is_tty=False)
    assert getattr(settings, option.name) == expected


@pytest.mark.parametrize("command", options.COMMANDS)
def test_each_command_offers_exactly_its_options_and_documents_its_environment(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser()
    sub = getattr(parser, "commands", {}).get(command)
    if sub is None:
        pytest.skip(f"{command} is not a command yet")
    help_text = sub.format_help()  # a command's arguments are added when it is chosen or its help printed
    offered = {flag for action in sub._actions for flag in action.option_strings}
    for option in options.OPTIONS:
        for flag in option.flags:
            assert (flag in offered) == (command in option.commands), (command, flag)
    for option in options.OPTIONS:
        if command in option.commands and not option.flags:
            assert option.env and re.search(rf"\b{option.env}\b", help_text), (command, option.env)
