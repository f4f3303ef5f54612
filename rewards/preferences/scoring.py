"""Scoring finished melodies with the suite's rewards, as an episode would have paid them.

:func:`reward_scores` replays each melody through a batched env with the named rewards (the
melody's events as the actions, over its accompaniment) and returns each episode's return.
The synthetic labelers (:mod:`feedback.labelers`) score melodies this way, and the
RLHF benchmarks measure policies with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mammad_envs.melody import as_melody


def reward_scores(melodies: Sequence[np.ndarray], reward: str,
                  accompaniments: Sequence[str | None] | None = None,
                  reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
                  **env_kwargs: Any) -> np.ndarray:
    """The return each melody earns from ``reward`` when written step by step.

    Melodies of one length and accompaniment are replayed together in one
    :class:`~mammad_envs.vector_env.MelodyVectorEnv`.

    Args:
        melodies: Melody arrays (pitches 21..108, HOLD, REST).
        reward: Rewards joined by ``+``, e.g. ``"theory"`` or ``"theory+note_rnn"``.
        accompaniments: Each melody's accompaniment (a bundled name or None); default None.
        reward_kwargs: Arguments of the rewards, as ``gym.make`` takes them.
        **env_kwargs: Further env arguments (``pitch_range`` defaults to the whole piano).

    Returns:
        One float per melody.

    Raises:
        ValueError: On an unknown reward, a melody the env cannot write, or mismatched lengths.
    """
    # heavy: rewards.compose loads the numba-compiled theory kernel
    from rewards.compose import make_vector_env

    melodies = [as_melody(melody) for melody in melodies]
    if accompaniments is None:
        accompaniments = [None] * len(melodies)
    if len(accompaniments) != len(melodies):
        raise ValueError(f"got {len(accompaniments)} accompaniments for {len(melodies)} "
                         f"melodies")
    groups: dict[tuple[int, str | None], list[int]] = defaultdict(list)
    for index, (melody, accompaniment) in enumerate(zip(melodies, accompaniments,
                                                        strict=True)):
        if len(melody) == 0:
            raise ValueError(f"melody {index} is empty")
        groups[(len(melody), accompaniment)].append(index)
    scores = np.zeros(len(melodies))
    for (steps, accompaniment), rows in groups.items():
        envs = make_vector_env(len(rows), reward=reward, reward_kwargs=reward_kwargs,
                               steps=steps, accompaniment=accompaniment, **env_kwargs)
        try:
            table = envs.template.events_table
            batch = np.stack([melodies[row] for row in rows])
            matches = batch[:, :, None] == table[None, None, :]
            if not matches.any(axis=2).all():
                row, step = np.argwhere(~matches.any(axis=2))[0]
                raise ValueError(f"melody {rows[row]} has {int(batch[row, step])} at step {step}, "
                                 f"which this env cannot write (its events are "
                                 f"{int(table.min())}..{int(table.max())}, HOLD and REST)")
            actions = matches.argmax(axis=2)
            envs.reset(seed=0)
            total = np.zeros(len(rows))
            for step in range(steps):
                _, rewards, _, _, _ = envs.step(actions[:, step])
                total += rewards
        finally:
            envs.close()
        scores[rows] = total
    return scores
