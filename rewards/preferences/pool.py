"""Moved: the pools of the labelling page (fill_store, schedule_pairs) is :mod:`feedback.pool` now.

Importing this module raises an ImportError that names the new place.
"""

raise ImportError("rewards.preferences.pool moved to feedback.pool: import it from there")
