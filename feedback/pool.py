"""Candidate melodies for the labelling page, and the pairs it shows.

:func:`fill_store` adds melodies from a *pool* to a :class:`~rewards.preferences.PreferenceStore`,
each with its context (accompaniment, key, length):

* a folder of MIDI files (``*.mid``, ``*.midi``): source ``"midi"``, ref the file's name. A file
  whose ``"accompaniment"`` track is exactly one of the bundled accompaniments (as
  ``mammad sample`` and ``env.to_midi`` write them) gets that accompaniment and its key;
  any other file has none. Its length is its melody track's, or ``steps`` if given (cut or
  padded with silence), so that files of different lengths can be paired;
* a run folder, or a model file of one (``runs/<run>``, ``runs/<run>/model.zip``): the model
  plays episodes on its run's env, and each melody comes with the accompaniment its episode
  drew. Source ``"run"``, ref the run folder. The model file is loaded as ``mammad sample``
  loads it, without unpickling anything it holds;
* the word ``note_rnn``: melodies sampled from the pretrained Note-RNN (source ``"model"``,
  ref naming the weights, seed and temperature), over no accompaniment unless one is named.

:func:`schedule_pairs` then makes new pairs among the store's melodies of the same context.
With a reward model it scores a set of random candidate pairs and keeps those the model is least
sure of (:meth:`~rewards.preferences.RewardEnsemble.disagreement`), most uncertain first; without
one, it picks at random. A and B are put in random order.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.runs import read_config, run_of_model
from agents.training import load_run_model, vector_env_maker
from mammad_envs.data import load_accompaniments
from mammad_envs.errors import MammadError
from mammad_envs.melody import HOLD, REST
from mammad_envs.midi import ACCOMPANIMENT_TRACK, MidiFileError, load_midi, read_midi_tracks
from rewards.preferences.store import CHOICES, Context, PreferenceStore, StoredMelody

NOTE_RNN = "note_rnn"
"""The ``pool`` that samples melodies from the pretrained Note-RNN."""
MIDI_SUFFIXES = (".mid", ".midi")
"""File name endings read from a MIDI folder (case ignored)."""
DEFAULT_COUNT = 32
"""Melodies drawn from a run or from the Note-RNN when no count is given."""
DEFAULT_STEPS = 32
"""Length of Note-RNN melodies when no ``steps`` is given (two bars)."""
LOWEST_SCORED, HIGHEST_SCORED = 21, 108
"""Pitches a reward model reads (the Note-RNN's tokens): melodies outside are not scheduled."""
SCORE_BATCH = 256
"""Candidate pairs scored at once."""

logger = logging.getLogger(__name__)


class PoolError(MammadError, ValueError):
    """A pool that cannot be read: the message says what was expected."""


def pool_kind(pool: str | os.PathLike[str]) -> str:
    """What a ``--pool`` value names: ``"note_rnn"``, ``"run"`` or ``"midi"``.

    Args:
        pool: The word ``note_rnn``, a run folder or a model file of one, or a folder of MIDI
            files. (A folder that happens to be called ``note_rnn`` is read as a folder when
            given as ``./note_rnn``.)

    Raises:
        PoolError: If it is none of these.
    """
    if isinstance(pool, str) and pool == NOTE_RNN:
        return NOTE_RNN
    path = Path(pool)
    if path.is_file():
        if path.suffix.lower() == ".zip":
            return "run"
        raise PoolError(f"pool {str(path)!r} is a file: give a folder of MIDI files, a run "
                        f"folder or its model.zip, or {NOTE_RNN!r}")
    if not path.is_dir():
        raise PoolError(f"pool {str(path)!r} does not exist: give a folder of MIDI files, a run "
                        f"folder or its model.zip, or {NOTE_RNN!r}")
    if (path / "config.yml").is_file():
        return "run"
    if _midi_files(path):
        return "midi"
    runs = sorted(p.name for p in path.iterdir() if (p / "config.yml").is_file())
    hint = f" (it holds runs: name one of {runs[:5]})" if runs else ""
    raise PoolError(f"pool {str(path)!r} is neither a run folder nor a folder of MIDI files "
                    f"({', '.join('*' + s for s in MIDI_SUFFIXES)}){hint}")


def _midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)


