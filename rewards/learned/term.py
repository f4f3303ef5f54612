"""LearnedReward: the reward a GAIL (or AIRL) discriminator learned, as a reward wrapper.

:class:`~agents.imitation.GAILAgent` and :class:`~agents.imitation.AIRLAgent`
save their reward network beside the generator, as ``<stem>_reward.pt`` (``model.zip`` ->
``model_reward.pt``). That file holds only tensors and plain values (the format name, the
algorithm, the network's keyword arguments, the spaces it was trained on, the observation
encoding and the ``state_dict``), so it loads with ``torch.load(weights_only=True)``; this
module turns it into a reward term (:mod:`rewards.reward_nets` writes and reads the file)::

    env = gym.make("MammadMelody-decay-v0", reward="theory+gail",
                   reward_kwargs={"gail": {"model": "runs/gail/model_reward.pt"}})

Which reward: the term is imitation's ``reward_test``
(:func:`~rewards.reward_nets.learned_rewards`), for the transition (previous observation,
action, observation, done):

* GAIL: ``-log(1 - D(s, a)) = softplus(logit)``, always positive; it is also GAIL's
  ``reward_train``, so the term is exactly what the generator was trained on.
* AIRL: the unshaped reward ``g`` (``reward_test``), without the potential shaping
  ``gamma * h(s') - h(s)`` that ``reward_train`` adds; that is the part meant for re-training.

The networks normalise their *inputs* with a ``RunningNorm`` layer whose statistics are frozen
once saved (it runs in eval mode); no output normalisation is applied, so
``predict_processed`` equals ``predict`` and the term has the scale the discriminator gave it:
choose the weight (``reward_weights={"gail": ...}``) to balance it against other terms.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

from mammad_envs.compat import require_imitation
from mammad_envs.step_batch import StepBatch
from rewards.base import RewardTerm, RewardWrapper, term_attribute
from rewards.note_rnn.threads import torch_threads
from rewards.reward_nets import check_spaces, learned_rewards, load_reward_net, reward_file


class LearnedTerm(RewardTerm):
    """The reward a GAIL (or AIRL) discriminator learned from the bundled melodies.

    The term of a step is the saved network's ``reward_test`` for (previous observation,
    action, observation, ``terminated``), for the whole batch in one forward pass; see the
    module docstring for which reward that is. It also reads AIRL's reward files (the reward is
    still named ``"gail"``).

    Args:
        env: The env; its observation and action spaces (and MammadMelody encoding) must be
            the ones the network was trained on.
        batch: Envs scored at once.
        weight: Multiplies the learned reward.
        model: The ``<stem>_reward.pt`` file that ``GAILAgent.save`` / ``AIRLAgent.save``
            wrote (or the agent's ``<stem>.zip``, whose reward file is then read).
        threads: torch threads for the network's forward pass (``None``: leave torch alone).

    Raises:
        ValueError: Without ``model``, for a file that is not such a network, or when the env's
            spaces or encoding differ from the network's.
    """

    name = "gail"
    wrapper = "rewards.learned.term:LearnedReward"

    def __init__(self, env: gym.Env, batch: int = 1, weight: float = 1.0,
                 model: str | os.PathLike | None = None, threads: int | None = 1) -> None:
        super().__init__(env, batch, weight)
        require_imitation("the 'gail' reward (a GAIL / AIRL reward network)")
        if model is None:
            raise ValueError("the 'gail' reward needs the saved reward network: "
                             "reward_kwargs={'gail': {'model': 'path/to/model_reward.pt'}}")
        net, payload = load_reward_net(model)
        self.path = reward_file(model)
        self.algorithm: str = payload["algorithm"]
        check_spaces(self.path, payload, self.env)
        self.net = net.eval()
        self.threads = threads

    def compute(self, step: StepBatch) -> np.ndarray:
        """The learned reward of each env's transition."""
        return self.transition_rewards(step.previous_observations, step.actions,
                                       step.observations, step.terminated)

    def transition_rewards(self, observations: np.ndarray, actions: np.ndarray,
                           next_observations: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """The unweighted learned reward of a batch of transitions."""
        actions = np.asarray(actions).reshape((len(observations),
                                               *self.env.action_space.shape))
        with torch_threads(self.threads):
            return learned_rewards(self.algorithm, self.net, np.asarray(observations),
                                   actions, np.asarray(next_observations),
                                   np.asarray(dones, dtype=np.float32))


class LearnedReward(RewardWrapper):
    """Adds a GAIL / AIRL learned reward (a :class:`LearnedTerm`) to a scalar env.

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("MammadMelody-decay-v0", reward="theory+gail",  # doctest: +SKIP
        ...                reward_kwargs={"gail": {"model": "runs/gail/model_reward.pt"}})

    Args:
        env: A MammadMelody env (possibly wrapped).
        **kwargs: :class:`LearnedTerm`'s arguments: ``weight``, ``model``, ``threads``.
    """

    term_class = LearnedTerm

    def __init__(self, env: gym.Env, **kwargs: Any) -> None:
        if kwargs.get("model") is not None:
            kwargs["model"] = os.fspath(kwargs["model"])
        super().__init__(env, **kwargs)

    algorithm = term_attribute("algorithm", '``"gail"`` or ``"airl"``.')

    path = term_attribute("path", "The reward network's file.")

    def transition_reward(self, observation: np.ndarray, action: Any,
                          next_observation: np.ndarray, done: bool) -> float:
        """The unweighted learned reward of one transition."""
        return float(self.term.transition_rewards(np.asarray(observation)[None],
                                                  np.asarray(action)[None],
                                                  np.asarray(next_observation)[None],
                                                  np.array([done]))[0])
