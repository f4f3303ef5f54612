"""Training the preference reward model from pairwise comparisons (Bradley-Terry).

Each comparison says which of two melodies over the same accompaniment was preferred (or that
they tie). The model gives every melody a score ``r``; Bradley-Terry reads
``P(a preferred to b) = sigmoid(r_a - r_b)``, and training minimises the cross-entropy of that
probability against the label: 1 for ``a``, 0 for ``b``, 1/2 for a tie. This is the loss of
imitation's ``PreferenceModel`` and of MusicRL's reward model, on whole melodies: the reward is
the score of the finished melody (the preference reward's ``final`` mode).

An ensemble of ``members`` nets is trained, each on a bootstrap sample of the training pairs
and stopped early on the pairs its sample left out (out-of-bag): the mean is the reward, and
the members' disagreement ranks pairs for labelling. A fraction of the pairs (``held_out``) is
kept out of training altogether to measure the accuracy the model card reports.
"""

from __future__ import annotations

import copy
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from rewards.preferences.prior_reward_model import PriorRewardEnsemble
from rewards.preferences.reward_model import RewardEnsemble, encode_batch
from rewards.preferences.store import TARGETS, PreferenceStore


@dataclass(frozen=True)
class Comparison:
    """One labelled pair.

    Attributes:
        a: The first melody.
        b: The second melody (same accompaniment and length as ``a``).
        choice: ``"a"``, ``"b"`` or ``"tie"``.
        accompaniment: The accompaniment both were written over (a bundled name, or None).
        labeler: Who labelled it (``"human:alice"``, ``"synthetic:theory"``...).
    """

    a: np.ndarray
    b: np.ndarray
    choice: str
    accompaniment: str | None = None
    labeler: str = ""


NETS = ("note_rnn", "lstm")
"""The reward nets :func:`train_reward_model` trains (:attr:`TrainingSettings.net`)."""


