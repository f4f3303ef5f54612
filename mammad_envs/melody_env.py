"""The MammadMelody environment: write a melody one 16th note at a time."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import logger, spaces

from mammad_envs.accompaniment import Accompaniment, find_accompaniment, pick_random
from mammad_envs.data import load_accompaniments
from mammad_envs.encodings import make_encoding
from mammad_envs.events import PIANO_RANGE, playable_events
from mammad_envs.frames import SixteenthWriter
from mammad_envs.infos import single_info
from mammad_envs.melody import (
    HOLD,
    MELODY_DTYPE,
    NUM_PITCHES,
    REST,
)
from mammad_envs.midi import write_midi
from mammad_envs.music import parse_key
from mammad_envs.piano_roll import piano_roll_rgb, piano_roll_text
from mammad_envs.step_batch import StepBatch

MAX_STEPS = 4096
"""The most 16ths an episode may have: 256 bars of 4/4, eight and a half minutes at 120 bpm.

Memory grows with ``steps`` per env: the melody (``int16``, 2 bytes a 16th) and the theory
reward's history and motif windows (two ``int64``, 16 bytes a 16th), 18 bytes in all (the
observations are ``(N, 128)`` float32 whatever ``steps`` is). A vector env of 1,024 envs at the
cap holds ``1024 * 4096 * 18`` bytes = 72 MiB; with ``steps=10**9`` one env alone would ask for
18 GB. The largest count, ``2 * MAX_STEPS = 8192``, is exact in float32.
"""

ARGUMENTS = ("encoding", "steps", "pitch_range", "accompaniment", "decay", "mask_key",
             "render_mode", "encoding_kwargs")


class MelodyEnv(gym.Env[np.ndarray, np.int64]):
    """Compose a melody one 16th note at a time over a rhythmic accompaniment.

    ## Description
    The agent writes a melody in 4/4 time, one 16th note per step, while one of five bundled
    rhythmic accompaniments (bass and chords in C major / A minor) loops underneath. At every
    step it strikes a new pitch, holds what is sounding, or rests. The melody so far is
    ``env.unwrapped.melody``; ``env.unwrapped.to_midi(path)`` writes it with its accompaniment.

    ## Action Space
    ``Discrete(n)`` with ``n = highest - lowest + 3`` for ``pitch_range=(lowest, highest)``
    (90 for the default 88 piano keys):

    | action            | meaning                                            |
    |-------------------|----------------------------------------------------|
    | 0 .. n-3          | strike MIDI pitch ``lowest + action``              |
    | n-2               | ``HOLD``: the previous note (or silence) continues |
    | n-1               | ``REST``: silence                                  |

    ``pitch_to_action`` and ``action_to_pitch`` convert. ``action_masks()`` gives the legal
    actions (all, or the pitches of ``mask_key``'s scale plus HOLD and REST), as MaskablePPO
    expects; the env itself accepts any action in the space.

    ## Observation Space
    ``Box(0, high, (128,), float32)``, one entry per MIDI pitch. Step ``t`` (counting from 1)
    writes 16th number ``t - 1``; the observation returned by that step describes the music up to
    and including that 16th, melody and accompaniment together:

    | encoding | entry for pitch ``p``                                      | high      |
    |----------|------------------------------------------------------------|-----------|
    | binary   | 1 if ``p`` sounds during the 16th just written, else 0      | 1         |
    | count    | number of onsets of ``p`` in the 16ths written so far      | steps x m |
    | decay    | onsets weighed ``decay ** age``: ``c <- decay * c + o``     | steps x m |

    ``m = 2``: a melody and an accompaniment onset of the same pitch at the same 16th count
    twice. A held note sounds (binary) but makes no new onset.

    ``binary_stack`` (frame stacking, for agents without memory) is
    ``Box(0, 1, (frames * 128,), float32)``: the binary snapshots of the last ``frames`` 16ths
    (default 4), the latest first, 0 before the first 16th.

    ## Rewards
    The bare env rewards 0.0 at every step and reports ``info["reward_terms"] = {}``; reward
    wrappers add their terms. The registered ids wrap it in the music-theory reward by default
    (``gym.make(id, reward=None)`` is the bare env; see ``docs/rewards.md``). ``info`` also
    holds ``step`` (the 16th just written, from 0), ``bar``, ``beat`` (0..3 in the bar),
    ``sixteenth`` (0..3 in the beat) and ``pitch`` (the melody entry written: a MIDI pitch,
    ``HOLD = -2`` or ``REST = -1``).

    ## Starting State
    No 16th has been written: the observation is all zeros for every encoding. The
    accompaniment is the one named, or with ``accompaniment="random"`` one drawn from
    ``np_random`` at every reset; ``info["accompaniment"]`` names it.

    ## Episode End
    The episode terminates after ``steps`` steps, when the melody is complete. It is never
    truncated by the env (a ``TimeLimit`` wrapper may be added by the user).

    ## Arguments
    ```python
    gym.make("MammadMelody-binary-v0")          # or -count-v0, -decay-v0
    gym.make("MelodyEnv-v0", encoding="decay", decay=0.8, steps=32, accompaniment="march")
    ```
    * ``encoding``: ``"binary"``, ``"count"``, ``"decay"`` or ``"binary_stack"`` (see
      Observation Space).
    * ``steps``: 16ths per episode (default 64, four bars), at most :data:`MAX_STEPS` (4096).
    * ``pitch_range``: lowest and highest playable MIDI pitch, inclusive (default 21..108).
    * ``accompaniment``: a bundled accompaniment's name (``march``, ``rock``, ``alberti``,
      ``habanera``, ``bossa``) or index, ``"random"`` (default) or ``None`` (melody alone).
      ``reset(options={"accompaniment": ...})`` overrides it for one episode.
    * ``decay``: the decay factor in ``[0, 1]`` for the ``decay`` encoding (default 0.9);
      refused with any other encoding.
    * ``encoding_kwargs``: further arguments of the encoding's class (an encoding registered
      with :func:`~mammad_envs.encodings.register_encoding` takes its own); an argument the
      chosen encoding does not take is refused, naming the ones it takes.
    * ``mask_key``: restrict ``action_masks()`` to this key's scale, e.g. ``"C major"``.
    * ``render_mode``: ``"ansi"`` (a text piano roll) or ``"rgb_array"`` (a piano-roll image).

    The built env keeps what it was built from: ``encoding``, ``steps``, ``lowest`` and
    ``highest`` (the pitch range), ``hold_action`` and ``rest_action``, ``events_table`` (the
    melody entry each action writes, read-only) and ``accompaniment_choice`` (an accompaniment
    index, ``"random"`` or None). The 16ths are written by a
    :class:`~mammad_envs.frames.SixteenthWriter` with a batch of one, the same code the vector
    env runs for N.

    ## Version History
    * v0: Initial release.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 8}

    def __init__(
        self,
        encoding: str = "binary",
        steps: int = 64,
        pitch_range: Sequence[int] = PIANO_RANGE,
        accompaniment: str | int | None = "random",
        decay: float | None = None,
        mask_key: str | None = None,
        render_mode: str | None = None,
        encoding_kwargs: dict[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ValueError(f"unknown argument(s) {sorted(unknown)} for MelodyEnv; "
                             f"valid arguments: {list(ARGUMENTS)} (and, through gym.make, "
                             f"reward, reward_weights, reward_kwargs)")
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) \
                or not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be a positive integer of at most MAX_STEPS = "
                             f"{MAX_STEPS} (256 bars), got {steps!r}")
        self.lowest, self.highest = _check_pitch_range(pitch_range)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}: choose one of "
                             f"{self.metadata['render_modes']} or None")
        self._accompaniments = load_accompaniments()
        self.accompaniment_choice = self._check_accompaniment(accompaniment)
        self.steps = int(steps)
        self.render_mode = render_mode
        self.mask_key = mask_key

        if encoding_kwargs is not None and not isinstance(encoding_kwargs, Mapping):
            raise ValueError(f"encoding_kwargs must be a mapping of the encoding's arguments, "
                             f"e.g. {{'decay': 0.8}}, got {encoding_kwargs!r}")
        encoding_kwargs = dict(encoding_kwargs or {})
        if decay is not None:  # the v0 shortcut for the decay encoding's argument
            if "decay" in encoding_kwargs:
                raise ValueError(f"decay is given twice: decay={decay!r} and "
                                 f"encoding_kwargs={encoding_kwargs!r}; give it once")
            encoding_kwargs["decay"] = decay
        # A melody onset and an accompaniment onset of one pitch can share a 16th: 2 at most.
        self.encoding = make_encoding(encoding, self.steps, max_onsets=2, **encoding_kwargs)
        self.observation_space = self.encoding.space()
        num_pitches = self.highest - self.lowest + 1
        self.hold_action = num_pitches
        self.rest_action = num_pitches + 1
        self.action_space = spaces.Discrete(num_pitches + 2)
        self.events_table = playable_events(self.lowest, self.highest).astype(MELODY_DTYPE)
        self.events_table.flags.writeable = False
        self._mask = np.ones(self.action_space.n, dtype=bool)
        if mask_key is not None:
            in_scale = parse_key(mask_key).scale_mask()
            self._mask[:num_pitches] = in_scale[self.lowest:self.highest + 1]

        self._writer = SixteenthWriter(self.encoding, self._accompaniments, self.events_table,
                                       self.steps, batch=1)
        self._action = np.zeros(1, dtype=np.int64)
        self._step = np.zeros(1, dtype=np.int64)
        self._terminated = np.zeros(1, dtype=bool)
        self._accompaniment: Accompaniment | None = None
        self._observations = self._writer.observations.copy()
        self.last_step: StepBatch | None = None
        self._started = False

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Writes one 16th of the melody.

        Args:
            action: An action of ``action_space`` (see the class docstring).

        Returns:
            ``(observation, 0.0, terminated, False, info)``.

        Raises:
            ValueError: If the action is not an integer in the action space.
            RuntimeError: If called before ``reset()`` or after the episode terminated.
        """
        action = self._check_action(action)
        if not self._started:
            raise RuntimeError("call reset() before step()")
        step = int(self._writer.current_step[0])
        if step >= self.steps:
            raise RuntimeError(f"the melody is complete ({self.steps} steps): call reset() "
                               f"before step()")
        self._action[0] = action
        previous = self._observations
        events, observations = self._writer.write(self._action)
        terminated = step + 1 == self.steps
        self._step[0], self._terminated[0] = step, terminated
        self.last_step = StepBatch(events, self._action, self._step, self._writer.melodies,
                                   observations, previous, self._terminated, self._writer.rows)
        self._observations = observations
        return observations[0], 0.0, terminated, False, single_info(step, int(events[0]))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Starts a new, empty melody.

        Args:
            seed: Seeds ``np_random`` (which picks a random accompaniment).
            options: ``{"accompaniment": ...}`` overrides the accompaniment for this episode.

        Returns:
            The all-zero observation and ``{"accompaniment": name or None}``.

        Raises:
            ValueError: If ``options`` holds an unknown key or accompaniment.
        """
        choice = self.accompaniment_choice
        if options:
            unknown = set(options) - {"accompaniment"}
            if unknown:
                raise ValueError(f"unknown reset option(s) {sorted(unknown)}; "
                                 f"valid options: ['accompaniment']")
            if "accompaniment" in options:
                choice = self._check_accompaniment(options["accompaniment"])
        super().reset(seed=seed)
        if choice == "random":
            choice = pick_random(self.np_random.random(), len(self._accompaniments))
        self._accompaniment = None if choice is None else self._accompaniments[choice]
        self._writer.reset(np.zeros(1, dtype=np.int64), [choice])
        self._observations = self._writer.observations.copy()
        self.last_step = None
        self._started = True
        name = None if self._accompaniment is None else self._accompaniment.name
        return self.encoding.initial(), {"accompaniment": name}

    def render(self) -> str | np.ndarray | None:
        """Renders the episode so far as a piano roll (text or RGB array)."""
        if self.render_mode is None:
            logger.warn("You are calling render method without specifying any render mode; "
                        "pass render_mode='ansi' or 'rgb_array' to gym.make.")
            return None
        notes = self._accompaniment.notes_until(self.current_step) if self._accompaniment else []
        if self.render_mode == "ansi":
            return piano_roll_text(self.melody, notes, steps=self.current_step)
        return piano_roll_rgb(self.melody, notes, steps=self.steps,
                              pitch_range=(self.lowest, self.highest))

    # ----- helpers for users and wrappers -----

    @property
    def melody(self) -> np.ndarray:
        """The melody written so far (a copy), one entry per 16th."""
        return self._writer.melodies[0, : self.current_step].copy()

    @property
    def accompaniment(self) -> Accompaniment | None:
        """The accompaniment of the current episode, or None."""
        return self._accompaniment

    @property
    def current_step(self) -> int:
        """How many 16ths have been written in this episode."""
        return int(self._writer.current_step[0])

    def action_masks(self) -> np.ndarray:
        """The legal actions as a bool array (all True unless ``mask_key`` is set)."""
        return self._mask.copy()

    def action_to_pitch(self, action: int) -> int:
        """The melody entry an action writes: a MIDI pitch, ``HOLD`` or ``REST``.

        Raises:
            ValueError: If the action is not in the action space.
        """
        return int(self.events_table[self._check_action(action)])

    def pitch_to_action(self, pitch: int) -> int:
        """The action that writes a melody entry (a pitch in ``pitch_range``, HOLD or REST).

        Raises:
            ValueError: If the pitch cannot be played in this env.
        """
        if isinstance(pitch, int | np.integer) and not isinstance(pitch, bool):
            if pitch == HOLD:
                return self.hold_action
            if pitch == REST:
                return self.rest_action
            if self.lowest <= pitch <= self.highest:
                return int(pitch) - self.lowest
        raise ValueError(f"pitch {pitch!r} cannot be played here: use a MIDI pitch in "
                         f"{self.lowest}..{self.highest}, HOLD ({HOLD}) or REST ({REST})")

    def to_midi(self, path: str | os.PathLike, bpm: float = 120.0) -> Path:
        """Writes the melody so far and its accompaniment as a two-track MIDI file.

        Args:
            path: Where to write.
            bpm: Tempo in quarter notes per minute.

        Returns:
            The path written.
        """
        notes = self._accompaniment.notes_until(self.current_step) if self._accompaniment else []
        return write_midi(path, self.melody, notes, bpm=bpm)

    def _check_action(self, action: Any) -> int:
        if type(action) in (int, np.int64) and 0 <= action < self.action_space.n:
            return int(action)  # the common case, checked quickly
        array = np.asarray(action)
        if array.shape != () or array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"action must be an integer in 0..{self.action_space.n - 1}, "
                             f"got {action!r}")
        if not 0 <= array < self.action_space.n:
            raise ValueError(f"action {int(array)} is out of range: valid actions are "
                             f"0..{self.action_space.n - 1} (pitches {self.lowest}..{self.highest}"
                             f", then HOLD {self.hold_action}, REST {self.rest_action})")
        return int(array)

    def _check_accompaniment(self, choice: Any) -> int | str | None:
        """Validates an accompaniment choice: returns an index, ``"random"`` or None."""
        if choice is None or choice == "random":
            return choice
        chosen = find_accompaniment(choice, self._accompaniments)
        return self._accompaniments.index(chosen)


def _check_pitch_range(pitch_range: Any) -> tuple[int, int]:
    try:
        lowest, highest = (int(p) for p in pitch_range if not isinstance(p, bool | float))
    except (TypeError, ValueError):
        lowest = highest = -1
    if not 0 <= lowest <= highest < NUM_PITCHES:
        raise ValueError(f"pitch_range must be two MIDI pitches (lowest, highest) with "
                         f"0 <= lowest <= highest <= 127, got {pitch_range!r}")
    return lowest, highest


__all__ = ["MAX_STEPS", "MelodyEnv", "PIANO_RANGE"]
