"""The music-theory rules as one compiled loop over a batch of melodies (numba).

:func:`theory_step` scores one event per melody and updates each melody's incremental state:
the same state and arithmetic as the plain rule functions in :mod:`rewards.theory.rules`
define (run lengths, exact integer autocorrelation sums, a rolling code of the last 8 events
with an open-addressing hash table of earlier windows, the leap state machine, per-pitch
counts). :class:`rewards.theory.engine.TheoryEngine` owns the arrays and calls it; the scalar
reward (a batch of one), the vector env and the statistics all go through it.

Columns of ``out``: the nine rules in :data:`RULE_COLUMNS` order. Columns of ``flags``:
:data:`FLAG_COLUMNS`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rewards.theory import rules as R

RULE_COLUMNS = ("key", "tonic", "repeating", "autocorrelation", "motif", "repeated_motif",
                "preferred_intervals", "leap", "unique_extremes")
FLAG_COLUMNS = ("_repeat", "_motif", "_repeated_motif", "_leap_resolved", "_leap_doubled")

# Indices into the int64 state matrix (one row per melody).
LAST_PITCH, REPEATS, BREAKS, HELD, TRAILING_HOLDS, TRAILING_RESTS = range(6)
SUM, SQUARES, DIRECTION, LEAPT_FROM, SINCE_LEAP, WINDOW_CODE, LENGTH = range(6, 13)
PRODUCTS, HEAD, RECENT = 13, 16, 19  # three columns each, lags 1..3
STATE_COLUMNS = 22

EMPTY = -1
HOLD, REST = -2, -1
MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _token(event):
    """One byte per event for window codes: pitches 0..127, REST 128, HOLD 129."""
    return event if event >= 0 else 127 - event


@njit(cache=True)
def probe(table, row, code, insert):
    """Looks a code up in one melody's hash table (and inserts it); True if it was there."""
    size = table.shape[1]
    slot = np.int64((np.uint64(code) * MIX) >> np.uint64(40)) & (size - 1)
    while True:
        current = table[row, slot]
        if current == code:
            return True
        if current == EMPTY:
            if insert:
                table[row, slot] = code
            return False
        slot = (slot + 1) & (size - 1)


