"""The command line: argument errors and help, which need no database."""

from __future__ import annotations

import re

import pytest

from migrator.cli import build_parser, main
from migrator.core.errors import EXIT_CODE_HELP

SUBCOMMANDS = ["upgrade", "downgrade", "stamp", "current", "history", "heads", "create", "check", "wait"]


def exit_code_section(help_text: str) -> list[tuple[int, str]]:
    """The (code, text) rows under 'exit codes:' in a help screen, wrapped lines joined."""
    section = help_text.split("exit codes:\n", 1)[1].split("\n\n", 1)[0]
    rows: list[tuple[int, str]] = []
    for line in section.splitlines():
        row = re.fullmatch(r" +(\d+)  (.+)", line)
        if row is not None:
            rows.append((int(row[1]), row[2]))
        else:
            rows[-1] = (rows[-1][0], rows[-1][1] + " " + line.strip())
    return rows


EXPECTED_ROWS = [(int(code), text) for code, text in EXIT_CODE_HELP.items()]


def test_help_epilog_lists_every_exit_code() -> None:
    """migrator --help documents each exit code with its meaning, in order."""
    rows = exit_code_section(build_parser().format_help())
    assert rows == EXPECTED_ROWS
    assert [code for code, _ in rows] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 70, 130, 143]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_help_lists_the_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """migrator COMMAND --help prints the exit codes on stdout and returns 0 without exiting."""
    assert main([command, "--help"]) == 0
    assert exit_code_section(capsys.readouterr().out) == EXPECTED_ROWS


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown flag returns 2 with argparse's usage error on stderr and nothing on stdout."""
    assert main(["--bogus"]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err.splitlines()[-1]) == (
        "",
        "migrator: error: the following arguments are required: COMMAND",
    )


def test_unknown_flag_after_a_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown flag after the command returns 2, names the flag and prints that command's usage."""
    assert main(["upgrade", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: migrator upgrade ")
    assert err.splitlines()[-1] == "migrator upgrade: error: unrecognized arguments: --bogus"


@pytest.mark.parametrize(
    ("command", "flag"), [("current", "--lock-timeout"), ("heads", "--wait-timeout"), ("stamp", "--backup-command")]
)
def test_a_command_refuses_an_option_that_does_nothing_there(
    command: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, flag, "1"]) == 2
    assert f"migrator {command}: error: unrecognized arguments: {flag}" in capsys.readouterr().err


def test_missing_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A command is required."""
    assert main([]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "migrator: error: the following arguments are required: COMMAND"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stamp"], "migrator stamp: error: the following arguments are required: revision"),
        (
            ["upgrade", "--wait-timeout", "soon"],
            "migrator upgrade: error: argument --wait-timeout: invalid float value: 'soon'",
        ),
        (
            ["--log-format", "xml", "wait"],
            "migrator: error: argument --log-format: invalid choice: 'xml' (choose from 'json', 'console')",
        ),
    ],
)
def test_bad_arguments_are_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Missing or malformed arguments return 2 with argparse's message."""
    assert main(argv) == 2
    assert capsys.readouterr().err.splitlines()[-1] == message


def test_version_returns_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version on stdout and returns 0."""
    assert main(["--version"]) == 0
    assert re.fullmatch(r"migrator \S+\n", capsys.readouterr().out)
