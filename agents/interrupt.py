"""Stopping training cleanly on Ctrl-C (SIGINT) or SIGTERM.

While :class:`GracefulStop` is active, the first SIGINT or SIGTERM only sets a flag; the
:class:`StopOnSignal` callback sees it at the next env step and ends ``learn`` as if training
were done, so the caller can save a checkpoint and say how to go on. A second signal raises
``KeyboardInterrupt`` at once, for a user who does not want to wait.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """A context in which SIGINT and SIGTERM ask training to stop instead of killing it.

    Attributes:
        signal: The first signal received (None if none was).
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        """Whether a stop was asked for."""
        return self.signal is not None

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for Ctrl-C)."""
        return 128 + int(self.signal or signal.SIGINT)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        name = signal.Signals(signum).name
        # A direct write, not logging: this runs in a signal handler, where taking the logging
        # module's locks (held by the interrupted code) could deadlock; the user must see it.
        print(f"\n{name} received: stopping at the next step and saving a checkpoint "
              f"(send it again to stop at once, without saving)", file=sys.stderr, flush=True)

    def __enter__(self) -> GracefulStop:
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


class StopOnSignal(BaseCallback):
    """Ends ``learn`` at the next step once a :class:`GracefulStop` was asked to stop."""

    def __init__(self, stop: GracefulStop) -> None:
        super().__init__()
        self.stop = stop

    def _on_step(self) -> bool:
        return not self.stop.requested
