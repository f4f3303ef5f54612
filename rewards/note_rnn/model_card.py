"""The model card (``model_card.md``) written beside a trained Note RNN's weights."""

from __future__ import annotations

import math
from typing import Any

from rewards.note_rnn.tokens import NUM_CLASSES

__all__ = ["model_card"]


_ROLLBACK_TEXT = ("; at each halving training goes back to the best epoch's weights and Adam "
                  "state, `--rollback`")


def _patience_text(epochs: int) -> str:
    return "after every epoch" if epochs == 0 else f"after {epochs + 1} epochs in a row"


def _augmentation_text(hp: dict[str, Any]) -> str:
    keep = hp.get("keep_octave", 1.0)
    if not hp.get("octave_shift", False) or keep >= 1.0:
        return "No octave-shift augmentation (`--no-octave-shift`)."
    decay = hp.get("octave_decay", 1.0)
    drawn = ("drawn uniformly" if decay == 1.0
             else f"a shift of k octaves drawn with weight {decay} ** (|k| - 1)")
    return (f"Octave-shift augmentation (`--keep-octave {keep} --octave-decay {decay}`): a window "
            f"keeps its written octave with probability {keep} and is otherwise moved by a "
            f"multiple of 12 semitones among those that keep all its pitches in MIDI 21..108, "
            f"{drawn}.")


def _shifted_lines(shifted: list[dict[str, Any]]) -> list[str]:
    if not shifted:
        return []
    lines = [
        "## Across registers (held-out tunes shifted by octaves)",
        "",
        "The same held-out tunes scored whole from START as written and shifted by an octave "
        "(only the tunes whose every pitch stays in MIDI 21..108); ratio = shifted / as written.",
        "",
        "| shift | tunes | steps | NLL shifted | NLL as written | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for row in shifted:
        lines.append(f"| {row['shift']:+d} semitones | {row['tunes']} | {row['steps']:,} | "
                     f"{row['nll_shifted']:.3f} | {row['nll_unshifted']:.3f} | "
                     f"{row['ratio']:.3f} |")
    return [*lines, ""]


def model_card(metadata: dict[str, Any]) -> str:
    """The model card (Markdown) for a trained model.

    Args:
        metadata: The metadata stored with the weights (see :func:`train`).

    Returns:
        The text.
    """
    data, hp, val = metadata["data"], metadata["hyperparameters"], metadata["validation"]
    baselines = metadata["baselines"]
    lines = [
        "# Note RNN model card",
        "",
        "A next-event LSTM over melody tokens (88 piano pitches MIDI 21..108, HOLD, REST; input",
        "START), used as the reward RNN of RL-Tuner-style training: `log p(action | history)`.",
        "Load it with `rewards.note_rnn.NoteRNN.pretrained()`; see `docs/note_rnn.md`.",
        "",
        "## Data",
        "",
    ]
    if data["source"] == "folk":
        lines += [
            "Public-domain tunes from music21's corpus, converted with the lenient rules of "
            "`mammad_envs.corpus.load_folk_corpus` (rules version "
            f"{data['corpus_rules_version']}, music21 {data['music21']}): monophonic tunes only",
            "(tunes with chords or double stops dropped), triplets snapped to the 16th grid",
            "(dropped if snapping collapses notes), any metre, transposed to C major / A minor,",
            "octave-shifted into MIDI 48..83, repeats not expanded. The Essen collection is "
            "never used.",
            "",
            "| collection | tunes in corpus | kept | dropped (reasons) |",
            "|---|---|---|---|",
        ]
        for collection, counts in data["drops"].items():
            reasons = ", ".join(f"{reason} {count}" for reason, count in counts.items()
                                if reason not in ("seen", "kept"))
            lines.append(f"| {collection} | {counts['seen']} | {counts['kept']} | "
                         f"{counts['seen'] - counts['kept']} ({reasons or 'none'}) |")
        lines.append("")
    else:
        lines += ["The 10 bundled demonstration melodies (`mammad_envs.data.load_melodies()`): a",
                  "smoke-test model, not for use as a reward.", ""]
    lines += [
        f"Split by tune (seed {data['split_seed']}, {data['val_fraction']:.0%} held out):",
        "",
        "| split | tunes | steps (16ths) |",
        "|---|---|---|",
        f"| training | {data['train_tunes']} | {data['train_steps']:,} |",
        f"| validation | {data['val_tunes']} | {data['val_steps']:,} |",
        "",
        "## Model and training",
        "",
        f"Embedding {hp['embedding_dim']} -> one LSTM layer of {hp['hidden_size']} cells -> "
        f"linear to 90 classes; dropout {hp['dropout']} on the embedding and the LSTM output "
        "(training only).",
        f"{metadata['parameters']:,} parameters (float32, "
        f"{metadata['parameters'] * 4 / 1e6:.2f} MB).",
        "",
        f"Windows of {hp['window']} steps starting with START at a bar line or the tune's start, "
        f"batch {hp['batch_size']}, Adam (learning rate {hp['lr']}, L2 {hp['weight_decay']}; "
        f"halved {_patience_text(hp['lr_patience'])} whose validation NLL is not better by "
        f"{hp['min_delta']}{_ROLLBACK_TEXT if hp.get('rollback') else ''}), gradient-norm clip "
        f"{hp['clip']}, {hp['batches_per_epoch']} batches per epoch, early stopping after "
        f"{hp['patience']} epochs without a better "
        f"validation NLL, best epoch kept. {_augmentation_text(hp)} Seed {hp['seed']}.",
        f"Trained {metadata['epochs_run']} epochs in {metadata['train_minutes']:.1f} minutes on "
        f"{metadata['threads']} CPU thread(s) ({metadata['machine']}; "
        f"{metadata['total_minutes']:.1f} minutes in all with loading the cached corpus and "
        f"evaluating); best epoch {metadata['best_epoch']}. torch {metadata['torch']}.",
        "",
        "Command:",
        "",
        "```bash",
        metadata["command"],
        "```",
        "",
        "## Validation (held-out tunes, whole tunes scored from START)",
        "",
        "| model | NLL per step (nats) | accuracy |",
        "|---|---|---|",
        f"| Note RNN | {val['nll']:.3f} | {val['accuracy']:.1%} |",
        f"| bigram (add-one) | {baselines['bigram']['nll']:.3f} | "
        f"{baselines['bigram']['accuracy']:.1%} |",
        f"| unigram (add-one) | {baselines['unigram']['nll']:.3f} | "
        f"{baselines['unigram']['accuracy']:.1%} |",
        f"| uniform over 90 | {math.log(NUM_CLASSES):.3f} | - |",
        "",
        f"Accuracy on the steps that strike a pitch: {val['onset_accuracy']:.1%} "
        f"({val['onset_fraction']:.0%} of validation steps strike a pitch; most others are "
        "HOLD). RL Tuner's Note RNN reported 92% validation accuracy on its own data, which "
        "included HOLD-heavy sequences (where predicting HOLD is easy); the figures are not "
        "comparable.",
        "",
        *_shifted_lines(metadata.get("shifted_validation", [])),
        f"Trained {metadata['date']}.",
        "",
    ]
    return "\n".join(lines)
