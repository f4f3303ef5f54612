"""NoteRNNReward: the log-likelihood of each event under a frozen Note-RNN.

The term of a step is ``log p(event | melody so far)``, as in RL Tuner's "reward RNN". The
wrapper keeps the LSTM state: one LSTM step per env step (never re-running the history),
restarted at every reset. For an env whose pitch range is narrower than the model's 88 keys,
the probabilities are renormalised over that env's actions.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from mammad_envs.melody import HOLD, REST
from rewards.base import RewardTerm, check_weight
from rewards.note_rnn.model import NoteRNN
from rewards.note_rnn.threads import torch_threads
from rewards.note_rnn.tokens import HIGHEST_PITCH, HOLD_TOKEN, LOWEST_PITCH, REST_TOKEN


def load_note_rnn(model: str | os.PathLike | None) -> NoteRNN:
    """The shipped Note-RNN (``None``) or one saved with ``NoteRNN.save`` at a path."""
    return NoteRNN.pretrained() if model is None else NoteRNN.load(model)


def action_tokens(lowest: int, highest: int) -> np.ndarray:
    """The Note-RNN tokens of an env's actions (its pitches, then HOLD and REST).

    Raises:
        ValueError: If the env can play pitches the model does not know.
    """
    if lowest < LOWEST_PITCH or highest > HIGHEST_PITCH:
        raise ValueError(f"the Note-RNN scores pitches {LOWEST_PITCH}..{HIGHEST_PITCH}; this env "
                         f"plays {lowest}..{highest}: choose a pitch_range inside the piano's")
    return np.concatenate([np.arange(lowest, highest + 1) - LOWEST_PITCH,
                           [HOLD_TOKEN, REST_TOKEN]])


FOLDED_LIMIT = 8192
"""``batch * hidden_size`` from which ``nn.LSTM`` steps faster than a :class:`FoldedStep`.

Measured on the project's 2-core x86_64 machines, torch on one thread, per step: hidden 256,
batch 1: 33 us folded vs 176 us ``nn.LSTM``; batch 16: 184 vs 218; batch 32: 279 vs 267;
batch 64: 479 vs 374. Hidden 64, batch 64: 79 vs 111; hidden 128, batch 64: 177 vs 171."""


class FoldedStep:
    """One step of a Note-RNN's LSTM and output layer, in about ten torch operations.

    The embedding is folded into the LSTM's input weights and both biases (one row of gate
    inputs per token, precomputed), so a step is a row lookup, one matrix product for the
    recurrent weights, the gate nonlinearities and the output layer: the same values as
    :meth:`NoteRNN.step <rewards.note_rnn.model.NoteRNN.step>` up to float rounding (tested),
    without ``nn.LSTM``'s per-call overhead (five times faster for one melody) and with a fifth
    fewer multiplications.

    Args:
        model: The Note-RNN (one LSTM layer).
    """

    def __init__(self, model: NoteRNN) -> None:
        lstm = model.lstm
        with torch.no_grad():
            self.input_gates = (model.embedding.weight @ lstm.weight_ih_l0.T
                                + lstm.bias_ih_l0 + lstm.bias_hh_l0).contiguous()
            self.recurrent = lstm.weight_hh_l0.T.contiguous()
            self.output_weight = model.output.weight.T.contiguous()
            self.output_bias = model.output.bias.detach().clone()
        self.hidden_size = lstm.hidden_size

    @torch.no_grad()
    def __call__(self, tokens: torch.Tensor, hidden: torch.Tensor, cell: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(log_probs (batch, classes), hidden, cell)`` after reading one token per row."""
        size = self.hidden_size
        gates = torch.addmm(self.input_gates[tokens], hidden, self.recurrent)
        squashed = torch.sigmoid(gates)  # PyTorch's gate order: input, forget, cell, output
        cell = torch.addcmul(squashed[:, size:2 * size] * cell, squashed[:, :size],
                             torch.tanh(gates[:, 2 * size:3 * size]))
        hidden = squashed[:, 3 * size:] * torch.tanh(cell)
        logits = torch.addmm(self.output_bias, hidden, self.output_weight)
        return torch.log_softmax(logits, dim=-1), hidden, cell


