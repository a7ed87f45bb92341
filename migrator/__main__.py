"""`python -m migrator` and the `migrator` console script: the only process exit."""

import contextlib
import os
import sys
import time

# Taken before migrator's own imports, which are a good part of a short run:
# run.finished's duration_ms counts from here (both entry points import this module first).
STARTED = time.monotonic()


def run() -> None:
    """Exit without interpreter teardown: every connection is closed and every output flushed
    by now, and tearing down SQLAlchemy and Alembic's modules costs a one-shot job ~50-90 ms."""
    from migrator import cli

    code = cli.main(started=STARTED)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed, full, gone: the code stands
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