@dataclass(frozen=True)
class TrainingSettings:
    """How the reward model is trained (recorded in its card).

    Attributes:
        members: Nets in the ensemble.
        epochs: Most passes over each member's bootstrap sample.
        patience: Epochs without a better Bradley-Terry fit on the member's out-of-bag pairs
            (the training pairs its bootstrap sample left out) before it stops; the best
            epoch's weights are kept.
        batch_size: Pairs per gradient step.
        learning_rate: Adam's learning rate.
        weight_decay: Adam's L2 penalty.
        held_out: Fraction of the pairs kept out of training for the accuracy figure (none if
            fewer than 10 pairs).
        embedding_dim: Token embedding of each net (``net="lstm"``).
        hidden_size: LSTM cells of each net (``net="lstm"``).
        seed: Seed of the split, the bootstrap samples and the initial weights.
        net: The members' kind, one of :data:`NETS`: ``"note_rnn"`` (default: a head over the
            pretrained Note-RNN's hidden states,
            :class:`~rewards.preferences.prior_reward_model.PriorRewardEnsemble`; it learnt
            every synthetic taste tried better from 100-500 labels, see docs/rlhf.md) or
            ``"lstm"`` (an LSTM of its own from scratch, :class:`RewardEnsemble`).
        note_rnn: The Note-RNN read by ``net="note_rnn"``: a shipped name (``"default"``,
            ``"rl_tuner"``) or the path of a weights file.
        head_size: Hidden units of each head (``net="note_rnn"``).
        components: Principal components of the Note-RNN's hidden state each head reads
            (``net="note_rnn"``; 0: none, the step features alone).
        finetune_learning_rate: Adam's learning rate for each member's own copy of the
            Note-RNN's embedding and LSTM (``net="note_rnn"``); 0 (default) keeps the Note-RNN
            frozen and shared.
    """

    members: int = 3
    epochs: int = 30
    patience: int = 3
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    held_out: float = 0.2
    embedding_dim: int = 32
    hidden_size: int = 64
    seed: int = 0
    net: str = "note_rnn"
    note_rnn: str = "default"
    head_size: int = 64
    components: int = 16
    finetune_learning_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.net not in NETS:
            raise ValueError(f"unknown reward net {self.net!r}: choose one of {NETS}")
        if not isinstance(self.note_rnn, str | os.PathLike):
            raise ValueError(f"note_rnn must be a shipped Note-RNN's name or a path, got "
                             f"{self.note_rnn!r}")
        object.__setattr__(self, "note_rnn", str(self.note_rnn))  # plain, for the card
        if not self.finetune_learning_rate >= 0:
            raise ValueError(f"finetune_learning_rate must be >= 0 (0: frozen), got "
                             f"{self.finetune_learning_rate!r}")
        if isinstance(self.components, bool) or not isinstance(self.components, int) or not (
                0 <= self.components <= 256):
            raise ValueError(f"components must be an integer in 0..256, got "
                             f"{self.components!r}")
        for name in ("members", "epochs", "patience", "batch_size", "embedding_dim",
                     "hidden_size", "head_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 <= self.held_out < 1:
            raise ValueError(f"held_out must be a fraction in [0, 1), got {self.held_out!r}")
        if not self.learning_rate > 0 or self.weight_decay < 0:
            raise ValueError(f"learning_rate must be > 0 and weight_decay >= 0, got "
                             f"{self.learning_rate!r} and {self.weight_decay!r}")


def check_comparisons(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The comparisons that carry a preference (``skip`` dropped), checked.

    Raises:
        ValueError: On a bad choice, or a pair whose melodies differ in length.
    """
    kept = []
    for index, comparison in enumerate(comparisons):
        if comparison.choice == "skip":
            continue
        if comparison.choice not in TARGETS:
            raise ValueError(f"comparison {index}: choice {comparison.choice!r} is not one of "
                             f"{sorted(TARGETS)} (or 'skip')")
        if len(comparison.a) != len(comparison.b):
            raise ValueError(f"comparison {index}: its melodies have {len(comparison.a)} and "
                             f"{len(comparison.b)} steps; a pair shares its length")
        kept.append(comparison)
    return kept


def comparisons_from_store(store: PreferenceStore) -> list[Comparison]:
    """The store's labelled pairs that carry a preference, as :class:`Comparison` objects."""
    return [Comparison(pair.a.events, pair.b.events, pair.label.choice, pair.context.accompaniment,
                       pair.label.labeler) for pair in store.comparisons()]


def split_pairs(count: int, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and held-out pairs (none held out below 10 pairs)."""
    order = np.random.default_rng(seed).permutation(count)
    size = int(round(count * held_out)) if count >= 10 else 0
    return np.sort(order[size:]), np.sort(order[:size])


def accuracy(scores_a: np.ndarray, scores_b: np.ndarray, choices: Sequence[str]) -> float:
    """The fraction of non-tie pairs whose preferred melody scores higher (NaN if none)."""
    decided = [i for i, choice in enumerate(choices) if choice in ("a", "b")]
    if not decided:
        return float("nan")
    right = [(scores_a[i] > scores_b[i]) == (choices[i] == "a") for i in decided]
    return float(np.mean(right))


def log_likelihood(scores_a: np.ndarray, scores_b: np.ndarray, choices: Sequence[str]) -> float:
    """Mean Bradley-Terry log-likelihood of the labels (ties count as 1/2 each way)."""
    targets = np.array([TARGETS[c] for c in choices])
    logits = scores_a - scores_b
    log_p = -np.logaddexp(0.0, -logits)
    log_q = -np.logaddexp(0.0, logits)
    return float(np.mean(targets * log_p + (1 - targets) * log_q))


def train_reward_model(comparisons: Sequence[Comparison],
                       settings: TrainingSettings | None = None,
                       progress: bool = False) -> RewardEnsemble | PriorRewardEnsemble:
    """Trains a reward ensemble on labelled pairs with the Bradley-Terry loss.

    The ensemble is a :class:`PriorRewardEnsemble` or a :class:`RewardEnsemble`, as
    :attr:`TrainingSettings.net` says.

    Args:
        comparisons: The labels (``skip`` ones are dropped).
        settings: How to train (default :class:`TrainingSettings`).
        progress: Show a progress bar over members and epochs.

    Returns:
        The ensemble, in eval mode, with its card (``ensemble.card``): labels by
        choice and labeler, held-out accuracy and log-likelihood, training accuracy, settings,
        wall time.

    Raises:
        ValueError: With no usable comparison, or a bad one.
    """
    settings = settings or TrainingSettings()
    started = time.perf_counter()
    pairs = check_comparisons(comparisons)
    if not pairs:
        raise ValueError("no comparison to learn from: label some pairs first (skips carry no "
                         "preference)")
    train, held = split_pairs(len(pairs), settings.held_out, settings.seed)
    accompaniments = [pair.accompaniment for pair in pairs]
    count = len(pairs)
    targets = torch.tensor([TARGETS[p.choice] for p in pairs])
    choices = [p.choice for p in pairs]
    torch.manual_seed(settings.seed)
    ensemble, encoded = _ensemble_and_inputs(settings, [p.a for p in pairs] + [p.b for p in pairs],
                                             accompaniments + accompaniments)
    rng = np.random.default_rng(settings.seed)
    bar = None
    if progress:
        bar = tqdm(total=settings.members * settings.epochs, desc="reward model", unit="epoch")
    for member in ensemble.members:
        _train_member(member, train, encoded, targets, choices, settings, rng, bar)
    if bar is not None:
        bar.close()
    ensemble.eval()
    with torch.no_grad():
        scores = ensemble.forward_members(*encoded).mean(dim=0).numpy()

    def figures(rows: np.ndarray) -> dict[str, float | int]:
        chosen = [choices[i] for i in rows]
        a, b = scores[rows], scores[rows + count]
        return {"pairs": int(len(rows)),
                "accuracy": accuracy(a, b, chosen) if len(rows) else float("nan"),
                "log_likelihood": log_likelihood(a, b, chosen) if len(rows) else float("nan")}

    ensemble.card = {
        "labels": count,
        "by_choice": dict(Counter(choices)),
        "by_labeler": dict(Counter(p.labeler or "unknown" for p in pairs)),
        "accompaniments": dict(Counter(str(a) for a in accompaniments)),
        "training": figures(train),
        "held_out": figures(held),
        "settings": dict(vars(settings)),
        "seconds": round(time.perf_counter() - started, 1),
        "trained": time.strftime("%Y-%m-%d %H:%M:%S"),
        "torch": str(torch.__version__),
    }
    return ensemble


def _ensemble_and_inputs(settings: TrainingSettings, melodies: list[np.ndarray],
                         accompaniments: list[str | None]
                         ) -> tuple[RewardEnsemble | PriorRewardEnsemble, tuple[torch.Tensor, ...]]:
    """A new ensemble of ``settings.net`` and its members' inputs for the melodies."""
    if settings.net == "lstm":
        tokens, context, lengths = encode_batch(melodies, accompaniments)
        return RewardEnsemble(settings.members, embedding_dim=settings.embedding_dim,
                              hidden_size=settings.hidden_size), (tokens, lengths, context)
    ensemble = PriorRewardEnsemble(settings.members, settings.note_rnn, settings.head_size,
                                   settings.components,
                                   finetune=settings.finetune_learning_rate > 0)
    encoded = ensemble.encode(melodies, accompaniments)
    first, *others = ensemble.members
    first.standardise(encoded.hidden, encoded.features, encoded.mask)
    fitted = {name: first.get_buffer(name) for name, _ in first.named_buffers()}
    for member in others:  # the same melodies: the same projection and scale
        for name, value in fitted.items():
            member.get_buffer(name).copy_(value)
    return ensemble, encoded.tensors()


def _train_member(member: nn.Module, train: np.ndarray,
                  encoded: tuple[torch.Tensor, ...], targets: torch.Tensor,
                  choices: list[str], settings: TrainingSettings, rng: np.random.Generator,
                  bar: Any) -> None:
    """Trains one member on a bootstrap sample of ``train``, early-stopped on the rest.

    ``encoded`` holds the member's inputs (tensors whose rows are melodies) for every pair's
    melody ``a`` and then every melody ``b``; the member keeps its state of best out-of-bag
    log-likelihood.
    """
    count = len(choices)
    loss_function = nn.BCEWithLogitsLoss()
    sample = rng.choice(train, size=len(train), replace=True) if len(train) else train
    out_of_bag = np.setdiff1d(train, sample)  # about 37%: this member's early stopping
    groups = (member.parameter_groups(settings.learning_rate, settings.finetune_learning_rate)
              if hasattr(member, "parameter_groups") else member.parameters())
    optimizer = torch.optim.Adam(groups, lr=settings.learning_rate,
                                 weight_decay=settings.weight_decay)
    best, best_state, waited = -np.inf, copy.deepcopy(member.state_dict()), 0
    for epoch in range(settings.epochs):
        member.train()
        sample = rng.permutation(sample)
        for start in range(0, len(sample), settings.batch_size):
            rows = torch.as_tensor(sample[start:start + settings.batch_size])
            both = torch.cat([rows, rows + count])
            scores = member(*(tensor[both] for tensor in encoded))
            half = len(rows)
            loss = loss_function(scores[:half] - scores[half:], targets[rows])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(member.parameters(), 5.0)
            optimizer.step()
        if bar is not None:
            bar.update()
        if len(out_of_bag) == 0:
            continue
        member.eval()
        with torch.no_grad():
            both = torch.as_tensor(np.r_[out_of_bag, out_of_bag + count])
            scores = member(*(tensor[both] for tensor in encoded)).numpy()
        fit = log_likelihood(scores[:len(out_of_bag)], scores[len(out_of_bag):],
                             [choices[i] for i in out_of_bag])
        if fit > best:
            best, best_state, waited = fit, copy.deepcopy(member.state_dict()), 0
        else:
            waited += 1
            if waited >= settings.patience:
                if bar is not None:  # the epochs early stopping skips: the bar ends at its total
                    bar.update(settings.epochs - epoch - 1)
                break
    if len(out_of_bag):
        member.load_state_dict(best_state)
    member.eval()


def model_card(card: dict[str, Any], command: str = "") -> str:
    """The model card of a trained ensemble, as Markdown."""
    held, train = card["held_out"], card["training"]

    def percent(value: float) -> str:
        return "-" if value != value else f"{100 * value:.1f}%"

    def number(value: float) -> str:
        return "-" if value != value else f"{value:.3f}"

    settings = card["settings"]
    if settings.get("net", "lstm") == "lstm":
        nets = (f"{settings['members']} LSTM nets over the melody's Note-RNN tokens and what "
                "the accompaniment sounds at each 16th")
    else:
        frozen = ("fine-tuned" if settings.get("finetune_learning_rate") else "frozen")
        nets = (f"{settings['members']} heads over the {frozen} Note-RNN "
                f"{settings['note_rnn']!r}'s hidden states, with the position in the bar, "
                "the intervals and what the accompaniment sounds at each 16th")
    lines = [
        "# Preference reward model card",
        "",
        f"A Bradley-Terry reward model of pairwise melody preferences: an ensemble of {nets}; "
        "the reward is the members' mean score of the finished melody. Load it with "
        "`rewards.preferences.load_reward_model`, or use it as "
        "the `preference` reward (`reward_kwargs={'preference': {'model': 'model.pt'}}`).",
        "",
        "## Labels",
        "",
        f"{card['labels']:,} comparisons (skips left out): "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(card["by_choice"].items())) + ".",
        "",
        "| labeler | labels |",
        "|---|---|",
        *[f"| {name} | {count:,} |" for name, count in sorted(card["by_labeler"].items())],
        "",
        "Accompaniments: " + ", ".join(f"{k} {v:,}" for k, v in
                                       sorted(card["accompaniments"].items())) + ".",
        "",
        "## Accuracy",
        "",
        "| pairs | count | accuracy (non-tie pairs) | Bradley-Terry log-likelihood |",
        "|---|---|---|---|",
        f"| held out | {held['pairs']:,} | {percent(held['accuracy'])} | "
        f"{number(held['log_likelihood'])} |",
        f"| training | {train['pairs']:,} | {percent(train['accuracy'])} | "
        f"{number(train['log_likelihood'])} |",
        "",
        "Chance is 50%. MusicRL's reward model reached about 60% on held-out pairs of real "
        "users' labels.",
        "",
        "## Training",
        "",
        ", ".join(f"{k} {v}" for k, v in card["settings"].items())
        + f". {card['seconds']} s, torch {card['torch']}, {card['trained']}.",
    ]
    if command:
        lines += ["", "```bash", command, "```"]
    return "\n".join(lines) + "\n"
