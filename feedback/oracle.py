"""The lines an RLHF run is measured between: the oracle above, best-of-n sampling below.

* **The oracle** (:func:`run_oracle`): the loop's fine-tuning (the same Note-RNN policy, PPO
  settings, KL control and steps) with the taste itself as the reward, paid on the finished
  melody and scaled, as the learned reward is, to a standard deviation of 1 on the
  Note-RNN's melodies. What RLHF would reach with a perfect reward model: its ceiling.
* **Best-of-n** (:func:`best_of_n`): draw ``n`` melodies of the Note-RNN over the same
  accompaniment and keep the one the taste scores highest. No learning at all; its KL to the
  Note-RNN is at most ``log n - (n - 1) / n`` nats per melody. The floor to beat.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agents import make_training_env
from agents.runs import save_model_atomically, write_config
from feedback.rlhf_round import (
    AGENT,
    loop_hyperparams,
    prior_policy,
    sample,
    unit_scale,
    write_json,
)
from rewards.preferences.taste import TasteModel

if TYPE_CHECKING:
    from feedback.rlhf import RLHFSettings

ORACLE_FILE = "oracle.json"
PRIOR_SEED = 555_557
"""Episode seeds of the Note-RNN's melodies that set the taste's scale."""


def best_of_n_kl(n: int) -> float:
    """The bound on best-of-n's KL to the sampled model, ``log n - (n - 1) / n`` nats."""
    return math.log(n) - (n - 1) / n


def best_of_n(settings: RLHFSettings, taste: str, n: int, count: int | None = None,
              seed: int = 0) -> dict[str, Any]:
    """The taste's mean score of ``count`` best-of-``n`` melodies of the Note-RNN.

    ``count * n`` melodies are sampled (episodes of the loop's env, each over the accompaniment
    it draws); within each accompaniment they are taken ``n`` at a time and the taste keeps the
    best of each group.

    Args:
        settings: The loop whose env and Note-RNN are used.
        taste: ``module:function``.
        n: Melodies per draw (1: the Note-RNN itself).
        count: Melodies kept (default ``settings.samples``).
        seed: The first episode's seed.

    Returns:
        ``{"n", "score", "kl_bound", "distinct", "samples"}``.

    Raises:
        ValueError: If ``n`` or ``count`` is not a positive integer.
    """
    count = settings.samples if count is None else count
    for name, value in (("n", n), ("count", count)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    model, hyperparams = TasteModel(taste), loop_hyperparams(settings)
    sampling = {"env": settings.env,
                "env_kwargs": {**(settings.env_kwargs or {}), "reward": None}}
    env = make_training_env(settings.env, int(hyperparams.get("n_envs", 1)), settings.seed,
                            sampling["env_kwargs"])
    melodies, names, _ = sample(prior_policy(settings, env, hyperparams), sampling,
                                count * n, seed)
    scores = model.score(melodies, names)
    groups: dict[str | None, list[int]] = {}
    for index, name in enumerate(names):
        groups.setdefault(name, []).append(index)
    kept = []
    for members in groups.values():
        for start in range(0, len(members) - n + 1, n):
            chunk = members[start:start + n]
            kept.append(chunk[int(np.argmax(scores[chunk]))])
    kept = kept[:count]
    return {"n": n, "score": float(np.mean(scores[kept])), "kl_bound": best_of_n_kl(n),
            "distinct": len({melodies[i].tobytes() for i in kept}), "samples": len(kept)}


def run_oracle(settings: RLHFSettings, taste: str, out: Path,
               progress: bool = False) -> list[dict[str, Any]]:
    """Fine-tunes the Note-RNN policy on the taste itself, checkpoint by checkpoint.

    ``settings.rounds`` stretches of ``settings.steps`` steps, as the loop's rounds; after each,
    the taste's mean score of ``settings.samples`` melodies, their KL to the Note-RNN and how
    many differ. Saved in ``out`` (a run folder: ``config.yml``, ``model.zip``, and
    ``oracle.json`` with the figures); a folder whose ``oracle.json`` has every stretch is read,
    not trained again.

    Args:
        settings: The loop to mirror (its env, Note-RNN, KL settings, steps, seed).
        taste: ``module:function``, the reward.
        out: The run folder.
        progress: Progress bars while training.

    Returns:
        One dict per stretch, the Note-RNN's own first (``stretch`` 0 .. ``rounds``).
    """
    record = out / ORACLE_FILE
    if record.is_file():
        saved = json.loads(record.read_text())
        if saved.get("taste") == taste and len(saved.get("stretches", [])) == \
                settings.rounds + 1:
            return saved["stretches"]
    out.mkdir(parents=True, exist_ok=True)
    model, hyperparams = TasteModel(taste), loop_hyperparams(settings)
    base_kwargs = dict(settings.env_kwargs or {})
    sampling = {"env": settings.env, "env_kwargs": {**base_kwargs, "reward": None}}
    n_envs = int(hyperparams.get("n_envs", 1))
    bare = make_training_env(settings.env, n_envs, settings.seed, sampling["env_kwargs"])
    policy = prior_policy(settings, bare, hyperparams)
    episode_seed = settings.seed * 1_000_003
    prior_melodies, prior_names, _ = sample(policy, sampling, settings.samples,
                                            episode_seed + PRIOR_SEED)
    scale = unit_scale(model, prior_melodies, prior_names)
    env_kwargs = {**base_kwargs, "reward": "preference",
                  "reward_weights": {"preference": scale},
                  "reward_kwargs": {"preference": {"model": taste}}}
    config = {"agent": AGENT, "env": settings.env, "env_kwargs": env_kwargs,
              "seed": settings.seed, "steps": settings.steps * settings.rounds,
              "hyperparams": hyperparams, "batched": True, "oracle_of": taste}
    write_config(out, config)
    policy.set_env(make_training_env(settings.env, n_envs, settings.seed, env_kwargs))
    stretches = []
    for stretch in range(settings.rounds + 1):
        if stretch:
            policy.learn(settings.steps, reset_num_timesteps=False, progress_bar=progress)
        melodies, names, kl = sample(policy, sampling, settings.samples,
                                     episode_seed + 10**6 + stretch * settings.samples)
        steps = len(melodies[0])
        stretches.append({"stretch": stretch, "policy_steps": int(policy.num_timesteps),
                          "score": float(np.mean(model.score(melodies, names))),
                          "kl_per_melody": kl * steps, "kl_coef": float(policy.kl_coef),
                          "distinct": len({m.tobytes() for m in melodies}),
                          "samples": len(melodies)})
    save_model_atomically(policy, out / "model.zip")
    write_json(record, {"taste": taste, "reward_scale": scale, "stretches": stretches})
    return stretches
