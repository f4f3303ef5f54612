"""The Note-RNN stepped for a batch of melodies: one batched LSTM step per env step.

:class:`BatchedNoteRNN` keeps the LSTM state of ``batch`` melodies and scores one event of each
per call; :class:`FoldedStep` is the small-batch step with the embedding folded into the gates.
"""

from __future__ import annotations

import os
import weakref

import numpy as np
import torch

from mammad_envs.events import indices_of, playable_events
from rewards.note_rnn.background import (
    ProcessStepper,
    ThreadStepper,
    forks,
    in_worker,
    make_stepper,
)
from rewards.note_rnn.model import PRETRAINED, NoteRNN
from rewards.note_rnn.threads import torch_threads
from rewards.note_rnn.tokens import HIGHEST_PITCH, LOWEST_PITCH, NUM_CLASSES, TOKEN_OF


def load_note_rnn(model: str | os.PathLike | None) -> NoteRNN:
    """A Note-RNN: the shipped default (``None``), a shipped one by name, or a file.

    A name is a key of :data:`~rewards.note_rnn.model.PRETRAINED` (e.g. ``"rl_tuner"``); any
    other string or path is a file saved with ``NoteRNN.save``.
    """
    if model is None:
        return NoteRNN.pretrained()
    if isinstance(model, str) and model in PRETRAINED:
        return NoteRNN.pretrained(model)
    if not os.path.exists(model):
        raise FileNotFoundError(f"Note-RNN weights file not found: {model} (or name a shipped "
                                f"model: {', '.join(map(repr, PRETRAINED))})")
    return NoteRNN.load(model)


def action_tokens(lowest: int, highest: int) -> np.ndarray:
    """The Note-RNN tokens of an env's actions (its pitches, then HOLD and REST).

    Raises:
        ValueError: If the env can play pitches the model does not know.
    """
    if lowest < LOWEST_PITCH or highest > HIGHEST_PITCH:
        raise ValueError(f"the Note-RNN scores pitches {LOWEST_PITCH}..{HIGHEST_PITCH}; this env "
                         f"plays {lowest}..{highest}: choose a pitch_range inside the piano's")
    return indices_of(playable_events(lowest, highest), TOKEN_OF)


OVERLAP_MIN_BATCH = 16
"""Batches from which the LSTM step runs in a background worker, overlapping with the caller.

On the project's 2-core machines the policy's forward pass and the LSTM step then run on the
two cores at once; for smaller batches handing the step over (about 30 us) costs more than it
saves."""

FOLDED_LIMIT = 16384
"""``batch * hidden_size`` from which ``nn.LSTM`` steps a batch, below it a :class:`FoldedStep`.

Which is faster depends on the CPU (torch on one thread, per step, hidden 256). An Intel with
AVX-512: batch 1: 33 us folded vs 176 us ``nn.LSTM``; 16: 184 vs 218; 32: 279 vs 267; 64: 479
vs 374. An AMD EPYC with AVX2: 32: 570 vs 800; 64: 900 vs 1,130; 256: 2,820 vs 3,150; 1,024:
11,600 vs 11,400. The limit (batches of up to 63 at 256 cells fold) costs the Intel little
and saves the AMD about a quarter; the choice is fixed, not measured at run time, so a run
computes the same numbers every time."""


