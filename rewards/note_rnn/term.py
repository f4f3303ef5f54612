"""The Note-RNN reward: the log-likelihood of each event under a frozen Note-RNN.

The term of a step is ``log p(event | melody so far)``, as in RL Tuner's "reward RNN". The term
keeps the LSTM state of every env (:class:`~rewards.note_rnn.batched.BatchedNoteRNN`): one LSTM
step per env step for the whole batch (never re-running the history), restarted when a melody
starts. For an env whose pitch range is narrower than the model's 88 keys, the probabilities
are renormalised over that env's actions.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from mammad_envs.step_batch import StepBatch
from rewards.base import RewardTerm, RewardWrapper, term_attribute
from rewards.note_rnn.batched import BatchedNoteRNN


class NoteRNNTerm(RewardTerm):
    """``log p(event | melody so far)`` under a frozen Note-RNN.

    Args:
        env: A MammadMelody env whose pitch range lies within 21..108.
        batch: Envs scored at once (one batched LSTM step for all).
        weight: Multiplies the log-probability.
        model: Path of a weights file written by ``NoteRNN.save``, or the name of a shipped
            model (``"rl_tuner"``: trained in MIDI 48..83 only, see
            :data:`~rewards.note_rnn.model.PRETRAINED`); ``None`` (default) for the shipped
            default, trained with octave shifts across the piano.
        renormalise: Renormalise over the env's actions when its pitch range is narrower than
            the model's (default True); False scores with the model's full distribution.
        threads: torch threads used for the LSTM step when it runs in the caller's thread (1
            is fastest for this small network on the project's 2-core machines); ``None`` uses
            torch's current setting. A background worker process always runs on one.
        overlap: Run the LSTM step in a background worker, overlapping whatever the caller
            does next (default: for batches of 16 or more; see
            :class:`~rewards.note_rnn.batched.BatchedNoteRNN`).
    """

    name = "note_rnn"
    wrapper = "rewards.note_rnn.term:NoteRNNReward"

    def __init__(self, env: gym.Env, batch: int = 1, weight: float = 1.0,
                 model: str | None = None, renormalise: bool = True,
                 threads: int | None = 1, overlap: bool | None = None) -> None:
        super().__init__(env, batch, weight)
        self.lstm = BatchedNoteRNN(self.env.lowest, self.env.highest, self.batch, model,
                                   renormalise, threads, overlap)
        self.tokens = self.lstm.tokens

    def reset(self, rows: np.ndarray) -> None:
        """Restarts the given melodies' LSTM states from START."""
        self.lstm.restart(rows)

    def compute(self, step: StepBatch) -> np.ndarray:
        """The log-probability of each env's event; then one LSTM step on them."""
        return self.lstm.score(step.events)


class NoteRNNReward(RewardWrapper):
    """Adds the Note-RNN reward (a :class:`NoteRNNTerm`) to a scalar env.

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("MammadMelody-count-v0", reward="theory+note_rnn",
        ...                reward_weights={"theory": 2.0})
        >>> _ = env.reset(seed=0)
        >>> _, reward, *_, info = env.step(env.unwrapped.pitch_to_action(60))
        >>> sorted(info["reward_terms"])
        ['note_rnn', 'theory']

    Args:
        env: A MammadMelody env (possibly wrapped).
        **kwargs: :class:`NoteRNNTerm`'s arguments: ``weight``, ``model``, ``renormalise``,
            ``threads``, ``overlap``.
    """

    term_class = NoteRNNTerm

    lstm = term_attribute("lstm", "The term's :class:`~rewards.note_rnn.batched.BatchedNoteRNN` "
                                  "(a batch of one).")

    tokens = term_attribute("tokens", "The Note-RNN tokens of the env's actions.")
