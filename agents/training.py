"""The run lifecycle: train a run to its steps, finish it, load its model, play and write it.

The command line (:mod:`agents.cli`) parses arguments and calls these; the feedback loop and
the benchmarks call them too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["finish_run", "load_run_model", "train_and_finish", "vector_env_maker",
           "write_samples"]


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
    import gymnasium as gym

    from agents import make_agent
    from agents.model_files import load_model
    from agents.registry import agent_spec

    if env is None:
        env = gym.make(config["env"], **config["env_kwargs"])

    def template() -> Any:
        values = {k: v for k, v in config["hyperparams"].items() if k != "n_envs"}
        return make_agent(config["agent"], env, seed=config["seed"], hyperparams=values)

    return load_model(agent_spec(config["agent"]).load(), path, template, trust_pickle,
                      env=env, **kwargs)


def train_and_finish(run: Path, model: Any, config: dict[str, Any], fresh: bool,
                     progress: bool) -> int:
    """Trains up to the run's steps, saves the final model, then its statistics and samples.

    Ctrl-C or SIGTERM during training saves a checkpoint, says how to go on, and returns
    128 + the signal number (130 for Ctrl-C).
    """
    from agents.interrupt import GracefulStop, StopOnSignal
    from agents.runs import (
        CHECKPOINTS,
        MODEL,
        LatestCheckpoint,
        RewardTermLogger,
        save_model_atomically,
    )

    remaining = config["steps"] - int(getattr(model, "num_timesteps", 0))
    checkpoints = LatestCheckpoint(run / CHECKPOINTS, config["checkpoint_every"])
    with GracefulStop() as stop:
        if remaining > 0:
            model.learn(remaining, callback=[RewardTermLogger(), checkpoints, StopOnSignal(stop)],
                        progress_bar=progress, reset_num_timesteps=fresh, tb_log_name="tb")
    if stop.requested and int(model.num_timesteps) < config["steps"]:
        checkpoints.save(model)
        print(f"stopped at step {model.num_timesteps:,} of {config['steps']:,}; checkpoint "
              f"saved in {run / CHECKPOINTS}\nrun folder: {run}\ngo on with: mammad train "
              f"--resume {run}")
        return stop.exit_code
    try:
        if getattr(model, "replay_buffer", None) is not None:
            checkpoints.save(model)  # with the buffer, so that --resume --steps N goes on
        save_model_atomically(model, run / MODEL)
        finish_run(run, model, config)
    except KeyboardInterrupt:
        print(f"\ninterrupted after training, before the run was finished\nrun folder: {run}\n"
              f"finish it with: mammad train --resume {run}", file=sys.stderr)
        return 130
    print(f"run folder: {run}")
    return 0


def vector_env_maker(config: dict[str, Any]) -> Any:
    """``make(n)``: ``n`` envs of a run's id and arguments, batched (for evaluation)."""
    from mammad_envs.compat import make_vector

    def make(num_envs: int) -> Any:
        return make_vector(config["env"], num_envs, **config["env_kwargs"])

    return make


def finish_run(run: Path, model: Any, config: dict[str, Any]) -> None:
    """Writes stats.json and sample melodies for a trained model, each file atomically."""
    import os

    from agents.rollouts import measure_kl, play_episodes, sampling_player
    from agents.runs import SAMPLES, STATS, replace_folder, scratch_folder
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


def write_samples(folder: Path, melodies: list, accompaniments: list, wav: bool = True,
                  bpm: float = 120.0, audio: str = "auto") -> list[Path]:
    """Writes each melody as MIDI, a piano-roll PNG and (optionally) WAV."""
    from mammad_envs.audio import render_wav
    from mammad_envs.midi import write_midi
    from mammad_envs.piano_roll import save_piano_roll

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
