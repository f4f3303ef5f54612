"""The throughput benchmark runs (a smoke run; its figures are printed, never asserted)."""

import subprocess
import sys
from pathlib import Path

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
