"""The RLHF loop: sample, label, learn the reward, fine-tune the policy; round after round.

Each round of ``mammad rlhf`` (as MusicRL and RL Tuner do it):

1. **Sample** ``samples`` melodies from the current policy (episodes on the env, each over the
   accompaniment it draws) into the preference store (source ``policy``, ref the round).
2. **Pair** them: ``pairs`` pairs of melodies over the same accompaniment; from the second
   round on, the pairs the current reward model is least sure of (the ensemble's
   disagreement) among ``4 x pairs`` candidates.
3. **Label** them with the labeler (``labeler.label_pairs``): ``synthetic:<reward>`` or
   ``module:function``, with Bradley-Terry noise, one transaction per batch; or ``human``, a
   person on the labelling page the loop serves (:mod:`feedback.human`), waited for.
4. **Learn the reward**: a Bradley-Terry ensemble on every label so far
   (:func:`~rewards.preferences.training.train_reward_model`), saved in the round's folder.
5. **Fine-tune** the policy with PPO on ``preference + note_rnn``: the learned reward, with the
   Note-RNN's log-likelihood as the KL anchor that keeps melodies musical.

Everything a round makes is saved in ``<out>/round_<k>/``: ``pref_model/`` (weights and card),
``config.yml`` and ``model.zip`` (a run folder: ``mammad evaluate <out>/round_<k>`` works), and
``pairs.json`` (the tokens of its pairs in the store) and ``round.json`` (its figures), written
last: a round with ``round.json`` is done, and a killed loop resumes at the first round without
one (the same melodies and pairs; labels already recorded are kept and not asked again; the
reward model and the fine-tuning are redone).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents import check_env_id, make_agent, make_training_env
from agents.hyperparams import load_hyperparams
from agents.rollouts import play_episodes
from agents.runs import read_config, replace_folder, save_model_atomically, write_config
from agents.training import load_run_model, vector_env_maker
from feedback.labelers import make_labeler
from rewards.note_rnn.model import PRETRAINED
from rewards.preferences import (
    PreferenceStore,
    TrainingSettings,
    comparisons_from_store,
    load_reward_model,
    model_card,
    train_reward_model,
)

ROUND_FILE = "round.json"
PAIRS_FILE = "pairs.json"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RLHFSettings:
    """What one ``mammad rlhf`` loop does (recorded in ``<out>/rlhf.json``).

    Attributes:
        env: A MammadMelody id.
        env_kwargs: Its arguments (``reward`` and ``reward_kwargs`` are set by the loop).
        rounds: Rounds to run in all.
        samples: Melodies sampled from the policy per round.
        pairs: Pairs labelled per round.
        steps: PPO steps of fine-tuning per round.
        note_rnn_weight: Weight of the Note-RNN term (the KL anchor) against the preference.
        note_rnn_model: The anchor's Note-RNN: a shipped model's name (``"default"``,
            ``"rl_tuner"``) or a weights file written by ``NoteRNN.save`` (``None``: the
            shipped default).
        labeler: ``synthetic:<reward>``, ``module:function``, ``human`` or ``human:<name>``.
        temperature: The labeler's Bradley-Terry noise (none for a person).
        members: Reward nets in the ensemble.
        hyperparams: PPO hyperparameters overriding the YAML's.
        seed: Seed of everything.
    """

    env: str = "MammadMelody-count-v0"
    env_kwargs: dict[str, Any] | None = None
    rounds: int = 5
    samples: int = 256
    pairs: int = 100
    steps: int = 20_000
    note_rnn_weight: float = 1.0
    note_rnn_model: str | None = None
    labeler: str = "synthetic:theory"
    temperature: float = 1.0
    members: int = 3
    hyperparams: dict[str, Any] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rounds", "samples", "pairs", "steps", "members"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.samples < 2:
            raise ValueError(f"samples must be at least 2 (a pair), got {self.samples}")
        if not np.isfinite(self.note_rnn_weight) or self.note_rnn_weight < 0:
            raise ValueError(f"note_rnn_weight must be a number >= 0, got "
                             f"{self.note_rnn_weight!r}")
        if self.note_rnn_model is not None:
            check_note_rnn_model(self.note_rnn_model)
        clash = {"reward", "reward_weights", "reward_kwargs"} & set(self.env_kwargs or {})
        if clash:
            raise ValueError(f"the loop sets the env's rewards itself (preference+note_rnn); "
                             f"drop {sorted(clash)} from the env arguments")


def check_note_rnn_model(model: str) -> None:
    """Refuses a Note-RNN that is neither a shipped model's name nor an existing file."""
    if not isinstance(model, str) or not model:
        raise ValueError(f"note_rnn_model must be a shipped model's name or a weights file, got "
                         f"{model!r}")
    if model not in PRETRAINED and not Path(model).is_file():
        raise ValueError(f"note_rnn_model {model!r} is neither a shipped Note-RNN "
                         f"({', '.join(map(repr, PRETRAINED))}) nor a weights file")


