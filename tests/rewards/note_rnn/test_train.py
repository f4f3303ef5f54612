"""Tests of the Note-RNN training script (a tiny run on the bundled melodies)."""

import argparse

import pytest
import torch

from rewards.note_rnn import NoteRNN
from rewards.note_rnn import train as train_module
from rewards.note_rnn.train import main


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


def test_train_defaults():
    args = train_module.parse_args([])
    assert isinstance(args, argparse.Namespace)
    assert args.data == "folk" and args.window == 128 and args.clip == 5.0
    assert not args.install
