import sys

from migrator import cli

sys.exit(cli.main())
