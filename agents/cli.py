"""Moved: the ``mammad`` command line is the package :mod:`mammad_cli`.

Importing this module raises an ImportError that says where it went (the library does not
import the command line). A ``mammad`` script installed before the move imports it: reinstall
(``pip install -e .``) to get the new entry point ``mammad_cli:main``.
"""

raise ImportError("agents.cli moved to mammad_cli: use `from mammad_cli import main` (or run "
                  "`python -m mammad_cli`); a `mammad` script installed before the move needs "
                  "`pip install -e .` again")
