"""Moved: the RLHF loop (RLHFSettings, run_rlhf) is :mod:`feedback.rlhf` now.

Importing this module raises an ImportError that names the new place.
"""

raise ImportError("agents.rlhf moved to feedback.rlhf: import it from there")
