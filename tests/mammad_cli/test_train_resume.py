"""`mammad train --resume`: after Ctrl-C, SIGKILL or a crash; what it refuses."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mammad_cli import main
from tests.mammad_cli.helpers import MAMMAD, QUICK, copy_run, train


def test_failed_start_and_resume_mistakes(ppo_run, tmp_path, capsys):
    runs = tmp_path / "runs"
    with pytest.raises(SystemExit):
        main(["train", "--agent", "ppo", "--runs-dir", str(runs), "--hyperparams",
              "learnin_rate=1e-3", *QUICK])
    assert "rejected its hyperparameters" in capsys.readouterr().err
    assert not list(runs.glob("*"))  # a bad hyperparameter leaves no half-made run folder
    main(["train", "--resume", str(ppo_run), "--no-progress"])
    assert "is complete: 256 of 256 steps" in capsys.readouterr().out
    empty = tmp_path / "empty_run"
    empty.mkdir()
    (empty / "config.yml").write_text((ppo_run / "config.yml").read_text())
    with pytest.raises(SystemExit):
        main(["train", "--resume", str(empty)])
    assert "has no checkpoint to resume from" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", str(ppo_run / "model.zip"), str(ppo_run / "model.zip")])
    assert "give one model, got 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", str(ppo_run.parent)])
    assert "is a folder of runs, not a run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--agent", "ppo", "--env-kwargs", "steps32", "--runs-dir", str(runs)])
    assert "--env-kwargs entry 'steps32' is not name=value" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    runs = tmp_path / "runs"
    command = [*MAMMAD, "train", "--agent", "dqn", "--steps", "8000", "--checkpoint-every",
               "500", "--runs-dir", str(runs), "--hyperparams", "learning_starts=100",
               *QUICK]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not list(runs.glob("*/checkpoints/latest.zip")):
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    run = next(runs.iterdir())
    assert not (run / "model.zip").exists(), "the run was killed before it finished"
    from stable_baselines3 import DQN

    saved = DQN.load(run / "checkpoints" / "latest.zip").num_timesteps
    assert 500 <= saved < 8000
    assert (run / "checkpoints" / "latest_replay_buffer.npz").is_file()
    refused = subprocess.run([*MAMMAD, "train", "--resume", str(run), "--steps", "1"],
                             capture_output=True, text=True)
    assert refused.returncode == 2
    assert f"--steps 1 is below the {saved:,} steps that run" in refused.stderr
    result = subprocess.run([*MAMMAD, "train", "--resume", str(run), "--no-progress"],
                            capture_output=True, text=True, check=True)
    assert f"resuming {run} from step {saved:,} to 8,000" in result.stdout
    assert DQN.load(run / "model.zip").num_timesteps == 8000
    assert len((run / "command.txt").read_text().splitlines()) == 2


@pytest.mark.slow
def test_gail_run_resumes_with_its_reward_file(tmp_path):
    pytest.importorskip("imitation", reason="needs the imitation extra")
    runs = tmp_path / "runs"
    small = ["--hyperparams", "n_envs=2", "gen_kwargs={n_steps: 32, batch_size: 32}",
             "demo_batch_size=32", "max_windows=1"]
    main(["train", "--agent", "gail", "--steps", "128", "--checkpoint-every", "64",
          "--runs-dir", str(runs), *QUICK, *small])
    run = next(runs.iterdir())
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"latest.zip",
                                                                  "latest_reward.pt"}
    assert (run / "model_reward.pt").is_file()
    checkpoint = torch.load(run / "checkpoints" / "latest_reward.pt", weights_only=True)
    assert checkpoint["training_state"]["disc_step"] > 0  # Adam's state goes on at --resume
    (run / "model.zip").unlink()
    config = yaml.safe_load((run / "config.yml").read_text())
    config["steps"] = 256
    (run / "config.yml").write_text(yaml.safe_dump(config))
    main(["train", "--resume", str(run), "--no-progress"])
    from agents.imitation import GAILAgent

    assert GAILAgent.load(run / "model.zip").num_timesteps >= 256


def logged_terms(runs):
    """Whether a run under ``runs`` has logged its theory reward term to TensorBoard yet."""
    for folder in runs.glob("*/tb/*"):
        events = EventAccumulator(str(folder))
        events.Reload()
        if "reward_terms/theory" in events.Tags().get("scalars", []):
            return True
    return False


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_goes_on(tmp_path):
    runs = tmp_path / "runs"
    command = [*MAMMAD, "train", "--agent", "ppo", "--steps", "10000000", "--checkpoint-every",
               "10000000", "--runs-dir", str(runs), "--hyperparams", "n_steps=32",
               "batch_size=64", "--n-envs", "2", *QUICK]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.time() + 180
    while time.time() < deadline and not logged_terms(runs):
        time.sleep(0.5)  # until training has logged its first reward terms (slow when busy)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    run = next(runs.iterdir())
    assert "Traceback" not in err and "Exception ignored" not in err
    assert f"go on with: mammad train --resume {run}" in out
    from agents.model_files import saved_timesteps

    saved = saved_timesteps(run / "checkpoints" / "latest.zip")
    assert 0 < saved < 10_000_000 and not (run / "model.zip").exists()
    events = EventAccumulator(str(next((run / "tb").iterdir())))
    events.Reload()
    logged = [e.step for e in events.Scalars("reward_terms/theory")]

    total = saved + 128
    main(["train", "--resume", str(run), "--steps", str(total), "--no-progress"])
    assert saved_timesteps(run / "model.zip") >= total
    assert yaml.safe_load((run / "config.yml").read_text())["steps"] == total
    events = EventAccumulator(str(next((run / "tb").iterdir())))
    events.Reload()
    steps = [e.step for e in events.Scalars("reward_terms/theory")]
    assert len(steps) == len(set(steps)), "a step was logged twice"
    assert steps[: len(logged)] == [s for s in logged if s <= saved][: len(logged)]
    assert (run / "stats.json").is_file() and (run / "samples").is_dir()


def test_resume_refuses_another_agent_or_setting_and_a_held_run(ppo_run, tmp_path, capsys):
    run = copy_run(ppo_run, tmp_path)
    for extra, message in [(["--agent", "dqn"], "trains the agent 'ppo', not 'dqn'"),
                           (["--seed", "3"], "--seed would change it"),
                           (["--env", "MammadMelody-binary-v0", "--reward", "none"],
                            "--env, --reward would change it")]:
        with pytest.raises(SystemExit):
            main(["train", "--resume", str(run), *extra])
        assert message in capsys.readouterr().err
    from agents.runs import RunLock

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from agents.runs import RunLock\n"
        "with RunLock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(30)"),
        str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(SystemExit):
            main(["train", "--resume", str(run)])
        assert "is in use: another mammad process" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with RunLock(run):
        pass
    assert (run / "command.txt").read_text() == (ppo_run / "command.txt").read_text()


def test_resume_finishes_what_a_killed_run_left_out(ppo_run, tmp_path, capsys):
    run = copy_run(ppo_run, tmp_path)
    import shutil

    shutil.rmtree(run / "samples")
    (run / "stats.json").unlink()
    (run / ".partial-abc").mkdir()  # a scratch folder of the killed process
    main(["train", "--resume", str(run)])
    assert f"finished {run}: its statistics and samples" in capsys.readouterr().out
    assert json.loads((run / "stats.json").read_text())["compositions"] == 6
    assert len(list((run / "samples").glob("*.mid"))) == 2
    assert not (run / ".partial-abc").exists()
    main(["train", "--resume", str(run)])
    assert "is complete: 256 of 256 steps" in capsys.readouterr().out


def test_resume_honours_the_options_that_finish_a_run(ppo_run, tmp_path, capsys):
    run = copy_run(ppo_run, tmp_path)
    stats_before = (run / "stats.json").read_text()
    main(["train", "--resume", str(run), "--samples", "3", "--eval-episodes", "9"])
    assert f"finished {run}: its statistics and samples" in capsys.readouterr().out
    config = yaml.safe_load((run / "config.yml").read_text())
    assert (config["samples"], config["eval_episodes"]) == (3, 9)
    assert config["checkpoint_every"] == 64  # not given: the run's own
    assert json.loads((run / "stats.json").read_text())["compositions"] == 9
    assert (run / "stats.json").read_text() != stats_before
    assert len(list((run / "samples").glob("*.mid"))) == 3
    main(["train", "--resume", str(run), "--samples", "3"])  # the same value: nothing to do
    assert "is complete" in capsys.readouterr().out
    main(["train", "--resume", str(run), "--steps", "320", "--checkpoint-every", "32",
          "--no-progress"])
    assert yaml.safe_load((run / "config.yml").read_text())["checkpoint_every"] == 32
    assert "resuming" in capsys.readouterr().out


def test_a_pickled_replay_buffer_is_refused_and_a_complete_run_loads_nothing(tmp_path, capsys):
    from tests.agents.test_model_files import Touch

    run = train(tmp_path, "--agent", "dqn", "--steps", "200", "--checkpoint-every", "100",
                "--hyperparams", "learning_starts=50", "buffer_size=1000")
    checkpoints = run / "checkpoints"
    assert (checkpoints / "latest_replay_buffer.npz").is_file()
    marker = tmp_path / "ran"
    import pickle

    (checkpoints / "latest_replay_buffer.npz").unlink()
    (checkpoints / "latest_replay_buffer.pkl").write_bytes(pickle.dumps(Touch(marker)))
    main(["train", "--resume", str(run)])  # complete: nothing is loaded
    assert "is complete" in capsys.readouterr().out and not marker.exists()
    with pytest.raises(SystemExit):
        main(["train", "--resume", str(run), "--steps", "400", "--no-progress"])
    err = capsys.readouterr().err
    assert "latest_replay_buffer.pkl is a pickled replay buffer" in err
    assert "--trust-pickle" in err and not marker.exists()
