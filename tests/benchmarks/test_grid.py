"""The grid machinery: cells, the cache, killed cells, the local pool and the Ray backend."""

import doctest
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from importlib.util import find_spec
from pathlib import Path

import pytest

from benchmarks import encodings, grid
from benchmarks.grid import (
    Cell,
    CellFailedError,
    CellInUseError,
    GridError,
    read_cell,
    run_cell,
    run_grid,
)

REPO = Path(__file__).resolve().parents[2]
QUICK_PPO = {"n_envs": 4, "n_steps": 32, "batch_size": 64, "n_epochs": 1}

FAKE_TRAIN = """#!{python}
# Stands in for `python -m mammad_cli train ...`: a finished run folder, or a failure.
import json, os, sys, pathlib
args = sys.argv[1:]
runs = pathlib.Path(args[args.index("--runs-dir") + 1])
if os.environ.get("FAKE_FAIL"):
    print("boom: the fake run failed")
    sys.exit(3)
run = runs / "fake_run"
run.mkdir(parents=True)
(run / "config.yml").write_text("git_commit: abc123\\n")
(run / "stats.json").write_text(json.dumps({{"mean episode return": 1.0}}))
(run / "checkpoints").mkdir()
for name in ("model_64_steps.zip", "model_64_steps_replay_buffer.npz"):
    (run / "checkpoints" / name).write_bytes(b"x" * 64)
print("run folder:", run)
"""


@pytest.fixture
def fake_python(tmp_path):
    path = tmp_path / "fake_python"
    path.write_text(FAKE_TRAIN.format(python=sys.executable))
    path.chmod(0o755)
    return str(path)


def run_module(module, *args):
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)


def processes_mentioning(text):
    """The ids of the live processes whose command line holds ``text`` (Linux's /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:  # ended meanwhile
            pass
    return found


def snapshot(root):
    """Every file under root with its modification time."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in Path(root).rglob("*")
            if p.is_file()}


def test_module_examples():
    assert doctest.testmod(grid).failed == 0


def test_a_cell_has_a_stable_name_and_hash():
    cell = Cell("ppo", "MammadMelody-count-v0", "theory", seed=1, steps=256,
                env_kwargs={"steps": 16, "pitch_range": [48, 83]}, hyperparams=QUICK_PPO)
    same = Cell("ppo", "MammadMelody-count-v0", "theory", seed=1, steps=256,
                env_kwargs=["pitch_range=[48, 83]", "steps=16"],
                hyperparams=[f"{k}={v}" for k, v in QUICK_PPO.items()])
    assert cell == same and hash(cell) == hash(same) and cell.name == same.name
    assert cell.name.startswith("MammadMelody-count-v0__ppo__theory__acc-off__1__")
    assert Cell.from_dict(json.loads(json.dumps(asdict(cell)))) == cell
    others = [Cell("ppo", "MammadMelody-count-v0", "theory", seed=1, steps=512,
                   env_kwargs={"steps": 16, "pitch_range": [48, 83]}, hyperparams=QUICK_PPO),
              Cell("ppo", "MammadMelody-count-v0", "theory", seed=1, steps=256,
                   accompaniment=True, env_kwargs={"steps": 16, "pitch_range": [48, 83]},
                   hyperparams=QUICK_PPO)]
    assert len({cell.key, *(other.key for other in others)}) == 3


def test_a_cell_tells_mammad_train_everything():
    args = Cell("dqn", "MammadMelody-binary-v0", "theory+note_rnn", seed=2, steps=100,
                accompaniment=True, eval_episodes=5).train_args(Path("out"))
    assert args[:6] == ["train", "--agent", "dqn", "--env", "MammadMelody-binary-v0", "--reward"]
    assert "accompaniment=random" in args and "--hyperparams" not in args
    assert args[args.index("--runs-dir") + 1] == "out" and "--no-progress" in args
    off = Cell("dqn", "MammadMelody-binary-v0", "theory").train_args(Path("out"))
    assert "accompaniment=null" in off


