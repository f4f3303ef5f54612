"""Expert demonstrations: the bundled melodies replayed through an environment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from mammad_envs.compat import require_imitation
from mammad_envs.melody import HOLD, REST, as_melody, sounding_pitches

if TYPE_CHECKING:
    from imitation.data.types import Trajectory


def melody_windows(melody: Sequence[int] | np.ndarray, steps: int,
                   max_windows: int | None = None) -> list[np.ndarray]:
    """Cuts a melody into consecutive, non-overlapping windows of ``steps`` 16ths.

    Windows start on multiples of ``steps`` (so, for a multiple of 16, on bar lines). A window
    that starts inside a held note or a silence begins by striking that note (or with REST), so
    it sounds as it did in the whole melody. A last partial window is dropped.

    Args:
        melody: A melody array.
        steps: Window length.
        max_windows: Keep at most this many windows from the start (default: all).

    Returns:
        The windows, each a melody array of length ``steps``.
    """
    melody = as_melody(melody)
    sounding = sounding_pitches(melody)
    windows = []
    for start in range(0, len(melody) - steps + 1, steps):
        if max_windows is not None and len(windows) >= max_windows:
            break
        window = melody[start:start + steps].copy()
        if window[0] == HOLD:
            window[0] = sounding[start] if sounding[start] >= 0 else REST
        windows.append(window)
    return windows


def expert_trajectories(
    env: gym.Env,
    melodies: Iterable[Sequence[int] | np.ndarray] | None = None,
    *,
    max_windows: int | None = None,
    seed: int = 0,
) -> list[Trajectory]:
    """Replays melodies through an env and records what it observes, as imitation trajectories.

    Each melody is cut into windows of the env's episode length (:func:`melody_windows`); each
    window is one episode, reset with seed ``seed + k`` for the ``k``-th episode, so a random
    accompaniment is drawn reproducibly. The env may be wrapped: observations and infos are
    the wrapped env's.

    Args:
        env: A MammadMelody env (or a wrapper around one).
        melodies: Melody arrays, or the bundled melodies' ``notes`` by default.
        max_windows: At most this many windows per melody (default: all).
        seed: Seed of the first episode.

    Returns:
        One ``imitation.data.types.Trajectory`` per window, with ``terminal=True``.

    Raises:
        ValueError: If a melody plays a pitch outside the env's ``pitch_range``.
        ImportError: Without the imitation extra (the message says how to install it).
    """
    require_imitation("expert_trajectories (imitation Trajectory objects)")
    # optional: the imitation extra
    from imitation.data.types import Trajectory

    # circle: mammad_envs.data imports this module
    from mammad_envs.data import load_melodies

    base: Any = env.unwrapped
    if melodies is None:
        melodies = [melody.notes for melody in load_melodies()]
    trajectories = []
    for number, melody in enumerate(melodies):
        windows = melody_windows(melody, base.steps, max_windows)
        actions_per_window = []
        for window in windows:
            try:
                actions_per_window.append([base.pitch_to_action(int(e)) for e in window])
            except ValueError as error:
                raise ValueError(f"melody {number}: {error}") from None
        for actions in actions_per_window:
            observation, _ = env.reset(seed=seed + len(trajectories))
            observations, infos = [observation], []
            for action in actions:
                observation, _, terminated, truncated, info = env.step(action)
                observations.append(observation)
                infos.append(info)
                if terminated or truncated:
                    break
            trajectories.append(Trajectory(
                obs=np.array(observations), acts=np.array(actions[:len(infos)]),
                infos=np.array(infos), terminal=True,
            ))
    return trajectories
