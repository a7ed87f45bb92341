"""Settings resolved once from flags > environment > DATABASE_URL_FILE > defaults."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.core import settings as settings_mod
from migrator.core import urls
from migrator.core.errors import ConfigError, ExitCode
from migrator.core.options import OPTIONS
from migrator.core.settings import Settings, build

FILE_URL = "postgresql://file:pw@file-host/db"
ENV_URL = "postgresql://env:pw@env-host/db"
FLAG_URL = "postgresql://flag:pw@flag-host/db"


def cli_args(**flags: Any) -> argparse.Namespace:
    """The namespace the CLI hands over: absent flags are None, the store_true flag False."""
    values: dict[str, Any] = {
        "config_path": None,
        "database_url": None,
        "wait_timeout": None,
        "lock_timeout": None,
        "log_format": None,
        "log_level": None,
        "transaction_per_migration": False,
    }
    values.update(flags)
    return argparse.Namespace(**values)


def url_file(tmp_path: Path, content: str) -> str:
    path = tmp_path / "database_url"
    path.write_text(content, encoding="utf-8")
    return str(path)


def config_error(environ: dict[str, str], **flags: Any) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        build(cli_args(**flags), environ, stderr_is_tty=False)
    return raised.value


def test_defaults_apply_when_nothing_is_set() -> None:
    """With no flags and an empty environment every setting has its documented default."""
    assert build(cli_args(), {}, stderr_is_tty=False) == Settings(
        config_path=Path("alembic.ini"),
        database_url=None,
        wait_timeout=60.0,
        lock_timeout=600.0,
        lock_key=None,
        log_format="json",
        log_level="info",
        transaction_per_migration=None,  # not given: as env.py asks
    )


def test_environment_sets_every_setting() -> None:
    """Each setting has its environment variable."""
    environ = {
        "ALEMBIC_CONFIG": "deploy/alembic.ini",
        "DATABASE_URL": ENV_URL,
        "MIGRATOR_WAIT_TIMEOUT": "5",
        "MIGRATOR_LOCK_TIMEOUT": "0.5",
        "MIGRATOR_LOCK_KEY": "-42",
        "MIGRATOR_LOG_FORMAT": "console",
        "MIGRATOR_LOG_LEVEL": "debug",
        "MIGRATOR_TRANSACTION_PER_MIGRATION": "1",
    }
    assert build(cli_args(), environ, stderr_is_tty=False) == Settings(
        config_path=Path("deploy/alembic.ini"),
        database_url=ENV_URL,
        wait_timeout=5.0,
        lock_timeout=0.5,
        lock_key=-42,
        log_format="console",
        log_level="debug",
        transaction_per_migration=True,
        backup_environment=environ,  # what a backup command inherits
    )


def test_flags_win_over_the_environment() -> None:
    """A flag overrides the environment variable for the same setting."""
    environ = {
        "ALEMBIC_CONFIG": "env.ini",
        "DATABASE_URL": ENV_URL,
        "MIGRATOR_WAIT_TIMEOUT": "5",
        "MIGRATOR_LOCK_TIMEOUT": "6",
        "MIGRATOR_LOG_FORMAT": "console",
        "MIGRATOR_LOG_LEVEL": "debug",
    }
    flags = {
        "config_path": "flag.ini",
        "database_url": FLAG_URL,
        "wait_timeout": 0.0,
        "lock_timeout": 7.0,
        "log_format": "json",
        "log_level": "error",
        "transaction_per_migration": True,
    }
    assert build(cli_args(**flags), environ, stderr_is_tty=True) == Settings(
        config_path=Path("flag.ini"),
        database_url=FLAG_URL,
        wait_timeout=0.0,
        lock_timeout=7.0,
        lock_key=None,
        log_format="json",
        log_level="error",
        transaction_per_migration=True,
        backup_environment=environ,  # what a backup command inherits
    )


def test_database_url_flag_wins_over_environment_and_file(tmp_path: Path) -> None:
    """--database-url beats DATABASE_URL, which beats DATABASE_URL_FILE."""
    environ = {"DATABASE_URL": ENV_URL, "DATABASE_URL_FILE": url_file(tmp_path, FILE_URL)}
    assert build(cli_args(database_url=FLAG_URL), environ, False).database_url == FLAG_URL
    assert build(cli_args(), environ, False).database_url == ENV_URL


def test_database_url_file_is_read_and_stripped(tmp_path: Path) -> None:
    """The secret file's content, without the trailing newline editors and kubectl add, is the URL."""
    environ = {"DATABASE_URL_FILE": url_file(tmp_path, f"  {FILE_URL}\n\n")}
    assert build(cli_args(), environ, False).database_url == FILE_URL


