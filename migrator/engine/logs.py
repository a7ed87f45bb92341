"""structlog + stdlib logging: one line shape for ours, Alembic's and SQLAlchemy's."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import structlog

Redact = Callable[[str], str]
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def redaction_processor(redact: Redact) -> Callable[..., MutableMapping[str, Any]]:
    """Mask secrets in every string value, tracebacks included (they are strings by now)."""

    def processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in event_dict.items():
            if isinstance(value, str):
                event_dict[key] = redact(value)
            elif isinstance(value, (list, tuple)):
                event_dict[key] = [redact(v) if isinstance(v, str) else v for v in value]
        return event_dict

    return processor


def configure(fmt: str, level: str, redact: Redact, stream: TextIO | None = None) -> None:
    """Configure structlog and route stdlib loggers through the same renderer."""
    stream = stream if stream is not None else sys.stderr
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp")
    pre_chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redaction_processor(redact),
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])
    # Alembic's INFO lines are noise next to our events; progress.py takes the ones it needs.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # Our own events skip the stdlib machinery (a migration logs two of them; at 500
    # migrations that was a measurable share of the run) but render exactly the same.
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            structlog.processors.format_exc_info,
            redaction_processor(redact),
            renderer,
        ],
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        cache_logger_on_first_use=False,
    )


def bind(**fields: Any) -> None:
    """Fields on every event from here on (the run id)."""
    structlog.contextvars.bind_contextvars(**fields)


def get(name: str = "migrator") -> Any:
    return structlog.get_logger().bind(logger=name)
