"""Reward wrappers for the MammadMelody environments (music theory, Note-RNN, preferences).

Nothing is here yet: the reward wrappers are planned in the project's issues.
"""
