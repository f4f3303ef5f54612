"""What a report page says about itself: how many runs made it, and commands without local paths.

A page written by :mod:`benchmarks.report` records its number of runs in an HTML comment
(:data:`RUN_COUNT_MARK`), which the next report reads back: it refuses to replace a page made
from more runs than it has (a quick grid's report over the committed page, say) unless forced.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

RUN_COUNT_MARK = "<!-- benchmarks.report: made from {} runs -->"
"""The HTML comment, near the top of a page, that records its number of runs."""
_RECORDED = re.compile(r"<!-- benchmarks\.report: made from (\d+) runs -->")
_FINISHED_RUNS = re.compile(r"^(\d+) finished runs under ", re.M)
"""Pages written before the comment existed say it in their first paragraph."""


def recorded_runs(page: Path) -> int | None:
    """The number of runs a report page was made from, or None (no page, or not a report's)."""
    try:
        text = Path(page).read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    found = _RECORDED.search(text) or _FINISHED_RUNS.search(text)
    return int(found.group(1)) if found else None


def check_overwrite(page: Path, runs: int, force: bool = False) -> None:
    """Refuses to replace a page made from more runs than ``runs``, unless ``force``.

    Raises:
        ValueError: Naming the page and both counts, and how to go on.
    """
    recorded = recorded_runs(page)
    if recorded is not None and recorded > runs and not force:
        raise ValueError(f"{page} was made from {recorded} runs and this report has only {runs}: "
                         f"refusing to overwrite it (give another --out, or --force to replace "
                         f"it)")


def display_path(path: str | os.PathLike, base: Path | None = None) -> str:
    """A path as a page shows it: relative to ``base`` (default: the working folder) if inside."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to((base or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def portable_command(command: str, root: Path, base: Path | None = None) -> str:
    """A recorded command with this machine's absolute paths taken out, where possible.

    An absolute path naming ``root`` (the folder the report reads: a grid command's ``--root``
    given as an absolute path) becomes ``root`` as the page shows it; another absolute path
    inside ``base`` (default: the working folder) becomes relative to it.

    Args:
        command: A shell command, as :func:`shlex.join` wrote it.
        root: The report's root.
        base: The folder relative paths start from.
    """
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    resolved_root = Path(root).resolve()
    shown = []
    for word in words:
        option, equals, value = word.rpartition("=") if word.startswith("--") else ("", "", word)
        if os.path.isabs(value):
            value = (display_path(root, base) if Path(value).resolve() == resolved_root
                     else display_path(value, base))
        shown.append(f"{option}{equals}{value}")
    return shlex.join(shown)
