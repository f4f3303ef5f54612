"""The labelling page's sessions: one token per page load, kept while its page is open.

A token is *claimed* once its page uses it (``GET /api/next``, ``POST /api/label`` and the
page's heartbeat, ``POST /api/alive``, all touch it). When the table is full, a new page load
first forgets a token nobody ever used (what a flood of page loads leaves behind: another site
can make a browser load the page, but cannot read the token), then the least recently used
one. So a page that is open, and beats every :data:`HEARTBEAT_SECONDS`, keeps its token
however many pages are loaded meanwhile.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

MAX_SESSIONS = 1000
"""Sessions (page loads) remembered; beyond this an unused, else the least recently used, goes."""
HEARTBEAT_SECONDS = 60
"""How often an open page tells the server it is still open (``POST /api/alive``)."""


@dataclass
class Session:
    """What one page load has labelled, and when its page last used it."""

    labelled: int = 0
    skipped: int = 0
    claimed: bool = False
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    """The page loads' session tokens, at most :data:`MAX_SESSIONS` of them (thread-safe).

    Attributes:
        by_token: Each remembered token's :class:`Session`, least recently used first.
    """

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.by_token: OrderedDict[str, Session] = OrderedDict()
        self.limit = limit
        self._lock = threading.Lock()

    def new(self) -> str:
        """A new session's token (beyond the limit an unused, else the oldest, is forgotten)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.by_token[token] = Session()
            while len(self.by_token) > self.limit:
                self._forget_one(keep=token)
        return token

    def _forget_one(self, keep: str) -> None:
        unused = next((known for known, session in self.by_token.items()
                       if not session.claimed and known != keep), None)
        if unused is not None:
            del self.by_token[unused]
        else:
            self.by_token.popitem(last=False)

    def find(self, token: Any) -> Session | None:
        """The session of a token, now the most recently used; None for an unknown token."""
        if not isinstance(token, str) or not token:
            return None
        with self._lock:
            for known, session in self.by_token.items():
                if secrets.compare_digest(known, token):
                    self.by_token.move_to_end(known)
                    session.claimed = True
                    session.seen = time.monotonic()
                    return session
        return None

    def count(self, session: Session, choice: str) -> None:
        """Counts a new label of a session (a skip, or a choice)."""
        with self._lock:
            if choice == "skip":
                session.skipped += 1
            else:
                session.labelled += 1
