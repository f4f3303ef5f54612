"""rl_zoo3 hyperparameters for ``ppo`` on the MammadMelody ids (``-conf agents.zoo.ppo``)."""

from agents.zoo import zoo_hyperparams

hyperparams = zoo_hyperparams("ppo")
