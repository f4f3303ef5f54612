"""The reward a GAIL or AIRL discriminator learned.

:mod:`~rewards.learned.term` holds the ``"gail"`` reward term and its wrapper;
:mod:`rewards.reward_nets` writes and reads the network's file.
"""