@njit(cache=True)
def theory_step(events, state, history, counts, table, in_key, degrees, interval_values,
                tonic_pitch, final_beat, steps, lowest, out, flags):
    """Scores ``events[b]`` for every melody ``b`` and appends it (see the module docstring).

    Returns:
        -1, or the first row whose melody is full or whose event is not a melody entry (then
        nothing is changed).
    """
    for b in range(events.shape[0]):
        if state[b, LENGTH] >= history.shape[1] or events[b] < HOLD or events[b] > 127:
            return b
    tonic_class, third_class, fifth_class = degrees[0], degrees[1], degrees[2]
    for b in range(events.shape[0]):
        event = events[b]
        step = state[b, LENGTH]
        is_pitch = event >= 0
        is_hold = event == HOLD
        is_rest = event == REST
        for column in range(9):
            out[b, column] = 0.0
        for column in range(5):
            flags[b, column] = False

        # key
        if is_pitch and not in_key[event % 12]:
            out[b, 0] = R.KEY_PENALTY
        # tonic
        if step == 0 or step == final_beat:
            hit = event == tonic_pitch
        elif step == final_beat + 1:
            hit = is_hold
        else:
            hit = step > final_beat + 1 and (is_hold or is_rest)
        if hit:
            out[b, 1] = R.TONIC_REWARD

        # repeating
        last_pitch = state[b, LAST_PITCH]
        same_pitch = is_pitch and event == last_pitch
        limit = R.REPEAT_LIMIT_WITH_BREAKS if (state[b, BREAKS] != 0 or state[b, HELD] != 0) \
            else R.REPEAT_LIMIT
        hold_limit = R.REPEAT_LIMIT_WITH_BREAKS if state[b, TRAILING_RESTS] > 0 \
            else R.REPEAT_LIMIT
        repeat = ((same_pitch and state[b, REPEATS] > limit)
                  or (is_hold and state[b, TRAILING_HOLDS] > hold_limit)
                  or (is_rest and state[b, TRAILING_RESTS] > 1))
        if repeat:
            out[b, 2] = R.REPEAT_PENALTY
            flags[b, 0] = True
        if is_pitch and not same_pitch:
            state[b, BREAKS] = 1 if state[b, TRAILING_RESTS] > 0 else 0
            state[b, HELD] = 1 if state[b, TRAILING_HOLDS] > 0 else 0
            state[b, REPEATS] = 1
        else:
            if is_rest:
                state[b, BREAKS] = 1
            if is_hold:
                state[b, HELD] = 1
            if same_pitch:
                state[b, REPEATS] += 1
        if is_pitch:
            state[b, TRAILING_HOLDS] = 0
            state[b, TRAILING_RESTS] = 0
        elif is_hold:
            state[b, TRAILING_HOLDS] += 1
        else:
            state[b, TRAILING_RESTS] += 1

        # autocorrelation, as exact integer sums
        value = 0 if is_rest else (1 if is_hold else event - lowest + 2)
        n = step + 1
        state[b, SUM] += value
        state[b, SQUARES] += value * value
        for k in range(3):
            if n > k + 1:
                state[b, PRODUCTS + k] += value * state[b, RECENT + k]
            if n <= k + 1:
                state[b, HEAD + k] += value
        state[b, RECENT + 2] = state[b, RECENT + 1]
        state[b, RECENT + 1] = state[b, RECENT]
        state[b, RECENT] = value
        total = state[b, SUM]
        denominator = n * (n * state[b, SQUARES] - total * total)
        if denominator > 0:
            large = 0
            tail = 0
            for k in range(3):
                tail += state[b, RECENT + k]
                if n > k + 1:
                    numerator = (n * n * state[b, PRODUCTS + k]
                                 - n * total * ((total - tail) + (total - state[b, HEAD + k]))
                                 + (n - k - 1) * total * total)
                    magnitude = abs(numerator)
                    if magnitude * R.AUTOCORRELATION_THRESHOLD[1] > \
                            R.AUTOCORRELATION_THRESHOLD[0] * denominator:
                        large += magnitude
            out[b, 3] = -R.AUTOCORRELATION_WEIGHT * (large / denominator)

        # motif and repeated motif
        code = (state[b, WINDOW_CODE] << 8) | _token(event)
        state[b, WINDOW_CODE] = code
        pitches = 0
        if n >= R.MOTIF_WINDOW:
            seen = np.zeros(128, dtype=np.bool_)
            for j in range(R.MOTIF_WINDOW):
                earlier = event if j == 0 else history[b, step - j]
                if earlier >= 0 and not seen[earlier]:
                    seen[earlier] = True
                    pitches += 1
        is_motif = n >= R.MOTIF_WINDOW and pitches >= R.MOTIF_MIN_PITCHES
        if n >= 2 * R.MOTIF_WINDOW:  # the window ending 8 steps back is now wholly earlier
            old = 0
            end = step - R.MOTIF_WINDOW
            for j in range(R.MOTIF_WINDOW - 1, -1, -1):
                old = (old << 8) | _token(history[b, end - j])
            probe(table, b, old, True)
        if is_motif:
            flags[b, 1] = True
            out[b, 4] = R.MOTIF_REWARD + max((pitches - R.MOTIF_MIN_PITCHES) * 0.3, 0.0)
            if n >= 2 * R.MOTIF_WINDOW and probe(table, b, code, False):
                flags[b, 2] = True
                out[b, 5] = R.REPEATED_MOTIF_REWARD + max(pitches - R.MOTIF_MIN_PITCHES, 0)

        # preferred intervals (from the previous pitch)
        previous = last_pitch
        if previous >= 0:
            pitch_class = previous % 12
            on_tonic_or_fifth = pitch_class == tonic_class or pitch_class == fifth_class
            if is_rest:
                base = R.REST_AFTER_TONIC_OR_FIFTH if on_tonic_or_fifth else R.REST_VALUE
            elif is_hold:
                base = R.HOLD_AFTER_TONIC_OR_FIFTH if on_tonic_or_fifth else R.HOLD_VALUE
            else:
                interval = abs(event - previous)
                if interval == 7 and on_tonic_or_fifth:
                    base = R.IN_KEY_FIFTH_VALUE
                elif interval == 4 and (pitch_class == tonic_class
                                        or pitch_class == third_class):
                    base = R.IN_KEY_THIRD_VALUE
                elif interval > 12:
                    base = R.BEYOND_OCTAVE_VALUE
                else:
                    base = interval_values[interval]
            out[b, 6] = R.INTERVAL_SCALE * base

        # leap up and back
        if step > 0:
            direction = state[b, DIRECTION]
            if is_pitch and previous >= 0 and abs(event - previous) >= R.LEAP:
                heading = 1 if event > previous else -1
                if direction == 0:
                    state[b, DIRECTION] = heading
                    state[b, LEAPT_FROM] = previous
                elif direction != heading:
                    if state[b, SINCE_LEAP] > R.STEPS_BETWEEN_LEAPS:
                        flags[b, 3] = True
                    state[b, DIRECTION] = 0
                else:
                    flags[b, 4] = True
                state[b, SINCE_LEAP] = 0
            else:
                state[b, SINCE_LEAP] += 1
                if is_pitch and ((direction == 1 and event <= state[b, LEAPT_FROM])
                                 or (direction == -1 and event >= state[b, LEAPT_FROM])):
                    flags[b, 3] = True
                    state[b, DIRECTION] = 0
            if flags[b, 3]:
                out[b, 7] = R.LEAP_RESOLVED_REWARD
            elif flags[b, 4]:
                out[b, 7] = R.LEAP_DOUBLED_PENALTY

        # unique extremes, on the final step
        if is_pitch:
            counts[b, event] += 1
            state[b, LAST_PITCH] = event
        if step == steps - 1:
            highest = -1
            lowest_played = -1
            for pitch in range(128):
                if counts[b, pitch] > 0:
                    if lowest_played < 0:
                        lowest_played = pitch
                    highest = pitch
            if highest >= 0:
                unique = (1.0 if counts[b, highest] == 1 else 0.0) + \
                    (1.0 if counts[b, lowest_played] == 1 else 0.0)
                out[b, 8] = unique * R.UNIQUE_EXTREME_REWARD

        history[b, step] = event
        state[b, LENGTH] = n
    return -1
