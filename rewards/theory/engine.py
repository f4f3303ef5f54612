"""The music-theory rules, computed incrementally for a batch of melodies.

:class:`TheoryEngine` keeps, for each of ``B`` melodies, just enough state to score the next
event of all of them, and scores them with one compiled loop
(:func:`rewards.theory.kernel.theory_step`): the cost of a step barely grows with the length of
the melodies (only a likely repeat of a motif scans the earlier windows), and a batch of one
(the reward wrapper) costs about as little as a plain Python function. It gives exactly the
values of the plain rule functions in :mod:`rewards.theory.rules` (tested on random melodies);
a user-registered rule has no incremental form, so the engine calls its function on the melody
so far.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mammad_envs.melody import complete_melody_error
from rewards.theory import kernel as K
from rewards.theory import rules as R


class TheoryEngine:
    """Scores one event per melody per step, for ``batch`` melodies in parallel.

    Args:
        context: Key, episode length and pitch range the rules use.
        rules: Names of the rules to compute (default: the nine built-in ones).
        batch: Number of melodies.

    Raises:
        ValueError: If a rule name is unknown.
    """

    def __init__(self, context: R.RuleContext, rules: Sequence[str] | None = None,
                 batch: int = 1) -> None:
        self.context = context
        self.rules = list(R.BUILTIN_RULES if rules is None else rules)
        unknown = [name for name in self.rules if name not in R.RULES]
        if unknown:
            raise ValueError(f"unknown music-theory rule(s) {unknown}; rules: {sorted(R.RULES)}")
        self.batch = batch
        self._custom = [name for name in self.rules if name not in R.BUILTIN_RULES]
        self._in_key = np.zeros(12, dtype=bool)
        self._in_key[list(context.key.pitch_classes)] = True
        self._degrees = np.array(context.degree_classes(), dtype=np.int64)
        self._values = np.zeros(13, dtype=np.float64)
        for interval, value in R.INTERVAL_VALUES.items():
            self._values[interval] = value
        capacity = max(context.steps, R.MOTIF_WINDOW)
        self.history = np.zeros((batch, capacity), dtype=np.int64)
        # The code of the window ending at each step: its 8 events, one byte each.
        self.windows = np.zeros((batch, capacity), dtype=np.int64)
        self.state = np.zeros((batch, K.STATE_COLUMNS), dtype=np.int64)
        self.pitch_counts = np.zeros((batch, 128), dtype=np.int32)
        self._unit_weights = np.ones(len(self.rules))
        self._column_ones = np.ones(len(K.RULE_COLUMNS))
        # Columns of the kernel's output for the chosen rules (custom rules: filled after).
        self._columns = np.array([K.RULE_COLUMNS.index(name) if name in K.RULE_COLUMNS else 0
                                  for name in self.rules], dtype=np.int64)
        self._custom_columns = [i for i, name in enumerate(self.rules) if name in self._custom]
        self._all_columns = self.rules == list(K.RULE_COLUMNS)
        self._flags = np.zeros((batch, len(K.FLAG_COLUMNS)), dtype=bool)
        self.reset()

    @property
    def length(self) -> np.ndarray:
        """How many events each melody holds."""
        return self.state[:, K.LENGTH]

    def reset(self, rows: np.ndarray | None = None) -> None:
        """Starts empty melodies (all, or the given rows)."""
        rows = np.arange(self.batch) if rows is None else np.asarray(rows)
        self.state[rows] = 0
        self.state[rows, K.LAST_PITCH] = -1
        self.state[rows, K.LOWEST] = -1
        self.state[rows, K.HIGHEST] = -1
        self.pitch_counts[rows] = 0

    def score(self, events: np.ndarray) -> np.ndarray:
        """Scores one event per melody and appends it; the fast form of :meth:`step`.

        Args:
            events: ``(batch,)`` melody entries (pitch, HOLD or REST).

        Returns:
            A new ``(batch, len(rules))`` array: each rule's reward, in :attr:`rules` order.
            The statistics' flags of the step are in :attr:`flags` until the next call.

        Raises:
            ValueError: If a melody is already ``context.steps`` long, or an event is not a
                melody entry (nothing is changed then).
        """
        return self.score_weighted(events, self._unit_weights)[0]

    def score_weighted(self, events: np.ndarray, weights: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Scores one event per melody, weighs each rule and adds them up, then appends.

        Args:
            events: ``(batch,)`` melody entries (pitch, HOLD or REST).
            weights: ``(len(rules),)`` a weight per rule, in :attr:`rules` order.

        Returns:
            ``(values, totals)``: a new ``(batch, len(rules))`` array of weighted rule values
            and each melody's sum of them, added left to right as Python's ``sum`` would.

        Raises:
            ValueError: As :meth:`score`.
        """
        events = np.asarray(events, dtype=np.int64)
        if events.shape != (self.batch,):
            raise ValueError(f"expected {self.batch} events, got shape {events.shape}")
        context = self.context
        custom = []
        if self._custom:
            for name in self._custom:
                rule = R.RULES.load(name)
                custom.append([rule(self.history[b, :self.length[b]].copy(), int(events[b]),
                                    context) for b in range(self.batch)])
        direct = self._all_columns  # the kernel's columns are the rules: it weighs and sums
        out = np.empty((self.batch, len(K.RULE_COLUMNS)))
        totals = np.empty(self.batch)
        bad = K.theory_step(events, self.state, self.history, self.pitch_counts,
                            self.windows, self._in_key, self._degrees, self._values,
                            context.tonic_pitch, context.final_beat, context.steps,
                            context.lowest, weights if direct else self._column_ones, out,
                            totals, self._flags)
        if bad >= 0:
            if self.length[bad] >= self.history.shape[1]:
                raise complete_melody_error(bad, self.history.shape[1])
            raise ValueError(f"events must be pitches 0..127, HOLD or REST, got "
                             f"{int(events[bad])} for melody {bad}")
        if direct:
            return out, totals
        values = out[:, self._columns]
        if custom:
            values[:, self._custom_columns] = np.array(custom, dtype=np.float64).T
        K.weigh(values, np.asarray(weights, dtype=np.float64), totals)
        return values, totals

    @property
    def flags(self) -> dict[str, np.ndarray]:
        """The last step's flags counted by the statistics (copies)."""
        return {name: self._flags[:, column].copy()
                for column, name in enumerate(K.FLAG_COLUMNS)}

    def step(self, events: np.ndarray) -> dict[str, np.ndarray]:
        """Scores one event per melody and appends it.

        Args:
            events: ``(batch,)`` melody entries (pitch, HOLD or REST).

        Returns:
            Each rule's reward, a ``(batch,)`` float array per rule name, plus the boolean
            arrays ``"_repeat"``, ``"_motif"``, ``"_repeated_motif"``, ``"_leap_resolved"``,
            ``"_leap_doubled"`` that the statistics count.

        Raises:
            ValueError: As :meth:`score`.
        """
        values = self.score(events)
        out = {name: values[:, column] for column, name in enumerate(self.rules)}
        out.update(self.flags)
        return out
