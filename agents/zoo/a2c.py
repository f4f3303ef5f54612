"""rl_zoo3 hyperparameters for ``a2c`` on the MammadMelody ids (``-conf agents.zoo.a2c``)."""

from agents.zoo import zoo_hyperparams

hyperparams = zoo_hyperparams("a2c")
