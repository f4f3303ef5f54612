"""rl_zoo3 hyperparameters for ``dqn`` on the MammadMelody ids (``-conf agents.zoo.dqn``)."""

from agents.zoo import zoo_hyperparams

hyperparams = zoo_hyperparams("dqn")
