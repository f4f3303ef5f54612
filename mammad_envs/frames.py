"""Writing 16ths: the melody, the accompaniment's frames and the encoding, for a batch of melodies.

:class:`SixteenthWriter` holds ``B`` melodies being written and their observations. Its
:meth:`~SixteenthWriter.write` turns one action per melody into a melody entry, lays the 16th's
frame (the accompaniment's loop plus the melody's sounding pitch, see
:mod:`mammad_envs.encodings`) and updates the observations. The scalar env is a batch of one;
the vector env is a batch of N: one implementation serves both.

The built-in encodings are *linear* (``c <- keep * c + onset_weight * onsets + sounding_weight
* sounding``, see :attr:`~mammad_envs.encodings.Encoding.linear`), so the writer precomputes
every accompaniment frame's contribution once and runs one compiled loop (numba) per step:
a row copy for ``binary``, an add for ``count`` and a multiply-add for ``decay``, then a fix-up
of the one pitch the melody sounds. It gives exactly the float32 values of the encoding's own
``encode`` (tested). An encoding you add yourself without a linear form is run through its
``encode`` method on numpy frames, which is slower but the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from mammad_envs.accompaniment import Accompaniment
from mammad_envs.encodings import OBS_DTYPE, Encoding
from mammad_envs.melody import HOLD, MELODY_DTYPE, NUM_PITCHES, REST, complete_melody_error


@njit(cache=True)
def write_sixteenths(actions, events_table, rows, frame_values, nonzero, nonzero_count,
                     onset_table, keep, onset_weight, sounding_weight, current_step, sounding,
                     melodies, observations, out, events):
    """Writes one 16th per melody (see the module docstring); everything is updated in place.

    Args:
        actions: ``(B,)`` actions.
        events_table: The melody entry of each action.
        rows: ``(B,)`` the accompaniment row of each melody in the tables.
        frame_values: ``(rows, loop, 128)`` float32, each frame's contribution to an encoding.
        nonzero: ``(rows, loop, 128)`` the pitches where ``frame_values`` is not 0, first.
        nonzero_count: ``(rows, loop)`` how many there are.
        onset_table: ``(rows, loop, 128)`` the accompaniment's onsets.
        keep: The encoding's linear form (float32): the weight of the previous observation,
        onset_weight: of the onsets,
        sounding_weight: and of the sounding pitches.
        current_step: ``(B,)`` 16ths written so far (incremented).
        sounding: ``(B,)`` the melody's sounding pitch or REST (updated).
        melodies: ``(B, steps)`` the melodies (the 16th is written).
        observations: ``(B, 128)`` float32 observations (updated).
        out: ``(B, 128)`` float32, receives a copy of the new observations.
        events: ``(B,)`` receives each melody's new entry.

    Returns:
        -1, or the first melody whose action is out of range or which is already complete (then
        nothing is changed).
    """
    batch = actions.shape[0]
    for b in range(batch):
        if actions[b] < 0 or actions[b] >= events_table.shape[0] or \
                current_step[b] >= melodies.shape[1]:
            return b
    loop = frame_values.shape[1]
    for b in range(batch):
        event = events_table[actions[b]]
        events[b] = event
        if event != HOLD:
            sounding[b] = event
        held = sounding[b]
        step = current_step[b]
        frame = step % loop
        row = rows[b]
        previous = observations[b, held] if held >= 0 else np.float32(0.0)
        values = frame_values[row, frame]
        if keep == 0:
            for p in range(values.shape[0]):
                observations[b, p] = values[p]
        elif keep == 1:  # a running sum: only the frame's few nonzero entries change
            for j in range(nonzero_count[row, frame]):
                p = nonzero[row, frame, j]
                observations[b, p] = observations[b, p] + values[p]
        else:
            for p in range(values.shape[0]):
                observations[b, p] = keep * observations[b, p] + values[p]
        if held >= 0:  # the melody's pitch sounds, and starts if it was just played
            onsets = np.int64(onset_table[row, frame, held]) + (1 if event >= 0 else 0)
            value = onset_weight * np.float32(onsets) + sounding_weight * np.float32(1.0)
            if keep != 0:
                value = keep * previous + value
            observations[b, held] = value
        for p in range(values.shape[0]):
            out[b, p] = observations[b, p]
        melodies[b, step] = event
        current_step[b] = step + 1
    return -1


class SixteenthWriter:
    """``batch`` melodies being written, with their accompaniments and observations.

    Args:
        encoding: The state encoding.
        accompaniments: The accompaniments a melody may be played over.
        events_table: The melody entry (pitch, HOLD or REST) each action writes.
        steps: 16ths per melody.
        batch: Number of melodies.

    Attributes:
        melodies: ``(batch, steps)`` the melodies (HOLD beyond ``current_step``).
        current_step: ``(batch,)`` 16ths written so far.
        sounding: ``(batch,)`` the melody's sounding pitch, or REST.
        rows: ``(batch,)`` each melody's accompaniment (``len(accompaniments)``: none).
        observations: ``(batch, 128)`` float32, the current observations.
    """

    def __init__(self, encoding: Encoding, accompaniments: Sequence[Accompaniment],
                 events_table: np.ndarray, steps: int, batch: int = 1) -> None:
        self.encoding = encoding
        self.silent_row = len(accompaniments)
        loop = int(np.lcm.reduce([a.steps for a in accompaniments])) if accompaniments else 1
        self.sounding_table = np.zeros((len(accompaniments) + 1, loop, NUM_PITCHES), bool)
        self.onset_table = np.zeros((len(accompaniments) + 1, loop, NUM_PITCHES), np.uint8)
        for row, accompaniment in enumerate(accompaniments):
            repeats = loop // accompaniment.steps
            self.sounding_table[row] = np.tile(accompaniment.sounding, (repeats, 1))
            self.onset_table[row] = np.tile(accompaniment.onsets, (repeats, 1))
        self.linear = encoding.linear
        if self.linear is not None:
            keep, onset_weight, sounding_weight = (OBS_DTYPE(w) for w in self.linear)
            self._weights = (keep, onset_weight, sounding_weight)
            self.frame_values = (onset_weight * self.onset_table.astype(OBS_DTYPE)
                                 + sounding_weight * self.sounding_table.astype(OBS_DTYPE))
            nonzero = self.frame_values != 0
            self.nonzero_count = nonzero.sum(axis=-1)
            # Stable sort: the nonzero pitches first, in ascending order.
            self.nonzero = np.argsort(~nonzero, axis=-1, kind="stable")
        self.events_table = np.asarray(events_table, dtype=np.int64)
        self.melodies = np.full((batch, steps), HOLD, dtype=MELODY_DTYPE)
        self.current_step = np.zeros(batch, dtype=np.int64)
        self.sounding = np.full(batch, REST, dtype=np.int64)
        self.rows = np.full(batch, self.silent_row, dtype=np.int64)
        self.observations = encoding.initial((batch,))
        self._events = np.zeros(batch, dtype=np.int64)

    @property
    def batch(self) -> int:
        """Number of melodies."""
        return len(self.current_step)

    def reset(self, rows: np.ndarray, accompaniments: np.ndarray | Sequence[int | None]) -> None:
        """Starts empty melodies in the given rows.

        Args:
            rows: Which melodies.
            accompaniments: For each, the index of its accompaniment, or None for none (an
                integer array holds :attr:`silent_row` for none).
        """
        if not isinstance(accompaniments, np.ndarray):
            accompaniments = [self.silent_row if a is None else a for a in accompaniments]
        self.rows[rows] = accompaniments
        self.melodies[rows] = HOLD
        self.current_step[rows] = 0
        self.sounding[rows] = REST
        self.observations[rows] = 0.0

    def write(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Writes one 16th in every melody.

        Args:
            actions: ``(batch,)`` integer actions (checked by the caller).

        Returns:
            ``(events, observations)``: each melody's new entry and a copy of the new
            observations (both new arrays).

        Raises:
            ValueError: If an action is out of range or a melody is complete (nothing changes).
        """
        out = np.empty_like(self.observations)
        if self.linear is not None:
            bad = write_sixteenths(actions, self.events_table, self.rows, self.frame_values,
                                   self.nonzero, self.nonzero_count, self.onset_table,
                                   *self._weights, self.current_step, self.sounding,
                                   self.melodies, self.observations, out, self._events)
        else:
            bad = self._write_frames(actions, out)
        if bad >= 0:
            if self.current_step[bad] >= self.melodies.shape[1]:
                raise complete_melody_error(bad, self.melodies.shape[1])
            raise ValueError(f"action {int(actions[bad])} is out of range 0.."
                             f"{len(self.events_table) - 1}")
        return self._events.copy(), out

    def _write_frames(self, actions: np.ndarray, out: np.ndarray) -> int:
        """The same as the compiled loop, with numpy frames and ``encoding.encode``."""
        for b in range(self.batch):
            if not 0 <= actions[b] < len(self.events_table) or \
                    self.current_step[b] >= self.melodies.shape[1]:
                return b
        batch = np.arange(self.batch)
        events = self.events_table[actions]
        self.sounding = np.where(events != HOLD, events, self.sounding)
        frame = self.current_step % self.sounding_table.shape[1]
        sounding = self.sounding_table[self.rows, frame]
        onsets = self.onset_table[self.rows, frame]
        playing = self.sounding >= 0
        sounding[batch[playing], self.sounding[playing]] = True
        struck = events >= 0
        onsets[batch[struck], events[struck]] += 1
        self.observations = np.asarray(
            self.encoding.encode(self.observations, sounding, onsets), dtype=OBS_DTYPE)
        out[:] = self.observations
        self.melodies[batch, self.current_step] = events
        self.current_step += 1
        self._events[:] = events
        return -1
