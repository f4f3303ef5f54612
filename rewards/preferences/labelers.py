"""Moved: the synthetic labelers (SyntheticLabeler, make_labeler) is :mod:`feedback.labelers` now.

Importing this module raises an ImportError that names the new place.
"""

raise ImportError("rewards.preferences.labelers moved to feedback.labelers: import it from there")
