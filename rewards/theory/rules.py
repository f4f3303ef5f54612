"""The RL Tuner music-theory rules, one plain function each.

Every rule is a function ``rule(composition, event, context) -> float``: the reward for writing
``event`` (a MIDI pitch, ``HOLD`` or ``REST``) after ``composition`` (the melody so far, without
``event``). These functions are the definition of the rules: readable, and recomputed from the
whole melody at every call. :class:`rewards.theory.engine.TheoryEngine` computes the same
values incrementally, for a batch of melodies at once, and is tested against them.

The rules follow Jaques et al. (2017), "Sequence Tutor" / RL Tuner, and the public Magenta
code, generalised to any pitch range and any major or minor key; see ``docs/rewards.md`` for
where and why we differ from the reference code.

Add your own rule with :func:`register_rule`; ``TheoryReward(rules=[..., "my_rule"])`` uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mammad_envs.events import HOLD, NUM_PITCHES, REST, event_index, indices_of
from mammad_envs.music import Key, parse_key
from mammad_envs.registry import Registry

# Reward constants of the reference.
KEY_PENALTY = -1.0
TONIC_REWARD = 3.0
REPEAT_PENALTY = -100.0
AUTOCORRELATION_WEIGHT = 3.0
AUTOCORRELATION_THRESHOLD = (3, 20)  # 0.15 as an exact fraction
AUTOCORRELATION_LAGS = (1, 2, 3)
MOTIF_WINDOW = 8
MOTIF_MIN_PITCHES = 3
MOTIF_REWARD = 3.0
REPEATED_MOTIF_REWARD = 4.0
INTERVAL_SCALE = 5.0
LEAP = 7
LEAP_RESOLVED_REWARD = 5.0
LEAP_DOUBLED_PENALTY = -5.0
STEPS_BETWEEN_LEAPS = 6
UNIQUE_EXTREME_REWARD = 3.0
REPEAT_LIMIT, REPEAT_LIMIT_WITH_BREAKS = 4, 6
# Interval base values, multiplied by INTERVAL_SCALE.
INTERVAL_VALUES = {2: 0.08, 4: 0.09, 5: 0.07, 7: 0.02, 9: 0.05, 11: -0.3}
BEYOND_OCTAVE_VALUE = -1.0
REST_VALUE, HOLD_VALUE = 0.05, 0.075
REST_AFTER_TONIC_OR_FIFTH, HOLD_AFTER_TONIC_OR_FIFTH = 0.15, 0.3
IN_KEY_FIFTH_VALUE, IN_KEY_THIRD_VALUE = 0.1, 0.15


@dataclass(frozen=True)
class RuleContext:
    """What the rules need to know besides the melody.

    Attributes:
        key: The key (default C major).
        steps: Length of a complete melody in 16ths.
        lowest: Lowest pitch of the action range; autocorrelation is computed on RL Tuner's
            action indices: REST 0, HOLD 1, ``lowest`` 2, ``lowest + 1`` 3, ...
        tonic: The tonic pitch the tonic rule asks for (default: the key's tonic in octave 4,
            e.g. 60 for C major, 69 for A minor).
    """

    key: Key = field(default_factory=lambda: parse_key("C major"))
    steps: int = 32
    lowest: int = 48
    tonic: int | None = None

    @property
    def tonic_pitch(self) -> int:
        """The tonic pitch of the tonic rule."""
        return self.key.tonic_pitch(4) if self.tonic is None else self.tonic

    @property
    def final_beat(self) -> int:
        """The step where the final beat starts (``steps - 4``), as in RL Tuner."""
        return self.steps - 4

    def degree_classes(self) -> tuple[int, int, int]:
        """Pitch classes of the key's 1st, 3rd and 5th degrees (C, E, G in C major)."""
        third = 4 if self.key.mode == "major" else 3
        tonic = self.key.tonic
        return tonic, (tonic + third) % 12, (tonic + 7) % 12


Rule = Callable[[np.ndarray, int, RuleContext], float]


def _pitches(events: np.ndarray) -> np.ndarray:
    return events[events >= 0]


def _previous_pitch(composition: np.ndarray) -> int | None:
    pitches = _pitches(composition)
    return int(pitches[-1]) if pitches.size else None


def key_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """-1 for a pitch outside the key; HOLD and REST are in the key."""
    if event >= 0 and event % 12 not in context.key.pitch_classes:
        return KEY_PENALTY
    return 0.0


def tonic_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """+3 for the tonic on the first step and on the final beat, then HOLD, then HOLD or REST."""
    step, final = len(composition), context.final_beat
    if step in (0, final):
        return TONIC_REWARD if event == context.tonic_pitch else 0.0
    if step == final + 1:
        return TONIC_REWARD if event == HOLD else 0.0
    if step > final + 1:
        return TONIC_REWARD if event in (HOLD, REST) else 0.0
    return 0.0


