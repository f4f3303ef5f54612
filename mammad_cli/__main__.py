"""``python -m mammad_cli``: the ``mammad`` command."""

import sys

from mammad_cli.main import main

sys.exit(main())
