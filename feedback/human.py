"""A person labels the RLHF loop's pairs on the labelling page: ``mammad rlhf --labeler human``.

:class:`HumanLabeler` is the loop's labeler for a person. The first round starts the labelling
page (:mod:`feedback.labelling`) in a thread of its own, on ``127.0.0.1:8765`` by default, and
logs its address; every round puts its pairs on the page (the page serves those and no others,
with the round's number and how sure the previous round's reward model is about each pair) and
waits until each has an answer in the store (a skip is an answer; it trains nothing). The same
server serves every round; :meth:`HumanLabeler.close` (or leaving its ``with`` block) stops it.

Example (the loop calls ``label_pairs`` itself)::

    with make_labeler("human:alice", port=8765) as labeler:
        run_rlhf(RLHFSettings(labeler="human:alice"), Path("loop"), labeler=labeler)
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from feedback.labelling.app import LOOPBACK, make_app
from feedback.labelling.server import allowed_hosts, default_labeler, page_address
from mammad_envs.errors import MammadError
from rewards.preferences.store import Pair, PreferenceStore
from rewards.preferences.store.checks import check_labeler

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
POLL_SECONDS = 0.5
"""How often :meth:`HumanLabeler.label_pairs` looks for new labels in the store."""
START_SECONDS = 30.0
"""How long the server may take to start."""

logger = logging.getLogger(__name__)


class LabellingTimeoutError(MammadError, TimeoutError):
    """The person did not label a round's pairs in time (the labels given are kept)."""


class LabellingServerError(MammadError, RuntimeError):
    """The labelling page's server cannot start, or has stopped."""


def human_name(spec: str = "human") -> str:
    """The store's name of a person: ``human`` is ``human:<login name>``; ``human:alice`` stays.

    Raises:
        ValueError: If the spec is not ``human`` or ``human:<name>``, or the name is too long.
    """
    kind, colon, name = spec.strip().partition(":")
    if kind != "human" or (colon and not name.strip()):
        raise ValueError(f"a person is 'human' or 'human:<name>', got {spec!r}")
    return check_labeler(f"human:{name.strip()}" if colon else default_labeler())


