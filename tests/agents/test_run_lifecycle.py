"""Starting and resuming runs from plain values: checks first, results returned, no printing."""

import logging

import pytest
import yaml

from agents.run_lifecycle import (
    check_resume,
    env_arguments,
    new_run_config,
    resume_run,
    start_run,
)
from agents.training import RunResult, tensorboard_folder

TINY = {"n_steps": 32, "batch_size": 32}


def test_env_arguments_join_rewards_and_weights():
    assert env_arguments({"steps": 16}, "theory+note_rnn", {"theory": 2.0}) == {
        "steps": 16, "reward": "theory+note_rnn", "reward_weights": {"theory": 2.0}}
    assert env_arguments(None, "none") == {"reward": None}
    with pytest.raises(ValueError, match="unknown reward 'theroy'"):
        env_arguments({}, "theroy")


def test_env_arguments_parse_the_reward_spec_once_into_the_plans_spec(monkeypatch):
    import agents.run_lifecycle as lifecycle
    from rewards.base import plan_rewards

    calls = []

    def counted(*args):
        calls.append(args)
        return plan_rewards(*args)

    monkeypatch.setattr(lifecycle, "plan_rewards", counted)
    values = env_arguments({"steps": 16}, " theory + note_rnn ", {"note_rnn": 0.5})
    assert len(calls) == 1
    plan = plan_rewards(*calls[0])
    assert values["reward"] == plan.spec == "theory+note_rnn"
    assert values["reward_weights"] == plan.weights == {"note_rnn": 0.5}
    with pytest.raises(ValueError, match=r"reward_weights names \['gail'\]"):
        env_arguments({"reward_weights": {"gail": 1.0}}, "theory")


def test_new_run_config_checks_every_setting():
    config = new_run_config("ppo", env_kwargs={"steps": 16, "reward": "theory"}, n_envs=2,
                            hyperparams=TINY, steps=64, scalar_envs=True)
    assert config["hyperparams"]["n_envs"] == 2 and config["hyperparams"]["n_steps"] == 32
    assert (config["steps"], config["seed"], config["batched"]) == (64, 0, False)
    assert config["checkpoint_every"] == 10_000 and config["samples"] == 4
    for kwargs, message in [({"agent": "pop"}, "unknown agent 'pop'"),
                            ({"env_id": "Nope-v0"}, "unknown env 'Nope-v0'"),
                            ({"env_kwargs": {"steps": 0}}, "steps"),
                            ({"hyperparams": {"n_envs": "two"}}, "n_envs must be a positive")]:
        with pytest.raises(ValueError, match=message):
            new_run_config(**{"agent": "ppo", **kwargs})


def test_a_run_starts_resumes_and_finishes_without_printing(tmp_path, capsys, caplog):
    config = new_run_config("ppo", env_kwargs=env_arguments({"steps": 16}), n_envs=2,
                            hyperparams=TINY, steps=64, checkpoint_every=32, eval_episodes=3,
                            samples=1)
    result = start_run(tmp_path / "runs", config, ["train", "--agent", "ppo"], progress=False)
    run = result.run
    assert (result.status, result.exit_code, result.steps, result.total) == ("trained", 0, 64, 64)
    assert result.stats["compositions"] == 3 and "mean episode return" in result.stats
    assert result.tensorboard == run / "tb"
    assert (run / "command.txt").read_text() == "mammad train --agent ppo\n"

    assert resume_run(run, ["train", "--resume", "r"]).status == "complete"
    finished = resume_run(run, ["train", "--resume", "r"], eval_episodes=5)
    assert finished.status == "finished" and finished.stats["compositions"] == 5
    assert check_resume(run, agent="ppo", steps=128)["steps"] == 64
    with caplog.at_level(logging.INFO, logger="agents"):
        more = resume_run(run, ["train", "--resume", "r"], steps=128, progress=False)
    assert (more.status, more.steps) == ("trained", 128)
    assert f"resuming {run} from step 64 to 128" in caplog.messages
    assert yaml.safe_load((run / "config.yml").read_text())["steps"] == 128
    assert capsys.readouterr().out == ""  # the library prints nothing: the command line does

    for kwargs, message in [({"agent": "dqn"}, "trains the agent 'ppo', not 'dqn'"),
                            ({"changed": ["--seed"]}, "--seed would change it"),
                            ({"steps": 32}, "--steps 32 is below the 128 steps")]:
        with pytest.raises(ValueError, match=message):
            check_resume(run, **kwargs)


def test_without_tensorboard_a_warning_is_logged(tmp_path, monkeypatch, caplog):
    import agents.training as training

    monkeypatch.setattr(training, "find_spec", lambda name: None)
    with caplog.at_level(logging.WARNING, logger="agents"):
        assert tensorboard_folder(tmp_path) is None
    assert "TensorBoard is not installed" in caplog.text
    assert RunResult(tmp_path, "complete").tensorboard is None


@pytest.mark.parametrize("batched", [False, True])
def test_a_runs_envs_share_one_parse_of_the_reward_spec(tmp_path, monkeypatch, batched):
    """However many envs a run builds, each builder parses the spec once (plan_env_kwargs)."""
    from rewards import base

    calls = []
    real = base._reward_names
    monkeypatch.setattr(base, "_reward_names",
                        lambda reward: calls.append(reward) or real(reward))
    counts = {}
    for n_envs in (1, 3):
        calls.clear()
        config = new_run_config("ppo", env_kwargs=env_arguments({"steps": 16}, "theory"),
                                n_envs=n_envs, hyperparams=TINY, steps=32 * n_envs,
                                eval_episodes=2, samples=1, scalar_envs=not batched)
        result = start_run(tmp_path / f"runs{n_envs}", config, ["train"], progress=False)
        assert result.status == "trained"
        counts[n_envs] = len(calls)
    assert counts[3] == counts[1] == 4  # env_arguments, the check build, training, evaluation
