"""GAIL, AIRL and BC adapters: training, prediction, saving, callbacks, errors, the docs."""

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("imitation", reason="needs the imitation extra (docs/install.md)")
import torch
from imitation.data.wrappers import RolloutInfoWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback, EvalCallback
from stable_baselines3.common.monitor import Monitor

from agents import make_agent
from agents.hyperparams import load_hyperparams
from agents.imitation import AIRLAgent, BCAgent, GAILAgent, recreatable_spec
from agents.registry import agent_spec

torch.set_num_threads(1)

ENV_ID = "MammadMelody-decay-v0"
GEN = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs": {"net_arch": [32, 32]}}
SMALL = {
    "gail": {"n_envs": 2, "max_windows": 1, "demo_batch_size": 64, "gen_kwargs": GEN,
             "reward_net_kwargs": {"hid_sizes": [16]}},
    "airl": {"n_envs": 2, "max_windows": 1, "demo_batch_size": 64, "gen_kwargs": GEN,
             "reward_net_kwargs": {"reward_hid_sizes": [16], "potential_hid_sizes": [16]}},
    "bc": {"max_windows": 1, "batch_size": 32, "policy_kwargs": {"net_arch": [32, 32]}},
}
CLASSES = {"gail": GAILAgent, "airl": AIRLAgent, "bc": BCAgent}
ROUND = 2 * 64  # n_envs * n_steps


def small_agent(name, **overrides):
    return make_agent(name, ENV_ID, seed=0, hyperparams={**SMALL[name], **overrides})


def observations(n=8, seed=0):
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    batch = [obs]
    for step in range(n - 1):
        obs, *_ = env.step((7 * step) % env.action_space.n)
        batch.append(obs)
    return np.stack(batch)


