"""Every registered id: Gymnasium's and SB3's checkers, determinism, pickling, plugin loading."""

import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mammad_envs
from mammad_envs.compat import GYMNASIUM_1, make_vector
from mammad_envs.encodings import ENCODINGS
from mammad_envs.registration import ENVIRONMENTS

IDS = [env_id for env_id, _ in ENVIRONMENTS]


def test_ids_are_registered_one_per_builtin_encoding():
    ours = [env_id for env_id in gym.registry
            if env_id.startswith(("MammadMelody-", "MelodyEnv-"))]
    assert sorted(ours) == sorted(IDS)
    named = {}
    for env_id in IDS:
        encoding = gym.make(env_id).unwrapped.encoding
        if env_id.startswith("MammadMelody-"):
            assert env_id == f"MammadMelody-{encoding.name}-v0"  # the id names its encoding
            named[encoding.name] = type(encoding)
    assert named == {name: ENCODINGS[name] for name in ("binary", "count", "decay")}


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env(env_id):
    gym_check_env(gym.make(env_id).unwrapped, skip_render_check=False)


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_check_env(env_id):
    sb3_check_env(gym.make(env_id), warn=False)


def rollout(env, seed, steps=100):
    observations, rewards, infos = [], [], []
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations.append(obs)
    infos.append(info)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            obs, info = env.reset()
            observations.append(obs)
            infos.append(info)
    return np.array(observations), rewards, infos


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_episodes(env_id):
    first = rollout(gym.make(env_id), seed=3)
    second = rollout(gym.make(env_id), seed=3)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1] and first[2] == second[2]
    other = rollout(gym.make(env_id), seed=4)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("env_id", IDS)
def test_pickle_round_trip(env_id):
    env = gym.make(env_id)
    env.reset(seed=5)
    for action in (39, 88, 41, 89):
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.unwrapped.melody, env.unwrapped.melody)
    a = env.step(43)
    b = clone.step(43)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]
    assert clone.reset(seed=9)[1] == env.reset(seed=9)[1]


def test_spec_kwargs_are_json_friendly_and_rebuild():
    env = gym.make("MelodyEnv-v0", encoding="decay", decay=0.5, steps=32,
                   pitch_range=[48, 83], accompaniment="bossa", mask_key="A minor")
    assert gym.make(gym.spec("MelodyEnv-v0")).unwrapped.encoding.name == "binary"
    spec_json = env.spec.to_json()
    rebuilt = gym.make(gym.envs.registration.EnvSpec.from_json(spec_json))
    assert rebuilt.unwrapped.encoding.decay == np.float32(0.5)
    assert rebuilt.action_space.n == 38


def test_unknown_kwarg_through_make():
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['encodng'\]"):
        gym.make("MelodyEnv-v0", encodng="count")


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout


def test_make_in_a_process_that_never_imports_the_package():
    # Gymnasium 0.29 loads the package's entry point on import; 1.x needs the module prefix.
    env_id = "mammad_envs:MammadMelody-binary-v0" if GYMNASIUM_1 else "MammadMelody-binary-v0"
    out = run_python(
        "import gymnasium as gym, sys\n"
        f"env = gym.make('{env_id}')\n"
        "obs, info = env.reset(seed=0)\n"
        "print(obs.shape, env.step(env.action_space.sample())[2])\n"
    )
    assert out.strip() == "(128,) False"


def test_module_prefixed_id():
    env = gym.make("mammad_envs:MammadMelody-count-v0")
    assert env.unwrapped.encoding.name == "count"


@pytest.mark.skipif(GYMNASIUM_1, reason="Gymnasium 1.x loads no entry points on import")
def test_registration_on_import_gymnasium_is_light():
    out = run_python(
        "import sys, gymnasium\n"
        "assert 'MammadMelody-decay-v0' in gymnasium.registry\n"
        "heavy = ['torch', 'stable_baselines3', 'imitation', 'matplotlib', 'mido',\n"
        "         'mammad_envs.melody_env']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    assert out.strip() == "[]"


def test_import_package_before_gymnasium():
    out = run_python("import mammad_envs, gymnasium\nprint('MelodyEnv-v0' in gymnasium.registry)")
    assert out.strip() == "True"


def test_lazy_attributes():
    assert mammad_envs.MelodyEnv.__name__ == "MelodyEnv"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        mammad_envs.Nope  # noqa: B018


def test_each_ids_encoding_is_written_once_in_the_table():
    from mammad_envs import registration

    specs = {env_id: gym.spec(env_id) for env_id in IDS}
    assert {spec.entry_point for spec in specs.values()} == {registration.ENTRY_POINT}
    assert not any(name in registration.VECTOR for name in ENCODINGS)
    for env_id, kwargs in ENVIRONMENTS:
        assert specs[env_id].kwargs == kwargs  # the encoding and the default reward, only here
        encoding = kwargs.get("encoding")  # the vector entry point's name derives from it
        assert specs[env_id].vector_entry_point == (
            f"{registration.VECTOR}_{encoding}" if encoding else registration.VECTOR)


@pytest.mark.parametrize("env_id, kwargs", ENVIRONMENTS)
def test_the_vector_entry_point_alone_gives_the_ids_encoding(env_id, kwargs):
    # Gymnasium 0.29's "custom" mode calls it with vector_kwargs only, not the id's kwargs
    from gymnasium.envs.registration import load_env_creator

    envs = load_env_creator(gym.spec(env_id).vector_entry_point)(num_envs=2)
    assert envs.template.encoding.name == kwargs.get("encoding", "binary")
    envs.close()


@pytest.mark.parametrize("env_id, kwargs", ENVIRONMENTS)
def test_make_vec_of_each_id_gives_its_encoding(env_id, kwargs):
    envs = gym.make_vec(env_id, 2) if GYMNASIUM_1 else \
        make_vector(env_id, 2)
    assert type(envs).__name__ == "MelodyVectorEnv"
    assert envs.template.encoding.name == kwargs.get("encoding", "binary")
    assert envs.rewards == [kwargs["reward"]]
    envs.close()
