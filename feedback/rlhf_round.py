"""One round of the RLHF loop: sample, pair, label, learn the reward, fine-tune under KL control.

:func:`run_round` is what :func:`feedback.rlhf.run_rlhf` calls for each round; the steps are
described in :mod:`feedback.rlhf`.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agents import make_agent, make_training_env
from agents.hyperparams import load_hyperparams
from agents.rollouts import measure_kl, play_episodes
from agents.runs import (
    read_config,
    replace_folder,
    save_model_atomically,
    write_config,
    write_text_atomically,
)
from agents.training import load_run_model, vector_env_maker
from feedback.pairs import choose_pairs, pair_candidates
from rewards.preferences import (
    PreferenceStore,
    TrainingSettings,
    comparisons_from_store,
    load_reward_model,
    model_card,
    train_reward_model,
)
from rewards.preferences.training import accuracy

if TYPE_CHECKING:
    from feedback.rlhf import RLHFSettings

AGENT = "note_rnn_ppo"
"""The policy the loop fine-tunes: the pretrained Note-RNN under KL control (agents/prior)."""

LOOP_HYPERPARAMS: dict[str, Any] = {"gamma": 1.0}
"""Set over the agent's YAML: the learned reward is paid once, at the end of a melody, so its
steps are not discounted (as Ziegler et al.'s PPO does; with the YAML's 0.9 the first note of a
32-step melody would see 4% of it)."""

ROUND_FILE = "round.json"
PAIRS_FILE = "pairs.json"
SAMPLES_FILE = "samples.npz"
"""The melodies a round's policy played after its fine-tuning (:func:`write_samples`)."""
REFERENCE_SEED = 7_919
"""Offsets the reference's episode seeds from the policy's."""


def loop_hyperparams(settings: RLHFSettings) -> dict[str, Any]:
    """The agent's hyperparameters in the loop: its YAML, the loop's, the KL settings, overrides."""
    values = load_hyperparams(AGENT, settings.env)
    values.update(LOOP_HYPERPARAMS)
    values.update(kl_coef=settings.kl_coef, kl_target=settings.kl_target)
    if settings.kl_limit is not None:  # the agent's own default is no limit
        values["kl_limit"] = settings.kl_limit
    if settings.note_rnn_model is not None:
        values["note_rnn"] = settings.note_rnn_model
    values.update(settings.hyperparams or {})
    return values


def prior_policy(settings: RLHFSettings, env: Any, hyperparams: dict[str, Any]) -> Any:
    """A new policy that is the Note-RNN, renormalised to the env's actions.

    It is round 0's policy and the reference every round compares against.
    """
    return make_agent(AGENT, env, seed=settings.seed,
                      hyperparams={k: v for k, v in hyperparams.items() if k != "n_envs"})


def sample(policy: Any, sampling: dict[str, Any], count: int,
           seed: int) -> tuple[list[np.ndarray], list[str | None], float]:
    """``count`` melodies of a policy, the accompaniment each drew, and their KL per step.

    The KL is to the policy's reference (NaN for a policy without one).
    """
    meter = measure_kl(policy)
    melodies, accompaniments, _ = play_episodes(policy, vector_env_maker(sampling), count,
                                                seed=seed)
    kl = float("nan") if meter is None else meter.per_step
    if hasattr(policy, "kl_meter"):
        policy.kl_meter = None
    return melodies, [None if a is None else a.name for a in accompaniments], kl


def unit_scale(model: Any, melodies: list[np.ndarray], names: list[str | None]) -> float:
    """The weight that gives ``model``'s scores a standard deviation of 1 on ``melodies``.

    ``model`` is a learned reward ensemble or a taste (anything with ``score(melodies,
    accompaniments)``); 1 if it scores them all alike.
    """
    spread = float(np.std(model.score(melodies, names)))
    return 1.0 / spread if spread > 1e-8 else 1.0


def policy_pairs_accuracy(model: Any, labeler: Any, melodies: list[np.ndarray],
                          names: list[str | None], seed: int) -> dict[str, float]:
    """The reward model against fresh labels of pairs of the policy's own melodies.

    Pairs of ``melodies`` over a shared accompaniment, labelled by the labeler (with its noise,
    from draws of its own) and by its noiseless score. Returns the model's accuracy on the
    noisy labels (``accuracy``), the taste's own on them (``ceiling``: the noise caps both),
    and the model's agreement with the noiseless taste (``agreement``); NaN with a labeler that
    has no scores, or without pairs.
    """
    missing = {"accuracy": float("nan"), "ceiling": float("nan"), "agreement": float("nan"),
               "pairs": 0}
    if not getattr(labeler, "can_score", False):
        return missing
    pairs = [(a, b) for a, b in pair_candidates(names, len(melodies) // 2,
                                                np.random.default_rng(seed))
             if not np.array_equal(melodies[a], melodies[b])]
    if not pairs:
        return missing
    first, second = [melodies[a] for a, _ in pairs], [melodies[b] for _, b in pairs]
    context = [names[a] for a, _ in pairs]
    both = [*context, *context]
    model_scores = model.score([*first, *second], both)
    taste = labeler.scores([*first, *second], both)
    count = len(pairs)
    probabilities = labeler.probabilities(first, second, context)
    draws = np.random.default_rng([seed, 1]).random(count)
    noisy = ["a" if draw < p else "b" for draw, p in zip(draws, probabilities, strict=True)]
    truth = ["a" if d > 0 else "b" if d < 0 else "tie" for d in taste[:count] - taste[count:]]
    return {"accuracy": accuracy(model_scores[:count], model_scores[count:], noisy),
            "ceiling": accuracy(taste[:count], taste[count:], noisy),
            "agreement": accuracy(model_scores[:count], model_scores[count:], truth),
            "pairs": count}