class FoldedStep:
    """One step of a Note-RNN's LSTM and output layer, in about ten torch operations.

    The embedding is folded into the LSTM's input weights and both biases (one row of gate
    inputs per token, precomputed), so a step is a row lookup, one matrix product for the
    recurrent weights, the gate nonlinearities and the output layer: the same values as
    :meth:`NoteRNN.step <rewards.note_rnn.model.NoteRNN.step>` up to float rounding (tested),
    without ``nn.LSTM``'s per-call overhead (five times faster for one melody) and with a fifth
    fewer multiplications.

    With ``classes``, the output layer computes only those classes' logits and the
    log-probabilities are normalised over them: the distribution renormalised to an env's
    actions, for a fraction of the output layer's cost.

    Args:
        model: The Note-RNN (one LSTM layer).
        classes: The output classes to keep (default: all), in the order wanted.
    """

    def __init__(self, model: NoteRNN, classes: torch.Tensor | None = None) -> None:
        lstm = model.lstm
        with torch.no_grad():
            self.input_gates = (model.embedding.weight @ lstm.weight_ih_l0.T
                                + lstm.bias_ih_l0 + lstm.bias_hh_l0).contiguous()
            self.recurrent = lstm.weight_hh_l0.T.contiguous()
            weight, bias = model.output.weight, model.output.bias
            if classes is not None:
                weight, bias = weight[classes], bias[classes]
            self.output_weight = weight.T.contiguous()
            self.output_bias = bias.detach().clone()
        self.hidden_size = lstm.hidden_size

    @torch.no_grad()
    def __call__(self, tokens: torch.Tensor, hidden: torch.Tensor, cell: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(log_probs (batch, classes), hidden, cell)`` after reading one token per row."""
        size = self.hidden_size
        gates = torch.addmm(self.input_gates[tokens], hidden, self.recurrent)
        squashed = torch.sigmoid(gates)  # PyTorch's gate order: input, forget, cell, output
        cell = torch.addcmul(squashed[:, size:2 * size] * cell, squashed[:, :size],
                             torch.tanh(gates[:, 2 * size:3 * size]))
        hidden = squashed[:, 3 * size:] * torch.tanh(cell)
        logits = torch.addmm(self.output_bias, hidden, self.output_weight)
        return torch.log_softmax(logits, dim=-1), hidden, cell


_OVERLAPPING: weakref.WeakSet[BatchedNoteRNN] = weakref.WeakSet()
"""The Note-RNNs of this process that step in the background (their state is shared)."""


def _settle_before_fork() -> None:
    """Before this process forks: every background step finishes.

    So a child copies a settled state (a worker writes the shared state, and a thread's writes
    may be half done).
    """
    for lstm in list(_OVERLAPPING):
        lstm._settle()


def _own_state_in_child() -> None:
    """In a forked child (but a worker): each Note-RNN takes a private copy of its state.

    At once, before its parent's next step writes the shared one.
    """
    if not in_worker():
        for lstm in list(_OVERLAPPING):
            lstm._own_state()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_settle_before_fork, after_in_child=_own_state_in_child)


class BatchedNoteRNN:
    """The Note-RNN's LSTM state for a batch of melodies: one batched step per env step.

    Shared by the scalar env (a batch of one) and the vector env, through
    :class:`rewards.note_rnn.term.NoteRNNTerm`. Small batches step with a
    :class:`FoldedStep`; large ones (``batch * hidden_size`` of :data:`FOLDED_LIMIT` or more)
    with ``nn.LSTM``'s fused kernel, which wins once the matrix products dominate.

    The log-probabilities of a step's events come from the previous LSTM step, so the step on
    the new events is only needed by the next call: with ``overlap`` it runs in a background
    worker while the caller goes on (say, to the policy's forward pass), and the next call (or
    :meth:`restart`) waits for it. The worker is a forked process on Linux (the state moves to
    shared memory) and a thread elsewhere (:mod:`rewards.note_rnn.background`); it ends with
    :meth:`close`, when the object is garbage-collected, or with the process. The values are
    the same either way.

    Args:
        lowest: Lowest pitch of the env's action range.
        highest: Highest pitch of the env's action range.
        batch: Number of melodies.
        model: A weights file, or ``None`` for the shipped model.
        renormalise: Renormalise over the env's actions when its range is narrower than the
            model's.
        threads: torch threads for the LSTM step in the caller's thread (``None``: torch's
            current setting). A forked worker runs on one thread; a worker thread only when
            torch already runs ``threads`` threads (else the step runs in the caller's thread).
        overlap: Step in a background worker (default: for batches of
            :data:`OVERLAP_MIN_BATCH` or more).

    Raises:
        ValueError: If the range exceeds the model's, or the weights file is bad.
    """

    def __init__(self, lowest: int, highest: int, batch: int = 1, model: str | None = None,
                 renormalise: bool = True, threads: int | None = 1,
                 overlap: bool | None = None) -> None:
        self.tokens = action_tokens(lowest, highest)
        self.model = load_note_rnn(model)
        self.threads = threads
        self.batch = batch
        self.folded = batch * self.model.hidden_size < FOLDED_LIMIT
        narrower = len(self.tokens) < NUM_CLASSES
        # The log-probabilities kept are over ``classes`` (the env's actions, renormalised) or
        # over every class; ``columns`` maps a token to its column (-1: not an action here).
        self.classes = torch.as_tensor(self.tokens) if renormalise and narrower else None
        self.columns = np.arange(NUM_CLASSES)
        if self.classes is not None:
            self.columns = np.full(NUM_CLASSES, -1)
            self.columns[self.tokens] = np.arange(len(self.tokens))
        self._step = FoldedStep(self.model, self.classes) if self.folded else None
        with torch_threads(threads):
            start_log_probs, (hidden, cell) = self.model.start(1)
        self._start = (self._restricted(start_log_probs), hidden[0], cell[0])
        # The state, updated in place (shared with a worker process when one steps it).
        self._tokens = torch.zeros(batch, dtype=torch.int64)
        self._log_probs = self._start[0].repeat(batch, 1)
        self._hidden = self._start[1].repeat(batch, 1)
        self._cell = self._start[2].repeat(batch, 1)
        self.overlap = batch >= OVERLAP_MIN_BATCH if overlap is None else bool(overlap)
        self._stepper: ThreadStepper | ProcessStepper | None = None
        self._owner = os.getpid()  # a forked copy makes its own stepper
        self._failure: Exception | None = None  # a step's error met by a fork hook

    def __getstate__(self) -> dict:
        self.wait()
        state = dict(self.__dict__)
        state["_stepper"] = None
        return state

    @property
    def log_probs(self) -> torch.Tensor:
        """``(batch, classes)`` each melody's next-event log-probabilities (a copy)."""
        self.wait()
        return self._log_probs.clone()

    @property
    def hidden(self) -> torch.Tensor:
        """``(batch, hidden_size)`` the LSTM's hidden state (a copy)."""
        self.wait()
        return self._hidden.clone()

    @property
    def cell(self) -> torch.Tensor:
        """``(batch, hidden_size)`` the LSTM's cell state (a copy)."""
        self.wait()
        return self._cell.clone()

    def wait(self) -> None:
        """Waits for a background LSTM step (if one is running)."""
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        if self._stepper is not None and self._owner == os.getpid():
            self._stepper.wait()

    def close(self) -> None:
        """Ends the background worker, if any (a later overlapping step starts a new one)."""
        if self._stepper is not None and self._owner == os.getpid():
            stepper, self._stepper = self._stepper, None
            stepper.close()

    def restart(self, rows: np.ndarray | None = None) -> None:
        """Puts melodies (all, or the given rows) back in the START state."""
        self.wait()
        index = torch.arange(self.batch) if rows is None else torch.as_tensor(
            np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows))
        if len(index) == 0:
            return
        for part, start in zip((self._log_probs, self._hidden, self._cell), self._start,
                               strict=True):
            part[index] = start[0]

    def score(self, events: np.ndarray) -> np.ndarray:
        """``log p(event)`` for one event per melody; then one LSTM step on the events.

        Raises:
            ValueError: If an event is not a pitch the model knows, HOLD or REST.
        """
        tokens = indices_of(events, TOKEN_OF)
        if (tokens < 0).any():
            bad = np.asarray(events)[tokens < 0]
            raise ValueError(f"events must be pitches {LOWEST_PITCH}..{HIGHEST_PITCH}, HOLD or "
                             f"REST, got {bad.tolist()}")
        columns = self.columns[tokens]
        if (columns < 0).any():
            bad = np.asarray(events)[columns < 0]
            raise ValueError(f"events {bad.tolist()} are not among the env's actions (the "
                             f"probabilities are renormalised to them)")
        self.wait()
        values = self._log_probs.numpy()[np.arange(self.batch), columns].astype(np.float64)
        self._tokens.numpy()[:] = tokens
        if self._overlaps():
            self._background().start()
        else:
            with torch_threads(self.threads):
                self._advance()
        return values

    def _overlaps(self) -> bool:
        """Whether this step runs in the background.

        Always in a worker process (it runs on one thread); in a thread, which shares torch's
        thread setting with the caller, only when that setting is already the step's.
        """
        if not self.overlap:
            return False
        if isinstance(self._stepper, ProcessStepper) and self._owner == os.getpid():
            return True  # the usual case, decided when the worker was made
        return forks() or self.threads is None or torch.get_num_threads() == self.threads

    def _state(self) -> tuple[torch.Tensor, ...]:
        """The state a background step updates in place: tokens, log-probs, hidden, cell."""
        return self._tokens, self._log_probs, self._hidden, self._cell

    def _background(self) -> ThreadStepper | ProcessStepper:
        """The stepper of this process, made on first use (the state moves to shared memory)."""
        self._own_state()
        if self._stepper is None:
            for part in self._state():
                part.share_memory_()
            self._stepper = make_stepper(self._advance)
            _OVERLAPPING.add(self)
        return self._stepper

    def _settle(self) -> None:
        """Lets a background step finish (before a fork); its error waits for :meth:`wait`."""
        try:
            self.wait()
        except Exception as error:  # noqa: BLE001 (raised again by the next wait)
            self._failure = error

    def _own_state(self) -> None:
        """In a forked copy: a private copy of the state, and no stepper (it makes its own)."""
        if self._owner != os.getpid():
            self._tokens, self._log_probs, self._hidden, self._cell = (
                part.clone() for part in self._state())
            self._stepper, self._owner = None, os.getpid()

    @torch.no_grad()
    def _advance(self) -> None:
        """One LSTM step on each melody's token: the next events' log-probabilities, in place."""
        if self.folded:  # already over the classes kept
            log_probs, hidden, cell = self._step(self._tokens, self._hidden, self._cell)
        else:
            log_probs, (hidden, cell) = self.model.step(self._tokens, (self._hidden[None],
                                                                       self._cell[None]))
            hidden, cell, log_probs = hidden[0], cell[0], self._restricted(log_probs)
        self._log_probs.copy_(log_probs)
        self._hidden.copy_(hidden)
        self._cell.copy_(cell)

    def _restricted(self, log_probs: torch.Tensor) -> torch.Tensor:
        """Log-probabilities over every class -> over the classes kept (renormalised)."""
        if self.classes is None:
            return log_probs
        return torch.log_softmax(log_probs[:, self.classes], dim=-1)
