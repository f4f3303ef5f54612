"""Model and replay-buffer files that load without running code from them.

A stable-baselines3 ``model.zip`` holds the network weights (``*.pth``, which SB3 reads with
``torch.load(weights_only=True)``) and a JSON ``data`` entry. Values that JSON cannot hold
(the policy class, the spaces, schedules...) are stored there as base64 cloudpickle, and
``Model.load`` unpickles them: a crafted file runs any code it likes. SB3 skips the unpickling
of every entry named in ``custom_objects``, so :func:`load_model` rebuilds each pickled entry
from the run's ``config.yml`` (a fresh agent of the same configuration, see
:func:`pickled_entries`) and passes it as a custom object. A file with an entry that the
configuration cannot rebuild is refused, naming the file and the entries, unless the caller
trusts it (``trust_pickle=True``, ``--trust-pickle`` on the command line).

An off-policy agent's replay buffer is written as a ``.npz`` of plain arrays
(:func:`save_replay_buffer`) and read back with ``allow_pickle=False``
(:func:`load_replay_buffer`); SB3's own ``*.pkl`` format is a pickle, loaded only when trusted.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mammad_envs.errors import MammadError

PICKLED = ":serialized:"
"""The key SB3 puts in a JSON entry that holds a cloudpickled value."""
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
BUFFER_SUFFIX = "_replay_buffer.npz"
PICKLED_BUFFER_SUFFIX = "_replay_buffer.pkl"
ROLLOUT_SIZE_WARNING = r"You have specified a mini-batch size of \d+, but because the `Rollout"
"""SB3's warning (PPO, MaskablePPO) that a minibatch does not divide ``n_steps * n_envs``."""
MAX_ENTRY_BYTES = 256 * 2**20
"""The largest uncompressed entry read from a model file: 256 MiB.

Checked from each entry's recorded size before anything is read or decompressed, so a small
file that would expand to gigabytes (a zip bomb) is refused. A model of this project's agents
is far below it: a Note-RNN PPO's largest entry (``policy.optimizer.pth``) is about 1 MB.
"""
TRUST_HINT = ("pass --trust-pickle (trust_pickle=True) to load it anyway, only if you trust "
              "whoever made it")


class ModelFileError(MammadError, ValueError):
    """A model or buffer file that is damaged, not what it claims, or would run code."""


def saved_data(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON ``data`` entry of an SB3 ``.zip``, read without unpickling anything.

    Every member's checksum is verified, so a truncated or damaged file is caught here.

    Raises:
        ModelFileError: If the file is not a complete SB3 model file; the message names it.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            check_entry_sizes(path, archive)
            damaged = archive.testzip()
            if damaged is not None:
                raise ModelFileError(f"{path} is damaged: its member {damaged!r} fails its "
                                     f"checksum")
            if "data" not in archive.namelist():
                raise ModelFileError(f"{path} is not a readable model file (truncated or "
                                     f"damaged, or not saved by stable-baselines3: it has no "
                                     f"'data' entry)")
            data = json.loads(archive.read("data").decode())
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {str(path)!r} does not exist") from None
    except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError, ValueError,
            NotImplementedError) as error:
        raise ModelFileError(f"{path} is not a readable model file (truncated or damaged?): "
                             f"{type(error).__name__}: {error}") from error
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} is not a stable-baselines3 model file (its 'data' entry "
                             f"is not a JSON object)")
    return data


def check_entry_sizes(path: Path, archive: zipfile.ZipFile,
                      limit: int | None = None) -> None:
    """Refuses an archive with an entry that would expand beyond ``limit`` bytes.

    Reads only the sizes recorded in the archive's directory (nothing is decompressed); a
    forged, smaller size is caught later, as zipfile stops and fails at the recorded size.

    Args:
        path: The file (for the message).
        archive: The open archive.
        limit: The largest uncompressed entry (default :data:`MAX_ENTRY_BYTES`).

    Raises:
        ModelFileError: Naming the file, the entry, its size and the limit.
    """
    limit = MAX_ENTRY_BYTES if limit is None else limit
    for info in archive.infolist():
        if info.file_size > limit:
            raise ModelFileError(f"{path} is not a plausible model file: its entry "
                                 f"{info.filename!r} expands to {info.file_size:,} bytes, over "
                                 f"the limit of {limit:,} (agents.model_files.MAX_ENTRY_BYTES)")


def pickled_entries(path: str | os.PathLike) -> list[str]:
    """The entries of a model file's ``data`` that SB3 would unpickle on load."""
    return [key for key, value in saved_data(path).items()
            if isinstance(value, dict) and PICKLED in value]


def saved_timesteps(path: str | os.PathLike) -> int:
    """The ``num_timesteps`` a model file was saved at (read from JSON, nothing unpickled).

    Raises:
        ModelFileError: If the file is damaged or has no step count.
    """
    value = saved_data(path).get("num_timesteps")
    if not isinstance(value, int):
        raise ModelFileError(f"{path} holds no step count (num_timesteps): not a model saved "
                             f"by stable-baselines3")
    return value


def custom_objects_for(path: str | os.PathLike, template: Any | None,
                       trust_pickle: bool = False) -> dict[str, Any]:
    """Stand-ins for every pickled entry of a model file, taken from a ``template`` agent.

    Args:
        path: The model file.
        template: A freshly built agent of the run's configuration (same class, env and
            hyperparameters), whose attributes replace the pickled entries; None if none could
            be built.
        trust_pickle: Allow entries that the template cannot stand in for (they are then
            unpickled by SB3).

    Returns:
        ``custom_objects`` for SB3's ``load``.

    Raises:
        ModelFileError: If an entry would be unpickled and ``trust_pickle`` is False.
    """
    return _stand_ins(path, pickled_entries(path), template, trust_pickle)


