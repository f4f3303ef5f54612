"""KL control: the coefficient of the penalty that keeps a fine-tuned policy near its reference.

Each step's reward becomes ``r - beta * (log pi(a|s) - log p_ref(a|s))`` (Jaques et al.'s KL
control, Ziegler et al. 2019's RLHF). ``beta`` is fixed, or adapted toward a target KL per
melody with Ziegler et al.'s proportional controller::

    error = clip(KL / target - 1, -0.2, 0.2)
    beta <- beta * (1 + error * samples / horizon)

That controller moves ``beta`` by at most 2% per rollout of 1,024 steps (horizon 10,000), too
slowly to stop a policy that overshoots within a round of fine-tuning. An optional ``limit``
(nats per melody) is a ceiling honoured at once: the penalty on a rollout is ``beta`` times a
*boost*, multiplied by ``KL / limit`` (at most :data:`LIMIT_STEP`) when that rollout's KL is
above the limit and divided by :data:`LIMIT_STEP` (down to 1) when it is under. ``beta`` itself
follows Ziegler et al.'s controller alone, and the boost is not saved with a model (the RLHF
loop's next round starts without it), so that one overshoot does not hold the policy near the
reference long after: an earlier form that multiplied ``beta`` itself by ``KL / limit`` left it
four times higher after one round's overshoot, and the policy at 1.3 nats for the rounds after.

A :class:`KLMeter` adds up the exact KL of the steps a policy plays (``sum_a pi (log pi -
log p_ref)``), for ``stats.json`` and ``mammad evaluate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["KLController", "KLMeter", "check_kl_settings"]

ERROR_CLIP = 0.2
"""Ziegler et al.'s bound on the controller's proportional error."""

LIMIT_STEP = 2.0
"""The most ``beta`` is multiplied by after one rollout over the KL limit."""


def check_kl_settings(kl_coef: float, kl_target: float | None, kl_horizon: int,
                      kl_limit: float | None = None) -> None:
    """Raises a clear ValueError for a bad coefficient, target, horizon or limit.

    A coefficient must be >= 0, a target > 0, a horizon >= 1, a limit > 0 and above the target.
    """
    if not isinstance(kl_coef, int | float) or not math.isfinite(kl_coef) or kl_coef < 0:
        raise ValueError(f"kl_coef must be a number >= 0, got {kl_coef!r}")
    if kl_target is not None and (not isinstance(kl_target, int | float)
                                  or not math.isfinite(kl_target) or kl_target <= 0):
        raise ValueError(f"kl_target (nats per melody) must be a number > 0 or None (a fixed "
                         f"kl_coef), got {kl_target!r}")
    if isinstance(kl_horizon, bool) or not isinstance(kl_horizon, int) or kl_horizon < 1:
        raise ValueError(f"kl_horizon must be a positive integer, got {kl_horizon!r}")
    if kl_limit is not None and (isinstance(kl_limit, bool) or not isinstance(kl_limit, int | float)
                                 or not math.isfinite(kl_limit) or kl_limit <= 0):
        raise ValueError(f"kl_limit (nats per melody) must be a number > 0 or None (no limit), "
                         f"got {kl_limit!r}")
    if kl_limit is not None and kl_target is not None and kl_limit <= kl_target:
        raise ValueError(f"kl_limit ({kl_limit!r}) must be above kl_target ({kl_target!r}): "
                         f"the limit is a ceiling over the target, or None for none")


@dataclass
class KLController:
    """The KL coefficient ``beta``: fixed (``target`` None) or adaptive, under a ceiling.

    Attributes:
        beta: The current coefficient.
        target: Target KL per melody in nats (None: ``beta`` stays fixed).
        horizon: Samples over which a constant error changes ``beta`` by ``e`` times the error.
        limit: KL per melody in nats above which the coefficient is boosted at once (None:
            no ceiling).
        boost: What ``beta`` is multiplied by while the KL is over the limit (1 under it).
    """

    beta: float
    target: float | None = None
    horizon: int = 10_000
    limit: float | None = None
    boost: float = 1.0

    @property
    def coefficient(self) -> float:
        """The penalty's coefficient now: ``beta`` times the boost."""
        return self.beta * self.boost

    def bound(self, kl_per_melody: float) -> float:
        """Moves the boost for a rollout whose KL was measured; the coefficient to penalise it."""
        if self.limit is not None:
            if kl_per_melody > self.limit:
                self.boost *= min(kl_per_melody / self.limit, LIMIT_STEP)
            else:
                self.boost = max(1.0, self.boost / LIMIT_STEP)
        return self.coefficient

    def update(self, kl_per_melody: float, samples: int) -> float:
        """Moves ``beta`` after a rollout of ``samples`` steps whose KL was measured; returns it."""
        if self.target is not None and self.beta > 0:
            error = float(np.clip(kl_per_melody / self.target - 1.0, -ERROR_CLIP, ERROR_CLIP))
            self.beta *= 1.0 + error * samples / self.horizon
        return self.beta


class KLMeter:
    """Adds up the exact KL to the reference of every decision a policy makes."""

    def __init__(self) -> None:
        self.total = 0.0
        self.decisions = 0

    def add(self, kl: np.ndarray) -> None:
        """Adds one step's KL of each env ``(batch,)``."""
        self.total += float(np.sum(kl))
        self.decisions += int(np.size(kl))

    @property
    def per_step(self) -> float:
        """Mean KL per decision in nats (NaN before any)."""
        return self.total / self.decisions if self.decisions else math.nan

    def statistics(self, steps: int) -> dict[str, float]:
        """The figures for a statistics table, melodies being ``steps`` decisions long."""
        return {"KL to the reference per step (nats)": self.per_step,
                "KL to the reference per melody (nats)": self.per_step * steps}
