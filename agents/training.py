"""The run lifecycle: train a run to its steps, finish it, load its model, play and write it.

Starting and resuming a run from the command line's values: :mod:`agents.run_lifecycle`. The
command line (:mod:`mammad_cli`) calls these and prints what they return; the feedback loop and
the benchmarks call them too. Nothing here prints.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents import make_agent
from agents.model_files import load_model
from agents.registry import agent_spec
from agents.runs import (
    CHECKPOINTS,
    MODEL,
    SAMPLES,
    STATS,
    replace_folder,
    save_model_atomically,
    scratch_folder,
)
from mammad_envs.audio import render_wav
from mammad_envs.compat import make_vector
from mammad_envs.midi import write_midi
from mammad_envs.piano_roll import save_piano_roll
from rewards.base import plan_env_kwargs

__all__ = ["RunResult", "finish_run", "load_run_model", "tensorboard_folder",
           "train_and_finish", "vector_env_maker", "write_samples"]

logger = logging.getLogger(__name__)

TENSORBOARD = "tb"
"""The run's folder of TensorBoard logs."""

STATUSES = ("trained", "finished", "complete", "stopped", "interrupted")
"""How a run can end a call: :attr:`RunResult.status`."""


@dataclass(frozen=True)
class RunResult:
    """How a call that trains, resumes or finishes a run ended; the command line prints it.

    Attributes:
        run: The run folder.
        status: ``"trained"`` (trained to its steps and finished), ``"finished"`` (only its
            statistics and samples were written), ``"complete"`` (nothing left to do),
            ``"stopped"`` (Ctrl-C or SIGTERM during training: a checkpoint was saved) or
            ``"interrupted"`` (Ctrl-C after training, before the run was finished).
        exit_code: The process's exit code: 0, or 128 + the signal number when stopped, 130
            when interrupted.
        steps: The env steps the run has trained.
        total: The steps it trains for in all (its ``config.yml``).
        stats: The statistics written to ``stats.json`` by this call (``"trained"`` and
            ``"finished"``), else None.
    """

    run: Path
    status: str
    exit_code: int = 0
    steps: int = 0
    total: int = 0
    stats: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def tensorboard(self) -> Path | None:
        """The run's TensorBoard logs (``<run>/tb``), or None if it has none."""
        folder = self.run / TENSORBOARD
        return folder if folder.is_dir() and any(folder.iterdir()) else None


def tensorboard_folder(run: Path) -> str | None:
    """``<run>/tb`` for the TensorBoard logs, or None (no logs) without TensorBoard installed.

    Without TensorBoard a warning is logged.
    """
    if find_spec("tensorboard") is None:
        logger.warning("TensorBoard is not installed: no training curves are logged (pip "
                       "install tensorboard)")
        return None
    return str(run / TENSORBOARD)


def load_run_model(run: Path, path: Path, config: dict[str, Any], trust_pickle: bool = False,
                   env: Any = None, **kwargs: Any) -> Any:
    """Loads a model file of a run without unpickling anything it holds.

    Every pickled entry of the file is rebuilt from the run's ``config.yml`` (a fresh agent of
    that configuration); see :mod:`agents.model_files`.

    Args:
        run: The run folder.
        path: Its ``model.zip`` or a checkpoint.
        config: The run's configuration.
        trust_pickle: Unpickle entries the configuration cannot rebuild.
        env: The env to attach (default: one scalar env of the run's id and arguments).
        **kwargs: For the agent class's ``load``.

    Raises:
        ModelFileError: If the file is damaged, or holds pickles and is not trusted.
    """
    if env is None:
        env = gym.make(config["env"], **plan_env_kwargs(config["env_kwargs"]))

    def template() -> Any:
        values = {k: v for k, v in config["hyperparams"].items() if k != "n_envs"}
        return make_agent(config["agent"], env, seed=config["seed"], hyperparams=values)

    return load_model(agent_spec(config["agent"]).load(), path, template, trust_pickle,
                      env=env, **kwargs)


