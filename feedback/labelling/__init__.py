"""The labelling page: people compare two melodies in a browser, and the store keeps the choice.

:func:`make_app` (:mod:`feedback.labelling.app`) builds a small Starlette app over a
:class:`~rewards.preferences.PreferenceStore`; :func:`serve` (:mod:`feedback.labelling.server`)
fills a store from a pool (see :mod:`feedback.pool`) and runs the app with uvicorn on
``127.0.0.1:8765``.

Routes (nothing a request sends names a file: the page's three files are read from the package
when the app is made):

========================  ====================================================================
``GET /``                 the page, with a new session token in ``<meta name="session">``
``GET /static/label.js``  its script (``label.css`` its style sheet)
``GET /api/next``         the next unlabelled pair (token, both melodies' events, the context,
                          the accompaniment's notes, the model's certainty), progress, the
                          model's label count and the loop's ``round`` (null for ``mammad
                          label``); ``"pair": null`` when the pool is used up
``POST /api/label``       ``{"pair": token, "choice": "a"|"b"|"tie"|"skip", "session": token}``
``POST /api/alive``       the page's heartbeat (``X-Session``): keeps its session while it is open
========================  ====================================================================

``POST /api/label`` answers 200 ``{"new": true}`` for a new label and ``{"new": false}`` for the
same label again (a double click); 400 for a body that is not a JSON object (or JSON nested
too deeply to parse), 403 for a missing
or unknown session token, 404 for an unknown pair, 409 if the pair has another label, 413 for a
body over ``max_body`` bytes, 415 for a body that is not ``application/json``, and 422 for a bad
choice (naming the valid ones) or a malformed field. Every 4xx leaves the database unchanged.
The page, the script and the style sheet come from this package (no CDN), under a Content
Security Policy that allows nothing else: every answer carries :data:`SECURITY_HEADERS`, the
refusals of Starlette and of the host check and a 500 too (:mod:`feedback.labelling.headers`).
A session lives while its page uses it (:mod:`feedback.labelling.sessions`); the server
closes idle and half-sent connections (:mod:`feedback.labelling.timeouts`). The RLHF loop's
person (:mod:`feedback.human`) makes the page serve one round's pairs at a time
(:mod:`feedback.labelling.rounds`).
"""

from feedback.labelling.app import (
    BPM,
    HEARTBEAT_SECONDS,
    LOOPBACK,
    MAX_BODY,
    MAX_SESSIONS,
    SECURITY_HEADERS,
    SESSION_META,
    Session,
    accompaniment_notes,
    make_app,
    model_labels,
)
from feedback.labelling.server import build_app, default_labeler, serve

__all__ = ["BPM", "HEARTBEAT_SECONDS", "LOOPBACK", "MAX_BODY", "MAX_SESSIONS", "SECURITY_HEADERS",
           "SESSION_META",
           "Session", "accompaniment_notes", "build_app", "default_labeler", "make_app",
           "model_labels", "serve"]
