"""The labelling page: people compare two melodies in a browser, and the store keeps the choice.

:func:`make_app` builds a small Starlette app over a
:class:`~rewards.preferences.PreferenceStore`; :func:`serve` fills a store from a pool (see
:mod:`rewards.preferences.pool`) and runs the app with uvicorn on ``127.0.0.1:8765``.

Routes (nothing a request sends names a file: the page's three files are read from the package
when the app is made):

========================  ====================================================================
``GET /``                 the page, with a new session token in ``<meta name="session">``
``GET /static/label.js``  its script (``label.css`` its style sheet)
``GET /api/next``         the next unlabelled pair (token, both melodies' events, the context,
                          the accompaniment's notes), progress and the model's label count;
                          ``"pair": null`` when the pool is used up
``POST /api/label``       ``{"pair": token, "choice": "a"|"b"|"tie"|"skip", "session": token}``
========================  ====================================================================

``POST /api/label`` answers 200 ``{"new": true}`` for a new label and ``{"new": false}`` for the
same label again (a double click); 400 for a body that is not a JSON object, 403 for a missing
or unknown session token, 404 for an unknown pair, 409 if the pair has another label, 413 for a
body over ``max_body`` bytes, 415 for a body that is not ``application/json``, and 422 for a bad
choice (naming the valid ones) or a malformed field. Every 4xx leaves the database unchanged.
The page, the script and the style sheet come from this package (no CDN), under a Content
Security Policy that allows nothing else.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

from rewards.preferences.store import (
    CHOICES,
    AlreadyLabelledError,
    Pair,
    PreferenceStore,
    PreferenceStoreError,
)

MAX_BODY = 4096
"""Largest ``POST /api/label`` body, in bytes (a label is under 200)."""
MAX_SESSIONS = 1000
"""Sessions (page loads) remembered; the oldest is forgotten beyond this."""
SESSION_META = '<meta name="session" content="">'
"""The tag of ``label.html`` that receives the session token."""
BPM = 120
"""Tempo the page plays at."""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Sent with every answer: nothing but the package's own files, never framed, never cached."""
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
"""Host names a page served on a loopback address accepts (others: DNS rebinding)."""


@dataclass
class Session:
    """What one page load has labelled."""

    labelled: int = 0
    skipped: int = 0


class _BodyTooLarge(Exception):
    pass


def _static(name: str) -> bytes:
    return (resources.files("rewards.preferences") / "static" / name).read_bytes()


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status,
                        headers=SECURITY_HEADERS)


def _ok(content: Any) -> JSONResponse:
    return JSONResponse(content, headers=SECURITY_HEADERS)


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
    from mammad_envs.data import load_accompaniments

    for loop in load_accompaniments():
        if loop.name == name:
            return [[n.pitch, n.start, n.end] for n in loop.notes_until(steps)]
    return []