def test_empty_database_url_falls_back_to_the_file(tmp_path: Path) -> None:
    """DATABASE_URL set to the empty string counts as unset."""
    environ = {"DATABASE_URL": "", "DATABASE_URL_FILE": url_file(tmp_path, FILE_URL)}
    assert build(cli_args(), environ, False).database_url == FILE_URL


def test_blank_database_url_falls_back_to_the_file(tmp_path: Path) -> None:
    """DATABASE_URL holding only whitespace counts as unset, like the empty string."""
    environ = {"DATABASE_URL": " ", "DATABASE_URL_FILE": url_file(tmp_path, FILE_URL)}
    assert build(cli_args(), environ, False).database_url == FILE_URL


def test_database_url_from_the_environment_is_stripped() -> None:
    """Whitespace around DATABASE_URL is dropped."""
    assert build(cli_args(), {"DATABASE_URL": f" {ENV_URL}\n"}, False).database_url == ENV_URL


def test_missing_database_url_file_is_a_usage_error_naming_the_path(tmp_path: Path) -> None:
    """An unreadable secret file exits 2 and says which file and why."""
    path = tmp_path / "absent"
    error = config_error({"DATABASE_URL_FILE": str(path)})
    assert (error.exit_code, error.message, error.hint) == (
        ExitCode.USAGE,
        f"DATABASE_URL_FILE={path} cannot be read: No such file or directory",
        "mount the secret file or set DATABASE_URL",
    )


def test_empty_database_url_file_is_a_usage_error_naming_the_path(tmp_path: Path) -> None:
    """A secret file holding only whitespace exits 2 and names the file."""
    path = url_file(tmp_path, " \n")
    error = config_error({"DATABASE_URL_FILE": path})
    assert (error.exit_code, error.message, error.hint) == (
        ExitCode.USAGE,
        f"DATABASE_URL_FILE={path} is empty",
        "put the database URL in it",
    )


