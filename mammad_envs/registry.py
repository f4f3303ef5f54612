"""Registry: names to entries, each a value or a lazy ``"package.module:attribute"`` string.

One small helper behind every registry of the project (encodings, rewards, music-theory rules,
agents), after imitation's ``util/registry.py``: a string entry is imported only when it is
first used, so registering costs nothing and heavy modules load on demand. A registry is a
``dict`` (``name in registry``, ``sorted(registry)``, ``registry.pop(name)`` work as usual)
with :meth:`Registry.register` for checked additions and :meth:`Registry.load` for lookups
with a clear error.

Example:
    >>> from mammad_envs.registry import Registry
    >>> shapes = Registry("shape", {"circle": "math:pi"})
    >>> round(shapes.load("circle"), 2)
    3.14
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def import_entry(text: str) -> Any:
    """The object named by ``"package.module:attribute"``.

    Raises:
        ImportError: If the module cannot be imported or lacks the attribute.
    """
    module, _, attribute = text.partition(":")
    try:
        return getattr(import_module(module), attribute)
    except AttributeError as error:
        raise ImportError(f"{text!r}: module {module!r} has no attribute {attribute!r}") \
            from error


def is_lazy(entry: Any) -> bool:
    """Whether an entry is a ``"module:attribute"`` string."""
    return isinstance(entry, str) and ":" in entry


class Registry(dict):
    """Names of one kind of thing to entries (values or lazy strings).

    Args:
        kind: What the entries are, for messages (``"reward"``, ``"encoding"``...).
        entries: The initial entries.
        hint: Appended to the unknown-name error, e.g. how to combine names.
    """

    def __init__(self, kind: str, entries: Mapping[str, Any] | None = None,
                 hint: str = "") -> None:
        super().__init__(entries or {})
        self.kind = kind
        self.hint = hint

    def register(self, name: str, entry: Any, *, overwrite: bool = False,
                 check: Callable[[Any], bool] | None = None, expected: str = "") -> Any:
        """Adds an entry under a name.

        Args:
            name: An identifier that does not start with ``_``.
            entry: The value, or a ``"module:attribute"`` string (imported on first use).
            overwrite: Replace an existing entry of that name.
            check: Whether a (non-lazy) entry is acceptable.
            expected: What an acceptable entry is, for the error message.

        Returns:
            The entry.

        Raises:
            ValueError: If the name is malformed or taken, or the entry fails ``check``.
        """
        article = "an" if self.kind[0] in "aeiou" else "a"
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"{article} {self.kind} name must be an identifier such as "
                             f"'my_{self.kind.split()[-1]}', got {name!r}")
        if name in self and not overwrite:
            raise ValueError(f"{article} {self.kind} named {name!r} exists already; "
                             f"{self.kind}s: {sorted(self)}")
        if check is not None and not is_lazy(entry) and not check(entry):
            raise ValueError(f"{self.kind} {name!r} must be {expected or 'valid'} or a "
                             f"'module:attribute' string, got {entry!r}")
        self[name] = entry
        return entry

    def load(self, name: str) -> Any:
        """The entry of a name, imported if it is lazy (and then kept).

        Raises:
            ValueError: If no entry has that name (naming the valid ones).
            ImportError: If a lazy entry cannot be imported.
        """
        if not isinstance(name, str) or name not in self:
            raise ValueError(f"unknown {self.kind} {name!r}: choose among {sorted(self)}"
                             f"{self.hint}")
        entry = self[name]
        if is_lazy(entry):
            entry = import_entry(entry)
            self[name] = entry
        return entry
