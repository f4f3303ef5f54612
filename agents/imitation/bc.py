"""BC: behavioural cloning of the melodies into the policy of an SB3 PPO (never trained by PPO).

The saved file is a plain PPO file that ``PPO.load`` reads too, e.g. to fine-tune the policy
with RL. What BC shares with GAIL and AIRL: :mod:`agents.imitation.common`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3 import PPO

from agents.imitation.common import ImitationAgent, StopTraining, as_callback, check_learn_kwargs


class BCAgent(ImitationAgent):
    """Behavioural cloning of the bundled melodies.

    ``learn(total_timesteps)`` makes ``n_epochs = max(1, total_timesteps // n)`` passes over
    the ``n`` demonstration transitions (so ``total_timesteps`` counts transitions learnt from;
    the env is never stepped). ``num_timesteps`` counts the transitions seen so far.

    Args:
        policy: The SB3 policy to clone into (``"MlpPolicy"``), held by a PPO.
        env: An env id, a gym env or a VecEnv: its spec is used.
        seed: Seed of the policy, the batches and the demonstrations' accompaniments.
        batch_size: Transitions per gradient step.
        learning_rate: Adam's learning rate (a number).
        ent_weight: Weight of the entropy bonus in the loss.
        l2_weight: Weight of the L2 penalty on the policy's parameters.
        policy_kwargs: The policy's arguments (e.g. ``{"net_arch": [128, 128]}``).
        max_windows: Demonstration windows per melody (default: all).
        verbose: 1 prints imitation's statistics.
        tensorboard_log: A folder for TensorBoard logs (``BC_<n>`` inside it).
        device: Torch device.
    """

    algorithm = "bc"

    def __init__(self, policy: Any, env: Any, seed: int | None = 0, *, batch_size: int = 64,
                 learning_rate: float = 1e-3, ent_weight: float = 1e-3, l2_weight: float = 0.0,
                 policy_kwargs: dict[str, Any] | None = None, max_windows: int | None = None,
                 verbose: int = 0, tensorboard_log: str | None = None,
                 device: str = "auto") -> None:
        if callable(learning_rate) or isinstance(learning_rate, bool) \
                or not isinstance(learning_rate, int | float):
            raise ValueError(f"BC's learning_rate must be a number, got {learning_rate!r}")
        self._setup(env, seed, {
            "batch_size": int(batch_size), "learning_rate": float(learning_rate),
            "ent_weight": float(ent_weight), "l2_weight": float(l2_weight),
            "max_windows": max_windows}, verbose, tensorboard_log)
        self._require_spec()
        algo = PPO(policy, self.venv, seed=seed, verbose=verbose, device=device,
                   policy_kwargs=policy_kwargs)
        self._attach(algo, None)

    def _attach(self, algo: PPO, zip_path: Path | None) -> None:
        super()._attach(algo, zip_path)
        self._trainer: Any = None

    @property
    def trainer(self) -> Any:
        """The imitation ``BC`` trainer, built (with the demonstrations) on first use."""
        if self._trainer is None:
            # optional: the imitation extra
            from imitation.algorithms.bc import BC

            # optional: the imitation extra
            from imitation.data import rollout

            transitions = rollout.flatten_trajectories(self.demonstrations)
            values = self.hyperparameters
            if values["batch_size"] > len(transitions):
                raise ValueError(f"batch_size={values['batch_size']} exceeds the "
                                 f"{len(transitions)} demonstration transitions")
            self._trainer = BC(
                observation_space=self.algo.observation_space,
                action_space=self.algo.action_space,
                rng=np.random.default_rng(self.seed), policy=self.algo.policy,
                demonstrations=transitions, batch_size=values["batch_size"],
                optimizer_kwargs={"lr": values["learning_rate"]},
                ent_weight=values["ent_weight"], l2_weight=values["l2_weight"],
                device=self.algo.device, custom_logger=self._logger)
            self.n_transitions = len(transitions)
        return self._trainer

    def learn(self, total_timesteps: int, callback: Any = None, progress_bar: bool = False,
              log_interval: int = 500, **kwargs: Any) -> BCAgent:
        """Trains for ``max(1, total_timesteps // n_transitions)`` epochs.

        Args:
            total_timesteps: Demonstration transitions to learn from (see the class docstring).
            callback: An SB3 callback (or list, or function); ``on_step`` runs after every
                gradient step, with ``num_timesteps`` counting transitions; returning False
                stops training.
            progress_bar: Show imitation's progress bar of batches.
            log_interval: Batches between two logs of the loss (with ``verbose=1``).
            **kwargs: SB3's ``tb_log_name`` and ``reset_num_timesteps`` are accepted and ignored.

        Returns:
            The agent, its policy trained by behaviour cloning.

        Raises:
            TypeError: On a keyword argument other than SB3's two above.
        """
        check_learn_kwargs(kwargs)
        trainer = self.trainer
        n_epochs = max(1, int(total_timesteps) // self.n_transitions)
        callback = as_callback(callback)
        batch_size = self.hyperparameters["batch_size"]

        def on_batch_end() -> None:
            self.algo.num_timesteps += batch_size
            if callback is not None and not callback.on_step():
                raise StopTraining

        if callback is not None:
            callback.init_callback(self)
            callback.on_training_start(locals(), globals())
        try:
            with warnings.catch_warnings():  # imitation 1.0 logs float(loss) with its graph
                warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
                trainer.train(n_epochs=n_epochs, on_batch_end=on_batch_end,
                              log_interval=log_interval, progress_bar=progress_bar)
        except StopTraining:
            pass
        finally:
            if callback is not None:
                callback.on_training_end()
        return self
