"""Tests of the Note-RNN training script (a tiny run on the bundled melodies)."""

import argparse
import math

import numpy as np
import pytest
import torch

from rewards.note_rnn import NUM_CLASSES, START_TOKEN, NoteRNN
from rewards.note_rnn import train as train_module
from rewards.note_rnn.train import Tune, main, ngram_baselines, sample_batch, split_by_tune


def test_smoke_training_run(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["--data", "bundled", "--epochs", "2", "--batches-per-epoch", "12",
                   "--batch-size", "4", "--window", "32", "--embedding-dim", "8",
                   "--hidden-size", "16", "--threads", "1", "--out", str(out), "--no-progress"])
    assert status == 0
    assert sorted(p.name for p in out.glob("checkpoint*")) == ["checkpoint_best.pt",
                                                               "checkpoint_last.pt"]
    card = (out / "model_card.md").read_text()
    assert "python -m rewards.note_rnn.train --data bundled" in card
    assert "bigram" in card and "unigram" in card
    model = NoteRNN.load(out / "note_rnn.pt")
    assert model.hidden_size == 16
    meta = model.metadata
    assert meta["data"]["train_tunes"] == 9 and meta["data"]["val_tunes"] == 1
    assert 0 < meta["validation"]["nll"] < 10
    assert len(meta["history"]) == 2
    assert NoteRNN.load(out / "checkpoint_last.pt").metadata["epoch"] == 2
    best = NoteRNN.load(out / "checkpoint_best.pt")
    assert best.metadata["epoch"] == meta["best_epoch"]
    for name, value in best.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value)
    assert "validation NLL" in capsys.readouterr().out


def test_keep_epochs_keeps_a_checkpoint_per_epoch(tmp_path):
    out = tmp_path / "run"
    main(["--data", "bundled", "--epochs", "3", "--batches-per-epoch", "2", "--batch-size", "4",
          "--window", "16", "--embedding-dim", "4", "--hidden-size", "8", "--threads", "1",
          "--out", str(out), "--no-progress", "--keep-epochs"])
    epochs = sorted(p.name for p in out.glob("checkpoint_epoch*.pt"))
    assert epochs == [f"checkpoint_epoch{epoch:03d}.pt" for epoch in (1, 2, 3)]
    assert NoteRNN.load(out / epochs[1]).metadata["epoch"] == 2
    assert not list(out.glob("*.partial"))


def test_folk_data_without_music21_is_a_clear_error(monkeypatch, tmp_path):
    from mammad_envs import corpus

    def missing():
        raise ImportError("no music21")

    monkeypatch.setattr(corpus.folk, "_require_music21", missing)
    with pytest.raises(SystemExit, match=r"music21.*\.\[dataset\]"):
        main(["--data", "folk", "--out", str(tmp_path), "--no-progress"])


def test_split_by_tune():
    train, val = split_by_tune(100, 0.1, seed=0)
    assert len(val) == 10 and len(train) == 90
    assert not set(train) & set(val)
    again = split_by_tune(100, 0.1, seed=0)
    np.testing.assert_array_equal(val, again[1])
    assert len(split_by_tune(10, 0.1, 0)[1]) == 1
    with pytest.raises(ValueError):
        split_by_tune(1, 0.1, 0)


def test_sample_batch_windows():
    tokens = np.arange(40) % NUM_CLASSES
    tunes = [Tune("a", "x", tokens, tokens, np.array([0, 16, 32]))]
    inputs, targets, mask = sample_batch(tunes, 16, 20, np.random.default_rng(0))
    assert inputs.shape == targets.shape == mask.shape == (16, 20)
    assert (inputs[:, 0] == START_TOKEN).all()
    torch.testing.assert_close(inputs[:, 1:], targets[:, :-1])
    assert set(targets[:, 0].tolist()) <= {0, 16, 32}
    short = targets[:, 0] == 32  # only 8 steps left in the tune
    assert (mask[short].sum(dim=1) == 8).all()
    assert (mask[~short].sum(dim=1) == 20).all()


def test_ngram_baselines():
    train = [np.array([0, 88, 1, 88]), np.array([0, 88, 1, 88])]
    val = [np.array([0, 88, 1, 88])]
    result = ngram_baselines(train, val)
    # unigram with add-one: counts 2+1 for 0 and 1, 4+1 for 88, 1 for the other 87
    total = 3 + 3 + 5 + 87
    expected = -(2 * math.log(3 / total) + 2 * math.log(5 / total)) / 4
    assert result["unigram"]["nll"] == pytest.approx(expected)
    assert result["unigram"]["accuracy"] == 0.5  # always guesses HOLD
    assert result["bigram"]["accuracy"] == 1.0
    # every transition (START-0, 0-88, 88-1, 1-88) seen twice out of twice: (2 + 1) / (2 + 90)
    assert result["bigram"]["nll"] == pytest.approx(-math.log(3 / 92))


def test_train_defaults():
    args = train_module.parse_args([])
    assert isinstance(args, argparse.Namespace)
    assert args.data == "folk" and args.window == 128 and args.clip == 5.0
    assert not args.install
