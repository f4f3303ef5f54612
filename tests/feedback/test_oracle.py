import json
import math

import numpy as np
import pytest
import torch

from feedback.oracle import best_of_n, best_of_n_kl, run_oracle
from feedback.rlhf import RLHFSettings

TASTE = "benchmarks.tastes:high_register"


def test_best_of_n_kl_is_the_known_bound():
    assert best_of_n_kl(1) == 0
    assert best_of_n_kl(16) == pytest.approx(math.log(16) - 15 / 16)


def test_best_of_n_keeps_the_best_of_each_group():
    torch.set_num_threads(1)
    settings = RLHFSettings(env_kwargs={"steps": 16}, samples=24)
    one, four = (best_of_n(settings, TASTE, n, seed=5) for n in (1, 4))
    assert one["samples"] == 24 and four["samples"] <= 24 and four["n"] == 4
    assert four["score"] > one["score"] + 2  # semitones: the best of four is higher
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        best_of_n(settings, TASTE, 0)


@pytest.mark.slow
def test_the_oracle_follows_its_taste_and_is_read_back(tmp_path):
    torch.set_num_threads(1)
    settings = RLHFSettings(env_kwargs={"steps": 16}, rounds=2, samples=64, steps=8192,
                            labeler=TASTE)
    stretches = run_oracle(settings, TASTE, tmp_path / "oracle")
    assert [s["stretch"] for s in stretches] == [0, 1, 2]
    assert stretches[0]["kl_per_melody"] < 1e-3  # it starts as the Note-RNN
    assert stretches[-1]["score"] > stretches[0]["score"] + 5
    assert stretches[-1]["kl_per_melody"] < 10 and stretches[-1]["policy_steps"] == 2 * 8192
    saved = json.loads((tmp_path / "oracle" / "oracle.json").read_text())
    assert saved["taste"] == TASTE and saved["reward_scale"] > 0
    assert (tmp_path / "oracle" / "model.zip").is_file()
    assert run_oracle(settings, TASTE, tmp_path / "oracle") == stretches  # read, not trained
    assert np.isfinite([s["score"] for s in stretches]).all()