class BatchedNoteRNN:
    """The Note-RNN's LSTM state for a batch of melodies: one batched step per env step.

    Shared by :class:`NoteRNNReward` (a batch of one), :class:`NoteRNNVectorReward` and the
    vector env. Small batches step with a :class:`FoldedStep`; large ones (``batch *
    hidden_size`` of :data:`FOLDED_LIMIT` or more) with ``nn.LSTM``'s fused kernel, which wins
    once the matrix products dominate.

    Args:
        lowest: Lowest pitch of the env's action range.
        highest: Highest pitch of the env's action range.
        batch: Number of melodies.
        model: A weights file, or ``None`` for the shipped model.
        renormalise: Renormalise over the env's actions when its range is narrower than the
            model's.
        threads: torch threads for the LSTM step (``None``: leave torch's setting alone).

    Raises:
        ValueError: If the range exceeds the model's, or the weights file is bad.
    """

    def __init__(self, lowest: int, highest: int, batch: int = 1, model: str | None = None,
                 renormalise: bool = True, threads: int | None = 1) -> None:
        self.tokens = action_tokens(lowest, highest)
        self.model = load_note_rnn(model)
        self.threads = threads
        self.batch = batch
        self.folded = batch * self.model.hidden_size < FOLDED_LIMIT
        self._step = FoldedStep(self.model) if self.folded else None
        # The token of each melody entry: index event + 2 (HOLD = -2 is index 0); -1 elsewhere.
        self._token_of = np.full(HIGHEST_PITCH + 3, -1, dtype=np.int64)
        self._token_of[np.arange(LOWEST_PITCH, HIGHEST_PITCH + 1) + 2] = \
            np.arange(HIGHEST_PITCH - LOWEST_PITCH + 1)
        self._token_of[HOLD + 2], self._token_of[REST + 2] = HOLD_TOKEN, REST_TOKEN
        narrower = len(self.tokens) < HOLD_TOKEN + 2
        self._allowed = torch.as_tensor(self.tokens) if renormalise and narrower else None
        with torch_threads(threads):
            start_log_probs, (hidden, cell) = self.model.start(1)
        self._start = (self._normalised(start_log_probs), hidden[0], cell[0])
        self.log_probs = self._start[0].repeat(batch, 1)
        self.hidden = self._start[1].repeat(batch, 1)
        self.cell = self._start[2].repeat(batch, 1)

    def restart(self, rows: np.ndarray | None = None) -> None:
        """Puts melodies (all, or the given rows) back in the START state."""
        index = torch.arange(self.batch) if rows is None else torch.as_tensor(
            np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows))
        if len(index) == 0:
            return
        for part, start in zip((self.log_probs, self.hidden, self.cell), self._start,
                               strict=True):
            part[index] = start[0]

    def score(self, events: np.ndarray) -> np.ndarray:
        """``log p(event)`` for one event per melody; then one LSTM step on the events.

        Raises:
            ValueError: If an event is not a pitch the model knows, HOLD or REST.
        """
        events = np.asarray(events)
        inside = (events >= HOLD) & (events <= HIGHEST_PITCH)
        tokens = self._token_of[np.where(inside, events + 2, 0)]
        if not inside.all() or (tokens < 0).any():
            bad = events[~inside | (tokens < 0)]
            raise ValueError(f"events must be pitches {LOWEST_PITCH}..{HIGHEST_PITCH}, HOLD or "
                             f"REST, got {bad.tolist()}")
        values = self.log_probs.numpy()[np.arange(self.batch), tokens].astype(np.float64)
        with torch_threads(self.threads):
            if self.folded:
                log_probs, self.hidden, self.cell = self._step(torch.from_numpy(tokens),
                                                               self.hidden, self.cell)
            else:
                log_probs, (hidden, cell) = self.model.step(
                    torch.from_numpy(tokens), (self.hidden[None], self.cell[None]))
                self.hidden, self.cell = hidden[0], cell[0]
        self.log_probs = self._normalised(log_probs)
        return values

    def _normalised(self, log_probs: torch.Tensor) -> torch.Tensor:
        if self._allowed is None:
            return log_probs
        return log_probs - torch.logsumexp(log_probs[:, self._allowed], dim=-1, keepdim=True)


