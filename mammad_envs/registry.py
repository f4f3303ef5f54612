"""Registry: names to entries, each a value or a lazy ``"package.module:attribute"`` string.

One small helper behind every registry of the project (encodings, rewards, music-theory rules,
agents), after imitation's ``util/registry.py``: a string entry is imported only when it is
first used, so registering costs nothing and heavy modules load on demand. A registry reads like
a ``dict`` (``name in registry``, ``sorted(registry)``, ``registry[name]``, ``registry.pop(name)``
work as usual), but every write goes through :meth:`Registry.register` and its checks
(``registry[name] = entry`` is ``registry.register(name, entry, overwrite=True)``), and
:meth:`Registry.load` looks a name up with a clear error.

:func:`import_entry` is the one place that imports a ``"module:attribute"`` string (registry
entries, ``--labeler module:function``, plugin agents).

Example:
    >>> from mammad_envs.registry import Registry
    >>> shapes = Registry("shape", {"circle": "math:pi"})
    >>> round(shapes.load("circle"), 2)
    3.14
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from importlib import import_module
from typing import Any

from mammad_envs.errors import MammadError


class EntryImportError(MammadError, ImportError):
    """A ``"module:attribute"`` string that names nothing importable.

    Attributes:
        entry: The string.
        module: Its module part.
        attribute: Its attribute part.
        missing_attribute: True if the module imported but lacks the attribute; False if the
            module (or the string) is the problem (the import error is the ``__cause__``).
        looked_in: The working folder, if the module was looked for there too; else None.
    """

    def __init__(self, message: str, entry: str, *, missing_attribute: bool = False,
                 looked_in: str | None = None) -> None:
        module, _, attribute = entry.partition(":")
        super().__init__(message, name=module or None)
        self.entry = entry
        self.module = module
        self.attribute = attribute
        self.missing_attribute = missing_attribute
        self.looked_in = looked_in


def import_entry(text: str, *, working_folder_last: bool = False) -> Any:
    """The object named by ``"package.module:attribute"`` (the attribute may be dotted).

    Args:
        text: The string.
        working_folder_last: If the module is not installed, look for it in the working folder
            too, as ``python -m`` would (the folder is appended to ``sys.path``, so it shadows
            no installed module). For names the user types, e.g. ``--labeler my_taste:score``
            finding ``./my_taste.py``.

    Returns:
        The object.

    Raises:
        EntryImportError: An ImportError: if the string is not ``module:attribute``, the module
            cannot be imported (its error is the ``__cause__``), or it lacks the attribute.
    """
    module_name, _, attribute = text.partition(":")
    if not module_name or not attribute:
        raise EntryImportError(f"{text!r} is not 'module:attribute'", text)
    looked_in = None
    try:
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as error:
            looked_in = _working_folder_to_search(error, module_name, working_folder_last)
            if looked_in is None:
                raise
            sys.path.append(looked_in)
            module = import_module(module_name)
    except ImportError as error:
        where = "" if looked_in is None else \
            f" (looked in the installed packages and in {looked_in})"
        raise EntryImportError(f"{text!r}: cannot import {module_name!r}{where}: {error}", text,
                               looked_in=looked_in) from error
    target = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as error:
            raise EntryImportError(f"{text!r}: module {module_name!r} has no attribute "
                                   f"{attribute!r}", text, missing_attribute=True) from error
    return target


def _working_folder_to_search(error: ModuleNotFoundError, module_name: str,
                              wanted: bool) -> str | None:
    """The working folder, if a module missing from the installed ones may be found there."""
    # The `mammad` command's own folder is first on its path, not the working folder: a module
    # of the working folder is found only if we look there.
    here = os.getcwd()
    if not wanted or error.name != module_name.split(".")[0] or here in sys.path \
            or "" in sys.path:
        return None
    return here


def is_lazy(entry: Any) -> bool:
    """Whether an entry is a ``"module:attribute"`` string."""
    return isinstance(entry, str) and ":" in entry


class Registry(MutableMapping):
    """Names of one kind of thing to entries (values or lazy strings).

    Reading works as on a dict; writing (``register``, ``registry[name] = entry``, ``update``)
    checks the name and, when the registry has a ``check``, the entry.

    Args:
        kind: What the entries are, for messages (``"reward"``, ``"encoding"``...).
        entries: The initial entries (trusted: not checked).
        hint: Appended to the unknown-name error, e.g. how to combine names.
        check: Whether a (non-lazy) entry is acceptable, for every write that gives no other.
        expected: What an acceptable entry is, for the error message.
    """

    def __init__(self, kind: str, entries: Mapping[str, Any] | None = None, hint: str = "", *,
                 check: Callable[[Any], bool] | None = None, expected: str = "") -> None:
        self._entries: dict[str, Any] = dict(entries or {})
        self.kind = kind
        self.hint = hint
        self.check = check
        self.expected = expected

    def register(self, name: str, entry: Any = None, *, indirect: str | None = None,
                 overwrite: bool = False, check: Callable[[Any], bool] | None = None,
                 expected: str = "") -> Any:
        """Adds an entry under a name.

        Args:
            name: An identifier that does not start with ``_``.
            entry: The value, or a ``"module:attribute"`` string (imported on first use).
            indirect: A ``"module:attribute"`` string, instead of ``entry`` (as in imitation).
            overwrite: Replace an existing entry of that name.
            check: Whether a (non-lazy) entry is acceptable (default: the registry's).
            expected: What an acceptable entry is, for the error message.

        Returns:
            The entry.

        Raises:
            ValueError: If the name is malformed or taken, or the entry fails the check.
        """
        if indirect is not None:
            if entry is not None or not is_lazy(indirect):
                raise ValueError(f"{self.kind} {name!r}: give either an entry or indirect="
                                 f"'module:attribute', got {entry!r} and {indirect!r}")
            entry = indirect
        article = "an" if self.kind[0] in "aeiou" else "a"
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"{article} {self.kind} name must be an identifier such as "
                             f"'my_{self.kind.split()[-1]}', got {name!r}")
        if name in self._entries and not overwrite:
            raise ValueError(f"{article} {self.kind} named {name!r} exists already; "
                             f"{self.kind}s: {sorted(self)}")
        if check is None:
            check, expected = self.check, expected or self.expected
        if check is not None and not is_lazy(entry) and not check(entry):
            raise ValueError(f"{self.kind} {name!r} must be {expected or 'valid'} or a "
                             f"'module:attribute' string, got {entry!r}")
        self._entries[name] = entry
        return entry

    def load(self, name: str) -> Any:
        """The entry of a name, imported if it is lazy (and then kept).

        Raises:
            ValueError: If no entry has that name (naming the valid ones).
            ImportError: If a lazy entry cannot be imported.
        """
        if not isinstance(name, str) or name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}: choose among {sorted(self)}"
                             f"{self.hint}")
        entry = self._entries[name]
        if is_lazy(entry):
            entry = import_entry(entry)
            self._entries[name] = entry
        return entry

    def get(self, name: str, default: Any = None) -> Any:
        """The entry of a name as registered (a lazy string stays a string), or ``default``."""
        return self._entries.get(name, default)

    def __getitem__(self, name: str) -> Any:
        return self._entries[name]

    def __setitem__(self, name: str, entry: Any) -> None:
        self.register(name, entry, overwrite=True)

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self._entries!r})"
