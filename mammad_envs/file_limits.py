"""Reading files of bounded size: a file too large, or no regular file, is refused by name first.

Every file the project reads from a user (MIDI files, run configurations, hyperparameter YAML,
reward-model and Note-RNN weights) goes through :func:`regular_file_size` and
:func:`check_size` before it is opened: a folder, a FIFO (whose opening would wait for a
writer), a device or a loop of symbolic links is named as such, and a file over its limit is
refused from its size on disk, before anything is parsed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"),
          (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))


def regular_file_size(path: str | os.PathLike, what: str,
                      error: type[Exception] = ValueError) -> int:
    """The size of a regular file, from ``os.stat`` (the file is not opened).

    Args:
        path: The file (symbolic links are followed).
        what: What the file should be, for messages ("MIDI file", "run configuration"...).
        error: The exception raised for a path that is not a readable regular file.

    Raises:
        FileNotFoundError: If there is no such file (or a symbolic link to nothing).
        error: If the path is a folder, a FIFO, a socket, a device or a loop of symbolic links,
            or cannot be looked at; the message names it.
    """
    path = Path(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        link = " (a symbolic link to a missing file)" if path.is_symlink() else ""
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist{link}") from None
    except OSError as problem:  # ELOOP, a path through a file, no permission...
        raise error(f"{what} {str(path)!r} cannot be read: {problem.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        raise error(f"{str(path)!r} is a directory, not a {what}")
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _KINDS if test(status.st_mode)), "special file")
        raise error(f"{str(path)!r} is a {kind}, not a {what}: only regular files are read")
    return status.st_size


def check_size(path: str | os.PathLike, size: int, max_bytes: int, what: str, limit: str,
               raise_it: str, error: type[Exception] = ValueError) -> None:
    """Refuses a file of ``size`` bytes over ``max_bytes``.

    Args:
        path: The file.
        size: Its size.
        max_bytes: The limit.
        what: What the file is, for the message.
        limit: Names the limit (the argument and the module constant behind its default).
        raise_it: Says how to read a larger file.
        error: The exception to raise.

    Raises:
        error: ``"<what> '<path>' is <size> bytes, over the limit of <max_bytes> (<limit>):
            <raise_it>"``.
    """
    if size > max_bytes:
        raise error(f"{what} {str(path)!r} is {size:,} bytes, over the limit of {max_bytes:,} "
                    f"({limit}): {raise_it}")


def check_limit(name: str, value: int) -> None:
    """Raises a ValueError naming ``name`` unless ``value`` is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def read_bounded(path: str | os.PathLike, max_bytes: int, what: str, limit: str, raise_it: str,
                 error: type[Exception] = ValueError) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, checked before it is opened.

    Raises:
        FileNotFoundError: If there is no such file.
        error: As :func:`regular_file_size` and :func:`check_size`, or if the file cannot be
            read or grows while it is read.
        ValueError: If ``max_bytes`` is not a positive integer.
    """
    check_limit("max_bytes", max_bytes)
    size = regular_file_size(path, what, error)
    check_size(path, size, max_bytes, what, limit, raise_it, error)
    try:
        with open(path, "rb") as file:
            data = file.read(size + 1)
    except OSError as problem:
        raise error(f"{what} {str(path)!r} cannot be read: {problem}") from problem
    if len(data) > size:  # read to one byte past its size: it grew after the check
        raise error(f"{what} {str(path)!r} changed while it was read (it grew past {size:,} "
                    f"bytes)")
    return data
