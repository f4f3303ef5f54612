"""`mammad train`: run folders, TensorBoard, scalar envs, runs started together."""

import json
import subprocess

import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mammad_envs.midi import load_midi
from tests.mammad_cli.helpers import MAMMAD, QUICK, train


def test_run_folder_contents(ppo_run):
    name = ppo_run.name.split("__")
    assert name[:3] == ["MammadMelody-count-v0", "ppo", "0"] and name[3].isdigit()
    config = yaml.safe_load((ppo_run / "config.yml").read_text())
    assert config["agent"] == "ppo" and config["steps"] == 256
    assert config["env_kwargs"] == {"steps": 16, "reward": "theory+note_rnn",
                                    "reward_weights": {"theory": 2.0}}
    assert config["hyperparams"]["n_steps"] == 32 and config["hyperparams"]["n_envs"] == 2
    assert config["batched"] is True  # PPO trains on the batched env
    assert len(config["git_commit"]) in (40, 7) or config["git_commit"] == "unknown"
    assert "torch" in config["versions"]
    assert (ppo_run / "command.txt").read_text().startswith("mammad train ")
    assert (ppo_run / "checkpoints" / "latest.zip").is_file()
    assert (ppo_run / "model.zip").is_file()
    stats = json.loads((ppo_run / "stats.json").read_text())
    assert stats["compositions"] == 6 and "notes in motif" in stats
    assert "mean episode return" in stats
    samples = sorted(p.name for p in (ppo_run / "samples").iterdir())
    assert samples == ["sample_000.mid", "sample_000.png", "sample_001.mid", "sample_001.png"]
    assert len(load_midi(ppo_run / "samples" / "sample_000.mid")) == 16


def test_tensorboard_logs_reward_terms(ppo_run):
    events = EventAccumulator(str(next((ppo_run / "tb").iterdir())))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert "reward_terms/theory" in tags and "reward_terms/note_rnn" in tags
    assert all(e.value <= 0 for e in events.Scalars("reward_terms/note_rnn"))


def test_scalar_env_fallback_and_exponent_hyperparameters(tmp_path):
    run = train(tmp_path, "--agent", "ppo", "--steps", "64", "--scalar-envs", "--hyperparams",
                "n_steps=32", "batch_size=32", "learning_rate=1e-3", "--n-envs", "2")
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["batched"] is False and config["hyperparams"]["learning_rate"] == 0.001
    from stable_baselines3 import PPO

    assert PPO.load(run / "model.zip").learning_rate == 0.001


@pytest.mark.slow
def test_two_runs_started_together_get_their_own_folders(tmp_path):
    runs = tmp_path / "runs"
    command = [*MAMMAD, "train", "--agent", "ppo", "--steps", "32", "--runs-dir", str(runs),
               "--hyperparams", "n_steps=16", "batch_size=32", "--n-envs", "2", *QUICK]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    folders = sorted(runs.iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert len((folder / "command.txt").read_text().splitlines()) == 1
        assert (folder / "model.zip").is_file() and (folder / "stats.json").is_file()
        assert len(list((folder / "tb").iterdir())) == 1
        assert not list(folder.glob(".partial-*"))


def test_a_finished_run_prints_its_return_and_the_next_commands(tmp_path, capsys):
    run = train(tmp_path, "--agent", "ppo", "--steps", "64", "--hyperparams", "n_steps=32",
                "batch_size=32", "--n-envs", "2")
    out = capsys.readouterr().out.splitlines()
    stats = json.loads((run / "stats.json").read_text())
    assert out[-5:] == [
        f"run folder: {run}",
        f"mean episode return: {stats['mean episode return']:.3f} over 6 episodes "
        f"({run / 'stats.json'})",
        f"evaluate it: mammad evaluate {run}",
        f"listen to it: mammad sample {run} --out samples",
        f"its curves: tensorboard --logdir {run / 'tb'}",
    ]


def test_each_ending_of_a_run_is_reported(tmp_path, capsys):
    from agents.training import RunResult
    from mammad_cli.train import report

    run = tmp_path / "my run"
    run.mkdir()
    stats = {"mean episode return": -1.25, "compositions": 100}
    assert report(RunResult(run, "trained", 0, 64, 64, stats)) == 0
    out = capsys.readouterr().out
    assert "mean episode return: -1.250 over 100 episodes" in out
    assert f"mammad evaluate '{run}'" in out  # quoted for the shell
    assert "tensorboard" not in out  # no logs: no command for them
    (run / "tb" / "tb_1").mkdir(parents=True)
    assert report(RunResult(run, "finished", 0, 64, 64, stats)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"finished {run}: its statistics and samples\nrun folder: {run}\n")
    assert f"tensorboard --logdir '{run / 'tb'}'" in out
    assert report(RunResult(run, "complete", 0, 64, 64)) == 0
    assert f"{run} is complete: 64 of 64 steps" in capsys.readouterr().out
    assert report(RunResult(run, "stopped", 143, 32, 64)) == 143
    assert f"stopped at step 32 of 64; checkpoint saved in {run / 'checkpoints'}" in \
        capsys.readouterr().out
    assert report(RunResult(run, "interrupted", 130, 64, 64)) == 130
    assert f"finish it with: mammad train --resume '{run}'" in capsys.readouterr().err
