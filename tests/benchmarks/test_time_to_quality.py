"""The time-to-quality benchmark's settings per agent (the runs: tests/test_benchmarks.py)."""

from benchmarks import time_to_quality as ttq


def test_note_rnn_ppo_takes_the_benchmark_s_own_settings():
    args = ttq.parse_args(["--agent", "note_rnn_ppo"])
    assert args.eval_every == ttq.AGENT_DEFAULTS["note_rnn_ppo"]["eval_every"] == 4096
    hyperparams = ttq.training_settings(args)["hyperparams"]
    assert (hyperparams["n_steps"], hyperparams["batch_size"], hyperparams["kl_coef"]) == (
        8, 256, 0.3)
    assert hyperparams["learning_rate"] == 2e-3  # the YAML's MelodyEnv-v0 value stays
    assert hyperparams["note_rnn"] == ttq.NOTE_RNN


def test_the_command_line_overrides_the_benchmark_s_settings():
    args = ttq.parse_args(["--agent", "note_rnn_ppo", "--eval-every", "8192",
                           "--hyperparams", "kl_coef=1", "n_steps=32"])
    assert args.eval_every == 8192
    hyperparams = ttq.training_settings(args)["hyperparams"]
    assert (hyperparams["n_steps"], hyperparams["batch_size"], hyperparams["kl_coef"]) == (
        32, 256, 1)


def test_other_agents_keep_the_yaml_and_the_default_cadence():
    args = ttq.parse_args(["--agent", "ppo"])
    assert args.eval_every == ttq.EVAL_EVERY == 8192
    assert "kl_coef" not in ttq.training_settings(args)["hyperparams"]


def test_counts_and_the_theory_weight_must_be_positive(capsys):
    import pytest

    for argv, named in [(["--theory-weight", "0"], "--theory-weight"),
                        (["--episodes", "0"], "--episodes"),
                        (["--eval-every", "-5"], "--eval-every"),
                        (["--max-steps", "many"], "--max-steps")]:
        with pytest.raises(SystemExit) as exit_info:
            ttq.parse_args(argv)
        assert exit_info.value.code == 2
        assert f"argument {named}" in capsys.readouterr().err
