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
    assert figures[0] == "CartPole-v1, unwrapped" and len(figures) == 9
