"""Starting and resuming runs: from plain values to a trained, finished run folder.

A new run: check its settings and build its configuration, then train it::

    config = new_run_config("ppo", "MammadMelody-count-v0", {"reward": "theory"}, steps=200_000)
    result = start_run(Path("runs"), config, command=["train", "--agent", "ppo"])

Going on with a run (after Ctrl-C or a crash, or on to more steps)::

    check_resume(run, steps=400_000)
    result = resume_run(run, command=["train", "--resume", str(run)], steps=400_000)

The checks (:func:`new_run_config`, :func:`check_resume`) read files and build the env once,
and import neither torch nor stable-baselines3 (unless a reward needs torch), so a bad value
fails at once and before any run folder is made. :func:`start_run` and :func:`resume_run`
return a :class:`~agents.training.RunResult` and print nothing: ``mammad train``
(:mod:`mammad_cli.train`) prints it; where a run resumes from is logged.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents import check_env_id, make_agent, make_training_env
from agents.hyperparams import check_hyperparams, load_hyperparams
from agents.model_files import (
    BUFFER_SUFFIX,
    PICKLED_BUFFER_SUFFIX,
    TRUST_HINT,
    ModelFileError,
    load_replay_buffer,
    saved_timesteps,
)
from agents.registry import agent_spec
from agents.runs import (
    CHECKPOINTS,
    CONFIG,
    LATEST,
    MODEL,
    SAMPLES,
    STATS,
    RunLock,
    append_command,
    create_run_folder,
    git_commit,
    read_config,
    remove_scratch,
    versions,
    write_config,
)
from agents.tensorboard_logs import drop_events_after
from agents.training import (
    TENSORBOARD,
    RunResult,
    finish_run,
    load_run_model,
    tensorboard_folder,
    train_and_finish,
)
from rewards.base import plan_env_kwargs, plan_rewards

__all__ = ["DEFAULT_CHECKPOINT_EVERY", "DEFAULT_ENV", "DEFAULT_EVAL_EPISODES", "DEFAULT_REWARD",
           "DEFAULT_SAMPLES", "DEFAULT_STEPS", "FINISH_OPTIONS", "check_env_arguments",
           "check_n_envs", "check_resume", "env_arguments", "new_run_config", "resume_run",
           "start_run"]

logger = logging.getLogger(__name__)

DEFAULT_CHECKPOINT_EVERY = 10_000
DEFAULT_EVAL_EPISODES = 100
DEFAULT_SAMPLES = 4
DEFAULT_STEPS = 100_000
DEFAULT_ENV = "MammadMelody-count-v0"
DEFAULT_REWARD = "theory"

FINISH_OPTIONS = ("checkpoint_every", "eval_episodes", "samples")
"""Settings a resumed run may change: they define how a run is saved and finished."""


def env_arguments(env_kwargs: Mapping[str, Any] | None = None,
                  reward: str | None = DEFAULT_REWARD,
                  reward_weights: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A run's env arguments: ``env_kwargs`` with its reward plan (the rewards and weights).

    The reward spec is parsed and checked once, here (:func:`rewards.base.plan_rewards`);
    ``reward`` becomes the plan's canonical spec (``"theory+note_rnn"``, or None).

    Args:
        env_kwargs: Env arguments (``steps``, ``pitch_range``...; ``reward_weights`` and
            ``reward_kwargs`` here are checked against the rewards too).
        reward: Rewards joined by '+', or ``"none"`` (or None) for none.
        reward_weights: Weight of each reward (default 1 each; replaces ``env_kwargs``').

    Raises:
        ValueError: On an unknown reward (the message names the known ones), or weights or
            reward arguments that do not fit the rewards.
    """
    values = dict(env_kwargs or {})
    if reward_weights:
        values["reward_weights"] = dict(reward_weights)
    plan = plan_rewards(None if reward is None or reward.lower() == "none" else reward,
                        values.get("reward_weights"), values.get("reward_kwargs"))
    values["reward"] = plan.spec
    return values


def check_env_arguments(env_id: str, env_kwargs: Mapping[str, Any]) -> None:
    """Builds the env once, so a bad id or argument fails before a run folder is made.

    Raises:
        ValueError: If the id is not a registered MammadMelody id or an argument is bad.
    """
    check_env_id(env_id)
    gym.make(env_id, **plan_env_kwargs(env_kwargs)).close()


def check_n_envs(hyperparams: Mapping[str, Any]) -> None:
    """Raises a clear ValueError if the hyperparameters' ``n_envs`` is not a positive integer."""
    n_envs = hyperparams.get("n_envs", 1)
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")


