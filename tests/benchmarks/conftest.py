"""The quick encodings grid, run once per test session for the tests that need real runs."""

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `benchmarks` is a folder of the checkout, not a package
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def quick_grid(tmp_path_factory):
    """``python -m benchmarks.encodings --quick`` into a fresh root (eight cells of 256 steps)."""
    root = tmp_path_factory.mktemp("encodings") / "grid"
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "benchmarks.encodings", "--quick", "--root",
                             str(root), "--workers", "2", "--no-progress"], cwd=REPO,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return SimpleNamespace(root=root, stdout=result.stdout, seconds=time.monotonic() - started)