def test_undecodable_database_url_file_is_a_usage_error(tmp_path: Path) -> None:
    """A secret file that is not UTF-8 exits 2 and names the file."""
    path = tmp_path / "database_url"
    path.write_bytes(b"postgresql://u:\xffpw@host/db\n")
    error = config_error({"DATABASE_URL_FILE": str(path)})
    assert (error.exit_code, str(path) in error.message) == (ExitCode.USAGE, True)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MIGRATOR_WAIT_TIMEOUT": "soon"}, "MIGRATOR_WAIT_TIMEOUT='soon' is not a number of seconds"),
        ({"MIGRATOR_LOCK_TIMEOUT": "10s"}, "MIGRATOR_LOCK_TIMEOUT='10s' is not a number of seconds"),
        ({"MIGRATOR_WAIT_TIMEOUT": "-1"}, "MIGRATOR_WAIT_TIMEOUT='-1' is out of range: 0 to 9223372036 seconds"),
        ({"MIGRATOR_LOCK_TIMEOUT": "-0.5"}, "MIGRATOR_LOCK_TIMEOUT='-0.5' is out of range: 0 to 9223372036 seconds"),
        (
            {"MIGRATOR_HEARTBEAT_INTERVAL": "1e12"},
            "MIGRATOR_HEARTBEAT_INTERVAL='1e12' is out of range: 0 to 9223372036 seconds",
        ),
        (
            {"MIGRATOR_DDL_LOCK_TIMEOUT": "1e9"},
            "MIGRATOR_DDL_LOCK_TIMEOUT='1e9' is out of range: 0 or 0.001 to 2147483.647 seconds "
            "(PostgreSQL takes it in whole milliseconds, a 32-bit integer)",
        ),
        (
            {"MIGRATOR_STATEMENT_TIMEOUT": "0.0004"},
            "MIGRATOR_STATEMENT_TIMEOUT='0.0004' is out of range: 0 or 0.001 to 2147483.647 seconds "
            "(PostgreSQL takes it in whole milliseconds, a 32-bit integer)",
        ),
        ({"MIGRATOR_DDL_RETRIES": "-1"}, "MIGRATOR_DDL_RETRIES='-1' is out of range: 0 or more"),
        ({"MIGRATOR_DDL_RETRIES": "2.5"}, "MIGRATOR_DDL_RETRIES='2.5' is not a whole number"),
        ({"MIGRATOR_LOCK_KEY": "forty-two"}, "MIGRATOR_LOCK_KEY='forty-two' is not an integer"),
        ({"MIGRATOR_LOCK_KEY": "1.5"}, "MIGRATOR_LOCK_KEY='1.5' is not an integer"),
        ({"MIGRATOR_LOCK_KEY": str(2**63)}, "MIGRATOR_LOCK_KEY must fit in a signed 64-bit integer"),
        ({"MIGRATOR_LOCK_KEY": str(-(2**63) - 1)}, "MIGRATOR_LOCK_KEY must fit in a signed 64-bit integer"),
        ({"MIGRATOR_LOG_FORMAT": "xml"}, "MIGRATOR_LOG_FORMAT='xml' is not one of json, console"),
        ({"MIGRATOR_LOG_LEVEL": "critical"}, "MIGRATOR_LOG_LEVEL='critical' is not one of debug, info, warning, error"),
        (
            {"MIGRATOR_TRANSACTION_PER_MIGRATION": "maybe"},
            "MIGRATOR_TRANSACTION_PER_MIGRATION='maybe' is not a boolean (use 1 or 0)",
        ),
    ],
)
def test_bad_environment_values_are_usage_errors(environ: dict[str, str], message: str) -> None:
    """A malformed value exits 2 with a message naming the variable and the value."""
    error = config_error(environ)
    assert (error.exit_code, error.message) == (ExitCode.USAGE, message)


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("wait_timeout", "--wait-timeout -3 is out of range: 0 to 9223372036 seconds"),
        ("lock_timeout", "--lock-timeout -3 is out of range: 0 to 9223372036 seconds"),
    ],
)
def test_negative_timeout_flags_are_usage_errors(flag: str, message: str) -> None:
    """A negative --wait-timeout or --lock-timeout exits 2."""
    error = config_error({}, **{flag: -3.0})
    assert (error.exit_code, error.message) == (ExitCode.USAGE, message)


SECONDS = [o.env for o in OPTIONS if o.kind == "seconds" and o.env]


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "-1", "1e400", "10 s"])
@pytest.mark.parametrize("name", SECONDS)
def test_a_seconds_setting_that_is_no_duration_is_a_usage_error_naming_it(name: str, raw: str) -> None:
    """nan, infinities, negative and unparsable values: exit 2, the variable and its value named in the
    message, the variable and its range in the hint."""
    error = config_error({name: raw})
    assert (error.exit_code, error.message.startswith(f"{name}={raw!r} is ")) == (ExitCode.USAGE, True)
    assert error.hint is not None and error.hint.startswith(f"set {name} to a number of seconds, 0 ")