def train_and_finish(run: Path, model: Any, config: dict[str, Any], fresh: bool,
                     progress: bool) -> RunResult:
    """Trains up to the run's steps, saves the final model, then its statistics and samples.

    Ctrl-C or SIGTERM during training saves a checkpoint and ends with the status
    ``"stopped"`` and the exit code 128 + the signal number (130 for Ctrl-C); Ctrl-C while
    the run is being finished ends with ``"interrupted"`` (``mammad train --resume`` finishes
    it).

    Args:
        run: The run folder.
        model: The agent, with its training env.
        config: The run's configuration (``steps``, ``checkpoint_every``...).
        fresh: A new run (the step count starts at 0), not a resumed one.
        progress: Show a progress bar.

    Returns:
        How it ended.
    """
    from stable_baselines3.common.base_class import BaseAlgorithm  # heavy: stable_baselines3

    # heavy: agents.callbacks loads stable_baselines3, tensorboard, torch
    from agents.callbacks import LatestCheckpoint, RewardTermLogger, StepsProgressBar

    # heavy: agents.interrupt loads stable_baselines3, tensorboard, torch
    from agents.interrupt import GracefulStop, StopOnSignal

    total = int(config["steps"])
    remaining = total - int(getattr(model, "num_timesteps", 0))
    checkpoints = LatestCheckpoint(run / CHECKPOINTS, config["checkpoint_every"])
    with GracefulStop() as stop:
        if remaining > 0:
            callbacks = [RewardTermLogger(), checkpoints, StopOnSignal(stop)]
            # SB3's own bar ends past its total (at the end of the last rollout); ours at it
            sb3 = isinstance(model, BaseAlgorithm)
            if progress and sb3:
                callbacks.append(StepsProgressBar())
            model.learn(remaining, callback=callbacks, progress_bar=progress and not sb3,
                        reset_num_timesteps=fresh, tb_log_name="tb")
    steps = int(model.num_timesteps)
    if stop.requested and steps < total:
        checkpoints.save(model)
        return RunResult(run, "stopped", stop.exit_code, steps, total)
    try:
        if getattr(model, "replay_buffer", None) is not None:
            checkpoints.save(model)  # with the buffer, so that --resume --steps N goes on
        save_model_atomically(model, run / MODEL)
        stats = finish_run(run, model, config)
    except KeyboardInterrupt:
        return RunResult(run, "interrupted", 130, steps, total)
    return RunResult(run, "trained", 0, steps, total, stats)


def vector_env_maker(config: dict[str, Any]) -> Any:
    """``make(n)``: ``n`` envs of a run's id and arguments, batched (for evaluation)."""
    env_kwargs = plan_env_kwargs(config["env_kwargs"])  # parsed once for every size

    def make(num_envs: int) -> Any:
        return make_vector(config["env"], num_envs, **env_kwargs)

    return make


def finish_run(run: Path, model: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Writes stats.json and sample melodies for a trained model, each file atomically.

    Returns:
        The statistics written to stats.json.
    """
    # heavy: agents.rollouts loads the numba-compiled frame kernels
    from agents.rollouts import measure_kl, play_episodes, sampling_player

    # heavy: rewards.metrics is numba-compiled
    from rewards import metrics

    samples = int(config.get("samples", 4))
    episodes = max(int(config.get("eval_episodes", 100)), samples, 1)
    meter = measure_kl(model)
    melodies, accompaniments, returns = play_episodes(sampling_player(model),
                                                      vector_env_maker(config), episodes)
    table = metrics.evaluate(melodies)
    if meter is not None:
        table.update(meter.statistics(len(melodies[0])))
    table["mean episode return"] = float(sum(returns) / len(returns))
    replace_folder(run / SAMPLES, lambda folder: write_samples(
        folder, melodies[:samples], accompaniments[:samples], wav=False))
    with scratch_folder(run) as scratch:  # stats.json last: it marks a finished run
        os.replace(metrics.save_json(table, scratch / STATS), run / STATS)
    return table


def write_samples(folder: Path, melodies: list, accompaniments: list, wav: bool = True,
                  bpm: float = 120.0, audio: str = "auto") -> list[Path]:
    """Writes each melody as MIDI, a piano-roll PNG and (optionally) WAV."""
    written = []
    for index, (melody, accompaniment) in enumerate(zip(melodies, accompaniments, strict=True)):
        notes = accompaniment.notes_until(len(melody)) if accompaniment is not None else []
        stem = folder / f"sample_{index:03d}"
        written.append(write_midi(stem.with_suffix(".mid"), melody, notes, bpm=bpm))
        written.append(save_piano_roll(stem.with_suffix(".png"), melody, notes,
                                       title=f"sample {index}"))
        if wav:
            written.append(render_wav(stem.with_suffix(".wav"), melody, notes, bpm, audio)[0])
    return written
