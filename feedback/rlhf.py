"""The RLHF loop: sample, label, learn the reward, fine-tune the pretrained policy under KL control.

Each round of ``mammad rlhf`` (as MusicRL, and Ziegler et al.'s RLHF before it, do it):

1. **Sample** ``samples`` melodies from the current policy (episodes on the env, each over the
   accompaniment it draws) into the preference store (source ``policy``, ref the round). The
   policy of round 0 is the pretrained Note-RNN itself (agent ``note_rnn_ppo``, see
   ``docs/agents.md``); from round 1 on, as many melodies of that reference are sampled too
   (source ``model``).
2. **Pair** them over a shared accompaniment (:mod:`feedback.pairs`): a share
   (``reference_share``) of the pairs set a policy melody against a reference one, so that the
   reward model keeps seeing varied melodies; from round 1 on, the pairs the current reward
   ensemble is least sure of among four times as many candidates.
3. **Label** them with the labeler (``synthetic:<reward>``, ``module:function`` with
   Bradley-Terry noise, or a person on the labelling page).
4. **Learn the reward**: a Bradley-Terry ensemble on every label so far
   (:func:`~rewards.preferences.training.train_reward_model`), saved in the round's folder.
5. **Fine-tune** the policy with PPO for ``steps`` steps on the learned reward of the finished
   melody, scaled to a standard deviation of 1 on the reference's melodies, minus the KL
   penalty ``beta * (log pi - log p_ref)`` to the Note-RNN at every step; ``beta`` starts at
   ``kl_coef`` and, with ``kl_target``, moves toward that KL per melody (Ziegler et al.'s
   adaptive controller; it carries over from round to round). A rollout whose KL is over the
   ceiling ``kl_target * (1 + kl_margin)`` is penalised harder at once, within the round
   (:class:`~agents.prior.kl.KLController`'s ``limit``).
6. **Keep the best round** (``keep_best``): the newest reward model, which has seen the most
   labels, scores the melodies each round's policy played after its fine-tuning; the loop's
   policy is the round it scores highest among those within ``keep_best_kl`` nats per melody of
   the Note-RNN (``policy_round`` in ``round.json``). Fine-tuning on a learned reward can lose
   in a late round what an earlier one found (the reward is exploited where it is wrong, or
   the KL penalty pulls the policy back); the next round goes on from the last policy, and
   only the one handed out is chosen.

Everything a round makes is saved in ``<out>/round_<k>/``: ``pref_model/`` (weights and card),
``config.yml`` and ``model.zip`` (a run folder: ``mammad evaluate <out>/round_<k>`` works), and
``pairs.json`` (the tokens of its pairs in the store), ``samples.npz`` (the melodies its policy
played after fine-tuning, which later rounds score again) and ``round.json`` (its figures), written
last: a round with ``round.json`` is done, and a killed loop resumes at the first round without
one (the same melodies and pairs; labels already recorded are kept and not asked again; the
reward model and the fine-tuning are redone).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents import check_env_id
from agents.prior.kl import check_kl_settings
from feedback.labelers import make_labeler
from feedback.pairs import choose_pairs, pair_candidates
from feedback.rlhf_round import ROUND_FILE, run_round, write_json
from mammad_envs.errors import MammadError
from rewards.note_rnn.model import PRETRAINED

__all__ = ["LOOP_VERSION", "OldLoopError", "RLHFSettings", "choose_pairs", "describe",
           "pair_candidates", "policy_round", "results_table", "run_rlhf"]

LOOP_VERSION = 2
"""Version of the loop's ``rlhf.json``: 2 fine-tunes the Note-RNN under KL control; 1 (no
``version`` field) trained a PPO policy from scratch with a Note-RNN reward as its anchor."""

KL_MARGIN = 0.25
"""The default ``kl_margin``: the KL's ceiling is ``kl_target`` and a quarter."""

SETTINGS_BEFORE = {"kl_margin": None, "keep_best": True, "keep_best_kl": 10.0}
"""Settings added to ``rlhf.json`` after its version 2 came out, with the value a loop that has
none of them resumes as: ``kl_margin`` as it ran (no ceiling; a resumed loop must keep it), the
choice of the round handed out as the defaults (it changes no round's training)."""

logger = logging.getLogger(__name__)


class OldLoopError(MammadError, ValueError):
    """A folder holds a loop of an earlier version, which this one cannot resume."""


