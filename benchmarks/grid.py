"""A grid of training runs: one ``mammad train`` process per cell, cached, resumable.

CleanRL style: every cell of a grid (agent, env id, reward, seed, accompaniment on or off,
steps, env arguments, hyperparameters) is one run in its own process, and the run folder is
the one ``mammad train`` writes::

    <root>/<cell name>/
        <env>__<agent>__<seed>__<time>/   the run folder (config.yml, model.zip, stats.json, tb/)
        train.log                         what the process printed
        cell.json                         written last, atomically: the cell is done

``cell.json`` is the cache. :func:`run_cell` skips a cell that has it; a cell folder without it
(the process was killed, or failed) is cleared and the cell is run again from the start. So a
finished cell never resumes training, and the replay buffers an off-policy agent's checkpoints
keep for ``mammad train --resume`` (about 100 MB for DQN on one 128-entry encoding) are deleted
when the cell finishes; the models stay. A cell
is locked while it runs (``<root>/.locks/<cell name>.lock``, an OS lock that dies with its
process),
so two grids sharing a root never run one cell twice at once.

:func:`run_grid` runs the cells that are not done yet, ``workers`` at a time, in a local pool
of subprocesses (the default) or as Ray tasks (``backend="ray"``; needs ``pip install ray``,
the ``ray`` extra), with a progress bar over cells. Each ``mammad train`` runs torch on one
thread, so ``workers`` up to the number of cores keeps every core busy.

Example:
    >>> cell = Cell("ppo", "MammadMelody-count-v0", "theory", seed=0, steps=256,
    ...             env_kwargs={"steps": 16})
    >>> cell.name
    'MammadMelody-count-v0__ppo__theory__acc-off__0__78379554'
    >>> cell.train_args(Path("runs"))[:4]
    ['train', '--agent', 'ppo', '--env']
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from mammad_envs.errors import MammadError

REPO = Path(__file__).resolve().parents[1]
CELL_FILE = "cell.json"
LOG_FILE = "train.log"
LOCKS = ".locks"
BACKENDS = ("local", "ray")
RAY_HINT = 'pip install -e ".[ray]" (the ray extra), or pip install ray'
STOP_WAIT = 30.0
"""Seconds a stopped ``mammad train`` gets to save its checkpoint before it is killed."""


def _as_overrides(values: Mapping[str, Any] | Iterable[str], what: str) -> tuple[str, ...]:
    """``{"steps": 16}`` or ``["steps=16"]`` -> ``("steps=16",)``, sorted by key."""
    if isinstance(values, Mapping):
        pairs = [f"{key}={json.dumps(value)}" for key, value in values.items()]
    elif isinstance(values, str):
        raise ValueError(f"{what} must be a mapping or KEY=VALUE strings, got {values!r}")
    else:
        pairs = list(values)
    for pair in pairs:
        key, separator, _ = str(pair).partition("=")
        if not separator or not key.isidentifier():
            raise ValueError(f"{what} entry {pair!r} is not KEY=VALUE")
    return tuple(sorted(pairs, key=lambda pair: pair.partition("=")[0]))


@dataclass(frozen=True)
class Cell:
    """One run of a grid: what ``mammad train`` is told, and nothing else.

    Attributes:
        agent: A registered agent.
        env: A MammadMelody env id.
        reward: Rewards joined by ``+`` (``theory+note_rnn``).
        seed: The run's seed.
        accompaniment: True: a bundled accompaniment drawn at each reset (the env's
            ``accompaniment="random"``); False: the melody alone (``accompaniment=None``).
        steps: Env steps to train for.
        env_kwargs: Further env arguments, a mapping or ``KEY=VALUE`` strings (stored as sorted
            ``KEY=<JSON>`` strings, so the cell stays hashable).
        hyperparams: Overrides of the agent's YAML hyperparameters, likewise.
        eval_episodes: Episodes whose melodies give ``stats.json``.
        samples: Sample melodies the run writes.
    """

    agent: str
    env: str
    reward: str
    seed: int = 0
    accompaniment: bool = False
    steps: int = 100_000
    env_kwargs: tuple[str, ...] = field(default=())
    hyperparams: tuple[str, ...] = field(default=())
    eval_episodes: int = 100
    samples: int = 0

    def __post_init__(self) -> None:
        for name in ("agent", "env", "reward"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value or any(c in value for c in "/\\ "):
                raise ValueError(f"Cell {name} must be a non-empty name without '/', '\\' or "
                                 f"spaces, got {value!r}")
        for name, low in (("seed", 0), ("steps", 1), ("eval_episodes", 1), ("samples", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"Cell {name} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.accompaniment, bool):
            raise ValueError(f"Cell accompaniment must be True or False, got "
                             f"{self.accompaniment!r}")
        for name in ("env_kwargs", "hyperparams"):
            object.__setattr__(self, name, _as_overrides(getattr(self, name), f"Cell {name}"))
        if any(pair.partition("=")[0] == "accompaniment" for pair in self.env_kwargs):
            raise ValueError("give the accompaniment as Cell(accompaniment=True/False), not in "
                             "env_kwargs")

    @property
    def key(self) -> str:
        """A stable hash of every field (8 hex digits)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    @property
    def name(self) -> str:
        """The cell's folder name: ``{env}__{agent}__{reward}__acc-{on|off}__{seed}__{key}``."""
        accompaniment = "on" if self.accompaniment else "off"
        return f"{self.env}__{self.agent}__{self.reward}__acc-{accompaniment}__{self.seed}__" \
               f"{self.key}"

    def train_args(self, runs_dir: Path) -> list[str]:
        """The arguments of ``mammad train`` for this cell, its run folder going in ``runs_dir``."""
        accompaniment = "accompaniment=random" if self.accompaniment else "accompaniment=null"
        args = ["train", "--agent", self.agent, "--env", self.env, "--reward", self.reward,
                "--seed", str(self.seed), "--steps", str(self.steps),
                "--env-kwargs", *self.env_kwargs, accompaniment]
        if self.hyperparams:
            args += ["--hyperparams", *self.hyperparams]
        return args + ["--eval-episodes", str(self.eval_episodes), "--samples",
                       str(self.samples), "--threads", "1", "--runs-dir", str(runs_dir),
                       "--no-progress"]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Cell:
        """The cell of ``asdict(cell)`` (as stored in ``cell.json``)."""
        return cls(**{**values, "env_kwargs": tuple(values.get("env_kwargs", ())),
                      "hyperparams": tuple(values.get("hyperparams", ()))})


