import pytest

from tests.mammad_cli.helpers import train


@pytest.fixture(scope="session")
def ppo_run(tmp_path_factory):
    """A finished PPO run (256 steps) that tests read, or copy before changing it."""
    tmp_path = tmp_path_factory.mktemp("ppo")
    return train(tmp_path, "--agent", "ppo", "--steps", "256", "--checkpoint-every", "64",
                 "--hyperparams", "n_steps=32", "batch_size=32", "--n-envs", "2",
                 "--reward", "theory+note_rnn", "--reward-weight", "theory=2")
