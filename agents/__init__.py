"""Agents for the MammadMelody environments: a registry of SB3 / sb3-contrib / imitation algorithms.

Nothing is here yet: the agent registry is planned in the project's issues.
"""