def networks(agent):
    """Copies of the agent's trained tensors: the policy's, and the discriminator's if any."""
    reward_net = getattr(agent, "reward_net", None)
    return {f"{part}.{key}": value.detach().clone()
            for part, module in (("policy", agent.policy), ("reward_net", reward_net))
            if module is not None for key, value in module.state_dict().items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each agent trained a few hundred steps and saved."""
    folder = tmp_path_factory.mktemp("imitation")
    agents = {"initial": {}}  # "initial": each agent's networks before training
    for name in CLASSES:
        agent = small_agent(name)
        agents["initial"][name] = networks(agent)
        agent.learn(256)
        agent.save(folder / name)
        agents[name] = (agent, folder / f"{name}.zip")
    return agents


@pytest.mark.parametrize("name", ["gail", "airl", "bc"])
def test_trains_predicts_and_round_trips(trained, name):
    agent, path = trained[name]
    assert isinstance(agent, CLASSES[name])
    assert agent.num_timesteps >= 256
    initial, now = trained["initial"][name], networks(agent)
    assert initial.keys() == now.keys()
    for part in ("policy", "reward_net") if name != "bc" else ("policy",):
        assert any(not torch.equal(initial[key], now[key]) for key in now
                   if key.startswith(part + ".")), f"{name} never updated its {part}"
    batch = observations()
    actions, state = agent.predict(batch, deterministic=True)
    assert state is None and actions.shape == (len(batch),)
    assert all(agent.venv.action_space.contains(int(a)) for a in actions)
    single, _ = agent.predict(batch[0])
    assert agent.venv.action_space.contains(int(single))

    loaded = CLASSES[name].load(path)
    np.testing.assert_array_equal(loaded.predict(batch, deterministic=True)[0], actions)
    assert loaded.hyperparameters == agent.hyperparameters
    assert loaded.policy is loaded.algo.policy
    for key, value in agent.policy.state_dict().items():
        torch.testing.assert_close(loaded.policy.state_dict()[key], value)


@pytest.mark.parametrize("name", ["gail", "airl"])
def test_adversarial_artifacts(trained, name):
    agent, path = trained[name]
    reward_path = path.with_name(f"{name}_reward.pt")
    assert sorted(p.name for p in path.parent.glob(f"{name}*")) == [path.name, reward_path.name]
    payload = torch.load(reward_path, weights_only=True)
    assert payload["algorithm"] == name and payload["observations"] == "decay(0.9)"
    loaded = CLASSES[name].load(path)
    for key, value in agent.reward_net.state_dict().items():
        torch.testing.assert_close(loaded.reward_net.state_dict()[key], value)
    # a plain PPO file: SB3 reads it too
    plain = PPO.load(path)
    np.testing.assert_array_equal(plain.predict(observations(), deterministic=True)[0],
                                  agent.predict(observations(), deterministic=True)[0])


def _demo_log_likelihood(agent):
    from imitation.data import rollout

    transitions = rollout.flatten_trajectories(agent.demonstrations)
    obs = torch.as_tensor(np.array(transitions.obs), device=agent.device)
    acts = torch.as_tensor(np.array(transitions.acts), device=agent.device)
    with torch.no_grad():
        _, log_prob, _ = agent.policy.evaluate_actions(obs, acts)
    return float(log_prob.mean())


def test_bc_warm_start_clones_the_demonstrations_once(trained):
    agent = small_agent("gail", bc_warm_start_epochs=3)
    assert agent.hyperparameters["bc_warm_start_epochs"] == 3
    before = _demo_log_likelihood(agent)
    agent._warm_start()
    warm = _demo_log_likelihood(agent)
    assert warm > before + 0.5  # from uniform (log 1/90 = -4.5) towards the melodies
    weights = networks(agent)
    agent._warm_start()  # once only
    assert all(torch.equal(weights[key], value) for key, value in networks(agent).items())
    _, path = trained["gail"]  # trained without a warm start: a resumed agent never has one
    loaded = GAILAgent.load(path)
    loaded.hyperparameters["bc_warm_start_epochs"] = 3
    weights = networks(loaded)
    loaded._warm_start()
    assert all(torch.equal(weights[key], value) for key, value in networks(loaded).items())
    with pytest.raises(ValueError, match="bc_warm_start_epochs must be an integer >= 0"):
        small_agent("gail", bc_warm_start_epochs=-1)


def test_loaded_agent_trains_on_with_the_saved_env(trained):
    _, path = trained["gail"]
    loaded = GAILAgent.load(path)
    assert loaded.env_spec.id == ENV_ID and loaded.n_envs == 2
    before = loaded.num_timesteps
    loaded.learn(ROUND)
    assert loaded.num_timesteps == before + ROUND
    other = GAILAgent.load(path, env=make_agent_env(3))
    assert other.n_envs == 3 and other.algo.n_envs == 3


@pytest.mark.parametrize("name", ["gail", "airl"])
def test_resume_keeps_the_discriminator_optimiser(trained, name):
    agent, path = trained[name]
    saved = agent.trainer._disc_opt.state_dict()
    assert saved["state"], "training ran discriminator updates"
    loaded = CLASSES[name].load(path)
    restored = loaded.trainer._disc_opt.state_dict()
    assert restored["state"].keys() == saved["state"].keys()
    for key, moments in saved["state"].items():
        for moment, value in moments.items():
            torch.testing.assert_close(restored["state"][key][moment], value)
    assert loaded.trainer._disc_step == agent.trainer._disc_step > 0
    assert loaded.trainer._global_step == agent.trainer._global_step
    loaded.learn(ROUND)  # Adam goes on from the saved moments
    assert loaded.trainer._disc_step == agent.trainer._disc_step + \
        agent.hyperparameters["n_disc_updates_per_round"]


def test_resume_refuses_an_optimiser_state_that_does_not_fit(trained, tmp_path):
    _, path = trained["gail"]
    payload = torch.load(path.with_name("gail_reward.pt"), weights_only=True)
    payload["training_state"]["disc_optimizer"]["param_groups"][0]["params"] = [0]
    (tmp_path / "gail.zip").write_bytes(path.read_bytes())
    torch.save(payload, tmp_path / "gail_reward.pt")
    with pytest.raises(ValueError, match="gail_reward.pt: the saved discriminator optimiser "
                                         "state does not fit"):
        GAILAgent.load(tmp_path / "gail.zip")


def make_agent_env(n_envs):
    from agents import make_training_env

    return make_training_env(ENV_ID, n_envs, batched=False)  # as imitation agents train


def test_bc_maps_total_timesteps_to_epochs():
    agent = small_agent("bc")
    agent.learn(1)  # at least one epoch
    n = agent.n_transitions
    per_epoch = (n // 32) * 32  # full batches of 32
    assert n == 10 * 64 and agent.num_timesteps == per_epoch
    agent.learn(3 * n + 5)
    assert agent.num_timesteps == 4 * per_epoch


class Counting(BaseCallback):
    def __init__(self, stop_after=None):
        super().__init__()
        self.counts = {"init": 0, "start": 0, "steps": 0, "end": 0}
        self.stop_after = stop_after

    def _init_callback(self):
        self.counts["init"] += 1

    def _on_training_start(self):
        self.counts["start"] += 1

    def _on_step(self):
        self.counts["steps"] += 1
        return self.stop_after is None or self.counts["steps"] < self.stop_after

    def _on_training_end(self):
        self.counts["end"] += 1


def test_adversarial_callback_sees_the_agent_once_per_training():
    agent = small_agent("gail")
    callback = Counting()
    agent.learn(3 * ROUND, callback=callback)
    assert callback.counts == {"init": 1, "start": 1, "steps": 3 * ROUND // 2, "end": 1}
    assert callback.model is agent and callback.num_timesteps == 3 * ROUND
    assert callback.training_env is agent.get_env()


def test_adversarial_progress_bar_shows_only_on_request(capfd):
    agent = small_agent("gail")
    agent.learn(ROUND)
    assert "round" not in capfd.readouterr().err
    agent.learn(2 * ROUND, progress_bar=True)
    assert "round: 100%" in capfd.readouterr().err
    assert agent.num_timesteps == 3 * ROUND


def test_adversarial_callback_stops_at_the_end_of_a_round():
    agent = small_agent("airl")
    agent.learn(5 * ROUND, callback=Counting(stop_after=10))
    assert agent.num_timesteps == ROUND


@pytest.mark.filterwarnings("ignore:Training and eval env are not of the same type")
def test_checkpoints_are_whole_agents(tmp_path):
    agent = small_agent("gail")
    evaluation = EvalCallback(Monitor(gym.make(ENV_ID)), n_eval_episodes=1,
                              eval_freq=ROUND // 2, best_model_save_path=tmp_path / "best")
    agent.learn(2 * ROUND, callback=[CheckpointCallback(ROUND // 2, tmp_path, "ckpt"),
                                     evaluation])
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert names == ["ckpt_128_steps.zip", "ckpt_128_steps_reward.pt", "ckpt_256_steps.zip",
                     "ckpt_256_steps_reward.pt"]
    assert np.isfinite(evaluation.last_mean_reward)
    assert sorted(p.name for p in (tmp_path / "best").iterdir()) == ["best_model.zip",
                                                                     "best_model_reward.pt"]
    last = GAILAgent.load(tmp_path / "ckpt_256_steps")  # saved during the last rollout
    assert last.num_timesteps == 2 * ROUND and last.reward_net is not None
    actions, _ = last.predict(observations(), deterministic=True)
    assert ((actions >= 0) & (actions < 90)).all()


def test_bc_callback_runs_every_batch_and_can_stop():
    agent = small_agent("bc")
    callback = Counting(stop_after=3)
    agent.learn(10_000, callback=callback)
    assert callback.counts == {"init": 1, "start": 1, "steps": 3, "end": 1}
    assert agent.num_timesteps == 3 * 32 and callback.model is agent


def test_accepts_a_gym_env_and_an_id():
    agent = GAILAgent("MlpPolicy", gym.make(ENV_ID, encoding="count"), seed=1, **{
        k: v for k, v in SMALL["gail"].items() if k != "n_envs"})
    assert agent.n_envs == 1 and agent.env_spec.kwargs["encoding"] == "count"
    assert agent.observations == "count"
    bc = BCAgent("MlpPolicy", ENV_ID, max_windows=1)
    assert bc.env_spec.id == ENV_ID


def test_training_env_is_rebuilt_from_the_spec():
    env = make_agent_env(2)
    spec = recreatable_spec(env)
    assert [w.name for w in spec.additional_wrappers] == ["TheoryReward"]  # Monitor dropped
    agent = small_agent("gail")  # an id with its rewards: the batched env
    assert type(agent.venv.unwrapped).__name__ == "MelodySB3VecEnv"
    assert agent.venv.num_envs == 2 and agent.observations == "decay(0.9)"
    by_hand = gym.make(ENV_ID, reward=None)  # a reward wrapped by hand: scalar envs
    import rewards
    from agents.imitation import make_imitation_venv

    venv = make_imitation_venv(recreatable_spec(rewards.TheoryReward(by_hand)), n_envs=2)
    assert venv.env_is_wrapped(RolloutInfoWrapper) == [True, True]


def test_bundled_hyperparameters_build_agents():
    for name in ("gail", "airl", "bc"):
        values = load_hyperparams(name, ENV_ID)
        assert values, name
        agent = make_agent(name, ENV_ID, seed=0)
        assert isinstance(agent, CLASSES[name])
        assert agent_spec(name).load() is CLASSES[name]
    gail = load_hyperparams("gail", ENV_ID)
    assert {"gen_kwargs", "demo_batch_size", "gen_replay_buffer_capacity",
            "n_disc_updates_per_round"} <= set(gail)


def test_gen_kwargs_are_resolved():
    agent = small_agent("gail", gen_kwargs={**GEN, "learning_rate": "lin_1e-3",
                                            "policy_kwargs": {"net_arch": [8],
                                                              "activation_fn": "tanh"}})
    assert agent.algo.learning_rate(0.5) == pytest.approx(5e-4)
    assert agent.algo.policy.activation_fn is torch.nn.Tanh


def test_errors(trained, tmp_path):
    with pytest.raises(ValueError, match="rejected its hyperparameters"):
        small_agent("gail", n_disc=3)
    with pytest.raises(ValueError, match="demo_batch_size=5000 exceeds the 640"):
        small_agent("gail", demo_batch_size=5000).learn(ROUND)
    with pytest.raises(ValueError, match="unknown gail reward_net_kwargs"):
        small_agent("gail", reward_net_kwargs={"reward_hid_sizes": [4]})
    with pytest.raises(ValueError, match="learning_rate must be a number"):
        small_agent("bc", learning_rate="lin_1e-3")
    with pytest.raises(TypeError, match="unexpected keyword"):
        small_agent("bc").learn(10, bogus=1)
    from mammad_envs.melody_env import MelodyEnv

    with pytest.raises(ValueError, match="has none: make the env with gym.make"):
        GAILAgent("MlpPolicy", MelodyEnv())
    with pytest.raises(ValueError, match="holds a 'bc' agent: load it with BCAgent, not GAILAgent"):
        GAILAgent.load(trained["bc"][1])
    with pytest.raises(FileNotFoundError):
        BCAgent.load(tmp_path / "missing.zip")
    PPO("MlpPolicy", make_agent_env(1), n_steps=16, batch_size=16).save(tmp_path / "plain")
    with pytest.raises(ValueError, match="not saved by an imitation agent"):
        BCAgent.load(tmp_path / "plain.zip")


DOC = Path(__file__).resolve().parents[2] / "docs" / "imitation.md"


@pytest.mark.slow
def test_docs_code_runs(tmp_path, monkeypatch):
    """Runs the Python blocks of docs/imitation.md in order, with 100_000 steps cut to one round."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block.replace("100_000", "1_000"), str(DOC), "exec"), namespace)
    assert (tmp_path / "runs" / "gail" / "model_reward.pt").is_file()


@pytest.mark.parametrize("env_id", ["MammadMelody-binary-v0", "MammadMelody-count-v0"])
@pytest.mark.parametrize("name", ["gail", "airl", "bc"])
def test_trains_on_the_other_encodings(name, env_id):
    agent = make_agent(name, env_id, seed=0, hyperparams=SMALL[name])
    agent.learn(256)
    env = gym.make(env_id)
    observation, _ = env.reset(seed=0)
    action, _ = agent.predict(observation, deterministic=True)
    assert env.action_space.contains(int(action))