def _stand_ins(path: str | os.PathLike, entries: list[str], template: Any | None,
               trust_pickle: bool) -> dict[str, Any]:
    custom, missing = {}, []
    for key in entries:
        if template is not None and _has_attribute(template, key):
            custom[key] = getattr(template, key)
        else:
            missing.append(key)
    if missing and not trust_pickle:
        raise ModelFileError(f"{path} holds pickled entries {missing} that its run's config.yml "
                             f"cannot rebuild; loading it would run code from the file: "
                             f"{TRUST_HINT}")
    return custom


def _has_attribute(obj: Any, name: str) -> bool:
    try:
        getattr(obj, name)
    except AttributeError:
        return False
    return True


def load_model(cls: type, path: str | os.PathLike, template: Callable[[], Any] | None,
               trust_pickle: bool = False, **kwargs: Any) -> Any:
    """``cls.load(path, **kwargs)`` with every pickled entry replaced by the template's.

    Args:
        cls: The agent class (an SB3 algorithm or one of our adapters).
        path: The model file.
        template: Builds a fresh agent of the run's configuration (called only if the file has
            pickled entries).
        trust_pickle: Load entries the template cannot stand in for by unpickling them.
        **kwargs: For ``cls.load`` (``env``, ``tensorboard_log``...).

    Raises:
        ModelFileError: If the file is damaged, or would run code and is not trusted.
    """
    entries = pickled_entries(path)
    custom = {}
    if entries:
        custom = _stand_ins(path, entries, _quiet_template(template), trust_pickle)
    try:
        return cls.load(path, custom_objects=custom, **kwargs)
    except pickle.UnpicklingError as error:  # torch's weights-only load refused a pickle
        raise ModelFileError(f"{path} holds weights (*.pth) with a pickled object "
                             f"({_refused_global(error)}) that weights-only loading refuses: "
                             f"loading it would run code from the file") from None
    except (ValueError, KeyError, OSError, EOFError, RuntimeError, AssertionError,
            zipfile.BadZipFile) as error:
        raise ModelFileError(f"{path} is not a readable {cls.__name__} model: "
                             f"{type(error).__name__}: {error}") from error


def _refused_global(error: BaseException) -> str:
    """What torch's weights-only unpickler refused, from its (page-long) message."""
    found = re.search(r"GLOBAL ([\w.]+)", str(error))
    return found.group(1) if found else "not plain tensors"


def _quiet_template(template: Callable[[], Any] | None) -> Any | None:
    """The template agent, built without SB3's warning about its rollout's size.

    The template is built on one env for its pickled entries only; it never collects a rollout,
    so a run's ``batch_size`` that does not divide ``n_steps`` x 1 means nothing there (the run
    trained on ``n_envs`` envs). Other warnings pass.
    """
    if template is None:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=ROLLOUT_SIZE_WARNING, category=UserWarning)
        return template()


def save_replay_buffer(model: Any, path: str | os.PathLike) -> Path | None:
    """Writes an off-policy agent's replay buffer as plain arrays (``.npz``, no pickle).

    Only the filled part is written. Returns None (and writes nothing) for an agent without
    a replay buffer, or with a buffer of another layout (dictionary observations, say).
    """
    buffer = getattr(model, "replay_buffer", None)
    if buffer is None or not all(isinstance(getattr(buffer, name, None), np.ndarray) or
                                 (name == "next_observations" and
                                  getattr(buffer, "optimize_memory_usage", False))
                                 for name in BUFFER_ARRAYS):
        return None
    size = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {name: getattr(buffer, name)[:size] for name in BUFFER_ARRAYS
              if isinstance(getattr(buffer, name, None), np.ndarray)}
    path = Path(path)
    with path.open("wb") as file:
        np.savez(file, pos=np.int64(buffer.pos), full=np.bool_(buffer.full), **arrays)
    return path


def load_replay_buffer(model: Any, path: str | os.PathLike) -> None:
    """Fills an agent's replay buffer from a file written by :func:`save_replay_buffer`.

    Raises:
        ModelFileError: If the file is damaged or its arrays do not fit the agent's buffer
            (another env or buffer size); the agent's buffer is then left as it was.
    """
    buffer = model.replay_buffer
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            values = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{path} is not a readable replay buffer: {error}") from error
    size = buffer.buffer_size if bool(values.get("full", False)) else int(values.get("pos", -1))
    for name in BUFFER_ARRAYS:
        target = getattr(buffer, name, None)
        if not isinstance(target, np.ndarray):
            continue
        value = values.get(name)
        if (value is None or value.dtype != target.dtype or value.shape[1:] != target.shape[1:]
                or not 0 <= size <= len(target) or len(value) != size):
            raise ModelFileError(f"{path} does not fit this agent's replay buffer ({name}: "
                                 f"{None if value is None else (value.shape, str(value.dtype))} "
                                 f"for a buffer of {target.shape} {target.dtype})")
    for name in BUFFER_ARRAYS:
        target = getattr(buffer, name, None)
        if isinstance(target, np.ndarray):
            target[:size] = values[name]
    buffer.pos = int(values["pos"]) % buffer.buffer_size
    buffer.full = bool(values["full"])
