"""Moved: the labelling page (make_app, build_app, serve) is :mod:`feedback.labelling` now.

Importing this module raises an ImportError that names the new place.
"""

raise ImportError("rewards.preferences.labelling moved to feedback.labelling: import it from there")