@dataclass(frozen=True)
class RLHFSettings:
    """What one ``mammad rlhf`` loop does (recorded in ``<out>/rlhf.json``).

    Attributes:
        env: A MammadMelody id.
        env_kwargs: Its arguments (``reward`` and ``reward_kwargs`` are set by the loop).
        rounds: Rounds to run in all.
        samples: Melodies sampled from the policy per round (and from the reference).
        pairs: Pairs labelled per round.
        steps: PPO steps of fine-tuning per round.
        note_rnn_model: The pretrained Note-RNN the policy starts as and the KL penalty keeps
            it near: a shipped model's name (``"default"``, ``"rl_tuner"``) or a weights file
            written by ``NoteRNN.save`` (``None``: the shipped default).
        kl_coef: ``beta``, the KL penalty's coefficient per unit of the scaled reward (the
            start value when ``kl_target`` is set).
        kl_target: Target KL to the Note-RNN per melody in nats, toward which ``beta`` moves
            (None: ``beta`` stays ``kl_coef``).
        kl_margin: How far above ``kl_target`` the KL's ceiling is, as a fraction of it: a
            rollout of fine-tuning whose KL per melody is over ``kl_target * (1 + kl_margin)``
            is penalised harder at once (:class:`~agents.prior.kl.KLController`'s ``limit``),
            so that a round keeps to its budget while ``beta`` catches up (None: no ceiling;
            no ceiling either without a ``kl_target``).
        reference_share: Fraction of each round's pairs that set a policy melody against one
            of the reference's (from round 1 on).
        keep_best: Hand out the round the newest reward model scores highest (within
            ``keep_best_kl``) rather than the last one.
        keep_best_kl: With ``keep_best``, the most KL to the Note-RNN per melody, in nats, a
            round may have to be chosen (None: any); if no round is within it, the one
            nearest the Note-RNN is chosen.
        labeler: ``synthetic:<reward>``, ``module:function`` or ``human[:<name>]``.
        temperature: The synthetic labeler's Bradley-Terry noise.
        members: Reward nets in the ensemble.
        hyperparams: The agent's hyperparameters overriding its YAML's and the loop's.
        seed: Seed of everything.
    """

    env: str = "MammadMelody-count-v0"
    env_kwargs: dict[str, Any] | None = None
    rounds: int = 5
    samples: int = 256
    pairs: int = 100
    steps: int = 12_288
    note_rnn_model: str | None = None
    kl_coef: float = 0.2
    kl_target: float | None = 6.0
    kl_margin: float | None = KL_MARGIN
    reference_share: float = 0.5
    keep_best: bool = True
    keep_best_kl: float | None = 10.0
    labeler: str = "synthetic:theory"
    temperature: float = 1.0
    members: int = 3
    hyperparams: dict[str, Any] | None = None
    seed: int = 0
    version: int = LOOP_VERSION

    @property
    def kl_limit(self) -> float | None:
        """The KL's ceiling per melody in nats, ``kl_target * (1 + kl_margin)`` (or None)."""
        if self.kl_target is None or self.kl_margin is None:
            return None
        return self.kl_target * (1 + self.kl_margin)

    def __post_init__(self) -> None:
        for name in ("rounds", "samples", "pairs", "steps", "members"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.samples < 2:
            raise ValueError(f"samples must be at least 2 (a pair), got {self.samples}")
        if self.kl_margin is not None and (
                isinstance(self.kl_margin, bool) or not isinstance(self.kl_margin, int | float)
                or not math.isfinite(self.kl_margin) or self.kl_margin <= 0):
            raise ValueError(f"kl_margin (a fraction of kl_target) must be a number > 0 or None "
                             f"(no ceiling), got {self.kl_margin!r}")
        check_kl_settings(self.kl_coef, self.kl_target, 10_000, self.kl_limit)
        if not (isinstance(self.reference_share, int | float)
                and 0 <= self.reference_share <= 1):
            raise ValueError(f"reference_share must be a fraction in [0, 1], got "
                             f"{self.reference_share!r}")
        if not isinstance(self.keep_best, bool):
            raise ValueError(f"keep_best must be True or False, got {self.keep_best!r}")
        limit = self.keep_best_kl
        if limit is not None and not (isinstance(limit, int | float)
                                      and not isinstance(limit, bool) and 0 < limit < math.inf):
            raise ValueError(f"keep_best_kl must be a number of nats per melody > 0, or None for "
                             f"no limit, got {self.keep_best_kl!r}")
        if self.note_rnn_model is not None:
            check_note_rnn_model(self.note_rnn_model)
        clash = {"reward", "reward_weights", "reward_kwargs"} & set(self.env_kwargs or {})
        if clash:
            raise ValueError(f"the loop sets the env's rewards itself (the learned preference); "
                             f"drop {sorted(clash)} from the env arguments")
        if self.version != LOOP_VERSION:
            raise ValueError(f"version must be {LOOP_VERSION}, got {self.version!r}")


def check_note_rnn_model(model: str) -> None:
    """Refuses a Note-RNN that is neither a shipped model's name nor an existing file."""
    if not isinstance(model, str) or not model:
        raise ValueError(f"note_rnn_model must be a shipped model's name or a weights file, got "
                         f"{model!r}")
    if model not in PRETRAINED and not Path(model).is_file():
        raise ValueError(f"note_rnn_model {model!r} is neither a shipped Note-RNN "
                         f"({', '.join(map(repr, PRETRAINED))}) nor a weights file")


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
    try:
        return _run_rounds(settings, out, db, progress, log, labeler)
    finally:
        if made and hasattr(labeler, "close"):  # a person's page: its server stops
            labeler.close()


def _run_rounds(settings: RLHFSettings, out: Path, db: Path | None, progress: bool,
                log: Callable[[str], object], labeler: Any) -> list[dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    record = out / "rlhf.json"
    described = json.loads(json.dumps(asdict(settings)))
    if record.is_file():  # a resumed loop: the same settings, except more or fewer rounds
        saved = json.loads(record.read_text())
        check_resumable(out, saved)
        changed = changed_settings(saved, described)
        if changed:
            raise ValueError(f"{out} holds an RLHF loop with other settings ({changed} differ):"
                             f" resume it with the same ones, or choose a new --out")
    write_json(record, described)
    db = db or out / "prefs.sqlite"
    results = []
    for index in range(settings.rounds):
        folder = out / f"round_{index}"
        if (folder / ROUND_FILE).is_file():
            results.append(json.loads((folder / ROUND_FILE).read_text()))
            continue
        results.append(run_round(settings, index, out, db, labeler, progress))
        log(describe(results[-1]))
    return results


def changed_settings(saved: dict[str, Any], described: dict[str, Any]) -> list[str]:
    """The settings (but ``rounds``) in which a loop's ``rlhf.json`` differs from ``described``.

    A setting the saved file lacks counts as the value the loop ran with
    (:data:`SETTINGS_BEFORE`), so that a loop begun before it existed still resumes.
    """
    saved = {**SETTINGS_BEFORE, **saved}
    return sorted(k for k in described if k != "rounds" and saved.get(k) != described[k])


def check_resumable(out: Path, saved: dict[str, Any]) -> None:
    """Refuses the ``rlhf.json`` of a loop of another version, saying what to do.

    Raises:
        OldLoopError: If ``saved`` is not of :data:`LOOP_VERSION`.
    """
    version = saved.get("version", 1) if isinstance(saved, dict) else None
    if version == LOOP_VERSION:
        return
    if version == 1:
        raise OldLoopError(
            f"{out} holds an RLHF loop of an earlier version (a PPO policy trained from scratch "
            f"with a Note-RNN reward as its anchor, --note-rnn-weight); this version fine-tunes "
            f"the Note-RNN under KL control and cannot resume it. Its rounds stay readable "
            f"(mammad evaluate {out}/round_<k>); start the new loop in another --out, and pass "
            f"--db {out}/prefs.sqlite to keep its labels")
    raise OldLoopError(f"{out}/rlhf.json has version {version!r}, which this mammad-envs does "
                       f"not know (it writes version {LOOP_VERSION}): choose a new --out")


def results_table(results: list[dict[str, Any]]) -> list[str]:
    """The rounds as the rows of a Markdown table (``mammad rlhf`` and the benchmark print it)."""
    rows = ["| round | labels | new | held-out accuracy | on the policy's melodies | "
            "labeler score before | after | distinct melodies after | KL per melody | "
            "the loop's policy | wall time |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        model = result["reward_model"]
        on_policy = model.get("policy_pairs", {}).get("accuracy")
        rows.append(f"| {result['round']} | {result['labels']:,} | {result['new_labels']} | "
                    f"{_percent(model['held_out_accuracy'])} | {_percent(on_policy)} | "
                    f"{_number(result['labeler_score_before'])} | "
                    f"{_number(result['labeler_score_after'])} | "
                    f"{result['distinct_melodies_after']} of {result['samples']} | "
                    f"{_number(result.get('kl_per_melody_after'))} | "
                    f"round {policy_round(result)} | {result['seconds']:.0f} s |")
    return rows


def _percent(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.0f}%"


def _number(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.2f}"


def describe(result: dict[str, Any]) -> str:
    """One line about a finished round."""
    held = _percent(result["reward_model"]["held_out_accuracy"])
    return (f"round {result['round']}: {result['labels']:,} labels, reward model held-out "
            f"accuracy {held}; labeler score {_number(result['labeler_score_before'])} -> "
            f"{_number(result['labeler_score_after'])} ({result['distinct_melodies_after']} "
            f"distinct melodies of {result['samples']}, KL to the Note-RNN "
            f"{_number(result.get('kl_per_melody_after'))} nats per melody); "
            f"{result['seconds']:.0f} s; the loop's policy: round {policy_round(result)}")


def policy_round(result: dict[str, Any]) -> int:
    """The round whose policy the loop hands out after this round.

    Its ``policy_round``; the round itself in a loop without one (or without ``keep_best``).
    """
    return int(result.get("policy_round", result["round"]))


