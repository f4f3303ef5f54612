"""Run folders: what ``mammad train`` writes, and how a run is found and read back.

A run folder ``runs/<env>__<agent>__<seed>__<time>/`` holds:

* ``config.yml``: agent, env, reward, seed, steps, hyperparameters, versions, git commit;
* ``command.txt``: the command lines that made (and resumed) it;
* ``tb/``: TensorBoard logs (with ``reward_terms/<name>``, the mean of each reward term);
* ``checkpoints/latest.zip`` (+ ``latest_replay_buffer.pkl`` for off-policy agents, written by
  stable-baselines3): the last checkpoint, replaced atomically every ``checkpoint_every``
  steps;
* ``model.zip``: the final model; ``stats.json``: the RL Tuner statistics of its melodies;
* ``samples/``: sample melodies as MIDI and piano-roll PNG.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.callbacks import BaseCallback

CONFIG = "config.yml"
CHECKPOINTS = "checkpoints"
LATEST = "latest.zip"
MODEL = "model.zip"


def run_name(env_id: str, agent: str, seed: int) -> str:
    """CleanRL-style: ``{env}__{agent}__{seed}__{unix time}``."""
    return f"{env_id}__{agent}__{seed}__{int(time.time())}"


def git_commit(folder: Path | None = None) -> str:
    """The current git commit of the project (``"unknown"`` outside a checkout)."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=folder or Path(__file__).parent, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def versions() -> dict[str, str]:
    """Versions of Python and the main libraries, for config.yml."""
    from importlib import metadata

    found = {"python": platform.python_version()}
    for package in ("mammad-envs", "gymnasium", "stable-baselines3", "sb3-contrib", "imitation",
                    "torch", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def write_config(run: Path, config: dict[str, Any]) -> Path:
    """Writes ``config.yml`` (plain YAML values only)."""
    path = run / CONFIG
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def read_config(run: str | os.PathLike) -> dict[str, Any]:
    """Reads a run's ``config.yml``.

    Raises:
        ValueError: If the folder is not a run folder.
    """
    run = Path(run)
    path = run / CONFIG
    if not path.is_file():
        raise ValueError(f"{str(run)!r} is not a run folder: it has no {CONFIG} (runs are "
                         f"made by `mammad train`)")
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict) or not {"agent", "env", "seed"} <= set(config):
        raise ValueError(f"{path} is not a mammad run configuration")
    return config


def run_of_model(model: str | os.PathLike) -> tuple[Path, Path]:
    """The run folder of a model file (``run/model.zip`` or ``run/checkpoints/*.zip``).

    Returns:
        ``(run folder, model file)``; a run folder given as such means its ``model.zip``.

    Raises:
        FileNotFoundError: If the model file is missing.
        ValueError: If no run folder holds it.
    """
    path = Path(model)
    if path.is_dir():
        if not (path / CONFIG).is_file():
            runs = sorted(p.name for p in path.iterdir() if (p / CONFIG).is_file())
            if runs:
                raise ValueError(f"{str(path)!r} is a folder of runs, not a run: name one of "
                                 f"{runs[:5]}{' ...' if len(runs) > 5 else ''}")
        path = path / MODEL
    if not path.is_file():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    for folder in (path.parent, path.parent.parent):
        if (folder / CONFIG).is_file():
            return folder, path
    raise ValueError(f"{str(path)!r} is not inside a run folder (no {CONFIG} beside it or one "
                     f"level up)")


def append_command(run: Path, argv: list[str]) -> None:
    """Adds the command line that touched the run to ``command.txt``."""
    line = " ".join(["mammad", *argv])
    with (run / "command.txt").open("a") as file:
        file.write(line + "\n")


class RewardTermLogger(BaseCallback):
    """Logs the mean of every ``info["reward_terms"]`` entry as ``reward_terms/<name>``."""

    def __init__(self) -> None:
        super().__init__()
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            for name, value in info.get("reward_terms", {}).items():
                self._sums[name] += float(value)
                self._counts[name] += 1
        return True

    def _on_rollout_end(self) -> None:
        for name, total in self._sums.items():
            self.logger.record(f"reward_terms/{name}", total / max(self._counts[name], 1))
        self._sums.clear()
        self._counts.clear()


class LatestCheckpoint(BaseCallback):
    """Saves the model (and an off-policy agent's replay buffer) every ``every`` steps.

    The previous checkpoint is replaced atomically, so a killed run loses at most ``every``
    steps.
    """

    def __init__(self, folder: Path, every: int) -> None:
        super().__init__()
        self.folder = folder
        self.every = max(int(every), 1)
        self._last = 0

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps - self._last >= self.every:
            self.save()
            self._last = self.num_timesteps
        return True

    def save(self) -> None:
        """Writes ``latest.zip`` and the files an agent writes beside it, then moves them in.

        A replay buffer or GAIL's ``latest_reward.pt`` go to a scratch folder first; each file is
        then moved into place, the model last, so a killed save never leaves a broken
        ``latest.zip``.
        """
        scratch = self.folder / "saving"
        scratch.mkdir(parents=True, exist_ok=True)
        self.model.save(scratch / LATEST)
        if hasattr(self.model, "save_replay_buffer") and getattr(self.model, "replay_buffer",
                                                                  None) is not None:
            self.model.save_replay_buffer(scratch / "latest_replay_buffer.pkl")
        for path in sorted(scratch.iterdir(), key=lambda p: p.name == LATEST):
            os.replace(path, self.folder / path.name)
        scratch.rmdir()
