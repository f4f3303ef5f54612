"""The labelling page's Starlette app over a preference store (see :mod:`feedback.labelling`).

:func:`make_app` builds it: a :class:`LabellingPage` holds the store, who labels, the page's
three files and the sessions of page loads, and its methods answer the routes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ImportError as error:  # pragma: no cover (the label extra is missing)
    raise ImportError("the labelling page needs starlette and uvicorn: pip install "
                      "'mammad-envs[label]' (or: pip install starlette uvicorn)") from error

from feedback.labelling.headers import SECURITY_HEADERS, SecurityHeaders
from feedback.labelling.rounds import LoopRound, certainty
from feedback.labelling.sessions import HEARTBEAT_SECONDS, MAX_SESSIONS, Session, Sessions
from mammad_envs.data import load_accompaniments
from rewards.preferences.store import (
    CHOICES,
    MAX_TOKEN_LENGTH,
    AlreadyLabelledError,
    Pair,
    PreferenceStore,
    PreferenceStoreError,
)

MAX_BODY = 4096
"""Largest ``POST /api/label`` body, in bytes (a label is under 200)."""
SESSION_META = '<meta name="session" content="">'
"""The tag of ``label.html`` that receives the session token."""
BPM = 120
"""Tempo the page plays at."""
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
"""Host names a page served on a loopback address accepts (others: DNS rebinding)."""
LABEL_FIELDS = ("pair", "choice", "session")
HEARTBEAT_META = '<meta name="heartbeat" content="">'
"""The tag of ``label.html`` that receives :data:`HEARTBEAT_SECONDS`."""

logger = logging.getLogger(__name__)
"""The fields of a ``POST /api/label`` body."""


class _BodyTooLarge(Exception):
    pass


def _static(name: str) -> bytes:
    return (resources.files("feedback") / "static" / name).read_bytes()


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _ok(content: Any) -> JSONResponse:
    return JSONResponse(content)


def model_labels(model: Any) -> int | None:
    """How many labels a reward model was trained on (its card's ``labels``), or None."""
    card = getattr(model, "card", None)
    if isinstance(card, dict) and isinstance(card.get("labels"), int):
        return int(card["labels"])
    return None


def accompaniment_notes(name: str | None, steps: int) -> list[list[int]]:
    """``[pitch, start, end]`` of a bundled accompaniment's first ``steps`` 16ths ([] if none)."""
    if name is None:
        return []
    for loop in load_accompaniments():
        if loop.name == name:
            return [[n.pitch, n.start, n.end] for n in loop.notes_until(steps)]
    return []


def pair_content(pair: Pair) -> dict[str, Any]:
    """What ``GET /api/next`` says of a pair: its token, both melodies and their context."""
    context = pair.context
    return {
        "token": pair.token,
        "a": {"events": pair.a.events.tolist()},
        "b": {"events": pair.b.events.tolist()},
        "context": {"accompaniment": context.accompaniment, "key": context.key,
                    "steps": context.steps},
        "accompaniment": accompaniment_notes(context.accompaniment, context.steps),
    }


class LabellingPage:
    """The handlers of one labelling app (see :func:`make_app` for the arguments)."""

    def __init__(self, store: PreferenceStore, model: Any, labeler: str,
                 pair_source: Callable[[], Any] | None, max_body: int, shuffle: bool) -> None:
        self.store = store
        self.model = model
        self.labeler = labeler
        self.pair_source = pair_source
        self.max_body = max_body
        self.shuffle = shuffle
        self.page = _static("label.html").decode("utf-8")
        for meta in (SESSION_META, HEARTBEAT_META):
            if meta not in self.page:
                raise RuntimeError(f"label.html lacks {meta}")
        self.page = self.page.replace(
            HEARTBEAT_META, f'<meta name="heartbeat" content="{HEARTBEAT_SECONDS}">')
        self.assets = {"label.js": (_static("label.js"), "text/javascript; charset=utf-8"),
                       "label.css": (_static("label.css"), "text/css; charset=utf-8")}
        self.sessions = Sessions(MAX_SESSIONS)
        self.trained_on = model_labels(model)
        self.round: LoopRound | None = None
        self._refill_lock = threading.Lock()

    def set_round(self, index: int, tokens: Sequence[str], model: Any = None) -> None:
        """Serves the pairs of a round of the RLHF loop only, and shows its model's certainty.

        From now on ``GET /api/next`` gives these pairs (in this order) until each has a label,
        then none (the page waits for the next round); ``POST /api/label`` refuses other pairs
        (404); the pair source is no longer asked.

        Args:
            index: The round's number (0 for the first).
            tokens: Its pairs' tokens, all in the store.
            model: The reward model that chose them (the previous round's), or None.
        """
        self.round = LoopRound(index, tokens, model)  # a request sees the old or the new
        self.model, self.trained_on = model, model_labels(model)

    def routes(self) -> list[Route]:
        """The app's routes."""
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/favicon.ico", self.favicon, methods=["GET"]),
            Route("/static/{name:str}", self.static, methods=["GET"]),
            Route("/api/next", self.api_next, methods=["GET"]),
            Route("/api/label", self.api_label, methods=["POST"]),
            Route("/api/alive", self.api_alive, methods=["POST"]),
        ]

    def progress(self, session: Session | None) -> dict[str, Any]:
        """A session's labels and skips, and the store's pairs.

        The store's pairs are labelled (a, b or tie: a skip is no label), skipped, or
        unlabelled (neither).
        """
        counts = self.store.counts()
        skipped = counts["choices"]["skip"]
        return {"session": None if session is None else {"labelled": session.labelled,
                                                         "skipped": session.skipped},
                "store": {"pairs": counts["pairs"], "labelled": counts["labelled"] - skipped,
                          "skipped": skipped, "unlabelled": counts["unlabelled"]}}

    def next_pair(self) -> Pair | None:
        """The next unlabelled pair (of the round, if one is set), or a new one of the source."""
        if self.round is not None:
            return self.round.next_pair(self.store)
        pair = self.store.next_pair(shuffle=self.shuffle)
        if pair is None and self.pair_source is not None:
            with self._refill_lock:  # one refill at a time; another request may have refilled
                pair = self.store.next_pair(shuffle=self.shuffle)
                if pair is None:
                    self.pair_source()
                    pair = self.store.next_pair(shuffle=self.shuffle)
        return pair

    def index(self, request: Request) -> Response:
        """``GET /``: the page, with a new session token."""
        token = self.sessions.new()
        html = self.page.replace(SESSION_META, f'<meta name="session" content="{token}">')
        return Response(html, media_type="text/html; charset=utf-8")

    def static(self, request: Request) -> Response:
        """``GET /static/<name>``: the script or the style sheet."""
        name = request.path_params["name"]
        if name not in self.assets:  # a fixed table: the name never reaches the file system
            return _error(404, f"no such file {name[:40]!r}")
        content, media_type = self.assets[name]
        return Response(content, media_type=media_type)

    def favicon(self, request: Request) -> Response:
        """``GET /favicon.ico``: nothing."""
        return Response(status_code=204)

    def api_alive(self, request: Request) -> JSONResponse:
        """``POST /api/alive``: the page's heartbeat keeps its session (``X-Session``) alive."""
        if self.sessions.find(request.headers.get("x-session")) is None:
            return _error(403, "missing or unknown session token: reload the page")
        return _ok({"alive": True})

    def api_next(self, request: Request) -> JSONResponse:
        """``GET /api/next``: the next pair, the round, the progress and the model's certainty."""
        session = self.sessions.find(request.headers.get("x-session"))
        loop_round = self.round
        model = self.model if loop_round is None else loop_round.model
        pair = self.next_pair()
        body: dict[str, Any] = {"pair": None, "labeler": self.labeler, "bpm": BPM,
                                "round": None if loop_round is None else loop_round.index,
                                "model": {"loaded": model is not None,
                                          "labels": model_labels(model)}}
        if pair is not None:
            body["pair"] = pair_content(pair)
            body["pair"]["model"] = (certainty(model, pair) if loop_round is None
                                     else loop_round.certainty(pair))
        body["progress"] = self.progress(session)
        if loop_round is not None:
            body["progress"]["round"] = loop_round.progress(self.store)
        return _ok(body)

    async def api_label(self, request: Request) -> JSONResponse:
        """``POST /api/label``: checks the body's size, type and JSON, then :meth:`label`."""
        max_body = self.max_body
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return _error(413, f"the body is over {max_body} bytes: a label is "
                               f"{{\"pair\", \"choice\", \"session\"}}")
        try:
            raw = await _read_body(request, max_body)
        except _BodyTooLarge:
            return _error(413, f"the body is over {max_body} bytes")
        if content_type != "application/json":
            return _error(415, "send the label as application/json")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return _error(400, f"the body is not JSON: {error}")
        except RecursionError:
            return _error(400, "the body is not a label: JSON nested too deeply")
        if not isinstance(data, dict):
            return _error(400, "the body must be a JSON object {\"pair\", \"choice\", "
                               "\"session\"}")
        return await run_in_threadpool(self.label, data)  # SQLite may wait for another writer

    def label(self, data: dict[str, Any]) -> JSONResponse:
        """Records the label of a ``POST /api/label`` JSON object, or refuses it (4xx)."""
        session = self.sessions.find(data.get("session"))
        if session is None:
            return _error(403, "missing or unknown session token: reload the page")
        refusal = _malformed_label(data)
        if refusal is not None:
            return refusal
        choice, token = data["choice"], data["pair"]
        loop_round = self.round
        if loop_round is not None and token not in loop_round:
            return _error(404, f"pair {token[:40]!r} is not one of round {loop_round.index}'s")
        try:
            new = self.store.record(token, choice, self.labeler)
        except AlreadyLabelledError as error:
            return _error(409, f"this pair is already labelled {error.label.choice!r}: a pair "
                               f"takes one label", label=error.label.choice)
        except PreferenceStoreError as error:
            if "unknown pair token" not in str(error):
                raise  # not the request's fault (e.g. a closed store): a 500
            return _error(404, f"unknown pair {token[:40]!r}")
        if new:
            self.sessions.count(session, choice)
        return _ok({"new": new, "pair": token, "choice": choice,
                    "progress": self.progress(session)})