def make_app(store: PreferenceStore, model: Any = None, labeler: str = "human:anonymous", *,
             pair_source: Callable[[], Any] | None = None, max_body: int = MAX_BODY,
             allowed_hosts: Sequence[str] | None = None, shuffle: bool = False) -> Starlette:
    """The labelling page's app over a store.

    Args:
        store: The preference store; labels are written to it as they come.
        model: The current reward model, or None: the page shows how many labels it was
            trained on (:func:`model_labels`). (It chooses pairs through ``pair_source``.)
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
    labeler = labeler.strip()
    if isinstance(max_body, bool) or int(max_body) < 1:
        raise ValueError(f"max_body must be a positive number of bytes, got {max_body!r}")
    max_body = int(max_body)
    page = _static("label.html").decode("utf-8")
    if SESSION_META not in page:
        raise RuntimeError(f"label.html lacks {SESSION_META}")
    assets = {"label.js": (_static("label.js"), "text/javascript; charset=utf-8"),
              "label.css": (_static("label.css"), "text/css; charset=utf-8")}
    sessions: OrderedDict[str, Session] = OrderedDict()
    sessions_lock = threading.Lock()
    refill_lock = threading.Lock()
    trained_on = model_labels(model)

    def new_session() -> str:
        token = secrets.token_urlsafe(24)
        with sessions_lock:
            sessions[token] = Session()
            while len(sessions) > MAX_SESSIONS:
                sessions.popitem(last=False)
        return token

    def session_of(token: Any) -> Session | None:
        if not isinstance(token, str) or not token:
            return None
        with sessions_lock:
            for known, session in sessions.items():
                if secrets.compare_digest(known, token):
                    sessions.move_to_end(known)
                    return session
        return None

    def progress(session: Session | None) -> dict[str, Any]:
        counts = store.counts()
        return {"session": None if session is None else {"labelled": session.labelled,
                                                         "skipped": session.skipped},
                "store": {"pairs": counts["pairs"], "labelled": counts["labelled"],
                          "unlabelled": counts["unlabelled"]}}

    def next_pair() -> Pair | None:
        pair = store.next_pair(shuffle=shuffle)
        if pair is None and pair_source is not None:
            with refill_lock:  # one refill at a time; another request may have refilled
                pair = store.next_pair(shuffle=shuffle)
                if pair is None:
                    pair_source()
                    pair = store.next_pair(shuffle=shuffle)
        return pair

    def index(request: Request) -> Response:
        token = new_session()
        html = page.replace(SESSION_META, f'<meta name="session" content="{token}">')
        return Response(html, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:  # a fixed table: the name never reaches the file system
            return _error(404, f"no such file {name[:40]!r}")
        content, media_type = assets[name]
        return Response(content, media_type=media_type, headers=SECURITY_HEADERS)

    def api_next(request: Request) -> JSONResponse:
        session = session_of(request.headers.get("x-session"))
        pair = next_pair()
        body: dict[str, Any] = {"pair": None, "labeler": labeler, "bpm": BPM,
                                "model": {"loaded": model is not None, "labels": trained_on}}
        if pair is not None:
            context = pair.context
            body["pair"] = {
                "token": pair.token,
                "a": {"events": pair.a.events.tolist()},
                "b": {"events": pair.b.events.tolist()},
                "context": {"accompaniment": context.accompaniment, "key": context.key,
                            "steps": context.steps},
                "accompaniment": accompaniment_notes(context.accompaniment, context.steps),
            }
        body["progress"] = progress(session)
        return _ok(body)

    async def api_label(request: Request) -> JSONResponse:
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
        if not isinstance(data, dict):
            return _error(400, "the body must be a JSON object {\"pair\", \"choice\", "
                               "\"session\"}")
        return await run_in_threadpool(label, data)  # SQLite may wait for another writer

    def label(data: dict[str, Any]) -> JSONResponse:
        session = session_of(data.get("session"))
        if session is None:
            return _error(403, "missing or unknown session token: reload the page")
        unknown = sorted(set(data) - {"pair", "choice", "session"})
        if unknown:
            return _error(422, f"unknown fields {unknown}: a label has pair, choice and session")
        choice, token = data.get("choice"), data.get("pair")
        if not isinstance(choice, str) or choice not in CHOICES:
            return _error(422, f"unknown choice {str(choice)[:40]!r}: use one of "
                               f"{', '.join(repr(c) for c in CHOICES)}", choices=list(CHOICES))
        if not isinstance(token, str) or not token or len(token) > 128:
            return _error(422, "pair must be the token of a pair (a non-empty string)")
        try:
            new = store.record(token, choice, labeler)
        except AlreadyLabelledError as error:
            return _error(409, f"this pair is already labelled {error.label.choice!r}: a pair "
                               f"takes one label", label=error.label.choice)
        except PreferenceStoreError as error:
            if "unknown pair token" not in str(error):
                raise  # not the request's fault (e.g. a closed store): a 500
            return _error(404, f"unknown pair {token[:40]!r}")
        if new:
            with sessions_lock:
                if choice == "skip":
                    session.skipped += 1
                else:
                    session.labelled += 1
        return _ok({"new": new, "pair": token, "choice": choice,
                    "progress": progress(session)})

    def favicon(request: Request) -> Response:
        return Response(status_code=204, headers=SECURITY_HEADERS)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route("/static/{name:str}", static, methods=["GET"]),
        Route("/api/next", api_next, methods=["GET"]),
        Route("/api/label", api_label, methods=["POST"]),
    ]
    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return _error(404, f"no such page {request.url.path[:80]!r}")

    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
    app.state.sessions = sessions
    app.state.labeler = labeler
    return app


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _BodyTooLarge
    return bytes(body)


def default_labeler() -> str:
    """``human:<login name>`` (``human:anonymous`` if it cannot be told)."""
    try:
        name = getpass.getuser().strip()
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        name = ""
    return f"human:{name or 'anonymous'}"


def build_app(db: str | os.PathLike[str], pool: str | os.PathLike[str] | None = None, *,
              host: str = "127.0.0.1", model: str | os.PathLike[str] | None = None,
              labeler: str | None = None, pairs: int = 20, count: int | None = None,
              steps: int | None = None, seed: int = 0, temperature: float = 1.0,
              accompaniment: str | None = None, trust_pickle: bool = False,
              shuffle: bool = False) -> tuple[Starlette, PreferenceStore]:
    """Opens the store, fills it from the pool and makes the app: :func:`serve` but the server.

    Args:
        db: See :func:`serve` for these.
        pool: The pool.
        host: The address the app will be served on (sets the host names it answers).
        model: A reward model file.
        labeler: Who labels.
        pairs: Pairs to make at a time.
        count: Melodies to draw from the pool.
        steps: Melody length for a MIDI folder or the Note-RNN.
        seed: Seed of the pool and of the scheduler.
        temperature: Note-RNN sampling temperature.
        accompaniment: Note-RNN pool: a bundled accompaniment.
        trust_pickle: Run pool: load a model file that holds pickles.
        shuffle: Show a random unlabelled pair instead of the oldest.

    Returns:
        ``(app, store)``: close the store when done.
    """
    import numpy as np

    from rewards.preferences.pool import fill_store, schedule_pairs
    from rewards.preferences.reward_model import load_reward_model

    if isinstance(pairs, bool) or int(pairs) < 1:
        raise ValueError(f"pairs must be a positive number, got {pairs!r}")
    labeler = default_labeler() if labeler is None else labeler.strip()
    if labeler and ":" not in labeler:
        labeler = f"human:{labeler}"
    reward_model = None if model is None else load_reward_model(model)
    store = PreferenceStore(db)
    try:
        if pool is not None:
            ids = fill_store(store, pool, count=count, steps=steps, seed=seed,
                             temperature=temperature, accompaniment=accompaniment,
                             trust_pickle=trust_pickle)
            print(f"pool {pool}: {len(set(ids))} melodies in {db}")
        rng = np.random.default_rng(seed)

        def more_pairs() -> list[str]:
            return schedule_pairs(store, int(pairs), reward_model, rng)

        hosts = None if host in ("0.0.0.0", "::") else sorted({host, *LOOPBACK})
        app = make_app(store, reward_model, labeler, pair_source=more_pairs,
                       allowed_hosts=hosts, shuffle=shuffle)
    except BaseException:
        store.close()
        raise
    return app, store


def serve(db: str | os.PathLike[str], pool: str | os.PathLike[str] | None = None, *,
          host: str = "127.0.0.1", port: int = 8765, model: str | os.PathLike[str] | None = None,
          labeler: str | None = None, pairs: int = 20, count: int | None = None,
          steps: int | None = None, seed: int = 0, temperature: float = 1.0,
          accompaniment: str | None = None, trust_pickle: bool = False,
          shuffle: bool = False) -> int:
    """``mammad label``: fills a store from a pool and serves the labelling page until Ctrl-C.

    Prints the page's address first. Bound to 127.0.0.1 by default; another host makes the
    page reachable by anyone who can reach the machine (a warning says so). Pairs are made
    when none is left unlabelled, ``pairs`` at a time, among the store's melodies of one
    context (:func:`~rewards.preferences.pool.schedule_pairs`).

    Args:
        db: The preference store (a SQLite file, created if missing), e.g. ``prefs.sqlite``
            (``--db``).
        pool: Where candidate melodies come from (``--pool``): a folder of MIDI files, a run
            folder or its ``model.zip``, or ``note_rnn`` (see :mod:`rewards.preferences.pool`);
            None to label the store's own pairs and pair its own melodies.
        host: Address to listen on (``--host``).
        port: Port (``--port``).
        model: A reward model file (``--model``, e.g. ``pref_model/model.pt``): the pairs it is
            least sure of are shown first, and the page shows how many labels it learnt from.
        labeler: The name labels are recorded under (``--labeler``; default
            ``human:<login name>``). A name without a ``kind:`` prefix gets ``human:``.
        pairs: Pairs to make each time none is left unlabelled (``--pairs``).
        count: Melodies to draw from the pool (``--count``): episodes of a run or Note-RNN
            samples (default 32), or at most this many MIDI files (default all).
        steps: Melody length in 16ths for a MIDI folder (cut or padded; default each file's
            own) or the Note-RNN (default 32) (``--steps``).
        seed: Seed of the pool's episodes or samples and of the pair scheduler (``--seed``).
        temperature: Note-RNN sampling temperature (``--temperature``).
        accompaniment: Note-RNN pool: a bundled accompaniment to put the melodies over
            (``--accompaniment``).
        trust_pickle: Run pool: load a model file that holds pickles (``--trust-pickle``).
        shuffle: Show a random unlabelled pair instead of the oldest (``--shuffle``; for
            several labellers at once).

    Returns:
        0 once the server has stopped.

    Raises:
        ValueError: On an invalid argument, pool or model file (before anything is served).
        FileNotFoundError: If the model file is missing.
    """
    import uvicorn

    if isinstance(port, bool) or not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be 0..65535, got {port!r}")
    app, store = build_app(db, pool, host=host, model=model, labeler=labeler, pairs=pairs,
                           count=count, steps=steps, seed=seed, temperature=temperature,
                           accompaniment=accompaniment, trust_pickle=trust_pickle,
                           shuffle=shuffle)
    try:
        if host not in LOOPBACK:
            print(f"warning: listening on {host}: anyone who can reach this machine can label")
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        print(f"labelling as {app.state.labeler}: open http://{shown}:{port}/ "
              f"(Ctrl-C to stop)", flush=True)
        uvicorn.run(app, host=host, port=int(port), log_level="warning")
    finally:
        store.close()
    return 0