def label_round(settings: RLHFSettings, index: int, out: Path, db: Path, labeler: Any,
                melodies: list[np.ndarray], names: list[str | None],
                policy_count: int) -> tuple[int, list[Any]]:
    """Stores the round's melodies, pairs and labels them; the new labels and all comparisons.

    ``melodies`` are the policy's ``policy_count`` melodies, then the reference's. A resumed
    round finds its pairs in ``pairs.json`` and asks only the unlabelled ones.
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
            ids = [store.add_melody(m, "policy" if i < policy_count else "model",
                                    accompaniment=n, ref=ref if i < policy_count else
                                    f"{ref} (reference)")
                   for i, (m, n) in enumerate(zip(melodies, names, strict=True))]
            pairs = choose_pairs(melodies, names, settings.pairs, previous_model, rng,
                                 policy=policy_count, reference_share=settings.reference_share)
            pairs = [(a, b) for a, b in pairs if ids[a] != ids[b]]
            order = rng.random(len(pairs)) < 0.5  # A and B in random order
            tokens = store.new_pairs([(ids[b], ids[a]) if swap else (ids[a], ids[b])
                                      for (a, b), swap in zip(pairs, order, strict=True)])
            write_json(chosen, tokens)
        stored = [store.pair(token) for token in tokens]
        fresh = [pair for pair in stored if pair.label is None]
        new = labeler.label_pairs(store, fresh, index, previous_model)
        return new, comparisons_from_store(store)


def learn_reward(settings: RLHFSettings, index: int, out: Path, db: Path,
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


def round_config(settings: RLHFSettings, index: int, folder: Path, base_kwargs: dict[str, Any],
                 hyperparams: dict[str, Any], scale: float) -> dict[str, Any]:
    """The round's run config: the Note-RNN policy on the round's reward model, scaled."""
    reward_path = str((folder / "pref_model" / "model.pt").resolve())
    env_kwargs = {**base_kwargs, "reward": "preference",
                  "reward_weights": {"preference": float(scale)},
                  "reward_kwargs": {"preference": {"model": reward_path}}}
    return {"agent": AGENT, "env": settings.env, "env_kwargs": env_kwargs,
            "seed": settings.seed, "steps": settings.steps * (index + 1),
            "hyperparams": hyperparams, "batched": True, "rlhf_round": index}


def run_round(settings: RLHFSettings, index: int, out: Path, db: Path, labeler: Any,
              progress: bool = True) -> dict[str, Any]:
    """One round (see :mod:`feedback.rlhf`); returns its figures."""
    started, cpu = time.perf_counter(), time.process_time()
    folder = out / f"round_{index}"
    folder.mkdir(parents=True, exist_ok=True)
    base_kwargs = dict(settings.env_kwargs or {})
    hyperparams = loop_hyperparams(settings)
    n_envs = int(hyperparams.get("n_envs", 1))
    sampling = {"env": settings.env, "env_kwargs": {**base_kwargs, "reward": None}}
    # The policy is built on (or loaded with) an env of the training env's shape, so that
    # set_env can hand it the training env once the round's reward model exists.
    bare_env = make_training_env(settings.env, n_envs, settings.seed, sampling["env_kwargs"])
    reference = prior_policy(settings, bare_env, hyperparams)
    if index == 0:
        policy = reference
    else:
        previous = out / f"round_{index - 1}"
        policy = load_run_model(previous, previous / "model.zip", read_config(previous),
                                env=bare_env)
    episode_seed = settings.seed * 1_000_003 + index * settings.samples
    melodies, names, kl_before = sample(policy, sampling, settings.samples, episode_seed)
    before = labeler_score(labeler, melodies, names)
    ref_melodies, ref_names = melodies, names
    if index > 0:
        ref_melodies, ref_names, _ = sample(reference, sampling, settings.samples,
                                            episode_seed + REFERENCE_SEED)
    pool = [*melodies, *ref_melodies] if index > 0 else melodies
    pool_names = [*names, *ref_names] if index > 0 else names
    new_labels, comparisons = label_round(settings, index, out, db, labeler, pool, pool_names,
                                          len(melodies))
    ensemble = learn_reward(settings, index, out, db, comparisons, progress)
    scale = unit_scale(ensemble, ref_melodies, ref_names)

    config = round_config(settings, index, folder, base_kwargs, hyperparams, scale)
    write_config(folder, config)
    train_env = make_training_env(settings.env, n_envs, settings.seed + index,
                                  config["env_kwargs"])
    policy.set_env(train_env)
    policy.learn(settings.steps, reset_num_timesteps=False, progress_bar=progress)
    save_model_atomically(policy, folder / "model.zip")

    melodies, names, kl_after = sample(policy, sampling, settings.samples, episode_seed + 10**6)
    write_samples(folder, melodies, names)
    steps = int(base_kwargs.get("steps", len(melodies[0])))
    held = ensemble.card["held_out"]
    result = {"round": index, "labels": ensemble.card["labels"], "new_labels": new_labels,
              "reward_model": {"held_out_accuracy": held["accuracy"],
                               "held_out_pairs": held["pairs"],
                               "policy_pairs": policy_pairs_accuracy(
                                   ensemble, labeler, melodies, names, episode_seed + 10**6)},
              "reward_scale": scale, "labeler": labeler.name,
              "labeler_score_before": before,
              "labeler_score_after": labeler_score(labeler, melodies, names),
              "distinct_melodies_after": len({melody.tobytes() for melody in melodies}),
              "kl_per_melody_before": kl_before * steps, "kl_per_melody_after": kl_after * steps,
              "kl_coef": float(policy.kl_coef), "kl_limit": settings.kl_limit,
              "samples": settings.samples,
              "policy_steps": int(policy.num_timesteps),
              "seconds": round(time.perf_counter() - started, 1),
              "cpu_seconds": round(time.process_time() - cpu, 1)}
    if settings.keep_best:
        result.update(choose_round(out, result, ensemble, settings.keep_best_kl))
    write_json(folder / ROUND_FILE, result)
    return result


def write_samples(folder: Path, melodies: list[np.ndarray], names: list[str | None]) -> Path:
    """Saves the melodies a round's policy played after its fine-tuning (``samples.npz``).

    Plain arrays (``numpy.load`` needs no pickle): the events end to end, each melody's
    length, and each one's accompaniment (``""`` for none).
    """
    path = folder / SAMPLES_FILE
    np.savez_compressed(path, events=np.concatenate(melodies).astype(np.int16),
                        lengths=np.array([len(melody) for melody in melodies]),
                        accompaniments=np.array([name or "" for name in names], dtype=str))
    return path


def read_samples(folder: Path) -> tuple[list[np.ndarray], list[str | None]] | None:
    """The melodies of :func:`write_samples` and their accompaniments.

    None without the file (a round of an earlier version of the loop).
    """
    path = folder / SAMPLES_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as saved:
        melodies = np.split(saved["events"].astype(np.int64),
                            np.cumsum(saved["lengths"])[:-1])
        names = [str(name) or None for name in saved["accompaniments"]]
    return melodies, names


def choose_round(out: Path, result: dict[str, Any], model: Any,
                 keep_best_kl: float | None) -> dict[str, Any]:
    """The round whose policy the loop hands out, as the newest reward model judges.

    Every round so far whose policy played within ``keep_best_kl`` nats per melody of the
    Note-RNN (after its fine-tuning) is scored by ``model``: the mean of its ``samples.npz``.
    Without such a round, the one nearest the Note-RNN is chosen. Rounds without samples (of
    an earlier loop) are passed over.

    Args:
        out: The loop's folder.
        result: The figures of the round just finished (not written yet).
        model: The newest reward model (``score(melodies, accompaniments)``).
        keep_best_kl: Most KL per melody a chosen round may have (None: any).

    Returns:
        ``{"policy_round": k, "round_scores": {round: mean score}}``: the rounds scored.
    """
    records = {}
    for index in range(result["round"]):
        path = out / f"round_{index}" / ROUND_FILE
        if path.is_file():
            records[index] = json.loads(path.read_text())
    records[result["round"]] = result
    kls = {index: float(record.get("kl_per_melody_after", math.nan))
           for index, record in records.items()}
    allowed = [index for index, kl in kls.items() if keep_best_kl is None or kl <= keep_best_kl]
    if not allowed:
        allowed = [min(kls, key=lambda index: (math.isnan(kls[index]), kls[index]))]
    scores = {}
    for index in allowed:
        samples = read_samples(out / f"round_{index}")
        if samples is not None:
            scores[index] = float(np.mean(model.score(*samples)))
    chosen = max(scores, key=scores.get) if scores else result["round"]
    return {"policy_round": chosen, "round_scores": {str(k): v for k, v in scores.items()}}


def labeler_score(labeler: Any, melodies: list[np.ndarray],
                  names: list[str | None]) -> float | None:
    """The labeler's mean score of the melodies (None for a labeler without scores: a person)."""
    if not getattr(labeler, "can_score", False):
        return None
    return float(np.mean(labeler.scores(melodies, names)))


def write_json(path: Path, value: Any) -> None:
    """Writes ``value`` as JSON through a scratch file renamed into place."""
    write_text_atomically(path, json.dumps(value, indent=2, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