def fill_store(store: PreferenceStore, pool: str | os.PathLike[str], *,
               count: int | None = None, steps: int | None = None, seed: int = 0,
               temperature: float = 1.0, accompaniment: str | None = None,
               trust_pickle: bool = False) -> list[int]:
    """Adds a pool's melodies, each with its context, to a store.

    Adding is idempotent: the same melody in the same context keeps its id, so filling from
    the same pool with the same seed twice adds nothing.

    Args:
        store: The preference store.
        pool: A folder of MIDI files, a run folder or its ``model.zip``, or ``"note_rnn"`` (see
            the module docstring).
        count: Run: episodes to play; Note-RNN: melodies to sample (default
            :data:`DEFAULT_COUNT` for both); MIDI folder: at most this many files, in name
            order (default all).
        steps: MIDI folder: cut or pad every melody to this many 16ths (default: each file's
            own length); Note-RNN: the melodies' length (default :data:`DEFAULT_STEPS`); a run
            plays its env's length, and ``steps`` must be None or that length.
        seed: Run: the first episode's seed; Note-RNN: the sampler's seed.
        temperature: Note-RNN sampling temperature.
        accompaniment: Note-RNN only: a bundled accompaniment's name to put the melodies over
            (its key comes with it), or None.
        trust_pickle: Run only: load a model file even if it holds pickled objects.

    Returns:
        The ids of the melodies of the pool (new or already stored), in pool order.

    Raises:
        PoolError: If the pool cannot be read or has no melody.
        ValueError: On an invalid count, steps or accompaniment.
    """
    if count is not None and (isinstance(count, bool) or int(count) < 1):
        raise ValueError(f"count must be a positive number of melodies, got {count!r}")
    if steps is not None and (isinstance(steps, bool) or int(steps) < 1):
        raise ValueError(f"steps must be a positive number of 16ths, got {steps!r}")
    kind = pool_kind(pool)
    if accompaniment is not None and kind != NOTE_RNN:
        raise ValueError(f"accompaniment is for the {NOTE_RNN!r} pool only (a run's melodies "
                         f"keep the accompaniment their episode drew)")
    if kind == NOTE_RNN:
        return _fill_from_note_rnn(store, count or DEFAULT_COUNT, steps or DEFAULT_STEPS, seed,
                                   temperature, accompaniment)
    if kind == "run":
        return _fill_from_run(store, Path(pool), count or DEFAULT_COUNT, steps, seed,
                              trust_pickle)
    return _fill_from_midi(store, Path(pool), count, steps)


def _bundled() -> dict[str, Any]:
    return {a.name: a for a in load_accompaniments()}


def _note_set(notes: Any, steps: int) -> set[tuple[int, int, int]]:
    """Notes as tuples, cut to the first ``steps`` 16ths."""
    return {(int(n.pitch), int(n.start), min(int(n.end), steps)) for n in notes
            if int(n.start) < steps}


def midi_context(path: str | os.PathLike[str], steps: int) -> tuple[str | None, str | None]:
    """The accompaniment and key of a MIDI file, if its accompaniment track is a bundled one.

    Args:
        path: The file.
        steps: Its melody's length in 16ths.

    Returns:
        ``(name, key)`` of the bundled accompaniment whose first ``steps`` 16ths the first
        ``steps`` 16ths of the file's ``"accompaniment"`` track are exactly, or
        ``(None, None)``.
    """
    try:
        tracks = read_midi_tracks(path)
    except (MidiFileError, OSError):
        return None, None
    found = [t for t in tracks if t.name == ACCOMPANIMENT_TRACK and t.notes]
    if len(found) != 1:
        return None, None
    notes = _note_set(found[0].notes, steps)
    for name, loop in _bundled().items():
        if _note_set(loop.notes_until(steps), steps) == notes:
            return name, loop.key
    return None, None


def _fill_from_midi(store: PreferenceStore, folder: Path, count: int | None,
                    steps: int | None) -> list[int]:
    files = _midi_files(folder)[:count]
    ids: list[int] = []
    problems: list[str] = []
    for path in files:
        try:
            events = load_midi(path, steps=steps)
        except (MidiFileError, OSError, ValueError) as error:
            problems.append(f"{path.name}: {error}")
            continue
        accompaniment, key = midi_context(path, int(events.size))
        ids.append(store.add_melody(events, "midi", accompaniment=accompaniment, key=key,
                                    ref=path.name))
    if not ids:
        details = "; ".join(problems[:3]) or "no MIDI files"
        raise PoolError(f"no melody could be read from {str(folder)!r}: {details}")
    for problem in problems:
        logger.warning("skipped %s", problem)
    return ids


