"""rl_zoo3 trains on the MammadMelody ids with the bundled hyperparameters (agents.zoo)."""

import subprocess
import sys

import pytest


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
