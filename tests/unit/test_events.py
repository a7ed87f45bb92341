"""The one emitter: every line's shape, level, color and redaction (core/events.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from migrator.core.events import Emitter
from migrator.core.redact import Redactor
from migrator.core.settings import build
from tests.unit.test_settings import cli_args


def test_json_lines_carry_the_bound_run_id_and_the_fields() -> None:
    """One JSON object per line: event, level, logger, timestamp, the run id and the fields."""
    stream = io.StringIO()
    emitter = Emitter("json", "info", stream)
    emitter.bind(run_id="r1")
    emitter.emit("db.ready", attempts=2)
    line = json.loads(stream.getvalue())
    assert {k: v for k, v in line.items() if k != "timestamp"} == {
        "run_id": "r1",
        "attempts": 2,
        "event": "db.ready",
        "level": "info",
        "logger": "migrator",
    }


def test_events_below_the_level_are_dropped() -> None:
    """--log-level warning: info and debug lines are not written."""
    stream = io.StringIO()
    emitter = Emitter("json", "warning", stream)
    emitter.emit("db.ready")
    emitter.emit("db.waiting", level="debug")
    emitter.emit("lock.timeout", level="error")
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["lock.timeout"]


def test_console_lines_are_colored_only_when_asked() -> None:
    """Colors on a terminal; plain text otherwise (and with NO_COLOR, see settings)."""
    plain, colored = io.StringIO(), io.StringIO()
    Emitter("console", "info", plain).emit("db.ready", attempts=1)
    Emitter("console", "info", colored, color=True).emit("db.ready", attempts=1)
    assert "\x1b[" not in plain.getvalue()
    assert "db.ready" in plain.getvalue() and "attempts=1" in plain.getvalue()
    assert "\x1b[" in colored.getvalue()


def test_secrets_are_masked_in_every_value() -> None:
    """Strings, lists and nested values pass through the redactor."""
    stream = io.StringIO()
    emitter = Emitter("json", "info", stream, Redactor(["hunter22"]))
    emitter.emit("x", error="bad hunter22", items=["hunter22"], nested={"url": "postgresql://u:hunter22@h/db"})
    assert "hunter22" not in stream.getvalue()


def test_a_closed_stream_does_not_raise() -> None:
    """Logging to a closed stderr must not turn a result into a crash."""
    stream = io.StringIO()
    stream.close()
    Emitter("json", "info", stream).emit("db.ready")


def test_no_color_turns_colors_off_on_a_terminal(tmp_path: Path) -> None:
    """NO_COLOR (https://no-color.org) wins over a terminal; json never has colors."""
    assert build(cli_args(), {"MIGRATOR_LOG_FORMAT": "console"}, True).log_color is True
    assert build(cli_args(), {"MIGRATOR_LOG_FORMAT": "console", "NO_COLOR": "1"}, True).log_color is False
    assert build(cli_args(), {"MIGRATOR_LOG_FORMAT": "json"}, True).log_color is False


def test_console_lines_show_a_short_run_id_and_json_the_whole() -> None:
    """A person reads 8 characters of the run id (as of a git commit); the JSON line keeps all 32."""
    console, lines = io.StringIO(), io.StringIO()
    for fmt, stream in (("console", console), ("json", lines)):
        emitter = Emitter(fmt, "info", stream)
        emitter.bind(run_id="0123456789abcdef0123456789abcdef")
        emitter.emit("db.ready", attempts=1)
    assert console.getvalue().rstrip().endswith("run_id=01234567")
    assert json.loads(lines.getvalue())["run_id"] == "0123456789abcdef0123456789abcdef"


_PIECES = st.sampled_from(
    [
        "s3cr3t-pw",
        "postgresql://u:s3cr3t-pw@h/db",
        "password=",
        "?sslpassword=x",
        "://",
        "@",
        ":",
        " ",
        "'",
        "\x00",
        "a",
        "=",
        "&",
    ]
)


@given(st.lists(st.one_of(st.lists(_PIECES, max_size=6).map("".join), st.integers()), max_size=6))
def test_a_line_is_masked_as_if_each_value_were_masked_alone(values: list[str | int]) -> None:
    """The joined-text shortcut never leaves unmasked what masking each value alone would mask."""
    redact = Redactor(["s3cr3t-pw"])
    fields = {f"f{index}": value for index, value in enumerate(values)}
    quick, slow = io.StringIO(), io.StringIO()
    Emitter("json", "info", quick, redact).emit("x", **fields)
    by_value = {key: redact(value) if isinstance(value, str) else value for key, value in fields.items()}
    Emitter("json", "info", slow).emit("x", **by_value)
    shown = json.loads(quick.getvalue())
    expected = json.loads(slow.getvalue())
    shown.pop("timestamp"), expected.pop("timestamp")
    assert shown == expected
    assert "s3cr3t-pw" not in quick.getvalue()
