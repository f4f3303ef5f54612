"""What the command line's tests share: a quick training command and a run's copy."""

import shutil
import sys
from pathlib import Path

from mammad_cli import main

PLUGIN = Path(__file__).parent / "plugin_package"
MAMMAD = [sys.executable, "-m", "mammad_cli"]
QUICK = ["--env", "MammadMelody-count-v0", "--env-kwargs", "steps=16", "--no-progress",
         "--eval-episodes", "6", "--samples", "2"]


def train(tmp_path, *extra):
    main(["train", "--runs-dir", str(tmp_path / "runs"), *QUICK, *extra])
    runs = sorted((tmp_path / "runs").iterdir())
    return runs[-1]


def copy_run(run, tmp_path):
    return Path(shutil.copytree(run, tmp_path / run.name))
