import numpy as np
import pytest
import torch

from feedback.labelers import SyntheticLabeler
from rewards.preferences.reward_model import RewardEnsemble, load_reward_model
from rewards.preferences.training import (
    Comparison,
    TrainingSettings,
    accuracy,
    log_likelihood,
    model_card,
    split_pairs,
    train_reward_model,
)


def register(melodies):
    """A synthetic taste that is none of the suite's rewards: a higher register."""
    return np.array([np.mean([p for p in m if p >= 0] or [0.0]) / 12 for m in melodies])


def random_melodies(rng, count, steps=16):
    melodies = []
    for _ in range(count):
        base = rng.integers(48, 80)
        pitches = base + rng.integers(-5, 6, steps)
        melodies.append(np.where(rng.random(steps) < 0.3, -2, pitches))
    return melodies


@pytest.fixture(scope="module")
def labelled():
    rng = np.random.default_rng(0)
    a, b = random_melodies(rng, 400), random_melodies(rng, 400)
    accompaniments = list(rng.choice(["march", "rock", "none"], 400))
    accompaniments = [None if x == "none" else str(x) for x in accompaniments]
    labeler = SyntheticLabeler("register", register, temperature=0.3, seed=0)
    choices = labeler.label(a, b, accompaniments)
    return [Comparison(x, y, c, acc, "synthetic:register")
            for x, y, c, acc in zip(a, b, choices, accompaniments, strict=True)]


def test_learns_a_synthetic_taste_well_above_chance(labelled, tmp_path):
    torch.set_num_threads(1)
    skip = Comparison(labelled[0].a, labelled[0].b, "skip", None, "human:x")
    ensemble = train_reward_model([*labelled, skip], TrainingSettings(members=2, epochs=15,
                                                                       net="lstm"))
    card = ensemble.card
    assert card["labels"] == 400 and card["by_labeler"] == {"synthetic:register": 400}
    assert card["held_out"]["pairs"] == 80
    assert card["held_out"]["accuracy"] >= 0.75, card["held_out"]  # chance is 0.5
    train, held = split_pairs(400, 0.2, 0)
    a = [labelled[i].a for i in held]
    b = [labelled[i].b for i in held]
    acc = [labelled[i].accompaniment for i in held]
    truth = register(a) > register(b)
    predicted = ensemble.score(a, acc) > ensemble.score(b, acc)
    assert np.mean(truth == predicted) >= 0.8  # it ranks by the taste, not the noise
    path = ensemble.save(tmp_path / "model.pt")
    loaded = load_reward_model(path)
    assert isinstance(loaded, RewardEnsemble) and loaded.card == card
    np.testing.assert_allclose(loaded.score(a[:5], acc[:5]), ensemble.score(a[:5], acc[:5]),
                               atol=1e-6)
    text = model_card(card, "mammad preference train --db prefs.sqlite --out model/")
    assert "| held out | 80 |" in text and "synthetic:register" in text


def test_disagreement_ranks_pairs(labelled):
    ensemble = train_reward_model(labelled[:60], TrainingSettings(members=3, epochs=3))
    a = [c.a for c in labelled[:10]]
    b = [c.b for c in labelled[:10]]
    spread = ensemble.disagreement(a, b)
    assert spread.shape == (10,) and (spread >= 0).all() and spread.max() > 0
    assert np.allclose(ensemble.disagreement(a, a), 0)  # a melody against itself: no doubt
    single = train_reward_model(labelled[:30], TrainingSettings(members=1, epochs=2))
    sure = single.disagreement(a, b)
    assert ((sure >= 0) & (sure <= 0.5)).all()


def test_ties_pull_scores_together():
    melody_a, melody_b = np.array([60, 62, 64, 65]), np.array([72, 74, 76, 77])
    tied = [Comparison(melody_a, melody_b, "tie")] * 64
    preferred = [Comparison(melody_a, melody_b, "a")] * 64
    settings = TrainingSettings(members=1, epochs=20, held_out=0.0, patience=20)
    gap_tied = np.diff(train_reward_model(tied, settings).score([melody_a, melody_b]))[0]
    gap_a = np.diff(train_reward_model(preferred, settings).score([melody_a, melody_b]))[0]
    assert abs(gap_tied) < 0.5 < -gap_a


def test_figures():
    assert accuracy(np.array([2.0, 0.0, 1.0]), np.array([1.0, 1.0, 1.0]),
                    ["a", "a", "tie"]) == 0.5
    assert np.isnan(accuracy(np.zeros(1), np.zeros(1), ["tie"]))
    assert log_likelihood(np.zeros(2), np.zeros(2), ["a", "tie"]) == pytest.approx(np.log(0.5))


@pytest.mark.parametrize("comparisons, message", [
    ([], "no comparison to learn from"),
    ([Comparison(np.array([60]), np.array([62]), "skip")], "no comparison to learn from"),
    ([Comparison(np.array([60]), np.array([62]), "A")], "choice 'A' is not one of"),
    ([Comparison(np.array([60]), np.array([62, 64]), "a")], "a pair shares its length"),
])
def test_bad_comparisons(comparisons, message):
    with pytest.raises(ValueError, match=message):
        train_reward_model(comparisons)


def test_bad_settings():
    with pytest.raises(ValueError, match="members must be a positive integer"):
        TrainingSettings(members=0)
    with pytest.raises(ValueError, match="held_out must be a fraction"):
        TrainingSettings(held_out=1.0)


def test_the_progress_bar_ends_at_its_total_when_members_stop_early(labelled, monkeypatch):
    from rewards.preferences import training

    bars = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n = total, 0
            bars.append(self)

        def update(self, n=1):
            self.n += n

        def close(self):
            pass

    monkeypatch.setattr(training, "tqdm", Bar)
    settings = TrainingSettings(members=2, epochs=50, patience=1)  # stops long before 50
    train_reward_model(labelled[:60], settings, progress=True)
    assert bars[0].total == bars[0].n == 100
