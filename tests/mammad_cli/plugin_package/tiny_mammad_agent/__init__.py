"""A student's agent: A2C with a smaller network, shipped as its own package."""

from stable_baselines3 import A2C


class TinyA2C(A2C):
    """A2C with one hidden layer of 16 units."""

    def __init__(self, policy, env, **kwargs):
        kwargs.setdefault("policy_kwargs", {"net_arch": [16]})
        super().__init__(policy, env, **kwargs)
