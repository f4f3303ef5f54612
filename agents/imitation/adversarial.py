"""GAIL and AIRL: an SB3 PPO generator against imitation's discriminator and reward network.

The generator's hyperparameters go under ``gen_kwargs``; the reward network (GAIL:
``BasicRewardNet``, AIRL: ``BasicShapedRewardNet``) is saved beside the PPO file as
``<stem>_reward.pt`` (:mod:`rewards.learned.term`). What they share with BC:
:mod:`agents.imitation.common`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList
from tqdm.auto import tqdm

from agents.hyperparams import resolve
from agents.imitation.common import (
    GeneratorCallback,
    ImitationAgent,
    StopTraining,
    as_callback,
    check_learn_kwargs,
    spec_to_json,
)
from rewards.reward_nets import (
    build_reward_net,
    load_reward_net,
    reward_file,
    save_reward_net,
)
from rewards.reward_nets import reward_net_kwargs as checked_net_kwargs


def train_rounds(trainer: Any, total_timesteps: int, callback: Callable[[int], None],
                 progress_bar: bool) -> None:
    """Runs the rounds of imitation's ``AdversarialTrainer.train``, with its bar only on request.

    Each round trains the generator for ``trainer.gen_train_timesteps`` steps, then the
    discriminator ``n_disc_updates_per_round`` times (in training mode), then calls
    ``callback(round)`` and writes the logs, as imitation 1.0 does.

    Args:
        trainer: imitation's ``GAIL`` or ``AIRL`` trainer.
        total_timesteps: Generator steps; whole rounds only (rounded down).
        callback: Called with the round number at the end of every round.
        progress_bar: Show a tqdm bar of rounds.
    """
    # optional: the imitation extra
    from imitation.util import networks

    for round_number in tqdm(range(total_timesteps // trainer.gen_train_timesteps),
                             desc="round", disable=not progress_bar):
        trainer.train_gen(trainer.gen_train_timesteps)
        for _ in range(trainer.n_disc_updates_per_round):
            with networks.training(trainer.reward_train):
                trainer.train_disc()
        callback(round_number)
        trainer.logger.dump(trainer._global_step)


class _AdversarialAgent(ImitationAgent):
    """GAIL and AIRL: a PPO generator against a discriminator built on a reward network."""

    def __init__(self, policy: Any, env: Any, seed: int | None = 0, *,
                 gen_kwargs: dict[str, Any] | None = None, demo_batch_size: int = 256,
                 gen_replay_buffer_capacity: int | None = None,
                 n_disc_updates_per_round: int = 4,
                 disc_opt_kwargs: dict[str, Any] | None = None,
                 reward_net_kwargs: dict[str, Any] | None = None,
                 max_windows: int | None = None, bc_warm_start_epochs: int = 0,
                 verbose: int = 0, tensorboard_log: str | None = None,
                 device: str = "auto") -> None:
        if isinstance(bc_warm_start_epochs, bool) or not isinstance(bc_warm_start_epochs, int) \
                or bc_warm_start_epochs < 0:
            raise ValueError(f"bc_warm_start_epochs must be an integer >= 0 (0: no warm start), "
                             f"got {bc_warm_start_epochs!r}")

        gen_kwargs = resolve(dict(gen_kwargs or {}))
        net_kwargs = checked_net_kwargs(self.algorithm, reward_net_kwargs,
                                        gen_kwargs.get("gamma", 0.99))
        self._setup(env, seed, {
            "demo_batch_size": int(demo_batch_size),
            "gen_replay_buffer_capacity": (None if gen_replay_buffer_capacity is None
                                           else int(gen_replay_buffer_capacity)),
            "n_disc_updates_per_round": int(n_disc_updates_per_round),
            "disc_opt_kwargs": dict(disc_opt_kwargs or {}),
            "reward_net_kwargs": net_kwargs,
            "max_windows": max_windows,
            "bc_warm_start_epochs": int(bc_warm_start_epochs)}, verbose, tensorboard_log)
        self._require_spec()
        algo = PPO(policy, self.venv, seed=seed, verbose=verbose, device=device, **gen_kwargs)
        self._attach(algo, None)

    def _attach(self, algo: PPO, zip_path: Path | None) -> None:
        super()._attach(algo, zip_path)
        if zip_path is None:
            self.reward_net = build_reward_net(
                self.algorithm, algo.observation_space, algo.action_space,
                self.hyperparameters["reward_net_kwargs"])
        else:
            self.reward_net, payload = load_reward_net(reward_file(zip_path))
            if payload["algorithm"] != self.algorithm:
                raise ValueError(f"{reward_file(zip_path)} holds a {payload['algorithm']!r} "
                                 f"reward network, not a {self.algorithm!r} one")
            self.observations = self.observations or payload.get("observations")
        self.reward_net = self.reward_net.to(algo.device)
        self._trainer: Any = None
        # Saved by an earlier run: checked now, restored into the trainer when it is built.
        self._training_state = None if zip_path is None else payload.get("training_state")
        if self._training_state is not None:
            self._restore_training_state(self._fresh_optimizer(), self._training_state,
                                         reward_file(zip_path))

    @property
    def gen_algo(self) -> PPO:
        """The generator (imitation's name for it)."""
        return self.algo

    @property
    def trainer(self) -> Any:
        """The imitation ``GAIL`` / ``AIRL`` trainer, built with the demonstrations on first use."""
        if self._trainer is None:
            # optional: the imitation extra
            from imitation.data import rollout

            if self.venv is None:
                self._require_spec()
            transitions = rollout.flatten_trajectories(self.demonstrations)
            values = self.hyperparameters
            if values["demo_batch_size"] > len(transitions):
                raise ValueError(f"demo_batch_size={values['demo_batch_size']} exceeds the "
                                 f"{len(transitions)} demonstration transitions (max_windows="
                                 f"{values['max_windows']}): lower it or use more windows")
            self._trainer = self._trainer_class()(
                demonstrations=transitions, demo_batch_size=values["demo_batch_size"],
                gen_replay_buffer_capacity=values["gen_replay_buffer_capacity"],
                n_disc_updates_per_round=values["n_disc_updates_per_round"],
                disc_opt_kwargs=values["disc_opt_kwargs"], venv=self.venv, gen_algo=self.algo,
                reward_net=self.reward_net, custom_logger=self._logger,
                log_dir=self._logger.get_dir())
            if self._training_state is not None:
                self._trainer._disc_step, self._trainer._global_step = \
                    self._restore_training_state(self._trainer._disc_opt, self._training_state)
        return self._trainer

    def training_state(self) -> dict[str, Any] | None:
        """What resuming needs beside the weights, saved in the ``_reward.pt`` file.

        Returns:
            The discriminator's Adam ``state_dict`` and the trainer's step counters, or
            ``None`` before the first round of a new agent.
        """
        if self._trainer is None:
            return self._training_state
        return {"disc_optimizer": self._trainer._disc_opt.state_dict(),
                "disc_step": int(self._trainer._disc_step),
                "global_step": int(self._trainer._global_step)}

    def _fresh_optimizer(self) -> torch.optim.Optimizer:
        """An optimiser as imitation builds for the discriminator (Adam on the reward net)."""
        return torch.optim.Adam(self.reward_net.parameters(),
                                **self.hyperparameters["disc_opt_kwargs"])

    @staticmethod
    def _restore_training_state(optimizer: torch.optim.Optimizer, state: dict[str, Any],
                                path: Path | None = None) -> tuple[int, int]:
        """Loads the saved optimiser state into ``optimizer``; returns the step counters.

        Raises:
            ValueError: If the state does not fit the optimiser (``path`` names the file).
        """
        try:
            optimizer.load_state_dict(state["disc_optimizer"])
            return int(state["disc_step"]), int(state["global_step"])
        except (KeyError, TypeError, ValueError) as error:
            where = "" if path is None else f"{path}: "
            raise ValueError(f"{where}the saved discriminator optimiser state does not fit the "
                             f"reward network ({type(error).__name__}: {error})") from error

    def _trainer_class(self) -> type:
        raise NotImplementedError

    @property
    def reward_test(self) -> Any:
        """The learned reward for later use (what the ``"gail"`` reward wrapper computes)."""
        if self.algorithm == "gail":
            # optional: the imitation extra
            from imitation.algorithms.adversarial.gail import RewardNetFromDiscriminatorLogit

            return RewardNetFromDiscriminatorLogit(self.reward_net)
        return self.reward_net.base

    def learn(self, total_timesteps: int, callback: Any = None, progress_bar: bool = False,
              **kwargs: Any) -> _AdversarialAgent:
        """Alternates generator rounds and discriminator updates for ``total_timesteps`` steps.

        A round is ``n_envs * n_steps`` generator steps (one PPO rollout and update) followed by
        ``n_disc_updates_per_round`` discriminator updates; ``total_timesteps`` is rounded down
        to whole rounds, but at least one round runs (as SB3 runs at least one rollout).

        Args:
            total_timesteps: Generator env steps.
            callback: An SB3 callback (or a list of them, or a function of ``(locals,
                globals)``). It runs inside the generator's ``learn`` through imitation's
                ``gen_callback`` and sees this adapter as its ``model`` (so a
                ``CheckpointCallback`` saves the whole agent, reward network included). It is
                started once and ended once; returning False from ``on_step`` stops training
                at the end of the current round.
            progress_bar: Show a progress bar of rounds (tqdm, on stderr).
            **kwargs: SB3's ``log_interval``, ``tb_log_name`` and ``reset_num_timesteps`` are
                accepted and ignored (steps always accumulate across calls, as in imitation).

        Returns:
            The agent.

        Raises:
            TypeError: On another keyword argument.
        """
        check_learn_kwargs(kwargs)
        trainer = self.trainer
        self._warm_start()
        callback = as_callback(callback)
        bridge = None if callback is None else GeneratorCallback(callback, self)
        log_callback = trainer.gen_callback
        if bridge is not None:
            trainer.gen_callback = (bridge if log_callback is None
                                    else CallbackList([log_callback, bridge]))

        def after_round(round_number: int) -> None:
            if bridge is not None and bridge.stopped:
                raise StopTraining

        try:
            train_rounds(trainer, max(int(total_timesteps), trainer.gen_train_timesteps),
                         after_round, progress_bar)
        except StopTraining:
            pass
        finally:
            trainer.gen_callback = log_callback
            if bridge is not None and bridge.started:
                callback.on_training_end()
        return self

    def _warm_start(self) -> None:
        """Behavioural cloning of the generator before its first round, if asked for.

        ``bc_warm_start_epochs`` passes of BC (batches of 64, Adam at 1e-3, BC's defaults in
        ``bc.yml``) over the demonstrations, run once, by a new agent only: an agent that has
        taken steps (one loaded to resume) starts from its saved policy.
        """
        epochs = self.hyperparameters.get("bc_warm_start_epochs", 0)
        if not epochs or self.algo.num_timesteps > 0 or getattr(self, "_warm", False):
            return
        # optional: the imitation extra
        from imitation.algorithms.bc import BC

        # optional: the imitation extra
        from imitation.data import rollout

        cloner = BC(observation_space=self.algo.observation_space,
                    action_space=self.algo.action_space,
                    rng=np.random.default_rng(self.seed), policy=self.algo.policy,
                    demonstrations=rollout.flatten_trajectories(self.demonstrations),
                    batch_size=64, optimizer_kwargs={"lr": 1e-3}, ent_weight=1e-3,
                    device=self.algo.device, custom_logger=self._logger)
        with warnings.catch_warnings():  # imitation 1.0 logs float(loss) with its graph
            warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
            cloner.train(n_epochs=epochs, log_interval=10**9, progress_bar=False)
        self._warm = True

    def _save_extra(self, zip_path: Path) -> None:
        save_reward_net(reward_file(zip_path), self.algorithm, self.reward_net,
                        self.hyperparameters["reward_net_kwargs"],
                        observations=self.observations, env_spec=spec_to_json(self.env_spec),
                        training_state=self.training_state())


class GAILAgent(_AdversarialAgent):
    """Generative Adversarial Imitation Learning from the bundled melodies.

    Example:
        >>> from agents import make_agent
        >>> model = make_agent("gail", "MammadMelody-decay-v0", seed=0)  # doctest: +SKIP
        >>> model.learn(100_000)  # doctest: +SKIP

    Args:
        policy: The generator's SB3 policy (``"MlpPolicy"``).
        env: An env id, a gym env or a VecEnv: its spec and number of envs are used.
        seed: Seed of the generator, the envs and the demonstrations' accompaniments.
        gen_kwargs: PPO hyperparameters of the generator (``n_steps``, ``batch_size``,
            ``learning_rate`` (``lin_<x>`` allowed), ``ent_coef``, ``n_epochs``, ``gamma``,
            ``policy_kwargs``...).
        demo_batch_size: Expert transitions per discriminator batch (as many generator ones).
        gen_replay_buffer_capacity: Generator transitions the discriminator samples from
            (default: the last round's).
        n_disc_updates_per_round: Discriminator updates after each generator round.
        disc_opt_kwargs: Arguments of the discriminator's Adam optimiser (e.g. ``{"lr": 1e-3}``).
        reward_net_kwargs: Arguments of the ``BasicRewardNet`` (``hid_sizes``, ``use_next_state``,
            ``normalize_input_layer``: ``"RunningNorm"`` by default...).
        max_windows: Demonstration windows (episodes) per melody (default: all).
        bc_warm_start_epochs: Epochs of behavioural cloning of the generator on the
            demonstrations before the first round (0: none).
        verbose: 1 prints imitation's tables of statistics.
        tensorboard_log: A folder for TensorBoard logs (``GAIL_<n>`` inside it).
        device: Torch device.
    """

    algorithm = "gail"

    def _trainer_class(self) -> type:
        # optional: the imitation extra
        from imitation.algorithms.adversarial.gail import GAIL

        return GAIL


class AIRLAgent(_AdversarialAgent):
    """Adversarial Inverse Reinforcement Learning from the bundled melodies.

    The same arguments as :class:`GAILAgent`; ``reward_net_kwargs`` are those of a
    ``BasicShapedRewardNet`` (``reward_hid_sizes``, ``potential_hid_sizes``,
    ``discount_factor``: the generator's ``gamma`` by default...).
    """

    algorithm = "airl"

    def _trainer_class(self) -> type:
        # optional: the imitation extra
        from imitation.algorithms.adversarial.airl import AIRL

        return AIRL
