import csv
import json
import zipfile

import numpy as np
import pytest
import torch
from stable_baselines3.common.logger import configure

from agents import make_agent
from agents.model_files import load_model
from agents.prior import NoteRNNFeatures, NoteRNNPPO
from agents.rollouts import play_episodes
from mammad_envs.compat import make_vector
from rewards.note_rnn import NoteRNN
from rewards.note_rnn.batched import action_tokens
from rewards.note_rnn.tokens import START_TOKEN

RL_TUNER_SETTING = {"encoding": "count", "steps": 32, "pitch_range": [48, 83],
                    "accompaniment": None}
SLOW = pytest.mark.slow  # 1,000 melodies each: the quick loop keeps RL Tuner's setting
CASES = [
    pytest.param("MammadMelody-binary-v0", {"steps": 32}, "default", marks=SLOW),
    pytest.param("MammadMelody-count-v0", {"steps": 32}, "default", marks=SLOW),
    pytest.param("MammadMelody-decay-v0", {"steps": 32}, "default", marks=SLOW),
    pytest.param("MelodyEnv-v0", {"encoding": "binary_stack", "steps": 32,
                                  "pitch_range": [55, 79]}, "default", marks=SLOW),
    pytest.param("MelodyEnv-v0", RL_TUNER_SETTING, "rl_tuner"),
]
LEAP_CASES = [CASES[1], CASES[-1]]
"""The cases run again with the leap rule's features shown to the head."""
LEAPS = {"leap_features": True}
LEAP_HEAD = {"leap_features": True, "leap_head": True}