def is_excessive_repeat(composition: np.ndarray, event: int) -> bool:
    """Whether ``event`` repeats what came before too often (RL Tuner's repeating rule).

    Walks back over the composition counting events equal to ``event``; a REST on the way is a
    "break", a HOLD a "held note", any other pitch ends the walk. Too many: REST after more than
    one REST; otherwise more than 4 repeats, or more than 6 with breaks or held notes.
    """
    repeats, breaks, held = 0, False, False
    for previous in composition[::-1]:
        if previous == event:
            repeats += 1
        elif previous == REST:
            breaks = True
        elif previous == HOLD:
            held = True
        else:
            break
    if event == REST and repeats > 1:
        return True
    return repeats > (REPEAT_LIMIT_WITH_BREAKS if breaks or held else REPEAT_LIMIT)


def repeating_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """-100 for an excessively repeated event (see :func:`is_excessive_repeat`)."""
    return REPEAT_PENALTY if is_excessive_repeat(composition, event) else 0.0


def action_indices(events: np.ndarray, lowest: int) -> np.ndarray:
    """RL Tuner's action indices: REST 0, HOLD 1, pitch ``p`` at ``p - lowest + 2``."""
    return indices_of(events, event_index(0, NUM_PITCHES - 1, 2 - lowest, hold=1, rest=0))


def autocorrelation_parts(series: np.ndarray, lag: int) -> tuple[int, int]:
    """The lag-``lag`` autocorrelation coefficient as an exact fraction ``(numerator, denom)``.

    The coefficient is RL Tuner's ``sum((x[lag:] * x[:-lag])) / n / var(x)`` with ``x`` the series
    minus its mean; scaled by ``n**2`` both parts are integers. The denominator is 0 when the
    series is constant (the coefficient is then undefined).
    """
    values = [int(v) for v in series]
    n, total = len(values), sum(values)
    squares = sum(v * v for v in values)
    if n <= lag:
        return 0, n * (n * squares - total * total)
    products = sum(values[i] * values[i + lag] for i in range(n - lag))
    head, tail = sum(values[:lag]), sum(values[n - lag:])
    numerator = (n * n * products - n * total * ((total - tail) + (total - head))
                 + (n - lag) * total * total)
    return numerator, n * (n * squares - total * total)


def autocorrelation(series: np.ndarray, lag: int) -> float:
    """The lag-``lag`` autocorrelation coefficient, NaN for a constant series."""
    numerator, denominator = autocorrelation_parts(series, lag)
    return numerator / denominator if denominator else float("nan")


def autocorrelation_penalty(numerators: list[int], denominator: int) -> float:
    """-3 x the sum of ``|coefficient|`` over the lags where it is defined and above 0.15."""
    if not denominator:
        return 0.0
    top, bottom = AUTOCORRELATION_THRESHOLD
    large = [abs(n) for n in numerators if abs(n) * bottom > top * denominator]
    return -AUTOCORRELATION_WEIGHT * (sum(large) / denominator)


def autocorrelation_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """Penalises autocorrelation above 0.15 at lags 1, 2 and 3 (on action indices)."""
    series = action_indices(np.append(composition, event), context.lowest)
    parts = [autocorrelation_parts(series, lag) for lag in AUTOCORRELATION_LAGS]
    return autocorrelation_penalty([numerator for numerator, _ in parts], parts[0][1])


def motif_pitches(window: np.ndarray) -> int:
    """Number of distinct pitches in a window (HOLD and REST are not pitches)."""
    return len(set(_pitches(np.asarray(window)).tolist()))


def motif_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """3 (+0.3 per pitch beyond 3) when the last 8 events hold at least 3 distinct pitches."""
    melody = np.append(composition, event)
    if len(melody) < MOTIF_WINDOW:
        return 0.0
    pitches = motif_pitches(melody[-MOTIF_WINDOW:])
    if pitches < MOTIF_MIN_PITCHES:
        return 0.0
    return MOTIF_REWARD + max((pitches - MOTIF_MIN_PITCHES) * 0.3, 0.0)


def is_repeated_motif(composition: np.ndarray, event: int) -> bool:
    """Whether the last 8 events are a motif that already occurs, whole, before them."""
    melody = np.append(composition, event)
    if len(melody) < MOTIF_WINDOW:
        return False
    window = melody[-MOTIF_WINDOW:]
    if motif_pitches(window) < MOTIF_MIN_PITCHES:
        return False
    earlier = melody[:-MOTIF_WINDOW]
    return any(np.array_equal(earlier[i:i + MOTIF_WINDOW], window)
               for i in range(len(earlier) - MOTIF_WINDOW + 1))


def repeated_motif_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """4 (+1 per pitch beyond 3) when the last 8 events repeat an earlier motif."""
    if not is_repeated_motif(composition, event):
        return 0.0
    pitches = motif_pitches(np.append(composition, event)[-MOTIF_WINDOW:])
    return REPEATED_MOTIF_REWARD + max(pitches - MOTIF_MIN_PITCHES, 0)


