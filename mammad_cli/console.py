"""What the library logs, shown on the console: information on stdout, warnings on stderr.

The library prints nothing; it logs (``logging.getLogger(__name__)``) and returns results. The
command line shows its packages' messages as plain lines, as a command's own output.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LIBRARY_LOGGERS = ("mammad_envs", "rewards", "agents", "feedback")
"""The loggers of the project's packages."""


class ConsoleHandler(logging.Handler):
    """Writes a record's message to stdout (below WARNING) or stderr.

    The streams are looked up at each record, so a caller that replaces ``sys.stdout`` (a test
    capturing output) gets the messages.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Writes one record, flushed."""
        try:
            stream = sys.stdout if record.levelno < logging.WARNING else sys.stderr
            print(self.format(record), file=stream, flush=True)
        except Exception:  # logging must not raise: report it the logging way
            self.handleError(record)


@contextmanager
def library_messages() -> Iterator[None]:
    """Shows the project's INFO messages and above on the console while a command runs.

    On exit the loggers are as they were, so that calling :func:`mammad_cli.main` from Python
    leaves no handler behind.
    """
    handler = ConsoleHandler()
    saved = []
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
