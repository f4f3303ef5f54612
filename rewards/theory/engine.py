"""The music-theory rules, computed incrementally for a batch of melodies.

:class:`TheoryEngine` keeps, for each of ``B`` melodies, just enough state to score the next
event of all of them with array operations: the cost of a step does not grow with the length
of the melodies. It gives exactly the values of the plain rule functions in
:mod:`rewards.theory.rules` (tested on random melodies); a user-registered rule has no
incremental form, so the engine calls its function on the melody so far.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mammad_envs.melody import HOLD, REST
from rewards.theory import rules as R

EMPTY = np.int64(-1)  # an empty slot of the hash tables: no window encodes to -1


def window_tokens(events: np.ndarray) -> np.ndarray:
    """One byte per event for window codes: pitches 0..127, REST 128, HOLD 129."""
    return np.where(events >= 0, events, 127 - events).astype(np.int64)


class MotifTable:
    """Per-melody sets of 8-event windows, as open-addressing hash tables in one array.

    Args:
        batch: Number of melodies.
        capacity: The most windows one melody will hold.
    """

    def __init__(self, batch: int, capacity: int) -> None:
        self.size = 1 << max(4, int(2 * max(capacity, 1) - 1).bit_length())
        self.table = np.full((batch, self.size), EMPTY, dtype=np.int64)

    def clear(self, rows: np.ndarray) -> None:
        """Empties the sets of the given melodies."""
        self.table[rows] = EMPTY

    def _probe(self, rows: np.ndarray, codes: np.ndarray, insert: bool) -> np.ndarray:
        slots = ((codes.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40))
        slots = slots.astype(np.int64) & (self.size - 1)
        found = np.zeros(len(rows), dtype=bool)
        pending = np.arange(len(rows))
        while pending.size:
            current = self.table[rows[pending], slots[pending]]
            hit = current == codes[pending]
            empty = current == EMPTY
            found[pending[hit]] = True
            if insert:
                self.table[rows[pending[empty]], slots[pending[empty]]] = codes[pending[empty]]
            pending = pending[~(hit | empty)]
            slots[pending] = (slots[pending] + 1) & (self.size - 1)
        return found

    def add(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """Adds one window code to each given melody's set."""
        self._probe(rows, codes, insert=True)

    def contains(self, rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Whether each given melody's set holds its code."""
        return self._probe(rows, codes, insert=False)


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
        self._degrees = context.degree_classes()
        self._values = np.zeros(13, dtype=np.float64)
        for interval, value in R.INTERVAL_VALUES.items():
            self._values[interval] = value
        capacity = max(context.steps, R.MOTIF_WINDOW)
        self.history = np.zeros((batch, capacity), dtype=np.int64)
        self.motifs = MotifTable(batch, capacity)
        self.length = np.zeros(batch, dtype=np.int64)
        self._state = {}
        self.reset()

    # ----- state -----

    def reset(self, rows: np.ndarray | None = None) -> None:
        """Starts empty melodies (all, or the given rows)."""
        rows = np.arange(self.batch) if rows is None else np.asarray(rows)
        fresh = {
            "last_pitch": -1, "pitch_repeats": 0, "pitch_breaks": False, "pitch_held": False,
            "trailing_holds": 0, "trailing_rests": 0,
            "sum": 0, "squares": 0, "products": (0, 0, 0), "head": (0, 0, 0), "recent": (0, 0, 0),
            "direction": 0, "leapt_from": 0, "since_leap": 0,
            "window_code": 0,
        }
        if not self._state:
            for name, value in fresh.items():
                shape = (self.batch, 3) if isinstance(value, tuple) else (self.batch,)
                dtype = bool if isinstance(value, bool) else np.int64
                self._state[name] = np.zeros(shape, dtype=dtype)
            self.pitch_counts = np.zeros((self.batch, 128), dtype=np.int32)
        for name, value in fresh.items():
            self._state[name][rows] = value
        self.pitch_counts[rows] = 0
        self.length[rows] = 0
        self.motifs.clear(rows)

    # ----- one step -----

    def step(self, events: np.ndarray) -> dict[str, np.ndarray]:
        """Scores one event per melody and appends it.

        Args:
            events: ``(batch,)`` melody entries (pitch, HOLD or REST).

        Returns:
            Each rule's reward, a ``(batch,)`` float array per rule name, plus the boolean
            arrays ``"_repeat"``, ``"_motif"``, ``"_repeated_motif"``, ``"_leap_resolved"``,
            ``"_leap_doubled"`` that the statistics count.

        Raises:
            ValueError: If a melody is already ``context.steps`` long.
        """
        events = np.asarray(events, dtype=np.int64)
        if events.shape != (self.batch,):
            raise ValueError(f"expected {self.batch} events, got shape {events.shape}")
        if (self.length >= self.history.shape[1]).any():
            raise ValueError(f"a melody is already {self.history.shape[1]} steps long: reset it")
        s, context = self._state, self.context
        step = self.length.copy()
        rows = np.arange(self.batch)
        is_pitch, is_hold, is_rest = events >= 0, events == HOLD, events == REST
        pitch_or_zero = np.where(is_pitch, events, 0)
        out: dict[str, np.ndarray] = {}

        out["key"] = np.where(is_pitch & ~self._in_key[pitch_or_zero % 12], R.KEY_PENALTY, 0.0)

        final = context.final_beat
        tonic_hit = np.where((step == 0) | (step == final), events == context.tonic_pitch,
                             np.where(step == final + 1, is_hold,
                                      (step > final + 1) & (is_hold | is_rest)))
        out["tonic"] = np.where(tonic_hit, R.TONIC_REWARD, 0.0)

        repeat = self._repeat(events, is_pitch, is_hold, is_rest)
        out["_repeat"] = repeat
        out["repeating"] = np.where(repeat, R.REPEAT_PENALTY, 0.0)

        out["autocorrelation"] = self._autocorrelation(events, step)

        motif_pitches, is_motif, repeated = self._motifs(events, step, rows)
        out["_motif"], out["_repeated_motif"] = is_motif, repeated
        out["motif"] = np.where(is_motif, R.MOTIF_REWARD
                                + np.maximum((motif_pitches - R.MOTIF_MIN_PITCHES) * 0.3, 0), 0.0)
        out["repeated_motif"] = np.where(
            repeated, R.REPEATED_MOTIF_REWARD + np.maximum(motif_pitches - R.MOTIF_MIN_PITCHES, 0),
            0.0)

        previous = s["last_pitch"].copy()
        out["preferred_intervals"] = R.INTERVAL_SCALE * self._interval_values(previous, events)
        resolved, doubled = self._leaps(events, previous, step, is_pitch)
        out["_leap_resolved"], out["_leap_doubled"] = resolved, doubled
        out["leap"] = np.where(resolved, R.LEAP_RESOLVED_REWARD,
                               np.where(doubled, R.LEAP_DOUBLED_PENALTY, 0.0))

        self.pitch_counts[rows[is_pitch], events[is_pitch]] += 1
        out["unique_extremes"] = self._unique_extremes(step)

        s["last_pitch"] = np.where(is_pitch, events, s["last_pitch"])
        for name in self._custom:
            rule = R.RULES[name]
            out[name] = np.array([
                rule(self.history[b, :step[b]].copy(), int(events[b]), context)
                for b in range(self.batch)], dtype=np.float64)
        self.history[rows, step] = events
        self.length += 1
        return out

    def _repeat(self, events, is_pitch, is_hold, is_rest) -> np.ndarray:
        """The repeating rule from run-length state (see ``rules.is_excessive_repeat``)."""
        s = self._state
        same_pitch = is_pitch & (events == s["last_pitch"])
        pitch_limit = np.where(s["pitch_breaks"] | s["pitch_held"],
                               R.REPEAT_LIMIT_WITH_BREAKS, R.REPEAT_LIMIT)
        hold_limit = np.where(s["trailing_rests"] > 0, R.REPEAT_LIMIT_WITH_BREAKS, R.REPEAT_LIMIT)
        repeat = ((same_pitch & (s["pitch_repeats"] > pitch_limit))
                  | (is_hold & (s["trailing_holds"] > hold_limit))
                  | (is_rest & (s["trailing_rests"] > 1)))
        new_pitch = is_pitch & ~same_pitch
        s["pitch_breaks"] = np.where(new_pitch, s["trailing_rests"] > 0,
                                     s["pitch_breaks"] | is_rest)
        s["pitch_held"] = np.where(new_pitch, s["trailing_holds"] > 0, s["pitch_held"] | is_hold)
        s["pitch_repeats"] = np.where(new_pitch, 1, s["pitch_repeats"] + same_pitch)
        s["trailing_holds"] = np.where(is_pitch, 0, s["trailing_holds"] + is_hold)
        s["trailing_rests"] = np.where(is_pitch, 0, s["trailing_rests"] + is_rest)
        return repeat

    def _autocorrelation(self, events, step) -> np.ndarray:
        """Running sums give each lag's coefficient as an exact fraction in O(1)."""
        s = self._state
        value = R.action_indices(events, self.context.lowest)
        n = step + 1
        s["sum"] += value
        s["squares"] += value * value
        recent = s["recent"]  # values 1, 2 and 3 steps back
        lags = np.arange(1, 4)
        s["products"] += np.where(n[:, None] > lags, value[:, None] * recent, 0)
        s["head"] += np.where(n[:, None] <= lags, value[:, None], 0)
        s["recent"] = np.concatenate([value[:, None], recent[:, :2]], axis=1)
        total = s["sum"][:, None]
        tail = np.cumsum(s["recent"], axis=1)  # the last 1, 2, 3 values
        numerators = (n[:, None] ** 2 * s["products"]
                      - n[:, None] * total * ((total - tail) + (total - s["head"]))
                      + (n[:, None] - lags) * total ** 2)
        numerators = np.where(n[:, None] > lags, numerators, 0)
        denominators = n * (n * s["squares"] - s["sum"] ** 2)
        top, bottom = R.AUTOCORRELATION_THRESHOLD
        large = np.abs(numerators) * bottom > top * denominators[:, None]
        safe = np.where(denominators > 0, denominators, 1)
        penalty = (np.abs(numerators) * large).sum(axis=1) / safe
        return np.where(denominators > 0, -R.AUTOCORRELATION_WEIGHT * penalty, 0.0)

    def _motifs(self, events, step, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct pitches of the last 8 events, motif flags and repeated-motif flags."""
        s, width = self._state, R.MOTIF_WINDOW
        s["window_code"] = (s["window_code"] << 8) | window_tokens(events)
        history = self.history
        last = np.concatenate([history[rows[:, None], np.clip(step[:, None] - np.arange(
            width - 1, 0, -1), 0, None)], events[:, None]], axis=1)
        sorted_window = np.sort(np.where(last >= 0, last, -1), axis=1)
        distinct = (sorted_window >= 0) & np.concatenate(
            [np.ones((self.batch, 1), dtype=bool), np.diff(sorted_window, axis=1) != 0], axis=1)
        pitches = distinct.sum(axis=1)
        full = step + 1 >= width
        is_motif = full & (pitches >= R.MOTIF_MIN_PITCHES)
        # The window that ends 8 steps back is now wholly "earlier": add it to the set.
        ready = step + 1 >= 2 * width
        if ready.any():
            earlier = rows[ready]
            self.motifs.add(earlier, self._code_at(earlier, step[ready] - width))
        repeated = np.zeros(self.batch, dtype=bool)
        check = is_motif & (step + 1 >= 2 * width)
        if check.any():
            repeated[check] = self.motifs.contains(rows[check], s["window_code"][check])
        return pitches, is_motif, repeated

    def _code_at(self, rows: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The code of the 8 events of history ending at index ``end`` (inclusive)."""
        window = self.history[rows[:, None], end[:, None] - np.arange(R.MOTIF_WINDOW - 1, -1, -1)]
        tokens = window_tokens(window)
        code = np.zeros(len(rows), dtype=np.int64)
        for column in range(R.MOTIF_WINDOW):
            code = (code << 8) | tokens[:, column]
        return code

    def _interval_values(self, previous, events) -> np.ndarray:
        tonic, third, fifth = self._degrees
        has_previous = previous >= 0
        pc = np.where(has_previous, previous, 0) % 12
        on_tonic_or_fifth = (pc == tonic) | (pc == fifth)
        interval = np.abs(events - previous)
        values = np.where(interval > 12, R.BEYOND_OCTAVE_VALUE,
                          self._values[np.minimum(interval, 12)])
        values = np.where((interval == 4) & ((pc == tonic) | (pc == third)),
                          R.IN_KEY_THIRD_VALUE, values)
        values = np.where((interval == 7) & on_tonic_or_fifth, R.IN_KEY_FIFTH_VALUE, values)
        values = np.where(events == REST, np.where(on_tonic_or_fifth, R.REST_AFTER_TONIC_OR_FIFTH,
                                                   R.REST_VALUE), values)
        values = np.where(events == HOLD, np.where(on_tonic_or_fifth, R.HOLD_AFTER_TONIC_OR_FIFTH,
                                                   R.HOLD_VALUE), values)
        return np.where(has_previous, values, 0.0)

    def _leaps(self, events, previous, step, is_pitch) -> tuple[np.ndarray, np.ndarray]:
        """One step of the leap-up-leap-back state machine (see ``rules.leap_outcomes``)."""
        s = self._state
        active = step > 0
        leap = active & is_pitch & (previous >= 0) & (np.abs(events - previous) >= R.LEAP)
        heading = np.sign(events - previous)
        direction = s["direction"]
        back = leap & (direction != 0) & (direction != heading)
        doubled = leap & (direction != 0) & (direction == heading)
        first = leap & (direction == 0)
        step_move = active & is_pitch & ~leap
        gradual = step_move & (((direction == 1) & (events <= s["leapt_from"]))
                               | ((direction == -1) & (events >= s["leapt_from"])))
        resolved = (back & (s["since_leap"] > R.STEPS_BETWEEN_LEAPS)) | gradual
        s["leapt_from"] = np.where(first, previous, s["leapt_from"])
        s["direction"] = np.where(first, heading, np.where(back | gradual, 0, direction))
        s["since_leap"] = np.where(leap, 0, s["since_leap"] + active)
        return resolved, doubled

    def _unique_extremes(self, step) -> np.ndarray:
        final = step == self.context.steps - 1
        reward = np.zeros(self.batch)
        if not final.any():
            return reward
        counts = self.pitch_counts[final]
        played = counts > 0
        any_played = played.any(axis=1)
        highest = 127 - np.argmax(played[:, ::-1], axis=1)
        lowest = np.argmax(played, axis=1)
        index = np.arange(len(counts))
        unique = ((counts[index, highest] == 1).astype(float)
                  + (counts[index, lowest] == 1).astype(float))
        reward[final] = np.where(any_played, unique * R.UNIQUE_EXTREME_REWARD, 0.0)
        return reward