@pytest.mark.parametrize("flag", ["wait_timeout", "lock_timeout"])
@pytest.mark.parametrize("value", [math.nan, math.inf, 1e10])
def test_a_timeout_flag_beyond_what_python_can_wait_is_a_usage_error(flag: str, value: float) -> None:
    """--wait-timeout nan / inf / 1e10: exit 2 naming the flag."""
    error = config_error({}, **{flag: value})
    assert error.message.startswith("--" + flag.replace("_", "-") + " ")


def test_the_postgresql_timeouts_take_what_postgresql_takes() -> None:
    """ddl_lock_timeout and statement_timeout reach PostgreSQL in whole milliseconds: 0.001 to 2147483.647
    seconds (and 0: off) are taken as given."""
    environ = {"MIGRATOR_DDL_LOCK_TIMEOUT": "2147483.647", "MIGRATOR_STATEMENT_TIMEOUT": "0.001"}
    settings = build(cli_args(), environ, False)
    assert (settings.ddl_lock_timeout, settings.statement_timeout) == (2147483.647, 0.001)
    off = build(cli_args(), {"MIGRATOR_DDL_LOCK_TIMEOUT": "0", "MIGRATOR_STATEMENT_TIMEOUT": "0"}, False)
    assert (off.ddl_lock_timeout, off.statement_timeout) == (0.0, None)


def test_zero_timeouts_are_allowed() -> None:
    """0 means a single attempt, not an error."""
    settings = build(cli_args(), {"MIGRATOR_WAIT_TIMEOUT": "0", "MIGRATOR_LOCK_TIMEOUT": "0"}, False)
    assert (settings.wait_timeout, settings.lock_timeout) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("42", 42),
        ("-42", -42),
        ("0x7fffffffffffffff", 2**63 - 1),
        (str(-(2**63)), -(2**63)),
        ("", None),
    ],
)
def test_lock_key_accepts_signed_64_bit_integers(raw: str, key: int | None) -> None:
    """MIGRATOR_LOCK_KEY takes decimal or 0x-prefixed values across the bigint range; empty means derived."""
    assert build(cli_args(), {"MIGRATOR_LOCK_KEY": raw}, False).lock_key == key


@pytest.mark.parametrize(("stderr_is_tty", "log_format"), [(True, "console"), (False, "json")])
def test_log_format_defaults_to_console_on_a_terminal_and_json_otherwise(stderr_is_tty: bool, log_format: str) -> None:
    """People at a terminal read text; log collectors read JSON."""
    assert build(cli_args(), {}, stderr_is_tty).log_format == log_format


def test_log_format_and_level_are_case_insensitive() -> None:
    """JSON and DEBUG are accepted and normalised to lower case."""
    settings = build(cli_args(), {"MIGRATOR_LOG_FORMAT": "JSON", "MIGRATOR_LOG_LEVEL": "DEBUG"}, True)
    assert (settings.log_format, settings.log_level) == ("json", "debug")


@pytest.mark.parametrize(
    ("raw", "enabled"),
    [
        ("1", True),
        ("true", True),
        (" YES ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", None),  # unset: env.py's own transaction_per_migration decides
    ],
)
def test_transaction_per_migration_env_parses_booleans(raw: str, enabled: bool | None) -> None:
    """MIGRATOR_TRANSACTION_PER_MIGRATION takes 1/0, true/false, yes/no, on/off in any case; empty is unset."""
    environ = {"MIGRATOR_TRANSACTION_PER_MIGRATION": raw}
    assert build(cli_args(), environ, False).transaction_per_migration is enabled


def test_transaction_per_migration_flag_enables_it_without_the_env() -> None:
    """--transaction-per-migration alone turns it on."""
    assert build(cli_args(transaction_per_migration=True), {}, False).transaction_per_migration is True


def test_transaction_per_migration_is_unset_for_commands_without_the_flag() -> None:
    """Subcommands other than upgrade have no such attribute; the setting is then unset (env.py's)."""
    args = cli_args()
    del args.transaction_per_migration
    assert build(args, {}, False).transaction_per_migration is None


def test_settings_repr_hides_the_database_url() -> None:
    """Printing the settings never shows the URL and its password."""
    settings = build(cli_args(database_url="postgresql://u:hunter2@h/db"), {}, False)
    assert "hunter2" not in repr(settings)


