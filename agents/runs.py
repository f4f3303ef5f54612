"""Run folders: what ``mammad train`` writes, and how a run is found and read back.

A run folder ``runs/<env>__<agent>__<seed>__<time>/`` holds:

* ``config.yml``: agent, env, reward, seed, steps, hyperparameters, versions, git commit;
* ``command.txt``: the command lines that made (and resumed) it;
* ``tb/``: TensorBoard logs (with ``reward_terms/<name>``, the mean of each reward term);
* ``checkpoints/latest.zip`` (+ ``latest_replay_buffer.npz`` for off-policy agents, plain
  arrays): the last checkpoint, replaced atomically every ``checkpoint_every`` steps and when
  training is interrupted (Ctrl-C, SIGTERM);
* ``model.zip``: the final model; ``stats.json``: the RL Tuner statistics of its melodies;
* ``samples/``: sample melodies as MIDI and piano-roll PNG.

Every file is written under a temporary name and renamed into place, so a killed run leaves
whole files or none, and ``mammad train --resume`` finishes whatever is missing. A run folder
is created atomically under a unique name (:func:`create_run_folder`), and a process that
trains or resumes a run holds its lock (:class:`RunLock`).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout

from agents import check_env_id
from agents.hyperparams import read_yaml_file
from agents.model_files import BUFFER_SUFFIX, save_replay_buffer
from agents.registry import AGENTS, agent_spec
from mammad_envs.errors import MammadError

CONFIG = "config.yml"
MAX_CONFIG_BYTES = 2**20
"""Default limit on a run's ``config.yml`` (:func:`read_config`): 1 MiB."""
CHECKPOINTS = "checkpoints"
LATEST = "latest.zip"
MODEL = "model.zip"
STATS = "stats.json"
SAMPLES = "samples"
LOCK = ".lock"
SCRATCH_PREFIX = ".partial-"


class RunInUseError(MammadError, ValueError):
    """Another process holds the run's lock."""


def run_name(env_id: str, agent: str, seed: int) -> str:
    """CleanRL-style: ``{env}__{agent}__{seed}__{unix time}``."""
    return f"{env_id}__{agent}__{seed}__{int(time.time())}"


def check_runs_dir(runs_dir: str | os.PathLike) -> None:
    """Raises a clear ValueError if a folder of runs cannot be made or used there.

    Raises:
        ValueError: If ``runs_dir``, or a folder above it, is a file (or anything but a
            folder); the message names it.
    """
    runs_dir = Path(runs_dir)
    for path in (runs_dir, *runs_dir.parents):
        if path.exists() and not path.is_dir():
            what = "" if path == runs_dir else f" (above {str(runs_dir)!r})"
            raise ValueError(f"runs folder {str(runs_dir)!r} cannot be used: {str(path)!r}"
                             f"{what} is a file, not a folder")
        if path.exists():
            return


