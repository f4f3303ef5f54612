"""The base of the project's errors.

Example:
    >>> from mammad_envs.errors import MammadError
    >>> from mammad_envs.corpus.grid import TuneError
    >>> issubclass(TuneError, MammadError) and issubclass(TuneError, ValueError)
    True
"""

from __future__ import annotations


class MammadError(Exception):
    """Every error the project raises on purpose derives from it, so a caller can catch them all.

    Most also derive from ValueError (bad input: a file, a name, a value), for compatibility with
    callers that caught those before; a few from RuntimeError or ImportError.
    """
