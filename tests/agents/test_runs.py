import subprocess
import sys
import time

import pytest
import yaml

from agents.runs import (
    RunInUseError,
    RunLock,
    create_run_folder,
    read_config,
    remove_scratch,
    replace_folder,
    save_model_atomically,
    scratch_folder,
    write_text_atomically,
)

CONFIG = {"agent": "ppo", "env": "MammadMelody-count-v0", "seed": 0, "steps": 64,
          "env_kwargs": {"reward": "theory"}, "hyperparams": {"n_envs": 1}}


def test_run_folders_started_in_one_second_get_their_own_names(tmp_path, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
    folders = [create_run_folder(tmp_path, "MammadMelody-count-v0", "ppo", 0) for _ in range(3)]
    assert [f.name for f in folders] == ["MammadMelody-count-v0__ppo__0__1700000000",
                                         "MammadMelody-count-v0__ppo__0__1700000000_2",
                                         "MammadMelody-count-v0__ppo__0__1700000000_3"]
    assert all(f.is_dir() for f in folders)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from agents.runs import RunLock
with RunLock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(30)
"""


def test_a_run_held_by_another_process_is_refused(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunInUseError, match="is in use: another mammad process"):
            with RunLock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with RunLock(tmp_path):  # released when the holder died, however it died
        pass


def test_atomic_writes_leave_no_partial_files(tmp_path):
    path = write_text_atomically(tmp_path / "config.yml", "a: 1\n")
    assert path.read_text() == "a: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yml"]

    def fill(folder):
        (folder / "x.mid").write_text("new")

    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "old.mid").write_text("old")
    replace_folder(tmp_path / "samples", fill)
    assert [p.name for p in (tmp_path / "samples").iterdir()] == ["x.mid"]

    def fail(folder):
        (folder / "half.mid").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_folder(tmp_path / "samples", fail)
    assert [p.name for p in (tmp_path / "samples").iterdir()] == ["x.mid"]  # the old one stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yml", "samples"]


def test_leftovers_of_a_killed_process_are_removed(tmp_path):
    with scratch_folder(tmp_path) as scratch:
        (scratch / "model.zip").write_text("half")
        leftover = scratch.rename(tmp_path / f"{scratch.name}-kept")  # as if killed
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / ".partial-x").mkdir()
    remove_scratch(tmp_path)
    assert not leftover.exists() and not (tmp_path / "checkpoints" / ".partial-x").exists()


class FakeAgent:
    """Writes a model and a file beside it, as the imitation agents' save does."""

    num_timesteps = 5

    def save(self, path):
        path.write_text("model")
        path.with_name(f"{path.stem}_reward.pt").write_text("reward")


def test_save_model_atomically_moves_every_file(tmp_path):
    save_model_atomically(FakeAgent(), tmp_path / "model.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip", "model_reward.pt"]


def test_read_config_errors_name_the_file(tmp_path):
    (tmp_path / "config.yml").write_text("agent: [ppo\n")
    with pytest.raises(ValueError, match=r"config.yml is not valid YAML"):
        read_config(tmp_path)
    (tmp_path / "config.yml").write_text(yaml.safe_dump({**CONFIG, "agent": "nope"}))
    with pytest.raises(ValueError, match=r"names the agent 'nope', which is not registered"):
        read_config(tmp_path)
    (tmp_path / "config.yml").write_text(yaml.safe_dump({**CONFIG, "steps": "many"}))
    with pytest.raises(ValueError, match=r"steps must be a int, got 'many'"):
        read_config(tmp_path)
    (tmp_path / "config.yml").write_text(yaml.safe_dump({"agent": "ppo"}))
    with pytest.raises(ValueError, match=r"not a mammad run configuration \(missing"):
        read_config(tmp_path)
    (tmp_path / "config.yml").write_text(yaml.safe_dump(CONFIG))
    assert read_config(tmp_path) == CONFIG


def test_the_training_callbacks_are_still_reachable_from_runs():
    import agents.callbacks
    import agents.runs

    assert agents.runs.LatestCheckpoint is agents.callbacks.LatestCheckpoint
    assert agents.runs.RewardTermLogger is agents.callbacks.RewardTermLogger
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        agents.runs.nothing  # noqa: B018


def test_read_config_refuses_a_large_or_special_file_before_reading_it(tmp_path, monkeypatch):
    import os

    import agents.runs

    monkeypatch.setattr(yaml, "safe_load", lambda text: pytest.fail("parsed"))
    with open(tmp_path / "config.yml", "wb") as file:  # sparse: 1 MiB + 1, nothing written
        file.truncate(agents.runs.MAX_CONFIG_BYTES + 1)
    with pytest.raises(ValueError, match=r"run configuration '.*config.yml' is 1,048,577 bytes, "
                                         r"over the limit of 1,048,576 \(max_bytes, default "
                                         r"agents.runs.MAX_CONFIG_BYTES\): a run configuration "
                                         r"is a few kB: check the path, or pass a larger "
                                         r"max_bytes= to read it"):
        read_config(tmp_path)
    (tmp_path / "config.yml").write_text(yaml.safe_dump(CONFIG))
    size = (tmp_path / "config.yml").stat().st_size
    with pytest.raises(ValueError, match=f"is {size} bytes, over the limit of {size - 1} "):
        read_config(tmp_path, max_bytes=size - 1)
    (tmp_path / "config.yml").unlink()
    os.mkfifo(tmp_path / "config.yml")  # opening it would wait for a writer
    with pytest.raises(ValueError, match=r"config.yml' is a FIFO \(named pipe\), not a run "
                                         r"configuration: only regular files are read"):
        read_config(tmp_path)
    (tmp_path / "config.yml").unlink()
    (tmp_path / "config.yml").symlink_to(tmp_path / "config.yml")
    with pytest.raises(ValueError, match="config.yml' cannot be read: Too many levels of "
                                         "symbolic links"):
        read_config(tmp_path)
    (tmp_path / "config.yml").unlink()
    (tmp_path / "config.yml").mkdir()
    with pytest.raises(ValueError, match="config.yml' is a directory, not a run configuration"):
        read_config(tmp_path)
    (tmp_path / "config.yml").rmdir()
    (tmp_path / "config.yml").symlink_to(tmp_path / "gone.yml")
    with pytest.raises(ValueError, match="config.yml' does not exist .a symbolic link to a "
                                         "missing file"):
        read_config(tmp_path)
    (tmp_path / "config.yml").unlink()
    with pytest.raises(ValueError, match="is not a run folder: it has no config.yml"):
        read_config(tmp_path)
