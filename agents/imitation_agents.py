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
``"gail"`` reward wrapper reads: :mod:`rewards.learned_reward`).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback
from stable_baselines3.common.vec_env import VecEnv

from rewards.learned_reward import (
    build_reward_net,
    describe_observations,
    load_reward_net,
    reward_file,
    save_reward_net,
)
from rewards.learned_reward import reward_net_kwargs as checked_net_kwargs

FORMAT = "mammad-envs/imitation-agent"
METADATA = "imitation_agent"
"""The attribute of the saved PPO that describes the adapter (algorithm, hyperparameters, env)."""
IGNORED_LEARN_KWARGS = ("log_interval", "tb_log_name", "reset_num_timesteps")
CLASS_NAMES = {"gail": "GAILAgent", "airl": "AIRLAgent", "bc": "BCAgent"}


class _StopTraining(Exception):
    """Raised inside imitation's training loops when an SB3 callback asks to stop."""


def recreatable_spec(env: Any) -> EnvSpec:
    """The spec of an env id, env or VecEnv, without wrappers ``gym.make`` cannot rebuild.

    ``Monitor`` and ``RolloutInfoWrapper`` (wrappers that do not record their arguments) are
    dropped; every reward wrapper is kept.

    Raises:
        ValueError: If the env has no spec (it was not made with ``gym.make``).
    """
    if isinstance(env, EnvSpec):
        spec = env
    elif isinstance(env, str):
        spec = gym.spec(env)
    else:
        spec = getattr(env, "spec", None) if not isinstance(env, VecEnv) else None
        if spec is None and isinstance(env, VecEnv):
            try:
                spec = env.get_attr("spec", [0])[0]
            except (AttributeError, IndexError):
                spec = None
    if spec is None:
        raise ValueError(f"the imitation agents replay the melodies through a fresh copy of the "
                         f"env, made from its spec, but {env!r} has none: make the env with "
                         f"gym.make or pass its id")
    wrappers = tuple(w for w in spec.additional_wrappers if w.kwargs is not None)
    return dataclasses.replace(spec, additional_wrappers=wrappers)


def make_imitation_venv(spec: EnvSpec, n_envs: int = 1, seed: int | None = 0) -> VecEnv:
    """``n_envs`` copies of ``gym.make(spec)``, each in a Monitor and a RolloutInfoWrapper."""
    from imitation.data.wrappers import RolloutInfoWrapper
    from stable_baselines3.common.env_util import make_vec_env

    return make_vec_env(lambda: gym.make(spec), n_envs=n_envs, seed=seed,
                        wrapper_class=RolloutInfoWrapper)


def as_callback(callback: Any) -> BaseCallback | None:
    """An SB3 callback from what ``learn`` accepts: None, a callback, a list or a function."""
    if callback is None or isinstance(callback, BaseCallback):
        return callback
    if isinstance(callback, list):
        return CallbackList(callback)
    return ConvertCallback(callback)


def _spec_to_json(spec: EnvSpec | None) -> str | None:
    try:
        return None if spec is None else spec.to_json()
    except (TypeError, ValueError):  # kwargs that JSON cannot hold
        return None


