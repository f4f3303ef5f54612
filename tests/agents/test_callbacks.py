"""The training callbacks: the steps' progress bar ends at its total."""

import pytest

from agents import make_agent
from agents.callbacks import StepsProgressBar, steps_to_run

SHORT = {"steps": 16}


@pytest.mark.parametrize(("agent", "hyperparams", "remaining", "expected"), [
    ("ppo", {"n_envs": 2, "n_steps": 32, "batch_size": 64}, 100, 128),
    ("ppo", {"n_envs": 2, "n_steps": 32, "batch_size": 64}, 128, 128),
    ("dqn", {"n_envs": 1, "learning_starts": 16}, 100, 100),
    ("dqn", {"n_envs": 1, "learning_starts": 16, "train_freq": 4}, 102, 104),
])
def test_the_bar_total_is_the_steps_learn_runs(agent, hyperparams, remaining, expected):
    model = make_agent(agent, "MammadMelody-count-v0", seed=0, env_kwargs=SHORT,
                       hyperparams=hyperparams)
    assert steps_to_run(model, remaining) == expected
    bar = StepsProgressBar()
    model.learn(remaining, callback=bar)
    assert model.num_timesteps == expected
    assert bar.pbar.total == bar.pbar.n == expected
