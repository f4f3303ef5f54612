"""The throughput benchmark runs (a smoke run; its figures are printed, never asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "throughput.py"


def test_throughput_benchmark_prints_its_table():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                            text=True, check=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert lines[0] == "| figure | value | relative | target |"
    figures = [line.split(" | ")[0].lstrip("| ") for line in lines[1:]]
    assert figures[0] == "CartPole-v1, unwrapped"
    for expected in ("scalar env + theory reward", "vector env N=1024 + theory (count)",
                     "vector env N=1024 + theory (binary)", "vector env N=1024 + theory (decay)",
                     "vector env N=64: Note-RNN cost per env-step",
                     "Note-RNN step, N=64: arithmetic rate", "RL Tuner statistics",
                     "PPO, 16 envs", "memory per env", "Note-RNN weights"):
        assert any(figure.startswith(expected) for figure in figures), expected
    assert all(len(line.split(" | ")) == 4 for line in lines)  # every row has its 4 cells


@pytest.mark.parametrize("agent", ["ppo", "note_rnn_ppo"])
def test_time_to_quality_prints_its_curve_and_saves_an_evaluable_run(tmp_path, agent):
    out = tmp_path / "ttq"
    result = subprocess.run([sys.executable, "-m", "benchmarks.time_to_quality",
                             "--agent", agent,
                             "--max-steps", "2048", "--eval-every", "1024", "--episodes", "64",
                             "--n-envs", "8", "--hyperparams", "n_steps=64", "batch_size=256",
                             "--out", str(out)], cwd=SCRIPT.parents[1], capture_output=True,
                            text=True, check=True, timeout=600)
    curve = [line for line in result.stdout.splitlines() if " steps  repeated " in line]
    assert len(curve) >= 2 and "1,024 steps" in curve[0]  # one row per evaluation
    assert "Q quality at" in result.stdout or "not reached within" in result.stdout
    import json

    saved = json.loads((out / "curve.json").read_text())
    assert saved["batched"] and len(saved["curve"]) == len(curve)
    assert saved["reference log-likelihood"] < 0
    assert all(point["process_seconds"] > 0 for point in saved["curve"])
    if agent == "note_rnn_ppo":  # under KL control: no note_rnn reward; the table's Note-RNN
        assert saved["env_kwargs"]["reward"] == "theory"
        assert saved["hyperparams"]["note_rnn"] == "rl_tuner"
    from mammad_cli import main

    assert main(["evaluate", str(out / "model.zip"), "-n", "8", "--no-progress"]) == 0


def test_pipeline_speed_prints_its_table():
    result = subprocess.run([sys.executable, "-m", "benchmarks.pipeline_speed", "--quick",
                             "--rounds", "1"], cwd=SCRIPT.parents[1], capture_output=True,
                            text=True, check=True, timeout=600)
    lines = [line for line in result.stdout.splitlines()
             if line.startswith("| ") and not line.startswith("| figure")]
    rows = [line.split(" | ")[0].lstrip("| ") for line in lines]
    assert [row.split(",")[0] for row in rows] == [
        "PPO training", "PPO training", "env share of training time (in the env's step)",
        "batched env stepped alone", "mammad evaluate -n 500 (new process)"]
    share, cartpole_share = (float(cell.split("%")[0].split()[-1])
                             for cell in lines[2].split(" | ")[1:3])
    assert 0 < share < 100 and 0 < cartpole_share < 100


def test_rlhf_benchmark_measures_the_loop_against_the_oracle(tmp_path):
    out = tmp_path / "runs"
    result = subprocess.run([sys.executable, "-m", "benchmarks.rlhf", "--quick", "--out",
                             str(out)], capture_output=True, text=True, check=True,
                            cwd=SCRIPT.parents[1], timeout=600)
    lines = result.stdout.splitlines()
    target = next(line for line in lines if line.startswith("| `benchmarks.tastes:high_register`"))
    assert len(target.split(" | ")) == 7 and "oracle" in result.stdout
    rows = [line for line in lines if line.startswith("| 16 |") or line.startswith("| 32 |")]
    assert len(rows) == 2 and all(len(row.split(" | ")) == 12 for row in rows)  # + kept round
    root = out / "benchmarks.tastes__high_register"
    assert (root / "seed_1" / "round_1" / "round.json").is_file()
    assert (root / "oracle_0" / "oracle.json").is_file() and (root / "best_of_n.json").is_file()
    again = subprocess.run([sys.executable, "-m", "benchmarks.rlhf", "--quick", "--out",
                            str(out)], capture_output=True, text=True, check=True,
                           cwd=SCRIPT.parents[1], timeout=600)
    assert [line for line in again.stdout.splitlines() if line.startswith("| 32 |")] == \
        rows[1:]  # every run was kept: read back, the same figures


def test_rlhf_benchmark_refuses_bad_label_counts(tmp_path):
    result = subprocess.run([sys.executable, "-m", "benchmarks.rlhf", "--labels", "150",
                             "--out", str(tmp_path)], capture_output=True, text=True,
                            cwd=SCRIPT.parents[1], timeout=120)
    assert result.returncode == 2 and "--labels [150] must be positive multiples" in \
        result.stderr
