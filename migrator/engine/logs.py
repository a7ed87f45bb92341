"""structlog and the stdlib loggers (Alembic, SQLAlchemy) routed into the core's one emitter."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

from migrator.core.events import LEVELS, Emitter


def configure(emitter: Emitter) -> None:
    """Every structlog event and every stdlib record reaches ``emitter`` (same shape, level, run id)."""

    def to_emitter(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
        emitter.write(event_dict)
        raise structlog.DropEvent

    level = logging.DEBUG if emitter.threshold <= LEVELS["debug"] else emitter.threshold
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            to_emitter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers[:] = [_ToEmitter(emitter)]
    root.setLevel(level)
    # Alembic's INFO lines are noise next to our events; progress.py takes the ones it needs.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == logging.DEBUG else logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)


class _ToEmitter(logging.Handler):
    """A stdlib record as an event: the message is the event, the logger's name is kept."""

    def __init__(self, emitter: Emitter) -> None:
        super().__init__()
        self.emitter = emitter

    def emit(self, record: logging.LogRecord) -> None:
        event: dict[str, Any] = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.exc_info:
            event["exception"] = logging.Formatter().formatException(record.exc_info)
        self.emitter.write(event)


def get(name: str = "migrator") -> Any:
    return structlog.get_logger().bind(logger=name)