class HumanLabeler:
    """The loop's labeler for a person at the labelling page.

    Args:
        name: ``human`` (``human:<login name>``) or ``human:<name>``: the labels' name.
        host: Address to serve the page on (another than a loopback address makes it reachable
            by anyone who can reach the machine; a warning says so).
        port: Port (0: any free one; :attr:`url` says which).
        timeout: Seconds a round may wait for its labels (None: for ever).
        poll_seconds: How often to look for new labels.

    Attributes:
        name: The name labels are recorded under, e.g. ``"human:alice"``.
        can_score: False: a person gives no score of a melody (:meth:`scores`), so the loop
            reports no labeler score.
    """

    can_score: ClassVar[bool] = False

    def __init__(self, name: str = "human", *, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, timeout: float | None = None,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.name = human_name(name)
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f"host must be an address such as '127.0.0.1', got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
        if not poll_seconds > 0:
            raise ValueError(f"poll_seconds must be > 0, got {poll_seconds!r}")
        self.host, self.port = host.strip(), port
        self.timeout, self.poll_seconds = timeout, float(poll_seconds)
        self._store: PreferenceStore | None = None
        self._page: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __repr__(self) -> str:
        state = "serving " + self.url if self._server is not None else "not serving"
        return f"HumanLabeler({self.name!r}, {state})"

    def __enter__(self) -> HumanLabeler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def serving(self) -> bool:
        """Whether the page's server runs (from the first round with pairs until :meth:`close`)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        """The page's address (the port the server got, once it serves)."""
        port = self._socket.getsockname()[1] if self._socket is not None else self.port
        return f"http://{page_address(self.host)}:{port}/"

    def scores(self, melodies: Sequence[Any], accompaniments: Any = None) -> Any:
        """Not available: a person compares melodies, and gives no score of one.

        Raises:
            NotImplementedError: Always (see :attr:`can_score`).
        """
        raise NotImplementedError(f"{self.name} compares melodies on the page and gives no "
                                  f"score of a melody (can_score is False)")

    def label_pairs(self, store: PreferenceStore, pairs: Sequence[Pair], round_index: int,
                    model: Any = None) -> int:
        """Puts a round's pairs on the page and waits until each has a label in the store.

        Args:
            store: The loop's store (the page opens its own connection to the same file).
            pairs: The round's unlabelled pairs, all in the store.
            round_index: The round's number (0 for the first), shown on the page.
            model: The previous round's reward model (its certainty about each pair is shown),
                or None.

        Returns:
            How many of the pairs got a label (a skip counts).

        Raises:
            LabellingTimeoutError: If pairs are still unlabelled after ``timeout`` seconds.
            LabellingServerError: If the server cannot start (e.g. the port is taken) or stops.
            ValueError: If the store is another file than the page's.
        """
        tokens = [pair.token for pair in pairs]
        if not tokens and self._page is None:
            return 0  # nothing to ask: no page yet
        if self._page is None:
            self._serve(store.path, round_index, tokens, model)
        else:
            self._check_store(store.path)
            self._page.set_round(round_index, tokens, model)
        if not tokens:
            return 0
        logger.info("round %d: %d pairs to label at %s", round_index, len(tokens), self.url)
        remaining, started, shown = list(tokens), time.monotonic(), -1
        while True:
            remaining = [token for token in remaining if store.pair(token).label is None]
            if len(tokens) - len(remaining) != shown:
                shown = len(tokens) - len(remaining)
                logger.info("round %d: %d of %d pairs labelled", round_index, shown, len(tokens))
            if not remaining:
                return len(tokens)
            if not self.serving:
                raise LabellingServerError(f"the labelling page at {self.url} has stopped with "
                                           f"{len(remaining)} of round {round_index}'s "
                                           f"{len(tokens)} pairs unlabelled")
            if self.timeout is not None and time.monotonic() - started > self.timeout:
                raise LabellingTimeoutError(
                    f"round {round_index}: {len(remaining)} of {len(tokens)} pairs still "
                    f"unlabelled after {self.timeout:g} s at {self.url} (the labels given are "
                    f"kept: run the loop again to go on)")
            time.sleep(self.poll_seconds)

    def close(self) -> None:
        """Stops the server and closes its store (again is harmless)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=START_SECONDS)
        if self._socket is not None:
            self._socket.close()
        if self._store is not None:
            self._store.close()
        self._server = self._thread = self._socket = self._store = self._page = None

    def _check_store(self, db: Path) -> None:
        """Refuses another store than the one the page serves."""
        if self._store is not None and Path(db).resolve() != self._store.path.resolve():
            raise ValueError(f"{self.name}'s page serves {self._store.path}, not {db}: one "
                             f"labeler labels one store")

    def _serve(self, db: Path, round_index: int, tokens: list[str], model: Any) -> None:
        """Starts the page's server on the store's file, serving the first round's pairs."""
        import uvicorn  # the label extra: needed only once a page is served

        from feedback.labelling.timeouts import server_config  # imports uvicorn

        listening = _bind(self.host, self.port)
        store = PreferenceStore(db)
        try:
            app = make_app(store, None, self.name, allowed_hosts=allowed_hosts(self.host))
            app.state.page.set_round(round_index, tokens, model)  # before anyone can ask
            server = uvicorn.Server(server_config(app, self.host, self.port))
            thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]},
                                      name="labelling-page", daemon=True)
            thread.start()
            deadline = time.monotonic() + START_SECONDS
            while not server.started and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            if not server.started:
                server.should_exit = True
                raise LabellingServerError(f"the labelling page did not start on "
                                           f"{self.host}:{self.port}")
        except BaseException:
            store.close()
            listening.close()
            raise
        self._store, self._page, self._server = store, app.state.page, server
        self._thread, self._socket = thread, listening
        if self.host not in LOOPBACK:
            logger.warning("warning: listening on %s: anyone who can reach this machine can "
                           "label", self.host)
        logger.info("labelling as %s: open %s (the loop waits there for your labels each "
                    "round)", self.name, self.url)


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to the address (so a taken port is an error here, not in the thread)."""
    try:
        family = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise LabellingServerError(f"cannot listen on {host}:{port}: {error}") from None
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host.strip("[]"), port))
    except OSError as error:
        listening.close()
        raise LabellingServerError(f"cannot listen on {host}:{port} ({error.strerror}): "
                                   f"choose another port (--port)") from None
    return listening
