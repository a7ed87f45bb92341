"""`python -m migrator` and the `migrator` console script: the only process exit."""

import contextlib
import os
import sys

from migrator import cli


def run() -> None:
    """Exit without interpreter teardown: every connection is closed and every output flushed
    by now, and tearing down SQLAlchemy and Alembic's modules costs a one-shot job ~50-90 ms."""
    code = cli.main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a reader closed early: the code stands
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
