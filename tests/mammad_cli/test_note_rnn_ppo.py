"""`note_rnn_ppo` through the command line: train, resume, evaluate and sample, KL reported."""

import json
import zipfile

import pytest
import yaml

from agents.model_files import pickled_entries
from mammad_cli import main
from tests.mammad_cli.helpers import train

PRIOR = ["--agent", "note_rnn_ppo", "--reward", "theory", "--n-envs", "4",
         "--hyperparams", "n_steps=16", "batch_size=64", "kl_target=4", "--checkpoint-every",
         "64"]


@pytest.mark.slow
def test_a_prior_run_trains_resumes_evaluates_and_samples_with_its_kl(tmp_path, capsys):
    run = train(tmp_path, *PRIOR, "--steps", "128")
    stats = json.loads((run / "stats.json").read_text())
    assert stats["KL to the reference per melody (nats)"] == pytest.approx(
        16 * stats["KL to the reference per step (nats)"])
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["hyperparams"]["note_rnn"] == "default"
    assert config["hyperparams"]["kl_target"] == 4
    # weights only: the file's pickled entries are rebuilt from config.yml
    assert "policy_class" in pickled_entries(run / "model.zip")
    # the adaptive beta, saved with the model: below the target KL (4 nats) it fell from 1
    assert json.loads(_data(run / "model.zip"))["kl_coef"] < 1.0
    assert main(["train", "--resume", str(run), "--steps", "256", "--no-progress"]) == 0
    assert yaml.safe_load((run / "config.yml").read_text())["steps"] == 256
    assert json.loads(_data(run / "model.zip"))["num_timesteps"] == 256
    capsys.readouterr()
    assert main(["evaluate", str(run / "model.zip"), "-n", "8", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| KL to the reference per step (nats) |" in out
    assert "| KL to the reference per melody (nats) |" in out
    assert main(["sample", str(run / "model.zip"), "-n", "2", "--no-wav",
                 "--out", str(tmp_path / "samples")]) == 0
    assert len(list((tmp_path / "samples").glob("*.mid"))) == 2


@pytest.mark.slow
def test_a_run_with_the_leap_features_and_head_resumes_and_evaluates(tmp_path, capsys):
    hyperparams_end = PRIOR.index("--checkpoint-every")
    run = train(tmp_path, *PRIOR[:hyperparams_end], "leap_features=true", "leap_head=true",
                *PRIOR[hyperparams_end:], "--steps", "128")
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["hyperparams"]["leap_features"] is config["hyperparams"]["leap_head"] is True
    assert "policy_class" in pickled_entries(run / "model.zip")  # weights only, as above
    assert main(["train", "--resume", str(run), "--steps", "256", "--no-progress"]) == 0
    data = json.loads(_data(run / "model.zip"))
    assert data["num_timesteps"] == 256 and data["leap_features"] and data["leap_head"]
    capsys.readouterr()
    assert main(["evaluate", str(run / "model.zip"), "-n", "8", "--no-progress"]) == 0
    assert "| KL to the reference per step (nats) |" in capsys.readouterr().out


def _data(path):
    with zipfile.ZipFile(path) as archive:
        return archive.read("data")