@pytest.mark.parametrize("kwargs, message", [
    ({"agent": "p/po"}, "agent must be"),
    ({"seed": -1}, "seed must be"),
    ({"steps": 0}, "steps must be"),
    ({"accompaniment": "yes"}, "accompaniment must be"),
    ({"env_kwargs": {"accompaniment": None}}, "Cell(accompaniment=True/False)"),
    ({"hyperparams": ["n_envs"]}, "is not KEY=VALUE"),
])
def test_a_bad_cell_is_refused(kwargs, message):
    values = {"agent": "ppo", "env": "MammadMelody-count-v0", "reward": "theory", **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Cell(**values)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"backend": "dask"}, ValueError, "unknown backend 'dask'"),
    ({"workers": 0}, ValueError, "workers must be an integer >= 1"),
    ({"address": "auto"}, ValueError, "is for the Ray backend"),
    ({"cells": []}, ValueError, "no cells"),
    ({"cells": ["ppo"]}, TypeError, "takes Cell objects"),
])
def test_run_grid_checks_its_arguments(tmp_path, kwargs, error, message):
    values = {"cells": [Cell("ppo", "MammadMelody-count-v0", "theory")], **kwargs}
    with pytest.raises(error, match=message):
        run_grid(values.pop("cells"), tmp_path, progress=False, **values)
    assert not any(tmp_path.iterdir())


def test_the_ray_backend_without_ray_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ImportError, match=r"ray extra.*pip install ray"):
        run_grid([Cell("ppo", "MammadMelody-count-v0", "theory")], tmp_path, backend="ray",
                 progress=False)


def test_a_done_cell_is_cached_and_a_failed_one_redone(tmp_path, fake_python, monkeypatch):
    cell = Cell("ppo", "MammadMelody-count-v0", "theory", steps=64)
    first = run_cell(cell, tmp_path, command="grid --here", python=fake_python)
    folder = tmp_path / cell.name
    assert not first["cached"] and read_cell(folder)["run"] == "fake_run"
    assert first["grid_command"] == "grid --here" and first["git_commit"] == "abc123"
    assert first["command"].startswith("mammad train --agent ppo")
    checkpoints = folder / "fake_run" / "checkpoints"
    assert [p.name for p in checkpoints.iterdir()] == ["model_64_steps.zip"]  # buffer dropped
    before = snapshot(tmp_path)
    assert run_cell(cell, tmp_path, python=fake_python)["cached"]
    assert snapshot(tmp_path) == before

    other = Cell("ppo", "MammadMelody-count-v0", "theory", steps=64, seed=1)
    monkeypatch.setenv("FAKE_FAIL", "1")
    with pytest.raises(CellFailedError, match="exited with 3(.|\n)*boom"):
        run_cell(other, tmp_path, python=fake_python)
    assert (tmp_path / other.name / "train.log").is_file()
    assert read_cell(tmp_path / other.name) is None  # not done: the next grid redoes it
    monkeypatch.delenv("FAKE_FAIL")
    assert not run_cell(other, tmp_path, python=fake_python)["cached"]
    assert "boom" not in (tmp_path / other.name / "train.log").read_text()


def test_a_cell_in_use_is_left_alone(tmp_path, fake_python):
    from filelock import FileLock

    cell = Cell("ppo", "MammadMelody-count-v0", "theory", steps=64)
    (tmp_path / ".locks").mkdir()
    with FileLock(str(tmp_path / ".locks" / f"{cell.name}.lock")):
        with pytest.raises(CellInUseError, match="another process"):
            run_cell(cell, tmp_path, python=fake_python)
    run = tmp_path / cell.name / "some_run"  # a killed grid's orphan still training in it
    run.mkdir(parents=True)
    with FileLock(str(run / ".lock")):
        with pytest.raises(CellInUseError, match="still runs in"):
            run_cell(cell, tmp_path, python=fake_python)
    assert run.is_dir()  # not cleared under it
    assert not run_cell(cell, tmp_path, python=fake_python)["cached"]  # once it has ended
    assert not run.exists()


def test_run_grid_runs_the_rest_when_cells_fail(tmp_path, fake_python, monkeypatch):
    cells = [Cell("ppo", "MammadMelody-count-v0", "theory", steps=64, seed=seed)
             for seed in range(3)]
    run_cell(cells[0], tmp_path, python=fake_python)
    monkeypatch.setenv("FAKE_FAIL", "1")
    with pytest.raises(GridError, match=r"2 of 3 cells failed"):
        run_grid(cells + cells[:1], tmp_path, workers=2, progress=False, python=fake_python)
    monkeypatch.delenv("FAKE_FAIL")
    results = run_grid(cells, tmp_path, workers=2, progress=False, python=fake_python)
    assert [r["cached"] for r in results] == [True, False, False]
    assert [r["name"] for r in results] == [cell.name for cell in cells]