def _fill_from_run(store: PreferenceStore, path: Path, count: int, steps: int | None,
                   seed: int, trust_pickle: bool) -> list[int]:
    from agents.rollouts import play_episodes  # heavy: the numba-compiled frame kernels

    try:
        run, model_file = run_of_model(path)
        config = read_config(run)
    except (FileNotFoundError, ValueError) as error:
        raise PoolError(f"pool {str(path)!r}: {error}") from error
    model = load_run_model(run, model_file, config, trust_pickle)
    melodies, accompaniments, _ = play_episodes(model, vector_env_maker(config), count,
                                                seed=seed)
    if steps is not None and melodies and int(melodies[0].size) != int(steps):
        raise ValueError(f"the run {str(run)!r} writes melodies of {melodies[0].size} steps, "
                         f"not {steps}: leave steps out for a run pool")
    groups: dict[tuple[str | None, str | None], list[tuple[int, np.ndarray]]] = defaultdict(list)
    for index, (events, loop) in enumerate(zip(melodies, accompaniments, strict=True)):
        context = (None, None) if loop is None else (loop.name, loop.key)
        groups[context].append((index, events))
    ids: list[int | None] = [None] * len(melodies)
    for (name, key), members in groups.items():
        added = store.add_melodies([events for _, events in members], "run", accompaniment=name,
                                   key=key, ref=str(run))
        for (index, _), melody_id in zip(members, added, strict=True):
            ids[index] = melody_id
    return [melody_id for melody_id in ids if melody_id is not None]


def _fill_from_note_rnn(store: PreferenceStore, count: int, steps: int, seed: int,
                        temperature: float, accompaniment: str | None) -> list[int]:
    from rewards.note_rnn.model import NoteRNN  # heavy: torch, for a Note-RNN pool only

    key = None
    if accompaniment is not None:
        bundled = _bundled()
        if accompaniment not in bundled:
            raise ValueError(f"unknown accompaniment {accompaniment!r}: the bundled ones are "
                             f"{sorted(bundled)}")
        key = bundled[accompaniment].key
    melodies = NoteRNN.pretrained().sample(int(count), int(steps), temperature, seed)
    return store.add_melodies(list(melodies), "model", accompaniment=accompaniment, key=key,
                              ref=f"note_rnn pretrained, seed {seed}, temperature {temperature:g}")


# ---------------------------------------------------------------- scheduling


def scorable(melody: StoredMelody, bundled: set[str] | None = None) -> bool:
    """Whether a reward model can read a melody: pitches 21..108 and a bundled accompaniment."""
    events = melody.events
    pitches = events[(events != HOLD) & (events != REST)]
    if pitches.size and (pitches.min() < LOWEST_SCORED or pitches.max() > HIGHEST_SCORED):
        return False
    if melody.accompaniment is None:
        return True
    return melody.accompaniment in (bundled if bundled is not None else set(_bundled()))


def uncertainty(model: Any, melodies_a: Sequence[np.ndarray], melodies_b: Sequence[np.ndarray],
                accompaniments: Sequence[str | None]) -> np.ndarray:
    """How unsure a reward model is of each pair, higher for less sure.

    An ensemble's :meth:`~rewards.preferences.RewardEnsemble.disagreement`; a model with only
    ``score`` gives ``1/2 - |P(a preferred) - 1/2|``.
    """
    if hasattr(model, "disagreement"):
        return np.asarray(model.disagreement(list(melodies_a), list(melodies_b),
                                             list(accompaniments)), dtype=np.float64)
    scores = np.asarray(model.score([*melodies_a, *melodies_b],
                                    [*accompaniments, *accompaniments]), dtype=np.float64)
    count = len(melodies_a)
    probability = 1.0 / (1.0 + np.exp(-(scores[:count] - scores[count:])))
    return 0.5 - np.abs(probability - 0.5)


def _existing_pairs(store: PreferenceStore) -> set[frozenset[int]]:
    pairs = [*store.unlabelled_pairs(), *store.comparisons(include=CHOICES)]
    return {frozenset((pair.a.id, pair.b.id)) for pair in pairs}