class _ImitationAgent:
    """What the three adapters share: the PPO holding the policy, the env, saving and loading.

    Attributes of the PPO (``get_env()``, ``logger``, ``num_timesteps``, ``device``...) are
    reachable on the adapter, so SB3 callbacks that were given the adapter as their ``model``
    work.
    """

    algorithm: ClassVar[str] = ""

    algo: PPO
    """The SB3 PPO whose policy is trained (GAIL/AIRL: the generator)."""

    def _setup(self, env: Any, seed: int | None, hyperparameters: dict[str, Any], verbose: int,
               tensorboard_log: str | None, n_envs: int | None = None) -> None:
        self.seed = seed
        self.hyperparameters = hyperparameters
        self.verbose = int(verbose)
        self.tensorboard_log = tensorboard_log
        self.env_spec: EnvSpec | None = None if env is None else recreatable_spec(env)
        if n_envs is None:
            n_envs = env.num_envs if isinstance(env, VecEnv) else 1
        self.n_envs = int(n_envs)
        self.venv: VecEnv | None = (None if self.env_spec is None else
                                    make_imitation_venv(self.env_spec, self.n_envs, seed))
        self.observations = None if self.venv is None else describe_observations(
            self.venv.envs[0])
        self._demonstrations: list | None = None
        self._logger, self._log_dir = self._make_logger()

    def _make_logger(self) -> tuple[Any, Any]:
        from imitation.util import logger

        formats = ["stdout"] if self.verbose else []
        if self.tensorboard_log is None:
            directory = tempfile.TemporaryDirectory(prefix=f"mammad-{self.algorithm}-")
            return logger.configure(directory.name, formats), directory
        from stable_baselines3.common.utils import get_latest_run_id

        name = self.algorithm.upper()
        run = get_latest_run_id(str(self.tensorboard_log), name) + 1
        folder = Path(self.tensorboard_log) / f"{name}_{run}"
        return logger.configure(folder, [*formats, "tensorboard"]), None

    # -- the SB3 surface -----------------------------------------------------------------------

    @property
    def policy(self) -> Any:
        """The SB3 policy (an ``ActorCriticPolicy``)."""
        return self.algo.policy

    @property
    def logger(self) -> Any:
        """The imitation logger (an SB3 ``Logger``), shared by the PPO."""
        return self._logger

    @property
    def num_timesteps(self) -> int:
        """Env steps taken so far (BC: demonstration transitions seen)."""
        return int(self.algo.num_timesteps)

    def get_env(self) -> VecEnv | None:
        """The training VecEnv (GAIL/AIRL, once training started: wrapped in the learned reward)."""
        return self.algo.get_env()

    def __getattr__(self, name: str) -> Any:
        algo = self.__dict__.get("algo")
        if algo is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(algo, name)

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """``(action, state)`` for an observation or a batch of them (the policy's predict)."""
        return self.algo.predict(observation, state, episode_start, deterministic)

    @property
    def demonstrations(self) -> list:
        """The bundled melodies replayed through ``gym.make(spec)`` (made once, on first use).

        Raises:
            ValueError: If the agent has no env (loaded without one and saved without a spec).
        """
        if self._demonstrations is None:
            from mammad_envs.data.demonstrations import expert_trajectories

            env = gym.make(self._require_spec())
            try:
                self._demonstrations = expert_trajectories(
                    env, max_windows=self.hyperparameters.get("max_windows"),
                    seed=0 if self.seed is None else int(self.seed))
            finally:
                env.close()
        return self._demonstrations

    def _require_spec(self) -> EnvSpec:
        if self.env_spec is None:
            raise ValueError(f"this {type(self).__name__} has no env to train on: pass env= to "
                             f"load() (its spec could not be saved)")
        return self.env_spec

    # -- saving and loading --------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Writes ``<stem>.zip`` (and, for GAIL/AIRL, ``<stem>_reward.pt`` beside it).

        Args:
            path: ``runs/x/model`` or ``runs/x/model.zip``.
        """
        path = Path(path)
        zip_path = path if path.suffix else path.with_suffix(".zip")
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        setattr(self.algo, METADATA, {
            "format": FORMAT, "algorithm": self.algorithm, "seed": self.seed,
            "hyperparameters": self.hyperparameters,
            "env_spec": _spec_to_json(self.env_spec)})
        self.algo.save(zip_path)
        self._save_extra(zip_path)

    def _save_extra(self, zip_path: Path) -> None:
        """Writes what the PPO file does not hold."""

    @classmethod
    def load(cls, path: str | os.PathLike, env: Any = None, device: str = "auto",
             verbose: int | None = None, tensorboard_log: str | None = None,
             **kwargs: Any) -> _ImitationAgent:
        """Reads an agent written by :meth:`save`.

        Args:
            path: The ``.zip`` that :meth:`save` wrote (the suffix may be left out).
            env: The env to train on further (an id, env or VecEnv); by default the one saved
                (its spec), which also serves to remake the demonstrations.
            device: Torch device.
            verbose: Overrides the saved verbosity.
            tensorboard_log: Where to write TensorBoard logs from now on.
            **kwargs: Passed to ``PPO.load``.

        Returns:
            The agent, predicting as the saved one did.

        Raises:
            FileNotFoundError: If a file is missing.
            ValueError: If the file was not written by this class's ``save``.
        """
        path = Path(path)
        zip_path = path if path.suffix else path.with_suffix(".zip")
        if not zip_path.is_file():
            raise FileNotFoundError(f"no saved agent at {zip_path}")
        algo = PPO.load(zip_path, device=device, **kwargs)
        metadata = getattr(algo, METADATA, None)
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
            raise ValueError(f"{zip_path} was not saved by an imitation agent of mammad-envs "
                             f"(a plain SB3 file? load it with its SB3 class)")
        if metadata["algorithm"] != cls.algorithm:
            right = CLASS_NAMES.get(metadata["algorithm"], "its own class")
            raise ValueError(f"{zip_path} holds a {metadata['algorithm']!r} agent: load it with "
                             f"{right}, not {cls.__name__}")
        if env is None and metadata.get("env_spec") is not None:
            env = EnvSpec.from_json(metadata["env_spec"])
        agent = cls.__new__(cls)
        agent._setup(env, metadata.get("seed"), dict(metadata["hyperparameters"]),
                     algo.verbose if verbose is None else verbose, tensorboard_log,
                     n_envs=env.num_envs if isinstance(env, VecEnv) else algo.n_envs)
        if agent.venv is not None and agent.venv.num_envs == algo.n_envs:
            algo.set_env(agent.venv)
        elif agent.venv is not None:
            algo = PPO.load(zip_path, env=agent.venv, device=device, **kwargs)
        agent._attach(algo, zip_path)
        return agent

    def _attach(self, algo: PPO, zip_path: Path | None) -> None:
        """Takes the PPO (new or loaded) and builds what depends on it."""
        self.algo = algo
        self.algo.set_logger(self._logger)


class _AdversarialAgent(_ImitationAgent):
    """GAIL and AIRL: a PPO generator against a discriminator built on a reward network."""

    def __init__(self, policy: Any, env: Any, seed: int | None = 0, *,
                 gen_kwargs: dict[str, Any] | None = None, demo_batch_size: int = 256,
                 gen_replay_buffer_capacity: int | None = None,
                 n_disc_updates_per_round: int = 4,
                 disc_opt_kwargs: dict[str, Any] | None = None,
                 reward_net_kwargs: dict[str, Any] | None = None,
                 max_windows: int | None = None, verbose: int = 0,
                 tensorboard_log: str | None = None, device: str = "auto") -> None:
        from agents.hyperparams import resolve

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
            "max_windows": max_windows}, verbose, tensorboard_log)
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

    @property
    def gen_algo(self) -> PPO:
        """The generator (imitation's name for it)."""
        return self.algo

    @property
    def trainer(self) -> Any:
        """The imitation ``GAIL`` / ``AIRL`` trainer, built with the demonstrations on first use."""
        if self._trainer is None:
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
        return self._trainer

    def _trainer_class(self) -> type:
        raise NotImplementedError

    @property
    def reward_test(self) -> Any:
        """The learned reward for later use (what the ``"gail"`` reward wrapper computes)."""
        from rewards.learned_reward import evaluation_reward_net

        return evaluation_reward_net(self.algorithm, self.reward_net)

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
            progress_bar: Accepted for SB3 compatibility; imitation shows its own bar of rounds.
            **kwargs: SB3's ``log_interval``, ``tb_log_name`` and ``reset_num_timesteps`` are
                accepted and ignored (steps always accumulate across calls, as in imitation).

        Returns:
            The agent.

        Raises:
            TypeError: On another keyword argument.
        """
        stray = sorted(set(kwargs) - set(IGNORED_LEARN_KWARGS))
        if stray:
            raise TypeError(f"learn() got unexpected keyword arguments {stray}")
        trainer = self.trainer
        callback = as_callback(callback)
        bridge = None if callback is None else _GeneratorCallback(callback, self)
        log_callback = trainer.gen_callback
        if bridge is not None:
            trainer.gen_callback = (bridge if log_callback is None
                                    else CallbackList([log_callback, bridge]))

        def after_round(round_number: int) -> None:
            if bridge is not None and bridge.stopped:
                raise _StopTraining

        try:
            trainer.train(max(int(total_timesteps), trainer.gen_train_timesteps),
                          callback=after_round)
        except _StopTraining:
            pass
        finally:
            trainer.gen_callback = log_callback
            if bridge is not None and bridge.started:
                callback.on_training_end()
        return self

    def _save_extra(self, zip_path: Path) -> None:
        save_reward_net(reward_file(zip_path), self.algorithm, self.reward_net,
                        self.hyperparameters["reward_net_kwargs"],
                        observations=self.observations, env_spec=_spec_to_json(self.env_spec))


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
        verbose: 1 prints imitation's tables of statistics.
        tensorboard_log: A folder for TensorBoard logs (``GAIL_<n>`` inside it).
        device: Torch device.
    """

    algorithm = "gail"

    def _trainer_class(self) -> type:
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
        from imitation.algorithms.adversarial.airl import AIRL

        return AIRL


class BCAgent(_ImitationAgent):
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
            from imitation.algorithms.bc import BC
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
            The agent.

        Raises:
            TypeError: On another keyword argument.
        """
        stray = sorted(set(kwargs) - set(IGNORED_LEARN_KWARGS))
        if stray:
            raise TypeError(f"learn() got unexpected keyword arguments {stray}")
        trainer = self.trainer
        n_epochs = max(1, int(total_timesteps) // self.n_transitions)
        callback = as_callback(callback)
        batch_size = self.hyperparameters["batch_size"]

        def on_batch_end() -> None:
            self.algo.num_timesteps += batch_size
            if callback is not None and not callback.on_step():
                raise _StopTraining

        if callback is not None:
            callback.init_callback(self)
            callback.on_training_start(locals(), globals())
        try:
            with warnings.catch_warnings():  # imitation 1.0 logs float(loss) with its graph
                warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
                trainer.train(n_epochs=n_epochs, on_batch_end=on_batch_end,
                              log_interval=log_interval, progress_bar=progress_bar)
        except _StopTraining:
            pass
        finally:
            if callback is not None:
                callback.on_training_end()
        return self


class _GeneratorCallback(BaseCallback):
    """Runs a user's SB3 callback inside the generator's rounds, with the adapter as model.

    imitation calls the generator's ``learn`` once per round; this bridge initialises and
    starts the user's callback on the first round only, forwards every step, and remembers a
    request to stop (``on_step`` returning False) instead of cutting a round short.
    """

    def __init__(self, callback: BaseCallback, agent: _ImitationAgent) -> None:
        super().__init__()
        self.callback = callback
        self.agent = agent
        self.initialised = False
        self.started = False
        self.stopped = False

    def _init_callback(self) -> None:
        if not self.initialised:
            self.initialised = True
            self.callback.init_callback(self.agent)

    def _on_training_start(self) -> None:
        if not self.started:
            self.started = True
            self.callback.on_training_start(self.locals, self.globals)

    def _on_rollout_start(self) -> None:
        if not self.stopped:
            self.callback.on_rollout_start()

    def _on_step(self) -> bool:
        if not self.stopped and not self.callback.on_step():
            self.stopped = True
        return True

    def _on_rollout_end(self) -> None:
        if not self.stopped:
            self.callback.on_rollout_end()

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        """Passes the generator's locals on to the user's callback."""
        self.callback.update_locals(locals_)
