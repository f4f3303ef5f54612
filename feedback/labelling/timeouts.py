"""The labelling server's limits on connections: idle, half-sent, too large, too many.

uvicorn closes a connection idle between two requests after ``timeout_keep_alive`` seconds,
but has no limit on the time a request takes to arrive: a client that opens a connection and
sends nothing, or half a request, would hold it for ever. :class:`RequestDeadlineProtocol` (its
h11 protocol with a deadline) closes such a connection :data:`REQUEST_TIMEOUT` seconds after
it opened or after its last answer, unless the request has arrived whole by then. Imported by
:func:`~feedback.labelling.server.serve` only (it needs uvicorn).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

KEEP_ALIVE_TIMEOUT = 5
"""Seconds a connection may stay idle after an answer (uvicorn's ``timeout_keep_alive``)."""
REQUEST_TIMEOUT = 10.0
"""Seconds a request (headers and body) may take to arrive, from the connection's opening or
its last answer; then the connection is closed."""
MAX_INCOMPLETE_REQUEST = 16 * 1024
"""Bytes of a request's head (request line and headers) the server buffers while it arrives;
a larger head is refused with 400 (uvicorn's ``h11_max_incomplete_event_size``)."""
MAX_CONNECTIONS = 64
"""Connections and requests at once; beyond it the server answers 503 (uvicorn's
``limit_concurrency``). A browser opens about six; a few people label at once."""


class RequestDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol that closes a connection whose request is late.

    The deadline starts when the connection opens and again after each answer; it is met once
    the whole request has arrived (h11's client state is then ``DONE``).
    """

    request_timeout = REQUEST_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Starts the first request's deadline."""
        super().connection_made(transport)
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forgets the deadline."""
        self._cancel_deadline()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        """Starts the next request's deadline (the keep-alive timeout runs too)."""
        super().on_response_complete()
        if not self.transport.is_closing():
            self._start_deadline()

    def _start_deadline(self) -> None:
        self._cancel_deadline()
        self.request_deadline = self.loop.call_later(self.request_timeout, self._late)

    def _cancel_deadline(self) -> None:
        if self.request_deadline is not None:
            self.request_deadline.cancel()
            self.request_deadline = None

    def _late(self) -> None:
        self.request_deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.logger.debug("closing a connection whose request took over %s s",
                              self.request_timeout)
            self.transport.close()


def server_config(app: Any, host: str, port: int, *,
                  request_timeout: float = REQUEST_TIMEOUT) -> uvicorn.Config:
    """The uvicorn configuration :func:`~feedback.labelling.server.serve` runs the app with.

    Args:
        app: The labelling app.
        host: Address to listen on.
        port: Port.
        request_timeout: Seconds a request may take to arrive (:data:`REQUEST_TIMEOUT`).

    Returns:
        A configuration with the limits of this module and the h11 protocol (whose deadline
        :class:`RequestDeadlineProtocol` adds).
    """
    protocol = type("RequestDeadline", (RequestDeadlineProtocol,),
                    {"request_timeout": float(request_timeout)})
    return uvicorn.Config(app, host=host, port=int(port), log_level="warning", http=protocol,
                          timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
                          h11_max_incomplete_event_size=MAX_INCOMPLETE_REQUEST,
                          limit_concurrency=MAX_CONNECTIONS)
