"""stdout and stderr as a one-shot job must treat them: a reader may close them, a disk may fill, a
container may start the process with either closed, and a revision may print a secret.

None of that may change what the command does to the database or its exit code: a write that
cannot be made is dropped (the rest of the output with it), never raised.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TextIO, cast

Redact = Callable[[str], str]


class Guarded:
    """A text stream whose failing writes are dropped; each write masked by ``redact`` when given."""

    def __init__(self, inner: TextIO | None, redact: Redact | None = None) -> None:
        self._inner = inner if inner is not None else _null()
        self.redact = redact
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._inner.write(self.redact(text) if self.redact is not None and text else text)
            except (OSError, ValueError):  # BrokenPipeError, ENOSPC (/dev/full), a stream closed under us
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._inner.flush()
            except (OSError, ValueError):
                self.broken = True

    def isatty(self) -> bool:
        try:
            return self._inner.isatty()
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def guarded(inner: TextIO | None, redact: Redact | None = None) -> TextIO:
    """``inner`` as a Guarded stream, typed as the stream it stands in for."""
    return cast(TextIO, Guarded(inner, redact))


def _null() -> TextIO:
    """Where output goes when the process was started with the stream closed (``>&-``)."""
    return open(os.devnull, "w", encoding="utf-8")  # lives as long as the process