def new_run_config(agent: str, env_id: str = DEFAULT_ENV,
                   env_kwargs: Mapping[str, Any] | None = None, *, seed: int = 0,
                   steps: int = DEFAULT_STEPS, hyperparams: Mapping[str, Any] | None = None,
                   hyperparams_file: str | None = None, n_envs: int | None = None,
                   checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
                   eval_episodes: int = DEFAULT_EVAL_EPISODES, samples: int = DEFAULT_SAMPLES,
                   scalar_envs: bool = False) -> dict[str, Any]:
    """Checks a new run's settings and returns its configuration (its ``config.yml``).

    Args:
        agent: A registered agent.
        env_id: A MammadMelody env id.
        env_kwargs: The env's arguments, rewards included (:func:`env_arguments`).
        seed: The run's seed.
        steps: Env steps to train for in all.
        hyperparams: Overrides of the YAML hyperparameters.
        hyperparams_file: A YAML file to read instead of the bundled one.
        n_envs: Vectorised envs (default: the YAML's ``n_envs``).
        checkpoint_every: Steps between checkpoints.
        eval_episodes: Episodes whose melodies give ``stats.json``.
        samples: Sample melodies to write into ``samples/``.
        scalar_envs: Train on a DummyVecEnv of scalar envs instead of the batched env.

    Raises:
        ValueError: On an unknown agent or env id, a bad env argument, or bad hyperparameters
            (:func:`agents.hyperparams.check_hyperparams`).
    """
    spec = agent_spec(agent)
    env_kwargs = dict(env_kwargs or {})
    check_env_arguments(env_id, env_kwargs)
    values = load_hyperparams(agent, env_id, hyperparams_file)
    values.update(hyperparams or {})
    if n_envs is not None:
        values["n_envs"] = n_envs
    check_n_envs(values)
    check_hyperparams(agent, values, spec.policy)
    return {
        "agent": agent, "env": env_id, "env_kwargs": env_kwargs, "seed": seed, "steps": steps,
        "hyperparams": values, "checkpoint_every": checkpoint_every,
        "eval_episodes": eval_episodes, "samples": samples,
        "batched": spec.batched and not scalar_envs,
        "git_commit": git_commit(), "versions": versions(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def start_run(runs_dir: Path, config: dict[str, Any], command: Sequence[str],
              progress: bool = True) -> RunResult:
    """Makes a run folder for a configuration, trains the run and finishes it.

    Args:
        runs_dir: Where the run folder goes (made if missing).
        config: The run's configuration, from :func:`new_run_config`.
        command: The command line's arguments, for the run's ``command.txt``.
        progress: Show a progress bar.

    Raises:
        ValueError: If the agent rejects its hyperparameters (no run folder is left behind).
        MissingExtraError: If the agent needs an extra that is not installed.
    """
    agent_spec(config["agent"]).load()  # its class imports: before a run folder is made
    new_runs_dir = not Path(runs_dir).exists()
    run = create_run_folder(runs_dir, config["env"], config["agent"], config["seed"])
    with RunLock(run):
        try:  # a bad hyperparameter leaves no half-made run folder (nor a runs folder it made)
            values = dict(config["hyperparams"])
            n_envs = int(values.pop("n_envs", 1))
            env = make_training_env(config["env"], n_envs, config["seed"],
                                    config["env_kwargs"], batched=config["batched"])
            model = make_agent(config["agent"], env, seed=config["seed"], hyperparams=values,
                               tensorboard_log=tensorboard_folder(run))
        except BaseException:
            shutil.rmtree(run, ignore_errors=True)
            if new_runs_dir:  # only if still empty: another run may have started in it
                with contextlib.suppress(OSError):
                    Path(runs_dir).rmdir()
            raise
        write_config(run, config)
        append_command(run, list(command))
        return train_and_finish(run, model, config, fresh=True, progress=progress)


def _saved_models(run: Path) -> list[tuple[int, bool, Path]]:
    """``(steps, is the checkpoint, path)`` of the run's model.zip and latest checkpoint."""
    final, latest = run / MODEL, run / CHECKPOINTS / LATEST
    return [(saved_timesteps(path), path == latest, path) for path in (final, latest)
            if path.is_file()]


def _check_steps(run: Path, steps: int | None, trained: int) -> None:
    if steps is not None and steps < trained:
        raise ValueError(f"--steps {steps:,} is below the {trained:,} steps that run "
                         f"{str(run)!r} has trained: give a larger total")


def check_resume(run: Path, agent: str | None = None, changed: Sequence[str] = (),
                 steps: int | None = None) -> dict[str, Any]:
    """Checks that a run can go on as asked, before anything heavy is imported or loaded.

    Args:
        run: The run folder.
        agent: The agent the caller expects (None: any).
        changed: The options given that would change the run's configuration (e.g.
            ``["--seed"]``); any is refused.
        steps: The new total of steps, or None.

    Returns:
        The run's configuration.

    Raises:
        ValueError: If it is not a run folder, trains another agent, an option would change
            it, or ``steps`` is below the steps it has trained.
    """
    config = read_config(run)
    if agent is not None and agent != config["agent"]:
        raise ValueError(f"run {str(run)!r} trains the agent {config['agent']!r}, not "
                         f"{agent!r}: --resume goes on with the run's own agent (drop "
                         f"--agent, or start a new run)")
    if changed:
        raise ValueError(f"--resume goes on with the run's own configuration ({run / CONFIG}"
                         f"); {', '.join(changed)} would change it: start a new run instead")
    _check_steps(run, steps, max((saved for saved, _, _ in _saved_models(run)), default=0))
    return config


def resume_run(run: Path, command: Sequence[str], *, steps: int | None = None,
               checkpoint_every: int | None = None, eval_episodes: int | None = None,
               samples: int | None = None, trust_pickle: bool = False,
               progress: bool = True) -> RunResult:
    """Trains a run on from its last checkpoint, or finishes what a killed run left out.

    The run's completeness is read from its files (JSON inside the model file, nothing
    unpickled) before any model is loaded. The settings given (not None) that differ from the
    run's are written to its ``config.yml``; a new ``eval_episodes`` or ``samples`` rewrites
    a finished run's statistics and samples.

    Args:
        run: The run folder.
        command: The command line's arguments, for the run's ``command.txt``.
        steps: Train on to this total (default: the run's own).
        checkpoint_every: Steps between checkpoints (default: the run's own).
        eval_episodes: Episodes whose melodies give ``stats.json`` (default: the run's own).
        samples: Sample melodies to write (default: the run's own).
        trust_pickle: Load a checkpoint or replay buffer that holds pickled objects.
        progress: Show a progress bar.

    Returns:
        How it ended: ``"complete"`` (nothing to do), ``"finished"`` (statistics and samples
        written) or what :func:`~agents.training.train_and_finish` returns.

    Raises:
        ValueError: See :func:`check_resume`; also if it has no checkpoint to resume from.
        RunInUseError: If another process holds the run.
        ModelFileError: If a file to load holds pickles and is not trusted, or is damaged.
    """
    with RunLock(run):
        remove_scratch(run)
        config = read_config(run)
        candidates = _saved_models(run)
        _check_steps(run, steps, max((saved for saved, _, _ in candidates), default=0))
        first_checkpoint = int(config.get("checkpoint_every", 0))
        given = {"steps": steps, "checkpoint_every": checkpoint_every,
                 "eval_episodes": eval_episodes, "samples": samples}
        updates = {name: value for name, value in given.items()
                   if value is not None and value != config.get(name)}
        if updates:
            config.update(updates)
            write_config(run, config)
        refinish = any(name in updates for name in ("eval_episodes", "samples"))
        done = next((saved for saved, is_latest, _ in candidates if not is_latest), None)
        if done is not None and done >= config["steps"]:
            if (run / STATS).is_file() and (run / SAMPLES).is_dir() and not refinish:
                return RunResult(run, "complete", 0, done, config["steps"])
            append_command(run, list(command))
            model = load_run_model(run, run / MODEL, config, trust_pickle)
            stats = finish_run(run, model, config)
            return RunResult(run, "finished", 0, done, config["steps"], stats)
        if not candidates:
            raise ValueError(f"run {str(run)!r} has no checkpoint to resume from (it stopped "
                             f"before its first, at {first_checkpoint:,} "
                             f"steps): start a new run")
        model = _load_checkpoint(run, config, max(candidates)[2], trust_pickle)
        append_command(run, list(command))
        logger.info("resuming %s from step %s to %s", run, f"{model.num_timesteps:,}",
                    f"{config['steps']:,}")
        return train_and_finish(run, model, config, fresh=False, progress=progress)


def _load_checkpoint(run: Path, config: dict[str, Any], checkpoint: Path,
                     trust_pickle: bool) -> Any:
    """The agent of a checkpoint (with its replay buffer), on a new training env.

    ``checkpoint`` is the saved model with the most steps; on a tie the checkpoint, which has
    the replay buffer beside it.
    """
    buffer = checkpoint.with_name(f"{checkpoint.stem}{BUFFER_SUFFIX}")
    pickled_buffer = checkpoint.with_name(f"{checkpoint.stem}{PICKLED_BUFFER_SUFFIX}")
    if not buffer.is_file() and pickled_buffer.is_file() and not trust_pickle:
        raise ModelFileError(f"{pickled_buffer} is a pickled replay buffer (the format of "
                             f"older runs); loading it would run code from the file: "
                             f"{TRUST_HINT}, or delete it to go on with an empty buffer")
    hyperparams = dict(config["hyperparams"])
    n_envs = int(hyperparams.pop("n_envs", 1))
    env = make_training_env(config["env"], n_envs, config["seed"], config["env_kwargs"],
                            batched=config.get("batched", False))
    model = load_run_model(run, checkpoint, config, trust_pickle, env=env,
                           tensorboard_log=tensorboard_folder(run))
    if getattr(model, "replay_buffer", None) is not None:
        if buffer.is_file():
            load_replay_buffer(model, buffer)
        elif pickled_buffer.is_file():
            model.load_replay_buffer(pickled_buffer)
    drop_events_after(run / TENSORBOARD, model.num_timesteps)
    return model
