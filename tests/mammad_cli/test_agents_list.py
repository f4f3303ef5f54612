"""`mammad agents`: the registry, plugins through entry points."""

import os
import subprocess
import sys

import pytest

from mammad_cli import main
from tests.mammad_cli.helpers import MAMMAD, PLUGIN, QUICK


def test_agents_lists_every_agent(capsys):
    main(["agents"])
    out = capsys.readouterr().out
    for name in ("dqn", "qrdqn", "ppo", "a2c", "recurrent_ppo", "maskable_ppo", "gail", "airl",
                 "bc"):
        assert f"\n{name} " in "\n" + out


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