def pair_candidates(accompaniments: list[str | None], count: int,
                    rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` random pairs of distinct indices with the same accompaniment."""
    groups: dict[str | None, list[int]] = {}
    for index, name in enumerate(accompaniments):
        groups.setdefault(name, []).append(index)
    pairable = [members for members in groups.values() if len(members) >= 2]
    if not pairable:
        return []
    sizes = np.array([len(m) for m in pairable], dtype=float)
    chosen: set[tuple[int, int]] = set()
    for _ in range(count * 20):
        if len(chosen) >= count:
            break
        members = pairable[rng.choice(len(pairable), p=sizes / sizes.sum())]
        a, b = rng.choice(members, 2, replace=False)
        chosen.add((int(min(a, b)), int(max(a, b))))
    return sorted(chosen)


def choose_pairs(melodies: list[np.ndarray], accompaniments: list[str | None], count: int,
                 model: Any, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``count`` pairs over a shared accompaniment; the least sure ones if there is a model."""
    if model is None or not hasattr(model, "disagreement"):
        return pair_candidates(accompaniments, count, rng)
    candidates = pair_candidates(accompaniments, 4 * count, rng)
    if len(candidates) <= count:
        return candidates
    spread = model.disagreement([melodies[a] for a, _ in candidates],
                                [melodies[b] for _, b in candidates],
                                [accompaniments[a] for a, _ in candidates])
    best = np.argsort(-spread, kind="stable")[:count]
    return [candidates[i] for i in sorted(best)]


def run_rlhf(settings: RLHFSettings, out: Path, db: Path | None = None,
             progress: bool = True, log: Callable[[str], object] | None = None,
             labeler: Any = None) -> list[dict[str, Any]]:
    """Runs (or resumes) the loop in ``out``; returns every round's figures.

    Args:
        settings: The loop.
        out: Its folder; a folder with ``rlhf.json`` is resumed, which must hold the same
            settings (another number of rounds goes on to it; any other difference is
            refused).
        db: The preference store (default ``<out>/prefs.sqlite``).
        progress: Progress bars while training.
        log: Receives each finished round's line (:func:`describe`); ``mammad rlhf`` passes
            ``print``. Default: logged at INFO level.
        labeler: A labeler already made (e.g. a person's page on another port, which its
            maker closes); default: ``make_labeler(settings.labeler, ...)``, closed at the end.

    Raises:
        ValueError: On bad settings, or a folder holding another loop.
    """
    log = log or logger.info
    check_env_id(settings.env)
    made = labeler is None
    if made:
        labeler = make_labeler(settings.labeler, settings.temperature, settings.seed)
    out.mkdir(parents=True, exist_ok=True)
    record = out / "rlhf.json"
    described = json.loads(json.dumps(asdict(settings)))
    if record.is_file():  # a resumed loop: the same settings, except more or fewer rounds
        saved = json.loads(record.read_text())
        changed = sorted(k for k in described if k != "rounds" and saved.get(k) != described[k])
        if changed:
            raise ValueError(f"{out} holds an RLHF loop with other settings ({changed} differ):"
                             f" resume it with the same ones, or choose a new --out")
    _write_json(record, described)
    db = db or out / "prefs.sqlite"
    results = []
    try:
        for index in range(settings.rounds):
            folder = out / f"round_{index}"
            if (folder / ROUND_FILE).is_file():
                results.append(json.loads((folder / ROUND_FILE).read_text()))
                continue
            results.append(run_round(settings, index, out, db, labeler, progress))
            log(describe(results[-1]))
    finally:
        if made and hasattr(labeler, "close"):  # a person's page: its server stops
            labeler.close()
    return results


def results_table(results: list[dict[str, Any]]) -> list[str]:
    """The rounds as the rows of a Markdown table (``mammad rlhf`` and the benchmark print it)."""
    rows = ["| round | labels | new | held-out accuracy | labeler score before | after | "
            "distinct melodies after | wall time |", "|---|---|---|---|---|---|---|---|"]
    for result in results:
        held = result["reward_model"]["held_out_accuracy"]
        rows.append(f"| {result['round']} | {result['labels']:,} | {result['new_labels']} | "
                    f"{'-' if held is None or held != held else f'{100 * held:.0f}%'} | "
                    f"{_score(result['labeler_score_before'], 2)} | "
                    f"{_score(result['labeler_score_after'], 2)} | "
                    f"{result['distinct_melodies_after']} of {result['samples']} | "
                    f"{result['seconds']:.0f} s |")
    return rows


def describe(result: dict[str, Any]) -> str:
    """One line about a finished round."""
    held = result["reward_model"]["held_out_accuracy"]
    held = "-" if held is None or held != held else f"{100 * held:.0f}%"
    return (f"round {result['round']}: {result['labels']:,} labels, reward model held-out "
            f"accuracy {held}; labeler score {_score(result['labeler_score_before'], 3)} -> "
            f"{_score(result['labeler_score_after'], 3)} "
            f"({result['distinct_melodies_after']} distinct melodies of {result['samples']}); "
            f"{result['seconds']:.0f} s")


def _score(value: float | None, digits: int) -> str:
    """A labeler's score with ``digits`` decimals, or ``-`` for a labeler that gives none."""
    return "-" if value is None else f"{value:.{digits}f}"


def _policy(settings: RLHFSettings, index: int, out: Path, env: Any) -> Any:
    """The policy the round starts from: the last round's, or a new PPO."""
    if index == 0:
        return make_agent("ppo", env, seed=settings.seed,
                          hyperparams={k: v for k, v in (settings.hyperparams or {}).items()
                                       if k != "n_envs"})
    previous = out / f"round_{index - 1}"
    return load_run_model(previous, previous / "model.zip", read_config(previous), env=env)


def _sample(policy: Any, sampling: dict[str, Any], count: int,
            seed: int) -> tuple[list[np.ndarray], list[str | None]]:
    """``count`` melodies of the policy, and the name of the accompaniment each drew."""
    melodies, accompaniments, _ = play_episodes(policy, vector_env_maker(sampling), count,
                                                seed=seed)
    return melodies, [None if a is None else a.name for a in accompaniments]


def _label_round(settings: RLHFSettings, index: int, out: Path, db: Path, labeler: Any,
                 melodies: list[np.ndarray], names: list[str | None]) -> tuple[int, list[Any]]:
    """Stores the round's melodies, pairs and labels them; the new labels and all comparisons.

    A resumed round finds its pairs in ``pairs.json`` and asks only the unlabelled ones.
    """
    previous_model = None
    if index > 0:
        previous_model = load_reward_model(out / f"round_{index - 1}" / "pref_model" / "model.pt")
    rng = np.random.default_rng([settings.seed, index])
    with PreferenceStore(db) as store:
        ref = f"{out.name}/round_{index}"
        chosen = out / f"round_{index}" / PAIRS_FILE
        if chosen.is_file():  # a resumed round: the same pairs, only the unlabelled asked
            tokens = json.loads(chosen.read_text())
        else:
            ids = [store.add_melody(m, "policy", accompaniment=n, ref=ref)
                   for m, n in zip(melodies, names, strict=True)]
            pairs = choose_pairs(melodies, names, settings.pairs, previous_model, rng)
            tokens = store.new_pairs([(ids[a], ids[b]) for a, b in pairs if ids[a] != ids[b]])
            _write_json(chosen, tokens)
        stored = [store.pair(token) for token in tokens]
        fresh = [pair for pair in stored if pair.label is None]
        new_labels = labeler.label_pairs(store, fresh, index, previous_model)
        return new_labels, comparisons_from_store(store)


def _learn_reward(settings: RLHFSettings, index: int, out: Path, db: Path,
                  comparisons: list[Any], progress: bool) -> Any:
    """The round's reward ensemble on every label so far, saved in ``round_<k>/pref_model``."""
    ensemble = train_reward_model(comparisons, TrainingSettings(members=settings.members,
                                                                seed=settings.seed + index),
                                  progress=progress)
    ensemble.card["store"] = str(db)

    def write_model(target: Path) -> None:
        ensemble.save(target / "model.pt")
        (target / "model_card.md").write_text(model_card(ensemble.card, f"mammad rlhf "
                                                          f"(round {index} of {out})"))

    replace_folder(out / f"round_{index}" / "pref_model", write_model)
    return ensemble


def _round_config(settings: RLHFSettings, index: int, folder: Path,
                  base_kwargs: dict[str, Any], hyperparams: dict[str, Any]) -> dict[str, Any]:
    """The round's run config: PPO on ``preference + note_rnn`` with the round's reward model."""
    reward_path = str((folder / "pref_model" / "model.pt").resolve())
    env_kwargs = {**base_kwargs, "reward": "preference+note_rnn",
                  "reward_weights": {"preference": 1.0, "note_rnn": settings.note_rnn_weight},
                  "reward_kwargs": {"preference": {"model": reward_path}}}
    if settings.note_rnn_model is not None:
        env_kwargs["reward_kwargs"]["note_rnn"] = {"model": settings.note_rnn_model}
    return {"agent": "ppo", "env": settings.env, "env_kwargs": env_kwargs,
            "seed": settings.seed, "steps": settings.steps * (index + 1),
            "hyperparams": hyperparams, "batched": True, "rlhf_round": index}


def run_round(settings: RLHFSettings, index: int, out: Path, db: Path, labeler: Any,
              progress: bool = True) -> dict[str, Any]:
    """One round (see the module docstring); returns its figures."""
    started = time.perf_counter()
    folder = out / f"round_{index}"
    folder.mkdir(parents=True, exist_ok=True)
    base_kwargs = dict(settings.env_kwargs or {})
    hyperparams = load_hyperparams("ppo", settings.env)
    hyperparams.update(settings.hyperparams or {})
    n_envs = int(hyperparams.get("n_envs", 1))
    sampling = {"env": settings.env, "env_kwargs": {**base_kwargs, "reward": None}}
    # The policy is built on (or loaded with) an env of the training env's shape, so that
    # set_env can hand it the training env once the round's reward model exists.
    bare_env = make_training_env(settings.env, n_envs, settings.seed, sampling["env_kwargs"])
    policy = _policy(settings, index, out, bare_env)
    episode_seed = settings.seed * 1_000_003 + index * settings.samples
    melodies, names = _sample(policy, sampling, settings.samples, episode_seed)
    before = float(np.mean(labeler.scores(melodies, names))) if labeler.can_score else None

    new_labels, comparisons = _label_round(settings, index, out, db, labeler, melodies, names)
    ensemble = _learn_reward(settings, index, out, db, comparisons, progress)

    config = _round_config(settings, index, folder, base_kwargs, hyperparams)
    write_config(folder, config)
    train_env = make_training_env(settings.env, n_envs, settings.seed + index,
                                  config["env_kwargs"])
    policy.set_env(train_env)
    policy.learn(settings.steps, reset_num_timesteps=False, progress_bar=progress)
    save_model_atomically(policy, folder / "model.zip")

    melodies, names = _sample(policy, sampling, settings.samples, episode_seed + 10**6)
    after = float(np.mean(labeler.scores(melodies, names))) if labeler.can_score else None
    distinct = len({melody.tobytes() for melody in melodies})
    held = ensemble.card["held_out"]
    result = {"round": index, "labels": ensemble.card["labels"],
              "new_labels": new_labels,
              "reward_model": {"held_out_accuracy": held["accuracy"],
                               "held_out_pairs": held["pairs"]},
              "labeler": labeler.name, "labeler_score_before": before,
              "labeler_score_after": after, "distinct_melodies_after": distinct,
              "samples": settings.samples, "policy_steps": int(policy.num_timesteps),
              "seconds": round(time.perf_counter() - started, 1)}
    _write_json(folder / ROUND_FILE, result)
    return result


def _write_json(path: Path, value: Any) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(value, indent=2, default=_plain) + "\n")
    os.replace(partial, path)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
