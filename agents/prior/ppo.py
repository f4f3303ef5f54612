"""NoteRNNPPO: PPO that fine-tunes the pretrained Note-RNN under KL control.

RL Tuner (Jaques et al. 2017) starts its Q-network from the Note RNN and adds ``log p(a|s)`` of
the frozen Note RNN to the reward; MusicRL fine-tunes MusicLM with a KL penalty to the
pretrained model. This agent does the same with PPO:

- its policy starts as the Note-RNN, renormalised to the env's actions
  (:class:`~agents.prior.policy.NoteRNNPolicy`), and sees the melody so far through the
  Note-RNN's LSTM state (:mod:`agents.prior.features`);
- each step's reward loses ``kl_coef * (log pi(a|s) - log p_ref(a|s))``, the reference being
  the policy at the start (the Note-RNN); ``kl_target`` adapts the coefficient toward a KL per
  melody, and ``kl_limit`` boosts it at once on rollouts over that KL
  (:class:`~agents.prior.kl.KLController`). Train on rewards without ``note_rnn``: the
  penalty holds ``kl_coef * log p_ref`` already. RL Tuner's own form (the ``note_rnn`` reward
  and an entropy bonus) is ``kl_coef=0`` with ``ent_coef``.

Training logs ``kl/per_step``, ``kl/per_melody`` (exact KL of the rollout's states, nats) and
``kl/coef``; :meth:`NoteRNNPPO.measure_kl` gives the KL of what it plays for ``stats.json``
and ``mammad evaluate``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv

from agents.model_files import saved_data
from agents.prior.features import (
    NoteRNNFeatures,
    NoteRNNTracker,
    TrackerState,
    pitch_range_of,
    with_features,
)
from agents.prior.kl import KLController, KLMeter, check_kl_settings
from agents.prior.policy import NoteRNNPolicy

__all__ = ["NoteRNNPPO"]


class NoteRNNPPO(PPO):
    """PPO fine-tuning the pretrained Note-RNN with a KL penalty (see the module docstring).

    Args:
        policy: ``"NoteRNNPolicy"`` (``"MlpPolicy"`` means the same here) or the class.
        env: A MammadMelody env, VecEnv or id (its actions are a pitch range, HOLD and REST).
        note_rnn: The Note-RNN to start from and stay near: ``"default"``, ``"rl_tuner"`` or a
            weights file.
        kl_coef: ``beta``, the KL penalty's coefficient (the start value when adaptive).
        kl_target: Target KL to the reference per melody in nats (None: ``beta`` fixed).
        kl_horizon: The adaptive controller's horizon in samples.
        kl_limit: KL to the reference per melody in nats above which a rollout's penalty is
            boosted at once (:class:`~agents.prior.kl.KLController`; None: no ceiling).
        leap_features: Show the policy's residual and critic the state of RL Tuner's leap
            rule beside the Note-RNN's (:mod:`agents.prior.leaps`). The start stays the
            Note-RNN: the residual's output starts at zero.
        leap_head: Add to the logits a term learned per interval and leap state
            (:mod:`agents.prior.leap_head`; needs ``leap_features``), zero at the start.
        policy_kwargs: For :class:`NoteRNNPolicy` (``residual_arch``, ``critic_arch``...).
        **kwargs: PPO's hyperparameters.

    Raises:
        ValueError: On bad KL settings or an env that is not a melody env the Note-RNN knows.
    """

    policy_aliases = {"MlpPolicy": NoteRNNPolicy, "NoteRNNPolicy": NoteRNNPolicy}

    def __init__(self, policy: str | type = "NoteRNNPolicy", env: Any = None,
                 note_rnn: str = "default", kl_coef: float = 0.1,
                 kl_target: float | None = None, kl_horizon: int = 10_000,
                 kl_limit: float | None = None, leap_features: bool = False,
                 leap_head: bool = False,
                 policy_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        check_kl_settings(kl_coef, kl_target, kl_horizon, kl_limit)
        for name, value in (("leap_features", leap_features), ("leap_head", leap_head)):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
        if leap_head and not leap_features:
            raise ValueError("leap_head needs leap_features: true (the head reads them)")
        self.note_rnn, self.leap_features, self.leap_head = note_rnn, leap_features, leap_head
        self.kl_coef, self.kl_target, self.kl_horizon = float(kl_coef), kl_target, kl_horizon
        self.kl_limit = kl_limit
        policy_kwargs = dict(policy_kwargs or {})
        if env is not None:
            env = self._features_env(env, note_rnn, leap_features, kwargs.get("verbose", 0))
            policy_kwargs.update(note_rnn=note_rnn, lowest=env.tracker.lowest,
                                 highest=env.tracker.highest, leap_features=leap_features,
                                 leap_head=leap_head)
        self.kl_meter: KLMeter | None = None
        self._tracker: NoteRNNTracker | None = env.tracker if env is not None else None
        super().__init__(policy, env, policy_kwargs=policy_kwargs, **kwargs)

    @staticmethod
    def _features_env(env: Any, note_rnn: str, leap_features: bool = False,
                      verbose: int = 0) -> NoteRNNFeatures:
        """The env as a VecEnv whose observations carry the Note-RNN's state."""
        if isinstance(env, NoteRNNFeatures):
            return env
        if isinstance(env, str):
            env = make_vec_env(env)
        venv: VecEnv = BaseAlgorithm._wrap_env(env, verbose)
        return NoteRNNFeatures(venv, NoteRNNTracker(note_rnn, *pitch_range_of(venv),
                                                    leap_features=leap_features))

    def _setup_model(self) -> None:
        super()._setup_model()
        # Models saved before kl_limit existed have none: getattr keeps them loadable.
        self.kl_controller = KLController(self.kl_coef, self.kl_target, self.kl_horizon,
                                          getattr(self, "kl_limit", None))

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "kl_controller", "kl_meter", "_tracker"]

    @classmethod
    def load(cls, path: Any, env: Any = None, **kwargs: Any) -> NoteRNNPPO:
        """SB3's ``load``; an env given is wrapped to carry the saved model's Note-RNN state."""
        if env is not None:
            data = saved_data(path)  # models saved before leap_features have none
            env = cls._features_env(env, data.get("note_rnn", "default"),
                                    bool(data.get("leap_features", False)))
        return super().load(path, env=env, **kwargs)

    def set_env(self, env: Any, force_reset: bool = True) -> None:
        """SB3's ``set_env``, the env wrapped to carry the Note-RNN's state."""
        env = self._features_env(env, self.note_rnn, self.leap_features, self.verbose)
        self._tracker = env.tracker
        super().set_env(env, force_reset)

    @property
    def tracker(self) -> NoteRNNTracker:
        """The Note-RNN tracker (``predict`` on the env's own observations uses it)."""
        if self._tracker is None:
            self._tracker = NoteRNNTracker(self.note_rnn, self.policy.lowest,
                                           self.policy.highest,
                                           leap_features=self.leap_features)
        return self._tracker

    # ----- KL control ---------------------------------------------------------------------

    def collect_rollouts(self, env: VecEnv, callback: Any, rollout_buffer: Any,
                         n_rollout_steps: int) -> bool:
        """PPO's rollout, then the KL penalty on its rewards and the advantages anew."""
        if not super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps):
            return False
        buffer = rollout_buffer
        observations = torch.as_tensor(buffer.observations.reshape(
            -1, *self.observation_space.shape), device=self.device)
        actions = torch.as_tensor(buffer.actions.reshape(-1), device=self.device).long()
        with torch.no_grad():
            log_pi = self.policy.action_log_probs(observations)
            log_ref = self.policy.reference_log_probs(observations)
        sampled = (log_pi - log_ref).gather(1, actions[:, None])[:, 0]
        exact = (log_pi.exp() * (log_pi - log_ref)).sum(dim=1)
        per_step = float(exact.mean())
        per_melody = per_step * self._melody_steps()
        beta = self.kl_controller.bound(per_melody)  # boosted over the KL limit
        if beta > 0:
            buffer.rewards -= beta * sampled.cpu().numpy().reshape(buffer.rewards.shape)
            with torch.no_grad():
                values = self.policy.predict_values(obs_as_tensor(self._last_obs, self.device))
            buffer.compute_returns_and_advantage(last_values=values,
                                                 dones=self._last_episode_starts)
        self.logger.record("kl/per_step", per_step)
        self.logger.record("kl/per_melody", per_melody)
        self.logger.record("kl/coef", beta)
        self.kl_coef = self.kl_controller.update(per_melody, len(actions))
        return True

    def _melody_steps(self) -> int:
        return int(self.env.get_attr("steps", [0])[0])

    # ----- playing ------------------------------------------------------------------------

    def measure_kl(self) -> KLMeter:
        """A new meter of the exact KL to the reference of every ``predict`` from now on."""
        self.kl_meter = KLMeter()
        return self.kl_meter

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """Actions for observations of the env (its own, or with the Note-RNN state).

        On the env's own observations the Note-RNN's state is kept in ``state`` (what
        :func:`~agents.rollouts.play_episodes` hands back each step; ``episode_start`` marks
        the envs starting a melody).
        """
        observation = np.asarray(observation, dtype=np.float32)
        width = self.observation_space.shape[0]
        if observation.shape[-1] == width:
            features, state = observation.reshape(-1, width), state
        else:
            features, state = self.features(observation, state, episode_start)
        actions, _ = self.policy.predict(features, deterministic=deterministic)
        if isinstance(state, TrackerState):
            state.pending = np.asarray(actions, dtype=np.int64).reshape(-1).copy()
        if self.kl_meter is not None:
            self.kl_meter.add(self._exact_kl(features))
        if observation.ndim == 1:
            actions = actions.reshape(-1)[0]
        return actions, state

    def features(self, observation: np.ndarray, state: Any = None, episode_start: Any = None
                 ) -> tuple[np.ndarray, TrackerState]:
        """The policy's inputs for the env's own observations, and the Note-RNN's state.

        Args:
            observation: ``(batch, obs)`` (or one) observation of the env.
            state: The state returned by the last call (None: every melody starts now). Its
                ``pending`` actions (set by :meth:`predict` to the actions it chose; set them
                yourself to feed other actions) are read first.
            episode_start: ``(batch,)`` the envs starting a new melody.

        Returns:
            ``(features (batch, obs + state), state)``.
        """
        tracker = self.tracker
        batch = observation.reshape(-1, self.observation_space.shape[0] - tracker.size)
        if not isinstance(state, TrackerState) or len(state.pending) != len(batch):
            state = tracker.start(len(batch))
        else:
            tracker.read_pending(state)
            if episode_start is not None:
                tracker.restart(state, np.asarray(episode_start, dtype=bool).reshape(-1))
        return with_features(batch, tracker.features(state)), state

    def _exact_kl(self, features: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            tensor = torch.as_tensor(features, device=self.device)
            log_pi = self.policy.action_log_probs(tensor)
            log_ref = self.policy.reference_log_probs(tensor)
            return (log_pi.exp() * (log_pi - log_ref)).sum(dim=1).cpu().numpy()
