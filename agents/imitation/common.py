"""What the imitation adapters share: the adapter base, env rebuilding, callbacks, saving.

* :func:`recreatable_spec` and :func:`make_imitation_venv`: the env spec of what the user passed
  and the training VecEnv rebuilt from it.
* :class:`ImitationAgent`: the SB3 surface (``predict``, ``get_env``...), the demonstrations,
  ``save`` and ``load`` of the three adapters (:mod:`agents.imitation.adversarial`,
  :mod:`agents.imitation.bc`).
* :func:`as_callback`, :func:`check_learn_kwargs` and :class:`GeneratorCallback`: what
  ``learn`` accepts and how an SB3 callback runs inside imitation's training loops.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback
from stable_baselines3.common.vec_env import VecEnv

from mammad_envs.data.demonstrations import expert_trajectories
from mammad_envs.registration import ENTRY_POINT
from rewards.base import parse_rewards
from rewards.reward_nets import describe_observations

FORMAT = "mammad-envs/imitation-agent"
METADATA = "imitation_agent"
"""The attribute of the saved PPO that describes the adapter (algorithm, hyperparameters, env)."""
IGNORED_LEARN_KWARGS = ("log_interval", "tb_log_name", "reset_num_timesteps")
CLASS_NAMES = {"gail": "GAILAgent", "airl": "AIRLAgent", "bc": "BCAgent"}


class StopTraining(Exception):
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


def batchable(spec: EnvSpec) -> bool:
    """Whether a spec is a MammadMelody id with only the rewards its ``reward`` names.

    Such an env is what ``rewards.make_vector_env(n, **spec.kwargs)`` makes ``n`` of, batched;
    a spec with other wrappers (a reward wrapped by hand, say) is not.
    """
    if spec.entry_point != ENTRY_POINT:
        return False
    try:
        rewards = parse_rewards(spec.kwargs.get("reward", "theory"))
    except ValueError:
        return False
    return len(spec.additional_wrappers) == len(rewards)


def make_imitation_venv(spec: EnvSpec, n_envs: int = 1, seed: int | None = 0) -> VecEnv:
    """The training VecEnv: ``n_envs`` envs like ``gym.make(spec)``, env ``i`` seeded ``seed + i``.

    A MammadMelody id with its rewards (:func:`batchable`) gives the batched env in a
    ``VecMonitor``, as ``mammad train`` trains SB3 agents on; anything else SB3's
    ``DummyVecEnv`` of ``gym.make(spec)`` envs, each in a Monitor and imitation's
    ``RolloutInfoWrapper``.
    """
    # optional: the imitation extra
    from imitation.data.wrappers import RolloutInfoWrapper

    # heavy: stable_baselines3 loads slowly and only this path needs it
    from stable_baselines3.common.env_util import make_vec_env

    if batchable(spec):
        # heavy: stable_baselines3 loads slowly and only this path needs it
        from stable_baselines3.common.vec_env import VecMonitor

        # heavy: loads the numba-compiled frame kernels
        from mammad_envs.sb3_vec_env import MelodySB3VecEnv

        # heavy: loads the numba-compiled theory kernel
        from rewards.compose import make_vector_env

        kwargs = {key: value for key, value in spec.kwargs.items() if key != "render_mode"}
        venv = VecMonitor(MelodySB3VecEnv(make_vector_env(n_envs, **kwargs)))  # no rendering
        venv.seed(seed)
        return venv

    return make_vec_env(lambda: gym.make(spec), n_envs=n_envs, seed=seed,
                        wrapper_class=RolloutInfoWrapper)


def as_callback(callback: Any) -> BaseCallback | None:
    """An SB3 callback from what ``learn`` accepts: None, a callback, a list or a function."""
    if callback is None or isinstance(callback, BaseCallback):
        return callback
    if isinstance(callback, list):
        return CallbackList(callback)
    return ConvertCallback(callback)


def check_learn_kwargs(kwargs: dict[str, Any]) -> None:
    """Accepts SB3's ``learn`` keywords that the adapters ignore (``IGNORED_LEARN_KWARGS``).

    Raises:
        TypeError: On another keyword argument.
    """
    stray = sorted(set(kwargs) - set(IGNORED_LEARN_KWARGS))
    if stray:
        raise TypeError(f"learn() got unexpected keyword arguments {stray}")


def spec_to_json(spec: EnvSpec | None) -> str | None:
    """The spec as JSON (None without a spec, or with kwargs that JSON cannot hold)."""
    try:
        return None if spec is None else spec.to_json()
    except (TypeError, ValueError):  # kwargs that JSON cannot hold
        return None


class ImitationAgent:
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
            self.venv.get_attr("unwrapped", [0])[0])
        self._demonstrations: list | None = None
        self._logger, self._log_dir = self._make_logger()

    def _make_logger(self) -> tuple[Any, Any]:
        # optional: the imitation extra
        from imitation.util import logger

        formats = ["stdout"] if self.verbose else []
        if self.tensorboard_log is None:
            directory = tempfile.TemporaryDirectory(prefix=f"mammad-{self.algorithm}-")
            return logger.configure(directory.name, formats), directory
        # heavy: stable_baselines3 loads slowly and only this path needs it
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
            "env_spec": spec_to_json(self.env_spec)})
        self.algo.save(zip_path)
        self._save_extra(zip_path)

    def _save_extra(self, zip_path: Path) -> None:
        """Writes what the PPO file does not hold."""

    @classmethod
    def load(cls, path: str | os.PathLike, env: Any = None, device: str = "auto",
             verbose: int | None = None, tensorboard_log: str | None = None,
             **kwargs: Any) -> ImitationAgent:
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



class GeneratorCallback(BaseCallback):
    """Runs a user's SB3 callback inside the generator's rounds, with the adapter as model.

    imitation calls the generator's ``learn`` once per round; this bridge initialises and
    starts the user's callback on the first round only, forwards every step, and remembers a
    request to stop (``on_step`` returning False) instead of cutting a round short.
    """

    def __init__(self, callback: BaseCallback, agent: ImitationAgent) -> None:
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