def candidate_pairs(groups: Sequence[Sequence[int]], limit: int, rng: np.random.Generator,
                    exclude: set[frozenset[int]] = frozenset()) -> list[tuple[int, int]]:
    """Up to ``limit`` distinct pairs of two ids of one group, at random, none in ``exclude``.

    All possible pairs when there are at most ``limit`` of them (in random order); otherwise
    a uniform sample of them.
    """
    sizes = np.array([len(group) * (len(group) - 1) // 2 for group in groups], dtype=np.int64)
    total = int(sizes.sum())
    if total <= limit:
        found = [(group[i], group[j]) for group in groups
                 for i in range(len(group)) for j in range(i + 1, len(group))]
        found = [pair for pair in found if frozenset(pair) not in exclude]
        return [found[i] for i in rng.permutation(len(found))]
    chosen: dict[frozenset[int], tuple[int, int]] = {}
    weights = sizes / total
    attempts = 0
    while len(chosen) < limit and attempts < 20 * limit:
        attempts += 1
        group = groups[int(rng.choice(len(groups), p=weights))]
        i, j = rng.choice(len(group), size=2, replace=False)
        pair = frozenset((group[i], group[j]))
        if pair not in exclude and pair not in chosen:
            chosen[pair] = (group[i], group[j])
    return list(chosen.values())


def schedule_pairs(store: PreferenceStore, count: int, model: Any = None,
                   rng: np.random.Generator | int | None = None, *,
                   candidates: int | None = None) -> list[str]:
    """Makes up to ``count`` new pairs among the store's melodies of the same context.

    Two melodies already paired are not paired again. With a reward model, ``candidates``
    random candidate pairs are scored by :func:`uncertainty` (an ensemble's disagreement) and
    the ``count`` least sure are kept, made most uncertain first (so that
    :meth:`~rewards.preferences.PreferenceStore.next_pair` shows them first); melodies the model
    cannot read (pitches outside 21..108, an accompaniment that is not bundled) are left out.
    Without a model the pairs are drawn at random. A and B are in random order.

    Args:
        store: The preference store.
        count: The most pairs to make.
        model: A reward model (:class:`~rewards.preferences.RewardEnsemble`, anything with
            ``disagreement(a, b, accompaniments)`` or ``score(melodies, accompaniments)``), or
            None.
        rng: A numpy Generator or a seed.
        candidates: Candidate pairs to score (default ``max(8 * count, 256)``).

    Returns:
        The new pairs' tokens, in the order they were made.
    """
    if isinstance(count, bool) or int(count) < 0:
        raise ValueError(f"count must be a number of pairs >= 0, got {count!r}")
    count = int(count)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if count == 0:
        return []
    melodies = store.melodies()
    if model is not None:
        bundled = set(_bundled())
        melodies = [m for m in melodies if scorable(m, bundled)]
    by_context: dict[Context, list[int]] = defaultdict(list)
    for melody in melodies:
        by_context[melody.context].append(melody.id)
    groups = [ids for ids in by_context.values() if len(ids) > 1]
    if not groups:
        return []
    if model is None:
        limit = count
    else:
        limit = max(8 * count, 256) if candidates is None else max(int(candidates), count)
    chosen = candidate_pairs(groups, limit, rng, _existing_pairs(store))
    if model is not None and len(chosen) > 0:
        chosen = _least_sure(model, chosen, count, {m.id: m for m in melodies})
    chosen = chosen[:count]
    flipped = [(b, a) if flip else (a, b)
               for (a, b), flip in zip(chosen, rng.random(len(chosen)) < 0.5, strict=True)]
    return store.new_pairs(flipped) if flipped else []


def _least_sure(model: Any, pairs: list[tuple[int, int]], count: int,
                melodies: dict[int, StoredMelody]) -> list[tuple[int, int]]:
    scores = np.empty(len(pairs))
    for first in range(0, len(pairs), SCORE_BATCH):
        batch = pairs[first:first + SCORE_BATCH]
        scores[first:first + len(batch)] = uncertainty(
            model, [melodies[a].events for a, _ in batch], [melodies[b].events for _, b in batch],
            [melodies[a].accompaniment for a, _ in batch])
    scores = np.where(np.isfinite(scores), scores, -math.inf)
    order = np.argsort(-scores, kind="stable")[:count]
    return [pairs[i] for i in order]
