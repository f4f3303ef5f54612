"""The RLHF benchmark's figures read the policy each loop hands out."""

import numpy as np

from benchmarks.rlhf_page import label_rows


def record(index, score, kept=None):
    values = {"round": index, "labeler_score_before": 0.0, "labeler_score_after": score,
              "kl_per_melody_after": 2.0 + index, "distinct_melodies_after": 200 + index,
              "samples": 256, "seconds": 10.0, "cpu_seconds": 5.0,
              "reward_model": {"policy_pairs": {"accuracy": 0.5 + index / 10}}}
    if kept is not None:
        values["policy_round"] = kept
    return values


def test_each_label_count_reads_the_round_the_loop_hands_out():
    taste = {"loop": {0: [record(0, 1.0, kept=0), record(1, 4.0, kept=1), record(2, 0.5, kept=1)],
                      1: [record(0, 2.0), record(1, 3.0), record(2, 5.0)]},  # an older loop
             "oracle": {0: [{"score": 0.0}, {"score": 2.0}, {"score": 4.0}, {"score": 8.0}]}}
    rows = label_rows(taste, [100, 300], pairs=100)
    first, last = rows
    assert first["score"].tolist() == [1.0, 2.0] and first["kept"].tolist() == [0, 0]
    # after round 2, seed 0 hands out round 1 (4.0, not its last round's 0.5)
    assert last["score"].tolist() == [4.0, 5.0] and last["kept"].tolist() == [1, 2]
    assert last["kl"].tolist() == [3.0, 4.0] and last["distinct"].tolist() == [201, 202]
    assert np.allclose(last["accuracy"], [0.6, 0.7])
    assert np.allclose(last["gain"], [4.0 / 8.0, 5.0 / 8.0])
