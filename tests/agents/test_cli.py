"""The `mammad` command line: run folders, sample, evaluate, resume, plugins, rl_zoo3."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from agents.cli import main
from mammad_envs.midi import load_midi

PLUGIN = Path(__file__).parent / "plugin_package"
MAMMAD = [sys.executable, "-m", "agents.cli"]
QUICK = ["--env", "MammadMelody-count-v0", "--env-kwargs", "steps=16", "--no-progress",
         "--eval-episodes", "6", "--samples", "2"]


def train(tmp_path, *extra):
    main(["train", "--runs-dir", str(tmp_path / "runs"), *QUICK, *extra])
    runs = sorted((tmp_path / "runs").iterdir())
    return runs[-1]


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ppo")
    return train(tmp_path, "--agent", "ppo", "--steps", "256", "--checkpoint-every", "64",
                 "--hyperparams", "n_steps=32", "batch_size=32", "--n-envs", "2",
                 "--reward", "theory+note_rnn", "--reward-weight", "theory=2")


def test_agents_lists_every_agent(capsys):
    main(["agents"])
    out = capsys.readouterr().out
    for name in ("dqn", "qrdqn", "ppo", "a2c", "recurrent_ppo", "maskable_ppo", "gail", "airl",
                 "bc"):
        assert f"\n{name} " in "\n" + out


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


def test_sample_writes_midi_png_and_wav(ppo_run, tmp_path, capsys):
    main(["sample", str(ppo_run / "model.zip"), "-n", "3", "--out", str(tmp_path / "s")])
    files = sorted(p.suffix for p in (tmp_path / "s").iterdir())
    assert files == [".mid"] * 3 + [".png"] * 3 + [".wav"] * 3
    assert "3 melodies" in capsys.readouterr().out
    main(["sample", str(ppo_run), "-n", "1", "--out", str(tmp_path / "n"), "--audio", "numpy"])
    assert (tmp_path / "n" / "sample_000.wav").stat().st_size > 1000


def test_evaluate_prints_and_writes_statistics(ppo_run, tmp_path, capsys):
    main(["evaluate", str(ppo_run / "model.zip"), "-n", "70", "--json",
          str(tmp_path / "stats.json")])
    captured = capsys.readouterr()
    assert "| notes not in key |" in captured.out and "70 compositions" in captured.out
    assert "melody" in captured.err  # the progress bar
    assert json.loads((tmp_path / "stats.json").read_text())["compositions"] == 70
    main(["evaluate", str(ppo_run / "model.zip"), "-n", "5", "--no-progress"])
    assert "melody" not in capsys.readouterr().err


def test_scalar_env_fallback_and_exponent_hyperparameters(tmp_path):
    run = train(tmp_path, "--agent", "ppo", "--steps", "64", "--scalar-envs", "--hyperparams",
                "n_steps=32", "batch_size=32", "learning_rate=1e-3", "--n-envs", "2")
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["batched"] is False and config["hyperparams"]["learning_rate"] == 0.001
    from stable_baselines3 import PPO

    assert PPO.load(run / "model.zip").learning_rate == 0.001


def test_clear_errors(ppo_run, tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    runs = ["--runs-dir", str(tmp_path)]
    cases = [
        (["train", "--agent", "pop"], "unknown agent 'pop'"),
        (["train", "--agent", "ppo", "--env", "Nope-v0", *runs], "unknown env 'Nope-v0'"),
        (["train", "--agent", "ppo", "--env", "CartPole-v1", *runs],
         "'CartPole-v1' is not a MammadMelody env: only the MammadMelody ids are supported"),
        (["train", "--agent", "ppo", "--reward", "theroy", *runs], "unknown reward 'theroy'"),
        (["train", "--agent", "ppo", "--n-envs", "0", *runs],
         "argument --n-envs: 0 is too small: it must be at least 1"),
        (["train", "--agent", "ppo", "--checkpoint-every", "0", *runs],
         "argument --checkpoint-every: 0 is too small"),
        (["train", "--agent", "ppo", "--samples", "-1", *runs],
         "argument --samples: -1 is too small: it must be at least 0"),
        (["train", "--agent", "ppo", "--steps", "ten", *runs], "'ten' is not an integer"),
        (["train", "--agent", "ppo", "--hyperparams", "n_envs=0", *runs],
         "n_envs must be a positive integer, got 0"),
        (["train", "--agent", "ppo", "--trust-pickle", *runs], "--trust-pickle applies to"),
        (["train", "--resume", str(tmp_path)], "is not a run folder"),
        (["sample", str(tmp_path / "missing.zip")], "does not exist"),
        (["sample", str(ppo_run), "--out", str(a_file)], "is a file: give a folder"),
        (["evaluate", str(ppo_run / "model.zip"), "-n", "0"], "argument -n: 0 is too small"),
        (["evaluate", str(ppo_run), "--json", str(tmp_path)], "is a folder: give a file name"),
        (["train"], "train needs --agent"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        assert "Traceback" not in err
    assert not list(tmp_path.glob("*__*"))  # no run folder left behind by a failed start

    import mammad_envs.audio as audio

    monkeypatch.setattr(audio.shutil, "which", lambda name: None)  # no fluidsynth here
    with pytest.raises(SystemExit):
        main(["sample", str(ppo_run), "--audio", "fluidsynth", "--out", str(tmp_path / "s")])
    assert "apt-get install fluidsynth timgm6mb-soundfont" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # checked before anything was written


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and "mammad-envs: list agents" in top
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for default in ("(default: 10,000;", "(default: runs)", "(default: 100;", "(default: 4;",
                    "(default: 1)", "(default: MammadMelody-count-v0)", "(default: theory)",
                    "(default: 100,000;", "(default: 0)"):
        assert default in text, default
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 1000)" in text and "the last line is JSON" in text


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


def test_corrupt_model_file(ppo_run, tmp_path, capsys):
    run = tmp_path / "copy"
    run.mkdir()
    (run / "config.yml").write_text((ppo_run / "config.yml").read_text())
    (run / "model.zip").write_bytes(b"PK\x03\x04 this is not a model")
    with pytest.raises(SystemExit):
        main(["evaluate", str(run / "model.zip")])
    assert "copy/model.zip is not a readable model file" in capsys.readouterr().err
    content = (ppo_run / "model.zip").read_bytes()
    (run / "model.zip").write_bytes(content[: len(content) - 300])  # truncated
    with pytest.raises(SystemExit):
        main(["sample", str(run)])
    assert "model.zip is not a readable model file (truncated" in capsys.readouterr().err
    (run / "config.yml").write_text("agent: ppo\nenv: [\n")
    with pytest.raises(SystemExit):
        main(["evaluate", str(run)])
    assert "config.yml is not valid YAML" in capsys.readouterr().err
    config = yaml.safe_load((ppo_run / "config.yml").read_text())
    (run / "config.yml").write_text(yaml.safe_dump({**config, "agent": "ppo2"}))
    with pytest.raises(SystemExit):
        main(["train", "--resume", str(run)])
    assert "names the agent 'ppo2', which is not registered" in capsys.readouterr().err


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
def test_plugin_agent_through_entry_points(tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(site), str(PLUGIN)], check=True, capture_output=True)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site),
                                                                 os.environ.get("PYTHONPATH",
                                                                                "")])}
    listing = subprocess.run([*MAMMAD, "agents"], capture_output=True, text=True, check=True,
                             env=environment).stdout
    assert "tiny_a2c" in listing and "plugin tiny-mammad-agent" in listing
    subprocess.run([*MAMMAD, "train", "--agent", "tiny_a2c", "--steps", "64", "--runs-dir",
                    str(tmp_path / "runs"), "--hyperparams", "n_envs=1", *QUICK],
                   check=True, capture_output=True, env=environment)
    run = next((tmp_path / "runs").iterdir())
    assert run.name.startswith("MammadMelody-count-v0__tiny_a2c__0__")
    assert (run / "model.zip").is_file()


@pytest.mark.slow
def test_rl_zoo3_trains_on_our_ids(tmp_path):
    subprocess.run([sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env",
                    "MammadMelody-binary-v0", "--gym-packages", "mammad_envs", "-conf",
                    "agents.zoo.ppo", "-n", "256", "--log-folder", str(tmp_path),
                    "--eval-freq", "-1", "-params", "n_steps:32", "batch_size:32"],
                   check=True, capture_output=True, text=True)
    folder = tmp_path / "ppo" / "MammadMelody-binary-v0_1"
    assert (folder / "MammadMelody-binary-v0.zip").is_file()
    assert "n_steps" in (folder / "MammadMelody-binary-v0" / "config.yml").read_text()


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


def copy_run(run, tmp_path):
    import shutil

    return Path(shutil.copytree(run, tmp_path / run.name))


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_goes_on(tmp_path):
    runs = tmp_path / "runs"
    command = [*MAMMAD, "train", "--agent", "ppo", "--steps", "10000000", "--checkpoint-every",
               "10000000", "--runs-dir", str(runs), "--hyperparams", "n_steps=32",
               "batch_size=64", "--n-envs", "2", *QUICK]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(runs.glob("*/tb/*/events*")):
        time.sleep(0.2)  # TensorBoard's file appears once training has started
    time.sleep(2.0)
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


def test_poisoned_files_are_refused_by_every_command(ppo_run, tmp_path, capsys):
    from tests.agents.test_model_files import poison

    run = copy_run(ppo_run, tmp_path)
    marker = tmp_path / "ran"
    poisoned = poison(run / "model.zip", "evil", marker)
    poisoned.replace(run / "model.zip")
    (run / "checkpoints" / "latest.zip").unlink()
    for argv in (["evaluate", str(run), "-n", "2"], ["sample", str(run), "-n", "1", "--out",
                                                   str(tmp_path / "s")]):
        with pytest.raises(SystemExit):
            main(argv)
        err = capsys.readouterr().err
        assert "model.zip holds pickled entries ['evil']" in err and "--trust-pickle" in err
    config = yaml.safe_load((run / "config.yml").read_text())
    (run / "config.yml").write_text(yaml.safe_dump({**config, "steps": 512}))
    with pytest.raises(SystemExit):
        main(["train", "--resume", str(run), "--no-progress"])
    assert "holds pickled entries ['evil']" in capsys.readouterr().err
    assert not marker.exists()
    main(["evaluate", str(run), "-n", "2", "--no-progress", "--trust-pickle"])
    assert marker.exists()  # the user said they trust it


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


def test_preference_train_from_a_store(tmp_path, capsys):
    import gymnasium as gym
    import numpy as np

    from feedback.labelers import make_labeler
    from rewards.preferences import PreferenceStore, load_reward_model

    rng = np.random.default_rng(0)
    db = tmp_path / "prefs.sqlite"
    with PreferenceStore(db) as store:
        tokens = []
        for accompaniment in ("march", None):
            melodies = [rng.choice(np.r_[55:80, -2], 16) for _ in range(60)]
            ids = store.add_melodies(melodies, "seed", accompaniment=accompaniment)
            tokens += store.new_pairs(list(zip(ids[::2], ids[1::2], strict=True)))
        labeler = make_labeler("synthetic:theory", temperature=0.5)
        pairs = [store.pair(token) for token in tokens]
        choices = labeler.label([p.a.events for p in pairs], [p.b.events for p in pairs],
                                [p.context.accompaniment for p in pairs])
        store.record_many([(p.token, c, labeler.name) for p, c in zip(pairs, choices,
                                                                     strict=True)])
        store.record(store.new_pair(*store.add_melodies(
            [np.full(16, 60), np.full(16, 62)], "seed")), "skip", "human:x")
    out = tmp_path / "pref_model"
    main(["preference", "train", "--db", str(db), "--out", str(out), "--members", "2",
          "--epochs", "3", "--no-progress"])
    assert "trained on 60 labels (held-out accuracy" in capsys.readouterr().out
    card = (out / "model_card.md").read_text()
    assert "| synthetic:theory | 60 |" in card and "mammad preference train --db" in card
    model = load_reward_model(out / "model.pt")
    assert model.card["labels"] == 60 and model.card["held_out"]["pairs"] == 12
    env = gym.make("MelodyEnv-v0", steps=4, accompaniment="march", reward="preference",
                   reward_kwargs={"preference": {"model": str(out / "model.pt")}})
    env.reset(seed=0)
    for _ in range(4):
        _, reward, terminated, _, _ = env.step(env.action_space.sample())
    assert terminated and np.isfinite(reward) and reward != 0
    for argv, message in [
        (["--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "x")],
         "none.sqlite' does not exist"),
        (["--db", str(db), "--out", str(out)], "exists already: choose a new --out"),
        (["--db", str(db), "--out", str(tmp_path / "y"), "--held-out", "1.5"],
         "held_out must be a fraction"),
    ]:
        with pytest.raises(SystemExit):
            main(["preference", "train", *argv])
        assert message in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists() and not (tmp_path / "y").exists()