def note_rnn_samples(model: NoteRNN, tokens: torch.Tensor, n: int, steps: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Note-RNN samples over the env's actions, with the Note-RNN's own ``nn.LSTM`` path.

    Returns ``(actions (n, steps), log p over the actions (n, steps, actions))``.
    """
    generator = torch.Generator().manual_seed(seed)
    actions = torch.empty(n, steps, dtype=torch.long)
    log_probs = torch.empty(n, steps, len(tokens))
    with torch.no_grad():
        full, state = model.step(torch.full((n,), START_TOKEN), model.initial_state(n))
        for step in range(steps):
            restricted = torch.log_softmax(full[:, tokens], dim=-1)
            log_probs[:, step] = restricted
            actions[:, step] = torch.multinomial(restricted.exp(), 1, generator=generator)[:, 0]
            full, state = model.step(tokens[actions[:, step]], state)
    return actions.numpy(), log_probs.numpy()


@pytest.mark.parametrize(("env_id", "env_kwargs", "note_rnn", "leaps"),
                         [pytest.param(*case.values, {}, marks=case.marks) for case in CASES]
                         + [pytest.param(*case.values, leaps, marks=case.marks)
                            for case in LEAP_CASES for leaps in (LEAPS, LEAP_HEAD)])
def test_the_policy_starts_as_the_note_rnn_on_its_samples(env_id, env_kwargs, note_rnn, leaps):
    torch.manual_seed(0)
    model = make_agent("note_rnn_ppo", env_id, seed=0, env_kwargs=env_kwargs,
                       hyperparams={"note_rnn": note_rnn, "n_envs": 1, **leaps})
    n, steps = 1000, env_kwargs["steps"]
    tokens = torch.as_tensor(action_tokens(model.policy.lowest, model.policy.highest))
    actions, reference = note_rnn_samples(NoteRNN.pretrained(note_rnn), tokens, n, steps, seed=1)
    envs = make_vector(env_id, n, reward=None, **env_kwargs)
    observations, _ = envs.reset(seed=0)
    state, kls = None, []
    for step in range(steps):
        features, state = model.features(observations, state, np.full(n, step == 0))
        with torch.no_grad():
            log_pi = model.policy.action_log_probs(torch.as_tensor(features)).numpy()
        kls.append((np.exp(log_pi) * (log_pi - reference[:, step])).sum(axis=1))
        state.pending = actions[:, step].copy()
        observations, *_ = envs.step(actions[:, step])
    kl = np.mean(kls)
    assert kl < 1e-3, f"KL(pi_0 || Note-RNN) = {kl:.2e} nats per step"
    assert np.mean(kls) >= 0


@pytest.mark.parametrize("leap_features", [False, True])
def test_the_training_wrapper_and_predict_give_the_same_features(leap_features):
    model = make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=0, env_kwargs=RL_TUNER_SETTING,
                       hyperparams={"note_rnn": "rl_tuner", "n_envs": 4,
                                    "leap_features": leap_features})
    assert isinstance(model.env, NoteRNNFeatures)
    assert model.tracker.size == 256 + (5 * 36 + 4) * leap_features
    wrapped = model.env.reset()
    raw = make_vector("MelodyEnv-v0", 4, **RL_TUNER_SETTING)
    observations, _ = raw.reset(seed=0)
    rng = np.random.default_rng(0)
    state = None
    for step in range(40):  # past the end of a melody: both restart the Note-RNN
        features, state = model.features(observations, state,
                                         np.full(4, step % 32 == 0))
        np.testing.assert_allclose(features, wrapped, atol=1e-5)
        leaping = rng.random(4) < 0.5  # leaps of an octave, so that leaps are pending
        actions = np.where(leaping, (rng.integers(2, size=4) * 2 - 1) * 12 + 18,
                           rng.integers(model.action_space.n, size=4))
        state.pending = actions.copy()
        model.env.step_async(actions)
        wrapped, *_ = model.env.step_wait()
        observations, *_ = raw.step(actions)


def test_the_kl_penalty_is_taken_from_the_rewards():
    models = {}
    for beta in (0.0, 2.0):
        model = make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=3, env_kwargs=RL_TUNER_SETTING,
                           hyperparams={"note_rnn": "rl_tuner", "n_envs": 4, "n_steps": 16,
                                        "batch_size": 64, "kl_coef": beta})
        with torch.no_grad():  # move the policy away from the reference
            model.policy.action_net.bias.add_(torch.linspace(-1, 1, model.action_space.n))
        model.learn(64)  # one rollout; the update comes after it
        models[beta] = model
    plain, penalised = models[0.0].rollout_buffer, models[2.0].rollout_buffer
    np.testing.assert_array_equal(plain.actions, penalised.actions)
    policy = models[2.0].policy
    observations = torch.as_tensor(penalised.observations.reshape(64, -1))
    actions = torch.as_tensor(penalised.actions.reshape(64)).long()
    with torch.no_grad():
        log_ref = policy.reference_log_probs(observations).gather(1, actions[:, None])[:, 0]
    # log pi(a|s) of the policy that collected the rollout (the buffer keeps it); after the
    # update the buffer holds its arrays env by env (SB3's swap_and_flatten), rewards as they were
    flat = penalised.log_probs.reshape(64) - log_ref.numpy()
    sampled = flat.reshape(4, 16).T
    assert np.abs(sampled).max() > 0.01
    np.testing.assert_allclose(penalised.rewards, plain.rewards - 2.0 * sampled, atol=1e-4)


@pytest.mark.slow  # four rollouts and updates
def test_training_logs_the_kl_and_the_adaptive_coefficient_moves(tmp_path):
    model = make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=0, env_kwargs=RL_TUNER_SETTING,
                       hyperparams={"note_rnn": "rl_tuner", "n_envs": 8, "n_steps": 32,
                                    "batch_size": 128, "learning_rate": 3e-3,
                                    "kl_coef": 0.5, "kl_target": 0.01, "kl_horizon": 1000})
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(8 * 32 * 4)
    rows = list(csv.DictReader((tmp_path / "progress.csv").open()))
    assert len(rows) == 4
    kls = [float(row["kl/per_melody"]) for row in rows]
    assert kls[0] == pytest.approx(0.0, abs=1e-4)  # the first rollout is the reference's
    assert max(kls) > 0.01  # then the policy moves, above the tiny target
    coefficients = [float(row["kl/coef"]) for row in rows]
    assert coefficients[-1] > coefficients[0]  # KL above target: beta grows
    assert model.kl_coef > 0.5
    for row in rows:
        assert float(row["kl/per_step"]) * 32 == pytest.approx(float(row["kl/per_melody"]))


def test_play_episodes_measures_the_kl_and_plays_in_the_action_space():
    model = make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=0, env_kwargs=RL_TUNER_SETTING,
                       hyperparams={"note_rnn": "rl_tuner", "n_envs": 1})
    meter = model.measure_kl()
    melodies, _, _ = play_episodes(model, lambda n: make_vector("MelodyEnv-v0", n,
                                                                **RL_TUNER_SETTING), 64)
    assert meter.decisions == 64 * 32
    assert meter.per_step == pytest.approx(0.0, abs=1e-5)  # it plays as the reference
    struck = np.asarray(melodies)
    assert ((struck < 0) | ((struck >= 48) & (struck <= 83))).all()
    assert meter.statistics(32)["KL to the reference per melody (nats)"] == pytest.approx(
        meter.per_step * 32)


@pytest.mark.parametrize("leaps", [{}, LEAPS, LEAP_HEAD])
def test_a_saved_model_loads_weights_only_with_its_note_rnn(tmp_path, leaps):
    import gymnasium as gym

    env_kwargs = dict(RL_TUNER_SETTING)
    model = make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=0, env_kwargs=env_kwargs,
                       hyperparams={"note_rnn": "rl_tuner", "n_envs": 4, "n_steps": 16,
                                    "batch_size": 64, "kl_target": 5.0, **leaps})
    model.learn(64)
    model.save(tmp_path / "model.zip")

    def template():
        return make_agent("note_rnn_ppo", gym.make("MelodyEnv-v0", **env_kwargs), seed=0,
                          hyperparams={"note_rnn": "rl_tuner", "kl_target": 5.0, **leaps})

    loaded = load_model(NoteRNNPPO, tmp_path / "model.zip", template,
                        env=gym.make("MelodyEnv-v0", **env_kwargs))
    assert loaded.note_rnn == "rl_tuner" and loaded.kl_target == 5.0
    assert loaded.leap_features is bool(leaps)
    assert loaded.leap_head is loaded.policy.leap_head is ("leap_head" in leaps)
    assert loaded.tracker.size == model.tracker.size
    assert loaded.kl_controller.beta == pytest.approx(model.kl_coef)
    for key, value in model.policy.state_dict().items():
        torch.testing.assert_close(loaded.policy.state_dict()[key], value)
    observations = make_vector("MelodyEnv-v0", 8, **env_kwargs).reset(seed=0)[0]
    first, _ = loaded.predict(observations, deterministic=True)
    again, _ = model.predict(observations, deterministic=True)
    np.testing.assert_array_equal(first, again)


def test_a_model_saved_before_leap_features_loads_without_them(tmp_path):
    import gymnasium as gym

    model = make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=0, env_kwargs=RL_TUNER_SETTING,
                       hyperparams={"note_rnn": "rl_tuner", "n_envs": 1})
    model.save(tmp_path / "new.zip")
    with zipfile.ZipFile(tmp_path / "new.zip") as new, \
            zipfile.ZipFile(tmp_path / "old.zip", "w") as old:
        for item in new.infolist():
            content = new.read(item)
            if item.filename == "data":
                data = json.loads(content)
                del data["leap_features"]
                content = json.dumps(data).encode()
            old.writestr(item, content)
    loaded = NoteRNNPPO.load(tmp_path / "old.zip", env=gym.make("MelodyEnv-v0",
                                                                **RL_TUNER_SETTING))
    assert loaded.leap_features is False
    assert loaded.observation_space == model.observation_space


@pytest.mark.parametrize(("hyperparams", "message"), [
    ({"kl_coef": -1.0}, "kl_coef must be a number >= 0"),
    ({"kl_target": 0.0}, "kl_target"),
    ({"kl_horizon": 0}, "kl_horizon"),
    ({"kl_target": 6.0, "kl_limit": 5.0}, r"kl_limit \(5.0\) must be above kl_target \(6.0\)"),
    ({"note_rnn": "nosuch"}, "nosuch"),
    ({"leap_features": "yes"}, "leap_features must be true or false, got 'yes'"),
    ({"leap_head": True}, "leap_head needs leap_features: true"),
    ({"leap_features": True, "leap_head": 1}, "leap_head must be true or false, got 1"),
    ({"policy_kwargs": {"net_arch": [64]}}, "residual_arch and critic_arch, not net_arch"),
])
def test_bad_settings_are_refused_by_name(hyperparams, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=0, env_kwargs=RL_TUNER_SETTING,
                   hyperparams={"n_envs": 1, **hyperparams})


def test_the_kl_limit_reaches_the_controller_and_is_saved(tmp_path):
    model = make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=0, env_kwargs=RL_TUNER_SETTING,
                       hyperparams={"n_envs": 1, "note_rnn": "rl_tuner", "kl_target": 6.0,
                                    "kl_limit": 7.5})
    assert model.kl_controller.limit == 7.5
    model.save(tmp_path / "model.zip")
    assert NoteRNNPPO.load(tmp_path / "model.zip").kl_controller.limit == 7.5
    plain = make_agent("note_rnn_ppo", "MelodyEnv-v0", seed=0, env_kwargs=RL_TUNER_SETTING,
                       hyperparams={"n_envs": 1, "note_rnn": "rl_tuner"})
    assert plain.kl_controller.limit is None
