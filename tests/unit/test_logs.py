"""The engine's logging (engine/logs.py) ends in the core's one emitter: one renderer for every line."""

from __future__ import annotations

import io
import logging
import warnings

from migrator.core.events import Emitter
from migrator.engine import logs

DIM, RESET = "\x1b[2m", "\x1b[0m"


def lines_of_every_source(color: bool) -> list[str]:
    """A core event, a structlog event, an Alembic stdlib record and a Python warning, on one console."""
    stream = io.StringIO()
    emitter = Emitter("console", "info", stream, color=color)
    logs.configure(emitter)
    emitter.emit("db.ready", attempts=1)
    logs.get().info("migration.started", revision="r1", position=1, total=2)
    logging.getLogger("alembic.runtime.migration").warning("alembic-record")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        emitter.capture_warnings()  # catch_warnings restores the previous hook on leaving
        warnings.warn("money is deprecated", UserWarning, stacklevel=1)
    return stream.getvalue().splitlines()


def test_every_source_is_colored_alike_on_a_terminal() -> None:
    """Core, structlog, stdlib and warnings lines all open with the dimmed timestamp and color their fields."""
    lines = lines_of_every_source(color=True)
    assert [line.split()[3] for line in lines] == [
        "\x1b[1mdb.ready",
        "\x1b[1mmigration.started",
        "\x1b[1malembic-record",
        "\x1b[1mpython.warning",
    ]
    assert all(line.startswith(DIM) and RESET in line for line in lines)


def test_no_source_is_colored_when_colors_are_off() -> None:
    """With colors off (NO_COLOR, off a terminal) not one escape sequence, whichever path wrote the line."""
    lines = lines_of_every_source(color=False)
    assert len(lines) == 4 and not any("\x1b[" in line for line in lines)
    assert [line.split()[3] for line in lines] == ["db.ready", "migration.started", "alembic-record", "python.warning"]
