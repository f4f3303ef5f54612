import numpy as np
import pytest

from benchmarks.imitation_summary import markdown_row, reference_run, summary
from mammad_envs.melody import HOLD, REST


def test_summary_counts_onsets_pitches_key_and_returns():
    melodies = [np.array([60, HOLD, 61, REST]), np.array([64, 64, 64, HOLD])]
    row = summary(melodies, returns=[1.0, 3.0])
    pitches = np.array([60, 61, 64, 64, 64])
    assert row["in key"] == pytest.approx(4 / 5)
    assert row["pitch mean"] == pytest.approx(pitches.mean())
    assert row["pitch sd"] == pytest.approx(pitches.std())
    assert row["onsets per 4 bars"] == pytest.approx(5 * 64 / 8)
    assert row["return"] == pytest.approx(2.0)
    assert 0 <= row["notes excessively repeated"] <= 1


def test_summary_refuses_silence():
    with pytest.raises(ValueError, match="strikes a note"):
        summary([np.array([REST, HOLD])])
    with pytest.raises(ValueError, match="at least one melody"):
        summary([])


def test_reference_run_replays_the_demonstration_episodes():
    config = {"env": "MammadMelody-decay-v0", "env_kwargs": {"reward": "theory"}}
    episodes, returns = reference_run(config)
    assert episodes and all(len(melody) == 64 for melody in episodes)
    assert len(returns) == len(episodes)
    assert markdown_row("the melodies", summary(episodes, returns)).startswith(
        "| the melodies | 98% |")
