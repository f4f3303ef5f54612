"""Hostile arguments and run folders: one line of error, exit code 2, nothing written."""

import io
import subprocess
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from mammad_cli import main
from tests.mammad_cli.helpers import copy_run

CONFIG = {"agent": "ppo", "env": "MammadMelody-count-v0", "seed": 0, "steps": 64,
          "env_kwargs": {"steps": 16, "reward": "theory"}, "hyperparams": {"n_envs": 1}}


def files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def refused(argv: list[str], capsys, folder: Path) -> str:
    """Runs ``mammad argv`` in ``folder``; checks exit 2, one line, no file; returns it."""
    before = files_under(folder)
    with pytest.raises(SystemExit) as raised:
        main(argv)
    err = capsys.readouterr().err
    assert raised.value.code == 2
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert sum("error:" in line for line in err.splitlines()) == 1
    assert last.startswith(f"mammad {argv[0]}: error: ")
    assert files_under(folder) == before
    return last


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "a_folder").mkdir()
    return tmp_path


def fake_run(folder: Path, **changes) -> Path:
    folder.mkdir()
    (folder / "config.yml").write_text(yaml.safe_dump({**CONFIG, **changes}))
    (folder / "model.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    return folder


TRAIN = ["train", "--agent", "ppo", "--runs-dir", "runs", "--no-progress"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--n-envs", "100000000"], "at most 1,024 (agents.hyperparams.MAX_N_ENVS)"),
    (["--threads", "100000"], "THREADS_PER_CPU"),
    (["--steps", "1" + "0" * 29], "at most 10,000,000,000 (MAX_STEPS)"),
    (["--steps", "1e29"], "'1e29' is not an integer"),
    (["--seed", "1" + "0" * 20], "(MAX_SEED)"),
    (["--hyperparams", "batch_size=0"], "batch_size must be a positive integer, got 0"),
    (["--hyperparams", "n_steps=0"], "n_steps must be a positive integer, got 0"),
    (["--hyperparams", "n_envs=100000000"], "(agents.hyperparams.MAX_N_ENVS)"),
    (["--hyperparams", "policy=CnnPolicy"], "choose among ['MlpPolicy']"),
    (["--hyperparams-file", "a_folder"], "'a_folder' is a directory"),
])
def test_bad_train_arguments(extra, message, here, capsys):
    assert message in refused([*TRAIN, *extra], capsys, here)
    assert not (here / "runs").exists()


def test_hyperparameters_refused_by_the_agent_itself_leave_no_runs_folder(here, capsys):
    # batch_size=1 passes our checks; SB3's PPO refuses it when the agent is built
    line = refused([*TRAIN, "--hyperparams", "batch_size=1"], capsys, here)
    assert "batch_size" in line
    assert not (here / "runs").exists()


def test_a_runs_dir_that_is_a_file(here, capsys):
    line = refused(["train", "--agent", "ppo", "--runs-dir", "a_file"], capsys, here)
    assert "'a_file' is a file, not a folder" in line
    line = refused(["train", "--agent", "ppo", "--runs-dir", "a_file/runs"], capsys, here)
    assert "'a_file' (above 'a_file/runs') is a file" in line


@pytest.mark.parametrize(("argv", "message"), [
    (["sample", "run", "--bpm", "1e-300"], "1e-300 is not a tempo from 1 to 1000 bpm"),
    (["sample", "run", "--bpm", "nan"], "not a tempo"),
    (["sample", "run", "-n", "99999999"], "at most 10,000 (MAX_SAMPLES)"),
    (["evaluate", "run", "-n", "99999999999999"], "at most 1,000,000 (MAX_EPISODES)"),
    (["evaluate", "run", "--threads", "100000"], "THREADS_PER_CPU"),
    (["label", "--db", "x.db", "--pool", "note_rnn", "--steps", "99999999"],
     "at most 65,536 (MAX_MELODY_STEPS)"),
    (["label", "--db", "x.db", "--pool", "note_rnn", "--count", "99999999999"],
     "(MAX_EPISODES)"),
])
def test_bad_counts_and_sizes(argv, message, here, capsys):
    fake_run(here / "run")
    assert message in refused(argv, capsys, here)


def test_make_agent_refuses_bad_hyperparameters():
    from agents import make_agent

    for values, message in (({"batch_size": 0}, "batch_size must be a positive integer"),
                            ({"n_steps": -1}, "n_steps must be a positive integer"),
                            ({"policy": "CnnPolicy"}, "trains the policy 'MlpPolicy', not "
                                                      "'CnnPolicy'")):
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            make_agent("ppo", "MammadMelody-count-v0", hyperparams=values)


@pytest.mark.parametrize("command", [["evaluate"], ["sample", "--no-wav"], ["train", "--resume"]])
def test_a_module_env_id_in_a_run_is_refused(command, here, capsys):
    run = fake_run(here / "evil", env="this:Foo-v0")
    argv = [*command, str(run)] if command[0] == "train" else [command[0], str(run),
                                                               *command[1:]]
    line = refused(argv, capsys, here)
    assert "names the env 'this:Foo-v0'" in line and "MammadMelody ids are" in line


@pytest.mark.slow
def test_a_module_env_id_is_never_imported(tmp_path):
    run = fake_run(tmp_path / "evil", env="this:Foo-v0")
    script = ("import sys\nfrom mammad_cli import main\n"
              "for argv in (['evaluate', sys.argv[1]], ['train', '--resume', sys.argv[1]]):\n"
              "    try:\n        main(argv)\n    except SystemExit as exit:\n"
              "        assert exit.code == 2, exit.code\n"
              "from feedback.pool import fill_store\n"
              "try:\n    fill_store(None, sys.argv[1])\nexcept ValueError as error:\n"
              "    assert 'this:Foo-v0' in str(error), error\n"
              "assert 'this' not in sys.modules\nprint('not imported')\n")
    done = subprocess.run([sys.executable, "-c", script, str(run)], capture_output=True,
                          text=True, cwd=Path(__file__).parents[2], timeout=300)
    assert done.returncode == 0, done.stderr
    assert "not imported" in done.stdout


def test_a_zip_bomb_is_refused_before_it_is_read(here, capsys, monkeypatch):
    import agents.model_files

    monkeypatch.setattr(agents.model_files, "MAX_ENTRY_BYTES", 2**20)
    run = fake_run(here / "bomb")
    with zipfile.ZipFile(run / "model.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data", b"{" + b" " * (2**21) + b"}")
    assert (run / "model.zip").stat().st_size < 2**14
    line = refused(["evaluate", str(run)], capsys, here)
    assert ("its entry 'data' expands to 2,097,154 bytes, over the limit of 1,048,576 "
            "(agents.model_files.MAX_ENTRY_BYTES)") in line
    assert "bomb/model.zip" in line


def test_a_pickle_in_the_weights_is_refused(ppo_run, tmp_path, capsys):
    import torch

    run = copy_run(ppo_run, tmp_path)
    model = run / "model.zip"
    with zipfile.ZipFile(model) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    weights = io.BytesIO()
    torch.save({"harmless": Fraction(1, 2)}, weights)
    entries["policy.pth"] = weights.getvalue()
    with zipfile.ZipFile(model, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    line = refused(["evaluate", str(run), "-n", "2"], capsys, tmp_path)
    assert f"{model} holds weights (*.pth) with a pickled object (fractions.Fraction)" in line