class CellFailedError(MammadError, RuntimeError):
    """A cell's ``mammad train`` ended with an error; its log says why."""


class CellInUseError(MammadError, RuntimeError):
    """Another process runs the cell (it holds the cell's lock, or its run's)."""


class GridError(MammadError, RuntimeError):
    """Some cells of a grid failed (the others finished and are cached)."""


_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def stop_live_runs(timeout: float = STOP_WAIT) -> None:
    """Stops the ``mammad train`` processes this process started (SIGTERM, then SIGKILL).

    SIGTERM makes ``mammad train`` save a checkpoint and exit; a cell that did not finish has
    no ``cell.json`` and is run again by the next grid.
    """
    with _LIVE_LOCK:
        live = list(_LIVE)
    for process in live:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in live:
        _stop(process, max(deadline - time.monotonic(), 0.1))


def _stop(process: subprocess.Popen, timeout: float = STOP_WAIT) -> None:
    """SIGTERM (``mammad train`` saves a checkpoint and exits), SIGKILL after ``timeout``."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def read_cell(folder: Path) -> dict[str, Any] | None:
    """A finished cell's ``cell.json`` (None if the cell is not done)."""
    path = folder / CELL_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def write_json_atomically(path: Path, values: dict[str, Any]) -> None:
    """Writes ``path`` under a temporary name in its folder, then renames it into place."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        with partial.open("x") as file:
            json.dump(values, file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _check_no_live_run(folder: Path) -> None:
    """Raises CellInUseError if a ``mammad train`` still holds a run lock in ``folder``."""
    for lock_file in folder.glob("*/.lock"):
        lock = FileLock(str(lock_file), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise CellInUseError(f"a mammad train process still runs in {lock_file.parent} "
                                 f"(left by a grid that was killed?): wait for it or stop it, "
                                 f"then run the grid again") from None
        lock.release()


def _finished_run(folder: Path) -> Path:
    """The one run folder of a cell that has a config.yml and a stats.json."""
    runs = sorted(p for p in folder.iterdir()
                  if (p / "config.yml").is_file() and (p / "stats.json").is_file())
    if len(runs) != 1:
        raise CellFailedError(f"{folder}: expected one finished run folder (with config.yml "
                              f"and stats.json), found {[p.name for p in runs]}")
    return runs[0]


def drop_replay_buffers(run: Path) -> int:
    """Deletes the replay buffers a finished run kept for resuming; returns the bytes freed.

    A grid's cell is never resumed (a killed cell starts again), so its buffers are dead weight.
    """
    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.model_files import BUFFER_SUFFIX, PICKLED_BUFFER_SUFFIX

    freed = 0
    for suffix in (BUFFER_SUFFIX, PICKLED_BUFFER_SUFFIX):
        for path in run.rglob(f"*{suffix}"):
            freed += path.stat().st_size
            path.unlink()
    return freed


def run_cell(cell: Cell, root: str | os.PathLike, command: str | None = None,
             python: str | None = None) -> dict[str, Any]:
    """Runs one cell's ``mammad train`` in a subprocess, unless the cell is done already.

    Args:
        cell: The cell.
        root: The grid's folder; the cell goes in ``root/<cell.name>/``.
        command: The command line of the grid, recorded in ``cell.json``.
        python: The Python that runs ``mammad train`` (default: this one).

    Returns:
        The cell's ``cell.json`` content, with ``"cached": True`` if it was done already.

    Raises:
        CellFailedError: If ``mammad train`` failed (the cell folder and its ``train.log`` are
            kept, without ``cell.json``: the next grid clears and reruns it).
        CellInUseError: If another process runs the cell.
    """
    root = Path(root)
    folder = root / cell.name
    done = read_cell(folder)
    if done is not None:
        return {**done, "cached": True}
    (root / LOCKS).mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / LOCKS / f"{cell.name}.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise CellInUseError(f"cell {cell.name} is being run by another process (it holds "
                             f"{lock.lock_file})") from None
    try:
        done = read_cell(folder)  # finished while we waited for the lock
        if done is not None:
            return {**done, "cached": True}
        if folder.exists():  # killed or failed before: start the cell again
            _check_no_live_run(folder)
            shutil.rmtree(folder)
        folder.mkdir()
        args = cell.train_args(folder)
        started, clock = time.strftime("%Y-%m-%d %H:%M:%S"), time.monotonic()
        with (folder / LOG_FILE).open("w") as log:
            # A session of its own: the grid, not the terminal, decides when a run stops.
            process = subprocess.Popen([python or sys.executable, "-m", "mammad_cli", *args],
                                       cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       env={**os.environ, "OMP_NUM_THREADS": "1",
                                            "MKL_NUM_THREADS": "1"})
            with _LIVE_LOCK:
                _LIVE.add(process)
            try:
                returncode = process.wait()
            except BaseException:  # a Ray task cancelled, Ctrl-C in this thread
                _stop(process)
                raise
            finally:
                with _LIVE_LOCK:
                    _LIVE.discard(process)
        if returncode != 0:
            tail = (folder / LOG_FILE).read_text(errors="replace").strip().splitlines()[-5:]
            raise CellFailedError(f"cell {cell.name}: mammad train exited with {returncode}; "
                                  f"{folder / LOG_FILE} ends with:\n  " + "\n  ".join(tail))
        run = _finished_run(folder)
        drop_replay_buffers(run)

        config = yaml.safe_load((run / "config.yml").read_text())
        record = {"name": cell.name, "cell": asdict(cell), "run": run.name,
                  "command": shlex.join(["mammad", *cell.train_args(root / cell.name)]),
                  "grid_command": command, "git_commit": config.get("git_commit", "unknown"),
                  "started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                  "seconds": round(time.monotonic() - clock, 2), "host": platform.node()}
        write_json_atomically(folder / CELL_FILE, record)  # last: the cell is done
        return {**record, "cached": False}
    finally:
        lock.release()


def _check_grid_arguments(cells: Sequence[Cell], backend: str, workers: int,
                          address: str | None) -> list[Cell]:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {list(BACKENDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if address is not None and backend != "ray":
        raise ValueError(f"address={address!r} is for the Ray backend: add backend='ray' "
                         f"(--backend ray)")
    unique: dict[str, Cell] = {}
    for cell in cells:
        if not isinstance(cell, Cell):
            raise TypeError(f"run_grid takes Cell objects, got {type(cell).__name__}")
        unique.setdefault(cell.name, cell)
    if not unique:
        raise ValueError("the grid has no cells")
    return list(unique.values())


def run_grid(cells: Iterable[Cell], root: str | os.PathLike, backend: str = "local",
             workers: int = 1, address: str | None = None, command: str | None = None,
             progress: bool = True, python: str | None = None) -> list[dict[str, Any]]:
    """Runs every cell that is not done yet; finished cells are read from their ``cell.json``.

    Args:
        cells: The grid (duplicates are run once).
        root: The grid's folder.
        backend: ``"local"``: a pool of ``workers`` subprocesses on this machine; ``"ray"``: one
            Ray task per cell (one CPU each).
        workers: Cells at once (local), or the CPUs of the local Ray instance that is started
            when ``address`` is None and Ray is not initialised yet.
        address: A Ray cluster to connect to, as ``ray.init(address=...)`` takes it
            (``"auto"``, ``"ray://host:10001"``); the root must be on a file system its nodes
            share, and the project checked out at the same path on each.
        command: The grid's command line, recorded in each new ``cell.json``.
        progress: Show a progress bar over cells.
        python: The Python that runs ``mammad train`` (default: the one running the cell).

    Returns:
        Each cell's ``cell.json`` content (``"cached"`` says whether it was done before), in
        the order of ``cells``.

    Raises:
        GridError: If some cells failed; the others are done and cached.
        ValueError: For an unknown backend or bad arguments.
        ImportError: For the Ray backend without Ray installed.
    """
    cells = _check_grid_arguments(list(cells), backend, workers, address)
    root = Path(root).resolve()
    results: dict[str, dict[str, Any]] = {}
    for cell in cells:
        done = read_cell(root / cell.name)
        if done is not None:
            results[cell.name] = {**done, "cached": True}
    todo = [cell for cell in cells if cell.name not in results]
    failures: dict[str, str] = {}
    elsewhere: list[str] = []  # cells another process holds: not failed, not done here
    bar = tqdm(total=len(cells), initial=len(results), unit="cell", disable=not progress,
               desc=f"grid ({len(results)} cached)", dynamic_ncols=True)
    run = _run_ray if backend == "ray" else _run_local
    try:
        with closing(run(todo, root, workers, address, command, python)) as finishing:
            for cell, result in finishing:
                if isinstance(result, CellInUseError):
                    elsewhere.append(cell.name)
                    bar.write(f"skipped: {cell.name} is being run by another process")
                elif isinstance(result, BaseException):
                    failures[cell.name] = f"{type(result).__name__}: {result}"
                    bar.write(f"failed: {cell.name}: {result}")
                else:
                    results[cell.name] = result
                bar.update(1)
    finally:
        bar.close()
    if failures or elsewhere:
        parts = []
        if failures:
            parts.append(f"{len(failures)} of {len(cells)} cells failed (run the grid again to "
                         f"retry them):\n" +
                         "\n".join(f"- {message}" for message in failures.values()))
        if elsewhere:
            parts.append(f"{len(elsewhere)} of {len(cells)} cells were being run by another "
                         f"process sharing {root} (not failed; run the grid again once it has "
                         f"finished, to read them):\n" +
                         "\n".join(f"- {name}" for name in elsewhere))
        raise GridError("\n".join(parts) + "\n(the other cells are done and cached)")
    return [results[cell.name] for cell in cells]


def _run_local(cells: list[Cell], root: Path, workers: int, address: str | None,
               command: str | None, python: str | None) -> Iterable[tuple[Cell, Any]]:
    """Yields ``(cell, result or exception)`` as cells finish, ``workers`` at a time."""
    if not cells:
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(run_cell, cell, root, command, python): cell for cell in cells}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    cell = pending.pop(future)
                    error = future.exception()
                    yield cell, error if error is not None else future.result()
        except BaseException:  # Ctrl-C, SIGTERM turned into an exception, a closed generator
            for future in pending:
                future.cancel()
            stop_live_runs()
            raise


def _run_ray(cells: list[Cell], root: Path, workers: int, address: str | None,
             command: str | None, python: str | None) -> Iterable[tuple[Cell, Any]]:
    """Yields ``(cell, result or exception)`` as the cells' Ray tasks finish."""
    try:
        # optional: the ray extra
        import ray
    except ImportError:
        raise ImportError(f"the Ray backend needs Ray: {RAY_HINT}") from None
    if not cells:
        return
    started = False
    if not ray.is_initialized():

        main = threading.current_thread() is threading.main_thread()
        handler = signal.getsignal(signal.SIGTERM) if main else None
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
        started = True
        if main and handler is not None:  # ray.init replaces it; the caller's stops the tasks
            signal.signal(signal.SIGTERM, handler)
    try:
        # The workers import this module (and run `python -m mammad_cli`) from the checkout.
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        task = ray.remote(num_cpus=1, max_retries=0,
                          runtime_env={"env_vars": {"PYTHONPATH": path}})(run_cell)
        pending = {task.remote(cell, str(root), command, python): cell for cell in cells}
        try:
            while pending:
                finished, _ = ray.wait(list(pending), num_returns=1)
                for reference in finished:
                    cell = pending.pop(reference)
                    try:
                        yield cell, ray.get(reference)
                    except Exception as error:  # a RayTaskError wrapping the cell's error
                        yield cell, getattr(error, "cause", None) or error
        except BaseException:  # each task stops its mammad train, then the Ray workers end
            for reference in pending:
                ray.cancel(reference)
            ray.wait(list(pending), num_returns=len(pending), timeout=STOP_WAIT + 5)
            raise
    finally:
        if started:
            ray.shutdown()