class NoteRNNReward(RewardTerm):
    """Adds ``log p(event | melody so far)`` under a frozen Note-RNN.

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("MammadMelody-count-v0", reward="theory+note_rnn",
        ...                reward_weights={"theory": 2.0})
        >>> _ = env.reset(seed=0)
        >>> _, reward, *_, info = env.step(env.unwrapped.pitch_to_action(60))
        >>> sorted(info["reward_terms"])
        ['note_rnn', 'theory']

    Args:
        env: A MammadMelody env whose pitch range lies within 21..108.
        weight: Multiplies the log-probability.
        model: Path of a weights file written by ``NoteRNN.save``; ``None`` (default) for the
            shipped model.
        renormalise: Renormalise over the env's actions when its pitch range is narrower than
            the model's (default True); False scores with the model's full distribution.
        threads: torch threads used for the LSTM step (1 is fastest for this small network on
            the project's 2-core machines); ``None`` leaves torch's setting alone.
    """

    name = "note_rnn"

    def __init__(self, env: gym.Env, weight: float = 1.0, model: str | None = None,
                 renormalise: bool = True, threads: int | None = 1) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, weight=weight, model=model,
                                                 renormalise=renormalise, threads=threads)
        super().__init__(env, weight)
        base: Any = env.unwrapped
        self.lstm = BatchedNoteRNN(base.lowest, base.highest, 1, model, renormalise, threads)
        self.tokens = self.lstm.tokens

    def reset_term(self, info: dict[str, Any]) -> None:
        """Restarts the LSTM from its START state."""
        self.lstm.restart()

    def term(self, info: dict[str, Any]) -> float:
        """The log-probability of the event just played; then one LSTM step on it."""
        return float(self.lstm.score(np.array([info["pitch"]]))[0])


class NoteRNNVectorReward(gym.vector.VectorEnvWrapper):
    """The Note-RNN reward for a whole vector env: one batched LSTM step for all its envs.

    Wrap a ``gym.vector.SyncVectorEnv`` or ``AsyncVectorEnv`` of MammadMelody envs (with any
    other rewards already inside them). Gives the same rewards as a :class:`NoteRNNReward`
    inside each env, for the cost of one LSTM step on a batch instead of ``num_envs`` steps.
    Episodes that end are restarted from the START state (these vector envs reset an env in
    the step that ends it; the term then lands in ``infos["final_info"]``).

    Example:
        >>> import gymnasium as gym
        >>> envs = gym.vector.SyncVectorEnv(
        ...     [lambda: gym.make("MammadMelody-count-v0") for _ in range(8)])
        >>> envs = NoteRNNVectorReward(envs)

    Args:
        env: A vector env of MammadMelody envs (all with the same pitch range).
        weight: Multiplies the log-probability.
        model: A weights file, or ``None`` for the shipped model.
        renormalise: Renormalise over the envs' actions (see :class:`NoteRNNReward`).
        threads: torch threads for the LSTM step.
    """

    name = NoteRNNReward.name

    def __init__(self, env: gym.vector.VectorEnv, weight: float = 1.0, model: str | None = None,
                 renormalise: bool = True, threads: int | None = 1) -> None:
        super().__init__(env)
        self.num_envs = env.num_envs
        # Set here, so Gymnasium does not warn about reaching through the wrapper for them.
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self.single_observation_space = env.single_observation_space
        self.single_action_space = env.single_action_space
        self.weight = check_weight(self.name, weight)
        ranges = set(zip(env.call("get_wrapper_attr", "lowest"),
                         env.call("get_wrapper_attr", "highest"), strict=True))
        if len(ranges) != 1:
            raise ValueError(f"the envs of a vector env must share one pitch range, got {ranges}")
        self.lstm = BatchedNoteRNN(*ranges.pop(), self.num_envs, model, renormalise, threads)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Resets every env and restarts every LSTM state."""
        observations, infos = self.env.reset(**kwargs)
        self.lstm.restart()
        return observations, infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Steps every env; adds each one's log-probability; one batched LSTM step."""
        observations, rewards, terminated, truncated, infos = self.env.step(actions)
        done = np.logical_or(terminated, truncated)
        step_infos = [infos["final_info"][i] if done[i] else
                      {"pitch": infos["pitch"][i], "reward_terms": infos["reward_terms"][i]}
                      for i in range(self.num_envs)]
        values = self.weight * self.lstm.score(np.array([info["pitch"] for info in step_infos]))
        for info, value in zip(step_infos, values, strict=True):
            info["reward_terms"][self.name] = float(value)
        self.lstm.restart(done)
        return observations, np.asarray(rewards, dtype=np.float64) + values, terminated, \
            truncated, infos