def test_run_grid_says_a_cell_is_held_elsewhere_not_failed(tmp_path, fake_python, capsys):
    from filelock import FileLock

    cells = [Cell("ppo", "MammadMelody-count-v0", "theory", steps=64, seed=seed)
             for seed in range(2)]
    (tmp_path / ".locks").mkdir()
    with FileLock(str(tmp_path / ".locks" / f"{cells[1].name}.lock")):
        with pytest.raises(GridError) as raised:
            run_grid(cells, tmp_path, progress=False, python=fake_python)
    message = str(raised.value)
    assert "cells failed" not in message
    assert f"1 of 2 cells were being run by another process sharing {tmp_path}" in message
    assert cells[1].name in message and read_cell(tmp_path / cells[0].name) is not None
    assert [r["cached"] for r in run_grid(cells, tmp_path, progress=False,
                                          python=fake_python)] == [True, False]


def test_the_encodings_grid_is_built_from_its_flags(capsys, tmp_path):
    assert encodings.main(["--quick", "--dry-run", "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"encodings grid: 8 cells (0 done), 256 steps each, in {tmp_path}")
    names = [line.split()[1] for line in lines[1:]]
    assert sorted(name.split("__")[0] for name in names) == sorted(
        f"MammadMelody-{e}-v0" for e in ("binary", "binary", "count", "decay") for _ in range(2))
    assert all("__ppo__theory__acc-off__" in name for name in names)

    def cells(*flags):
        args = encodings.build_parser().parse_args(list(flags))
        return encodings.build_cells(encodings.settings(args), args.hyperparams, args.quick)

    full = cells("--agents", "ppo", "dqn", "--rewards", "theory", "theory+note_rnn",
                 "--seeds", "3", "--steps", "1000")
    assert len(full) == 2 * 4 * 2 * 2 * 3 and {c.agent for c in full} == {"ppo", "dqn"}
    stacked = [c for c in full if "encoding=binary_stack" in c.env_kwargs]
    assert len(stacked) == 2 * 2 * 2 * 3 and {c.env for c in stacked} == {"MammadMelody-binary-v0"}
    assert {c.accompaniment for c in full} == {False, True}
    lstm = cells("--agents", "ppo", "--encodings", "count", "--memory-baseline")
    baseline = [c for c in lstm if c.agent == "recurrent_ppo"]
    assert len(lstm) == 2 * 2 * 5 and len(baseline) == 2 * 5
    assert {(c.env, c.env_kwargs) for c in baseline} == {("MammadMelody-binary-v0", ())}
    with_lstm = cells("--agents", "ppo", "recurrent_ppo", "--accompaniment", "on",
                      "--memory-baseline")
    assert len(with_lstm) == 2 * 4 * 5  # recurrent_ppo on every encoding, no second baseline
    quick = cells("--quick", "--memory-baseline", "--encodings", "count")
    assert [(c.agent, c.env) for c in quick] == [("ppo", "MammadMelody-count-v0")] * 2 + [
        ("recurrent_ppo", "MammadMelody-binary-v0")] * 2
    assert "n_envs=2" in quick[-1].hyperparams


@pytest.mark.parametrize("flags, message", [
    (["--agents", "nope"], "unknown agent 'nope'"),
    (["--rewards", "bogus"], "unknown reward 'bogus'"),
    (["--env-kwargs", "steps=0"], "steps must be a positive integer"),
    (["--env-kwargs", "accompaniment=null"], "with --accompaniment"),
    (["--env-kwargs", "encoding=count"], "choose the encodings with --encodings (from binary, "
                                         "count, decay, binary_stack)"),
    (["--encodings", "onehot"], "invalid choice: 'onehot'"),
    (["--address", "auto"], "--address is for --backend ray"),
])
def test_the_encodings_cli_refuses_bad_flags(tmp_path, flags, message):
    result = run_module("benchmarks.encodings", "--dry-run", "--root", tmp_path, *flags)
    assert result.returncode == 2 and message in result.stderr, result.stderr


@pytest.mark.slow
def test_the_quick_grid_runs_once_and_redoes_only_a_killed_cell(quick_grid, tmp_path):
    root = quick_grid.root
    assert "8 cells run, 0 cached" in quick_grid.stdout
    assert f"python -m benchmarks.report --root {root} --out {root / 'report.md'}" \
        in quick_grid.stdout  # a scratch page, not the committed one
    cells = sorted(p for p in root.iterdir() if p.name != ".locks")
    assert len(cells) == 8
    for folder in cells:
        record = read_cell(folder)
        assert record["grid_command"].startswith("python -m benchmarks.encodings --quick")
        run = folder / record["run"]
        assert {"config.yml", "model.zip", "stats.json", "tb"} <= {p.name for p in run.iterdir()}

    before = snapshot(root)
    rerun = run_module("benchmarks.encodings", "--quick", "--root", root, "--no-progress")
    assert rerun.returncode == 0 and "0 cells run, 8 cached" in rerun.stdout, rerun.stderr
    assert snapshot(root) == before  # nothing touched

    copy = tmp_path / "grid"
    shutil.copytree(root, copy)
    killed = sorted(p for p in copy.iterdir() if p.name != ".locks")[2]
    old_run = read_cell(killed)["run"]
    (killed / "cell.json").unlink()  # killed before it was marked done
    (killed / "partial.tmp").write_text("left by a killed run")
    before = {name: mtime for name, mtime in snapshot(copy).items()
              if not name.startswith(killed.name)}
    rerun = run_module("benchmarks.encodings", "--quick", "--root", copy, "--no-progress")
    assert rerun.returncode == 0 and "1 cells run, 7 cached" in rerun.stdout, rerun.stderr
    after = snapshot(copy)
    assert {name: after[name] for name in before} == before  # the other cells untouched
    assert read_cell(killed) is not None and not (killed / "partial.tmp").exists()
    assert not (killed / old_run).exists()


@pytest.mark.slow
def test_a_grid_stopped_mid_run_resumes_without_redoing_finished_cells(tmp_path):
    root = tmp_path / "grid"
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.encodings", "--quick",
                                "--encodings", "binary", "--root", str(root), "--workers", "1",
                                "--no-progress"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(root.glob("*/cell.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # the second cell's mammad train has started
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "the finished cells are kept" in err, out + err
    finished = list(root.glob("*/cell.json"))
    assert len(finished) == 1
    mtime = finished[0].stat().st_mtime_ns
    assert not processes_mentioning(str(root)), "a mammad train of the grid still runs"

    rerun = run_module("benchmarks.encodings", "--quick", "--encodings", "binary", "--root",
                       root, "--no-progress")
    assert rerun.returncode == 0 and "1 cells run, 1 cached" in rerun.stdout, rerun.stderr
    assert finished[0].stat().st_mtime_ns == mtime
    assert len(list(root.glob("*/cell.json"))) == 2


@pytest.mark.slow
def test_the_ray_backend_runs_cells_as_tasks(tmp_path):
    if find_spec("ray") is None:
        if os.environ.get("CI"):
            pytest.fail("ray is not installed, and CI must test the Ray backend: pip install ray")
        pytest.skip("ray is not installed (pip install ray; CI installs it)")
    quick = {"env_kwargs": {"steps": 16}, "steps": 128, "eval_episodes": 4}
    cells = [Cell("ppo", "MammadMelody-count-v0", "theory", hyperparams=QUICK_PPO, **quick),
             Cell("recurrent_ppo", "MammadMelody-binary-v0", "theory", **quick,
                  hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1})]
    broken = Cell("ppo", "MammadMelody-count-v0", "theory", hyperparams={"n_envs": 0}, **quick)
    with pytest.raises(GridError, match=rf"1 of 3 cells failed(.|\n)*{broken.name}"):
        run_grid([*cells, broken], tmp_path, backend="ray", workers=2, progress=False)
    results = run_grid(cells, tmp_path, backend="ray", workers=2, progress=False)
    assert [r["cached"] for r in results] == [True, True]
    for cell in cells:
        record = read_cell(tmp_path / cell.name)
        assert (tmp_path / cell.name / record["run"] / "stats.json").is_file()