def _malformed_label(data: dict[str, Any]) -> JSONResponse | None:
    """The 422 answer to a label with another field, a bad choice or a bad token, or None."""
    unknown = sorted(set(data) - set(LABEL_FIELDS))
    if unknown:
        return _error(422, f"unknown fields {unknown}: a label has pair, choice and session")
    choice, token = data.get("choice"), data.get("pair")
    if not isinstance(choice, str) or choice not in CHOICES:
        return _error(422, f"unknown choice {str(choice)[:40]!r}: use one of "
                           f"{', '.join(repr(c) for c in CHOICES)}", choices=list(CHOICES))
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return _error(422, f"pair must be the token of a pair (a non-empty string of at most "
                           f"{MAX_TOKEN_LENGTH} characters)")
    return None


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return _error(404, f"no such page {request.url.path[:80]!r}")


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's error middleware sends this answer outside every other middleware
    logger.error("the labelling page failed on %s %s", request.method, request.url.path,
                 exc_info=exc)
    return JSONResponse({"error": "the server failed; see its log"}, status_code=500,
                        headers=SECURITY_HEADERS)


def make_app(store: PreferenceStore, model: Any = None, labeler: str = "human:anonymous", *,
             pair_source: Callable[[], Any] | None = None, max_body: int = MAX_BODY,
             allowed_hosts: Sequence[str] | None = None, shuffle: bool = False) -> Starlette:
    """The labelling page's app over a store.

    Args:
        store: The preference store; labels are written to it as they come.
        model: The current reward model, or None: the page shows how many labels it was
            trained on (:func:`model_labels`) and how sure it is about each pair
            (:func:`~feedback.labelling.rounds.certainty`). (It chooses pairs through
            ``pair_source``.) The RLHF loop sets it with each round
            (``app.state.page.set_round``).
        labeler: Who labels, e.g. ``"human:alice"``: every label of this app is recorded under
            this name (a request cannot choose it).
        pair_source: Called (with no argument, one call at a time) when no unlabelled pair is
            left, to make more, e.g. ``lambda: schedule_pairs(store, 20, model)``; the page
            says the pool is used up when it makes none.
        max_body: Largest ``POST`` body in bytes (larger: 413).
        allowed_hosts: Host names the app answers (others: 400), against DNS rebinding; None
            for any (tests).
        shuffle: Show a random unlabelled pair instead of the oldest (several labellers).

    Returns:
        The Starlette app.

    Raises:
        ValueError: If the labeler is empty or ``max_body`` is not positive.
    """
    if not isinstance(labeler, str) or not labeler.strip():
        raise ValueError(f"labeler must be a non-empty name such as 'human:alice', "
                         f"got {labeler!r}")
    if isinstance(max_body, bool) or int(max_body) < 1:
        raise ValueError(f"max_body must be a positive number of bytes, got {max_body!r}")
    page = LabellingPage(store, model, labeler.strip(), pair_source, int(max_body), shuffle)
    middleware = [Middleware(SecurityHeaders)]  # outermost: also on the refusals inside it
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(routes=page.routes(), middleware=middleware,
                    exception_handlers={404: _not_found, 500: _internal_error})
    app.state.sessions = page.sessions.by_token
    app.state.labeler = page.labeler
    app.state.page = page  # set_round: the RLHF loop's rounds (feedback.human)
    return app


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _BodyTooLarge
    return bytes(body)