def interval_value(previous: int | None, event: int, context: RuleContext) -> float:
    """The preferred-interval base value of moving from ``previous`` (a pitch) to ``event``."""
    if previous is None:
        return 0.0
    tonic, third, fifth = context.degree_classes()
    on_tonic_or_fifth = previous % 12 in (tonic, fifth)
    if event == REST:
        return REST_AFTER_TONIC_OR_FIFTH if on_tonic_or_fifth else REST_VALUE
    if event == HOLD:
        return HOLD_AFTER_TONIC_OR_FIFTH if on_tonic_or_fifth else HOLD_VALUE
    interval = abs(event - previous)
    if interval == 7 and on_tonic_or_fifth:
        return IN_KEY_FIFTH_VALUE
    if interval == 4 and previous % 12 in (tonic, third):
        return IN_KEY_THIRD_VALUE
    if interval > 12:
        return BEYOND_OCTAVE_VALUE
    return INTERVAL_VALUES.get(interval, 0.0)


def preferred_intervals_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """5 x the base value of the interval from the previous pitch (see ``docs/rewards.md``)."""
    return INTERVAL_SCALE * interval_value(_previous_pitch(composition), event, context)


def leap_outcomes(melody: np.ndarray) -> np.ndarray:
    """Replays RL Tuner's leap-up-leap-back state machine: +1 resolved, -1 doubled, 0 per step.

    A leap is a move of a fifth (7 semitones) or more from the previous pitch. After a leap, a
    leap back the other way resolves it if more than 6 steps passed since the last leap (and
    only clears it otherwise); a second leap the same way is "doubled"; a smaller move that
    returns to or past the pitch the leap started from resolves it. HOLD and REST only count
    steps.
    """
    outcomes = np.zeros(len(melody), dtype=np.int64)
    direction, leapt_from, since_leap, previous = 0, 0, 0, None
    for step, event in enumerate(int(e) for e in melody):
        if step > 0:
            if event < 0:
                since_leap += 1
            elif previous is not None and abs(event - previous) >= LEAP:
                heading = 1 if event > previous else -1
                if direction == 0:
                    direction, leapt_from = heading, previous
                elif direction != heading:
                    outcomes[step] = 1 if since_leap > STEPS_BETWEEN_LEAPS else 0
                    direction = 0
                else:
                    outcomes[step] = -1
                since_leap = 0
            else:
                since_leap += 1
                if (direction == 1 and event <= leapt_from) or (
                        direction == -1 and event >= leapt_from):
                    outcomes[step] = 1
                    direction = 0
        if event >= 0:
            previous = event
    return outcomes


def leap_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """+5 when a leap is resolved, -5 when it is doubled (see :func:`leap_outcomes`)."""
    outcome = leap_outcomes(np.append(composition, event))[-1]
    return {1: LEAP_RESOLVED_REWARD, -1: LEAP_DOUBLED_PENALTY}.get(int(outcome), 0.0)


def unique_extremes_rule(composition: np.ndarray, event: int, context: RuleContext) -> float:
    """On the final step: +3 if the highest pitch is played once, +3 if the lowest is."""
    if len(composition) != context.steps - 1:
        return 0.0
    pitches = _pitches(np.append(composition, event))
    if not pitches.size:
        return 0.0
    reward = 0.0
    for extreme in (pitches.max(), pitches.min()):
        if np.count_nonzero(pitches == extreme) == 1:
            reward += UNIQUE_EXTREME_REWARD
    return reward


BUILTIN_RULES: dict[str, Rule] = {
    "key": key_rule,
    "tonic": tonic_rule,
    "repeating": repeating_rule,
    "autocorrelation": autocorrelation_rule,
    "motif": motif_rule,
    "repeated_motif": repeated_motif_rule,
    "preferred_intervals": preferred_intervals_rule,
    "leap": leap_rule,
    "unique_extremes": unique_extremes_rule,
}
"""The nine RL Tuner rules, in the reference's order."""

RULES = Registry("music-theory rule", BUILTIN_RULES, check=callable,
                 expected="a function (composition, event, context)")
"""Every rule by name: the built-in ones and those added with :func:`register_rule` (a
function or a lazy ``"module:function"`` string)."""


def register_rule(name: str, rule: Rule | None = None, *, overwrite: bool = False):
    """Adds a music-theory rule, by call or as a decorator.

    Example:
        >>> from rewards.theory import register_rule
        >>> @register_rule("no_low_notes")
        ... def no_low_notes(composition, event, context):
        ...     return -1.0 if 0 <= event < 55 else 0.0

    Args:
        name: The rule's name, used in ``TheoryReward(rules=[...])`` and in ``info``.
        rule: A function ``(composition, event, context) -> float``, or a
            ``"module:function"`` string (imported on first use).
        overwrite: Replace an existing rule of that name (built-in rules cannot be replaced).

    Returns:
        The rule (so this works as a decorator).

    Raises:
        ValueError: If the name is taken or not an identifier, or the rule is not callable.
    """
    if rule is None:
        return lambda function: register_rule(name, function, overwrite=overwrite)
    if name in BUILTIN_RULES:
        raise ValueError(f"a rule named {name!r} exists already (a built-in rule); rules: "
                         f"{sorted(RULES)}")
    return RULES.register(name, rule, overwrite=overwrite)
