import math

import numpy as np
import pytest

from agents.prior.kl import KLController, KLMeter, check_kl_settings


def test_a_fixed_coefficient_stays():
    controller = KLController(0.3)
    assert controller.update(100.0, 10_000) == 0.3


@pytest.mark.parametrize(("kl", "expected"), [
    (12.0, 1.0 * (1 + 0.2 * 1000 / 10_000)),   # 20% above the target
    (100.0, 1.0 * (1 + 0.2 * 1000 / 10_000)),  # error clipped at +0.2
    (9.0, 1.0 * (1 - 0.1 * 1000 / 10_000)),
    (0.0, 1.0 * (1 - 0.2 * 1000 / 10_000)),    # clipped at -0.2
])
def test_the_adaptive_coefficient_follows_zieglers_controller(kl, expected):
    controller = KLController(1.0, target=10.0, horizon=10_000)
    assert controller.update(kl, 1000) == pytest.approx(expected)


def test_the_meter_averages_decisions():
    meter = KLMeter()
    assert math.isnan(meter.per_step)
    meter.add(np.array([0.1, 0.3]))
    meter.add(np.array([0.2, 0.2]))
    assert meter.per_step == pytest.approx(0.2)
    assert meter.statistics(32)["KL to the reference per melody (nats)"] == pytest.approx(6.4)


@pytest.mark.parametrize(("args", "message"), [
    ((-0.1, None, 10), "kl_coef"), ((float("nan"), None, 10), "kl_coef"),
    ((0.1, -1.0, 10), "kl_target"), ((0.1, None, 0), "kl_horizon"),
    ((0.1, None, 2.5), "kl_horizon"),
])
def test_bad_kl_settings_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        check_kl_settings(*args)


def test_a_kl_over_the_limit_boosts_the_penalty_at_once_and_only_while_over():
    controller = KLController(1.0, target=6.0, horizon=10_000, limit=7.5)
    assert controller.bound(6.6) == 1.0  # under the limit: beta itself
    assert controller.bound(9.0) == pytest.approx(9.0 / 7.5)  # this very rollout
    assert controller.bound(30.0) == pytest.approx(9.0 / 7.5 * 2.0)  # at most twice more
    assert controller.beta == 1.0  # beta itself follows Ziegler's controller alone
    assert controller.update(9.0, 1000) == pytest.approx(1 + 0.2 * 1000 / 10_000)
    assert controller.bound(7.0) == pytest.approx(controller.beta * 9.0 / 7.5 * 2.0 / 2.0)
    assert controller.bound(7.0) == controller.beta  # the boost wears off, down to 1
    fixed = KLController(0.5, limit=7.5)  # a fixed coefficient still honours the limit
    assert fixed.bound(15.0) == 1.0 and fixed.update(15.0, 1000) == 0.5
    assert KLController(0.5, target=6.0).bound(100.0) == 0.5  # no limit, no boost


@pytest.mark.parametrize(("limit", "message"), [
    (5.0, r"kl_limit \(5.0\) must be above kl_target \(6.0\)"),
    (6.0, "must be above kl_target"), (0.0, "kl_limit"), (float("inf"), "kl_limit"),
    ("8", "kl_limit"), (True, "kl_limit"),
])
def test_a_bad_kl_limit_is_named(limit, message):
    with pytest.raises(ValueError, match=message):
        check_kl_settings(0.1, 6.0, 10, limit)
