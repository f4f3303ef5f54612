"""The music-theory rules as one compiled loop over a batch of melodies (numba).

:func:`theory_step` scores one event per melody and updates each melody's incremental state:
the same state and arithmetic as the plain rule functions in :mod:`rewards.theory.rules`
define (run lengths, exact integer autocorrelation sums, a rolling code of the last 8 events,
the codes of every earlier window behind a 256-bit filter, so that they are scanned only when the
filter says the current code may be among them, the leap state machine, per-pitch counts and
the extremes). :class:`rewards.theory.engine.TheoryEngine` owns the arrays and calls it; the scalar
reward (a batch of one), the vector env and the statistics all go through it.

Columns of ``out``: the nine rules in :data:`RULE_COLUMNS` order. Columns of ``flags``:
:data:`FLAG_COLUMNS`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mammad_envs.events import HOLD, REST
from rewards.theory import rules as R

RULE_COLUMNS = ("key", "tonic", "repeating", "autocorrelation", "motif", "repeated_motif",
                "preferred_intervals", "leap", "unique_extremes")
FLAG_COLUMNS = ("_repeat", "_motif", "_repeated_motif", "_leap_resolved", "_leap_doubled")

# Indices into the int64 state matrix (one row per melody).
LAST_PITCH, REPEATS, BREAKS, HELD, TRAILING_HOLDS, TRAILING_RESTS = range(6)
SUM, SQUARES, DIRECTION, LEAPT_FROM, SINCE_LEAP, WINDOW_CODE, LENGTH = range(6, 13)
PRODUCTS, HEAD, RECENT = 13, 16, 19  # three columns each, lags 1..3
FILTER = 22  # four columns: a 256-bit filter of the earlier windows' codes
LOWEST, HIGHEST = 26, 27  # the melody's lowest and highest pitch so far, or -1
STATE_COLUMNS = 28

MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _token(event):
    """One byte per event for window codes: pitches 0..127, REST 128, HOLD 129."""
    return event if event >= 0 else 127 - event


@njit(cache=True)
def _filter_bit(code):
    """Which of the 256 filter bits a window code sets."""
    return np.int64((np.uint64(code) * MIX) >> np.uint64(56))


@njit(cache=True, error_model="numpy")
def theory_step(events, state, history, counts, windows, in_key, degrees, interval_values,
                tonic_pitch, final_beat, steps, lowest, weights, out, totals, flags):
    """Scores ``events[b]`` for every melody ``b`` and appends it (see the module docstring).

    Each rule's value is multiplied by its weight (``weights``, one per column of ``out``) and
    ``totals[b]`` receives the sum of the row, added left to right.

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
        if n >= R.MOTIF_WINDOW:  # distinct pitches in the window, read off the code's bytes
            for j in range(R.MOTIF_WINDOW):
                token = (code >> (8 * j)) & 0xFF
                if token < 128:
                    first = True
                    for i in range(j):
                        if (code >> (8 * i)) & 0xFF == token:
                            first = False
                    if first:
                        pitches += 1
        is_motif = n >= R.MOTIF_WINDOW and pitches >= R.MOTIF_MIN_PITCHES
        windows[b, step] = code
        if n >= 2 * R.MOTIF_WINDOW:  # the window ending 8 steps back is now wholly earlier
            bit = _filter_bit(windows[b, step - R.MOTIF_WINDOW])
            state[b, FILTER + (bit >> 6)] |= np.int64(1) << (bit & 63)
        if is_motif:
            flags[b, 1] = True
            out[b, 4] = R.MOTIF_REWARD + max((pitches - R.MOTIF_MIN_PITCHES) * 0.3, 0.0)
            found = False
            bit = _filter_bit(code)
            if n >= 2 * R.MOTIF_WINDOW and \
                    state[b, FILTER + (bit >> 6)] & (np.int64(1) << (bit & 63)) != 0:
                for earlier in range(R.MOTIF_WINDOW - 1, step - R.MOTIF_WINDOW + 1):
                    if windows[b, earlier] == code:
                        found = True
                        break
            if found:
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
            if state[b, LOWEST] < 0 or event < state[b, LOWEST]:
                state[b, LOWEST] = event
            if event > state[b, HIGHEST]:
                state[b, HIGHEST] = event
        if step == steps - 1 and state[b, HIGHEST] >= 0:
            unique = (1.0 if counts[b, state[b, HIGHEST]] == 1 else 0.0) + \
                (1.0 if counts[b, state[b, LOWEST]] == 1 else 0.0)
            out[b, 8] = unique * R.UNIQUE_EXTREME_REWARD

        history[b, step] = event
        state[b, LENGTH] = n
        total = 0.0
        for column in range(9):
            value = out[b, column] * weights[column]
            out[b, column] = value
            total += value
        totals[b] = total
    return -1


@njit(cache=True)
def weigh(values, weights, totals):
    """Multiplies each rule column by its weight and adds each row up, left to right.

    The left-to-right order is that of Python's ``sum`` over one melody's rules, so a batch's
    totals equal the reward wrapper's exactly.

    Args:
        values: ``(batch, rules)`` rule values, weighted in place.
        weights: ``(rules,)`` a weight per rule.
        totals: ``(batch,)`` receives the sums.
    """
    for b in range(values.shape[0]):
        total = 0.0
        for column in range(values.shape[1]):
            value = values[b, column] * weights[column]
            values[b, column] = value
            total += value
        totals[b] = total
