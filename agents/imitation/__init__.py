"""GAIL, AIRL and BC (imitation 1.0) behind stable-baselines3's API, trained from the melodies.

```python
from agents import make_agent
model = make_agent("gail", "MammadMelody-decay-v0", seed=0)
model.learn(100_000)
model.save("runs/gail/model")        # runs/gail/model.zip + runs/gail/model_reward.pt
```

Each adapter follows the agent protocol (:class:`agents.registry.Agent`): ``cls(policy, env,
seed=..., **hyperparameters)``, ``learn``, ``predict``, ``save`` and the class method ``load``.

* The env (an id, a gym env or a VecEnv) is used for its spec and its number of envs only: the
  adapter builds its own training VecEnv from that spec (``gym.make(spec)`` in a ``Monitor``
  and imitation's ``RolloutInfoWrapper``) and replays the bundled melodies through another
  ``gym.make(spec)`` for the demonstrations
  (:func:`mammad_envs.data.demonstrations.expert_trajectories`), so both see the same encoding
  and episode length. The demonstrations are made on the first :meth:`learn`.
* GAIL / AIRL: the generator is an SB3 ``PPO`` (hyperparameters under ``gen_kwargs``); the
  discriminator's reward network is imitation's ``BasicRewardNet`` (AIRL:
  ``BasicShapedRewardNet``) normalising its inputs with ``RunningNorm``.
* BC: the cloned policy is the policy of an SB3 ``PPO`` (never trained by PPO here), so the
  saved file is a plain PPO file that ``PPO.load`` reads too, e.g. to fine-tune it with RL.

The saved artifact is the SB3 zip ``<stem>.zip`` (the PPO, which also records the adapter's
hyperparameters and the env spec) and, for GAIL and AIRL, the reward network beside it as
``<stem>_reward.pt`` (loadable with ``torch.load(weights_only=True)``; it is what the
``"gail"`` reward wrapper reads: :mod:`rewards.learned.term`).

Modules: :mod:`agents.imitation.common` (the adapter base, env rebuilding, the callback bridge,
saving and loading), :mod:`agents.imitation.adversarial` (:class:`GAILAgent`,
:class:`AIRLAgent`) and :mod:`agents.imitation.bc` (:class:`BCAgent`).
"""

from agents.imitation.adversarial import AIRLAgent, GAILAgent
from agents.imitation.bc import BCAgent
from agents.imitation.common import (
    as_callback,
    check_learn_kwargs,
    make_imitation_venv,
    recreatable_spec,
)

__all__ = ["AIRLAgent", "BCAgent", "GAILAgent", "as_callback", "check_learn_kwargs",
           "make_imitation_venv", "recreatable_spec"]