def test_settings_and_url_reprs_hide_the_password_and_the_backup_environment() -> None:
    """The URL's own repr, and the environment a backup command inherits, are masked too."""
    environ = {"DATABASE_URL": "postgresql://u:hunter2@h/db", "BACKUP_TOKEN": "s3cret-token"}
    settings = build(cli_args(), environ, False)
    assert "hunter2" not in repr(settings) and "s3cret-token" not in repr(settings)
    url = urls.parse(settings.database_url)
    assert url.password == "hunter2" and "hunter2" not in repr(url) and "user='u'" in repr(url)


def test_heartbeat_interval_is_seconds_from_the_environment_and_0_turns_it_off() -> None:
    """MIGRATOR_HEARTBEAT_INTERVAL: default 10 s, any number of seconds, 0 for no heartbeat, else exit 2."""
    interval = [
        build(cli_args(), environ, stderr_is_tty=False).heartbeat_interval
        for environ in ({}, {"MIGRATOR_HEARTBEAT_INTERVAL": "1"}, {"MIGRATOR_HEARTBEAT_INTERVAL": "0"})
    ]
    assert interval == [10.0, 1.0, 0.0]
    assert "MIGRATOR_HEARTBEAT_INTERVAL='soon'" in config_error({"MIGRATOR_HEARTBEAT_INTERVAL": "soon"}).message
    assert config_error({"MIGRATOR_HEARTBEAT_INTERVAL": "-1"}).exit_code == ExitCode.USAGE


# Every environment variable of the options table, and values an environment can hold: any text (lone
# surrogates too: os.environ decodes undecodable bytes so), numbers in every spelling, near misses.
VARIABLES = sorted({o.env for o in OPTIONS if o.env})
NUMBERS = st.one_of(
    st.floats().map(str),
    st.floats().map(repr),
    st.integers().map(str),
    st.integers().map(hex),
    st.decimals(allow_nan=True).map(str),
    st.sampled_from(["1e9", "1e-9", "-0", "0x", "-0x8000000000000000", "1_000", " 5 ", "٣", "Infinity", "+nan"]),
)
VALUES = st.one_of(st.text(st.characters(codec=None, exclude_categories=())), NUMBERS)


@given(st.dictionaries(st.sampled_from(VARIABLES), VALUES, min_size=1))
@settings(max_examples=500, deadline=None)
def test_any_value_of_any_variable_gives_settings_or_a_usage_error(environ: dict[str, str]) -> None:
    """Whatever text migrator's environment variables hold, the resolver returns Settings or raises
    ConfigError (exit 2): never another exception, which would be a crash (exit 70)."""
    try:
        resolved = build(cli_args(), environ, stderr_is_tty=False)
    except ConfigError as exc:
        assert exc.exit_code == ExitCode.USAGE and exc.message
    else:
        assert isinstance(resolved, Settings)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"MIGRATOR_LOG_FORMAT": "console"}, ("console", "info", True)),
        ({"MIGRATOR_LOG_FORMAT": "console", "NO_COLOR": "1"}, ("console", "info", False)),
        ({"MIGRATOR_LOG_FORMAT": "xml", "MIGRATOR_LOG_LEVEL": "debug"}, ("console", "debug", True)),
        ({"MIGRATOR_LOG_FORMAT": "json", "MIGRATOR_LOG_LEVEL": "loud"}, ("json", "info", False)),
    ],
)
def test_the_log_settings_of_a_failed_configuration_keep_what_is_valid(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: tuple[str, str, bool]
) -> None:
    """On a terminal: the valid variables hold, an invalid one falls back to its default, NO_COLOR holds."""
    for name in ("MIGRATOR_LOG_FORMAT", "MIGRATOR_LOG_LEVEL", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    args = cli_args()
    assert settings_mod.log_settings_from_process(args, stderr_is_tty=True) == expected
