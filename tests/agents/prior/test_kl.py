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
