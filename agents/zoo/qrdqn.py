"""rl_zoo3 hyperparameters for ``qrdqn`` on the MammadMelody ids (``-conf agents.zoo.qrdqn``)."""

from agents.zoo import zoo_hyperparams

hyperparams = zoo_hyperparams("qrdqn")
