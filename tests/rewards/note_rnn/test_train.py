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
    assert "Octave-shift augmentation (`--keep-octave 0.5 --octave-decay 0.25`)" in card
    assert "| -12 semitones | 1 |" in card and "| +12 semitones | 1 |" in card
    model = NoteRNN.load(out / "note_rnn.pt")
    assert model.hidden_size == 16
    meta = model.metadata
    assert meta["data"]["train_tunes"] == 9 and meta["data"]["val_tunes"] == 1
    assert 0 < meta["validation"]["nll"] < 10
    assert len(meta["history"]) == 2
    assert meta["hyperparameters"]["octave_shift"] is True
    assert meta["hyperparameters"]["keep_octave"] == 0.5
    assert meta["hyperparameters"]["octave_decay"] == 0.25
    assert {"val_nll_-12", "val_nll_+12"} <= set(meta["history"][0])
    down, up = meta["shifted_validation"]
    assert (down["shift"], up["shift"]) == (-12, 12)
    assert down["nll_unshifted"] == pytest.approx(meta["validation"]["nll"])
    assert up["ratio"] == pytest.approx(up["nll_shifted"] / up["nll_unshifted"])
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


TINY = ["--data", "bundled", "--epochs", "1", "--batches-per-epoch", "3", "--batch-size", "4",
        "--window", "16", "--embedding-dim", "4", "--hidden-size", "8", "--threads", "1",
        "--no-progress"]


def test_octave_shift_is_an_option_and_runs_are_deterministic(tmp_path):
    weights = {}
    for name, extra in (("on", []), ("again", []), ("off", ["--no-octave-shift"])):
        main([*TINY, *extra, "--out", str(tmp_path / name)])
        weights[name] = NoteRNN.load(tmp_path / name / "note_rnn.pt")
    for key, value in weights["on"].state_dict().items():
        assert torch.equal(value, weights["again"].state_dict()[key])
    assert not all(torch.equal(value, weights["off"].state_dict()[key])
                   for key, value in weights["on"].state_dict().items())
    hp = weights["off"].metadata["hyperparameters"]
    assert hp["octave_shift"] is False and hp["keep_octave"] == 1.0
    assert "No octave-shift augmentation" in (tmp_path / "off" / "model_card.md").read_text()
    with pytest.raises(SystemExit, match="keep-octave"):
        main([*TINY, "--keep-octave", "2", "--out", str(tmp_path / "bad")])
    with pytest.raises(SystemExit, match="octave-decay"):
        main([*TINY, "--octave-decay", "0", "--out", str(tmp_path / "bad")])


def test_rollback_goes_on_from_the_best_epoch(tmp_path, monkeypatch):
    def run(name, *extra):
        scores = iter([1.0, 2.0, 0.5])  # epoch 2 is worse than epoch 1
        validation = []

        def scripted(model, melodies):  # the held-out tunes as written come first each epoch
            validation[:] = validation or [melodies]
            nll = next(scores, 0.5) if melodies is validation[0] else 1.0
            return {"nll": nll, "accuracy": 0.5}

        monkeypatch.setattr(train_module, "evaluate", scripted)
        main([*TINY, "--epochs", "3", "--lr-patience", "0", "--keep-epochs",
              "--out", str(tmp_path / name), *extra])
        return [NoteRNN.load(tmp_path / name / f"checkpoint_epoch{epoch:03d}.pt").state_dict()
                for epoch in (1, 2, 3)]

    rolled, kept = run("rollback"), run("no-rollback", "--no-rollback")
    for epoch in (0, 1):  # the same until the rollback
        for key, value in rolled[epoch].items():
            assert torch.equal(value, kept[epoch][key])
    assert not all(torch.equal(value, kept[2][key]) for key, value in rolled[2].items())
    history = NoteRNN.load(tmp_path / "rollback" / "note_rnn.pt").metadata["history"]
    assert [record["lr"] for record in history] == [3e-3, 3e-3, 1.5e-3]
    assert NoteRNN.load(tmp_path / "rollback" / "note_rnn.pt").metadata["best_epoch"] == 3


def test_folk_data_without_music21_is_a_clear_error(monkeypatch, tmp_path):
    from mammad_envs import corpus

    def missing():
        raise ImportError("no music21")

    monkeypatch.setattr(corpus.folk, "require_music21", missing)
    with pytest.raises(SystemExit, match=r"music21.*\.\[dataset\]"):
        main(["--data", "folk", "--out", str(tmp_path), "--no-progress"])


def test_train_defaults():
    args = train_module.parse_args([])
    assert isinstance(args, argparse.Namespace)
    assert args.data == "folk" and args.window == 128 and args.clip == 5.0
    # the settings of the shipped model (see its model card)
    assert (args.dropout, args.lr_patience, args.patience) == (0.1, 1, 6)
    assert not args.install
    assert args.octave_shift and args.keep_octave == train_module.KEEP_OCTAVE == 0.5
    assert args.octave_decay == train_module.OCTAVE_DECAY == 0.25
    assert not train_module.parse_args(["--no-octave-shift"]).octave_shift
    assert args.rollback and not train_module.parse_args(["--no-rollback"]).rollback
