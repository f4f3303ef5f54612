"""Running the Note-RNN's LSTM step beside the caller: in a forked process, or a thread.

A :class:`BatchedNoteRNN <rewards.note_rnn.batched.BatchedNoteRNN>` that overlaps hands each
LSTM step to a *stepper* and waits for it at its next call. A stepper runs one function, with
no arguments, each time it is started; the function reads its inputs from and writes its
outputs into tensors the caller shares with it.

* :class:`ProcessStepper` (Linux): a forked worker process. The tensors live in shared memory,
  and a pipe carries one byte each way per step. The worker holds no lock the caller needs:
  in a thread, every torch operation of the step hands Python's lock (the GIL) back and forth
  with the training loop, which cost PPO about 8% of its speed on the project's 2-core
  machines; in a process it costs nothing measurable (``docs/benchmarks/pipeline.md``).
* :class:`ThreadStepper`: a background thread, where ``fork`` is not safe (macOS, Windows)
  or not allowed (in a daemonic process).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection

import torch

FORKS = sys.platform.startswith("linux")
"""Whether steppers are processes: ``fork`` is safe and cheap on Linux only."""

_GO, _DONE = b"g", b"d"

_forking_worker = False
"""True in the parent while it forks a worker, and so for good in the worker (whose memory is
the parent's at that moment): what tells a worker from other forked children."""


def in_worker() -> bool:
    """Whether this process is a :class:`ProcessStepper`'s worker (read by fork hooks)."""
    return _forking_worker


class ThreadStepper:
    """Runs ``function`` in a background thread.

    The thread runs torch with the process's thread setting (torch has one for the process).

    Args:
        function: The step (reads and writes the shared tensors).
    """

    def __init__(self, function: Callable[[], None]) -> None:
        self.function = function
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="note-rnn")
        self._pending: Future | None = None

    def start(self) -> None:
        """Starts one call of the function."""
        self._pending = self._executor.submit(self.function)

    def wait(self) -> None:
        """Waits for the call started last (if any); raises what it raised."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        """Waits, then ends the thread."""
        self.wait()
        self._executor.shutdown()


class ProcessStepper:
    """Runs ``function`` in a forked worker process, one call per :meth:`start`.

    The function's tensors must be in shared memory (``Tensor.share_memory_()``) before the
    stepper is made: the worker is forked then, and sees them through the fork. The worker
    runs torch on one thread (a forked child that uses more can hang in OpenMP, which the parent
    may have started), ignores Ctrl-C (the caller handles it), and ends when the stepper is
    closed or garbage-collected, or when the caller's process ends.

    Args:
        function: The step (reads and writes the shared tensors).

    Raises:
        RuntimeError: From :meth:`wait`, if the function raised in the worker or the worker
            died.
    """

    def __init__(self, function: Callable[[], None]) -> None:
        global _forking_worker
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(function, theirs, ours),
                                        name="note-rnn", daemon=True)
        with warnings.catch_warnings():
            # Python 3.12+ warns on any fork of a process with threads; the worker only runs
            # torch operations on tensors it was given and talks over its own pipe.
            warnings.filterwarnings("ignore", category=DeprecationWarning,
                                    message=".*fork.*")
            _forking_worker = True
            try:
                self._process.start()
            finally:
                _forking_worker = False
        theirs.close()
        self._connection = ours
        self._busy = False
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _stop, ours, self._process, os.getpid())

    def start(self) -> None:
        """Starts one call of the function."""
        with self._lock:
            try:
                self._connection.send_bytes(_GO)
            except OSError:
                raise self._died() from None
            self._busy = True

    def wait(self) -> None:
        """Waits for the call started last (if any)."""
        with self._lock:  # a fork hook may wait from another thread
            if not self._busy:
                return
            self._busy = False
            try:
                reply = self._connection.recv_bytes()
            except (EOFError, OSError):
                raise self._died() from None
        if reply != _DONE:
            raise RuntimeError(f"the Note-RNN step failed in its worker process: "
                               f"{reply.decode(errors='replace')}")

    def _died(self) -> RuntimeError:
        self._process.join(timeout=1)
        return RuntimeError(f"the Note-RNN worker process {self._process.pid} died (exit code "
                            f"{self._process.exitcode}); close this reward's env and make a new "
                            f"one")

    def close(self) -> None:
        """Waits, then ends the worker."""
        try:
            self.wait()
        finally:
            self._finalizer()


def _serve(function: Callable[[], None], connection: Connection, parents_end: Connection
           ) -> None:
    """The worker's loop: one call per byte received, one byte back; ends at end of file."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parents_end.close()
    torch.set_num_threads(1)
    while True:
        try:
            connection.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            function()
        except Exception as error:  # sent to the caller, which raises it
            reply = f"{type(error).__name__}: {error}".encode()
        else:
            reply = _DONE
        try:
            connection.send_bytes(reply)
        except OSError:  # the caller closed its end (or ended) while this step ran
            return


def _stop(connection: Connection, process: multiprocessing.Process, owner: int) -> None:
    """Closes the worker's pipe (it then returns) and reaps it (in the process that made it)."""
    connection.close()
    if os.getpid() == owner:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join()


def make_stepper(function: Callable[[], None]) -> ThreadStepper | ProcessStepper:
    """A :class:`ProcessStepper` on Linux, else a :class:`ThreadStepper`.

    A daemonic process (a ``multiprocessing.Pool`` worker, say) may not have children, so
    there too the stepper is a thread.
    """
    return (ProcessStepper if forks() else ThreadStepper)(function)


def forks() -> bool:
    """Whether :func:`make_stepper` makes a process here (Linux, and not a daemonic process)."""
    return FORKS and not multiprocessing.current_process().daemon
