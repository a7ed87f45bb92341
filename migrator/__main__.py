"""`python -m migrator` and the `migrator` console script: the only process exit."""

import os
import sys

from migrator import cli


def run() -> None:
    """Exit without interpreter teardown: every connection is closed and every output flushed
    by now, and tearing down SQLAlchemy and Alembic's modules costs a one-shot job ~50-90 ms."""
    code = cli.main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