def create_run_folder(runs_dir: Path, env_id: str, agent: str, seed: int) -> Path:
    """Creates a new run folder atomically, under a name no other run has.

    The name is :func:`run_name`; if a run of that name exists (two runs started in the same
    second), ``_2``, ``_3``... is appended. ``mkdir`` either creates the folder or fails, so two
    processes never share one.

    Raises:
        ValueError: If ``runs_dir`` is a file (:func:`check_runs_dir`).
    """
    check_runs_dir(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    base = run_name(env_id, agent, seed)
    for attempt in range(1, 10_000):
        folder = runs_dir / (base if attempt == 1 else f"{base}_{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise RuntimeError(f"could not find a free run name like {base!r} in {runs_dir}")


class RunLock:
    """An exclusive lock on a run folder, held while a process trains or resumes it.

    An OS file lock on ``<run>/.lock`` (``filelock``): the system releases it when the process
    ends, however it ends, so a killed run never leaves a stale lock.

    Raises:
        RunInUseError: On entering, if another process holds it.
    """

    def __init__(self, run: Path) -> None:
        self.run = run
        self._lock = FileLock(str(run / LOCK), timeout=0)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise RunInUseError(f"run {str(self.run)!r} is in use: another mammad process is "
                                f"training or resuming it (it holds {self.run / LOCK}); wait "
                                f"for it to end or stop it first") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


@contextmanager
def scratch_folder(parent: Path) -> Iterator[Path]:
    """A temporary folder inside ``parent`` (same file system, so renames are atomic).

    Removed on exit with whatever is left in it.
    """
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_scratch(run: Path) -> None:
    """Removes the temporary folders that a killed process left in a run."""
    for folder in (run, run / CHECKPOINTS):
        if folder.is_dir():
            for leftover in folder.glob(f"{SCRATCH_PREFIX}*"):
                shutil.rmtree(leftover, ignore_errors=True)


def write_text_atomically(path: Path, text: str) -> Path:
    """Writes a text file under a temporary name, then renames it into place."""
    with scratch_folder(path.parent) as scratch:
        partial = scratch / path.name
        partial.write_text(text)
        os.replace(partial, path)
    return path


def save_model_atomically(model: Any, path: Path, replay_buffer: bool = False) -> None:
    """Saves a model (and the files its ``save`` writes beside it) without a partial state.

    Everything is written to a scratch folder first, then moved into place, ``path`` itself
    last: a kill leaves the previous files whole. An imitation agent's ``<stem>_reward.pt``
    moves with its model.

    Args:
        model: The agent.
        path: The model file (``model.zip``, ``checkpoints/latest.zip``).
        replay_buffer: Also write an off-policy agent's buffer as ``<stem>_replay_buffer.npz``.
    """
    with scratch_folder(path.parent) as scratch:
        model.save(scratch / path.name)
        if replay_buffer:
            save_replay_buffer(model, scratch / f"{path.stem}{BUFFER_SUFFIX}")
        for written in sorted(scratch.iterdir(), key=lambda p: p.name == path.name):
            os.replace(written, path.parent / written.name)


def replace_folder(folder: Path, fill: Any) -> Path:
    """Writes a folder's files with ``fill(scratch)`` and then swaps it in whole.

    An existing folder of that name is replaced; a kill leaves the old one or the new one.
    """
    with scratch_folder(folder.parent) as scratch:
        new = scratch / folder.name
        new.mkdir()
        fill(new)
        if folder.exists():
            old = scratch / f"{folder.name}.old"
            os.replace(folder, old)
        os.replace(new, folder)
    return folder


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
    return write_text_atomically(run / CONFIG, yaml.safe_dump(config, sort_keys=False))


def read_config(run: str | os.PathLike, *, max_bytes: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """Reads a run's ``config.yml`` and checks what every command needs of it.

    Args:
        run: The run folder.
        max_bytes: The largest ``config.yml`` read (default :data:`MAX_CONFIG_BYTES`, 1 MiB;
            one is a few hundred bytes), checked from its size before it is opened.

    Raises:
        ValueError: If the folder is not a run folder, or its ``config.yml`` is over
            ``max_bytes``, not a regular file, malformed, or names an agent that is not
            registered or an env that is not a registered MammadMelody id (a ``module:Id``
            is refused, its module never imported); the message names the file.
    """
    run = Path(run)
    path = run / CONFIG
    if not path.exists() and not path.is_symlink():
        raise ValueError(f"{str(run)!r} is not a run folder: it has no {CONFIG} (runs are "
                         f"made by `mammad train`)")
    try:
        config = read_yaml_file(path, "run configuration", max_bytes,
                                "max_bytes, default agents.runs.MAX_CONFIG_BYTES",
                                advice="restore it or start a new run")
    except FileNotFoundError as error:  # a symbolic link to nothing
        raise ValueError(str(error)) from None
    required = {"agent", "env", "seed", "steps", "env_kwargs", "hyperparams"}
    if not isinstance(config, dict) or not required <= set(config):
        missing = sorted(required - set(config)) if isinstance(config, dict) else sorted(required)
        raise ValueError(f"{path} is not a mammad run configuration (missing {missing})")
    if not isinstance(config["agent"], str) or not config["agent"]:
        raise ValueError(f"{path} names no agent (agent: {config['agent']!r})")
    try:
        agent_spec(config["agent"])
    except ValueError:
        raise ValueError(f"{path} names the agent {config['agent']!r}, which is not registered; "
                         f"agents: {sorted(AGENTS)} (a plugin agent must be installed, or "
                         f"registered before the run is read)") from None
    for key, kind in (("env_kwargs", dict), ("hyperparams", dict), ("steps", int),
                      ("seed", int), ("env", str)):
        if not isinstance(config[key], kind) or isinstance(config[key], bool):
            raise ValueError(f"{path}: {key} must be a {kind.__name__}, got {config[key]!r}")
    _check_run_env(path, config["env"])
    return config


def _check_run_env(path: Path, env_id: str) -> None:
    """Refuses a run's env id unless it is a registered MammadMelody id.

    A run folder is data: Gymnasium's ``module:Id`` form would import ``module`` when the env
    is made, so the id is looked up in the registry (the built-in ids and those that installed
    plugins register when Gymnasium is imported) and never imported from.
    """
    try:
        check_env_id(env_id)
    except ValueError as error:
        raise ValueError(f"{path} names the env {env_id!r}, which cannot be loaded: "
                         f"{error}") from None


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
    """Adds the command line that touched the run to ``command.txt`` (rewritten atomically)."""
    path = run / "command.txt"
    before = path.read_text() if path.is_file() else ""
    write_text_atomically(path, before + " ".join(["mammad", *argv]) + "\n")


CALLBACKS = ("LatestCheckpoint", "RewardTermLogger")
"""The training callbacks, now in :mod:`agents.callbacks` (they import stable-baselines3)."""


def __getattr__(name: str) -> Any:
    """``agents.runs.LatestCheckpoint`` and ``RewardTermLogger``, imported when first used.

    They moved to :mod:`agents.callbacks`, so that reading a run (``mammad train --resume``'s
    checks) does not import stable-baselines3 and torch.
    """
    if name in CALLBACKS:
        from agents import callbacks  # heavy: stable_baselines3 and torch, on first use only

        return getattr(callbacks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
