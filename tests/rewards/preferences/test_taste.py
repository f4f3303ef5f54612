import numpy as np
import pytest

from benchmarks.tastes import consonant_with_accompaniment, high_register
from rewards.preferences.scoring import reward_scores
from rewards.preferences.taste import TasteModel, is_scorer_spec
from rewards.preferences.term import load_preference_model

HOLD, REST = -2, -1


def test_a_taste_is_a_preference_model_by_its_spec():
    melodies = [np.array([60, HOLD, 64, REST]), np.array([72, 74, HOLD, 76])]
    model = load_preference_model("benchmarks.tastes:high_register")
    assert isinstance(model, TasteModel)
    np.testing.assert_allclose(model.score(melodies), high_register(melodies))
    names = ["march", None]
    np.testing.assert_allclose(
        TasteModel("benchmarks.tastes:consonant_with_accompaniment").score(melodies, names),
        consonant_with_accompaniment(melodies, accompaniments=names))


def test_the_preference_reward_pays_a_taste_on_the_finished_melody():
    melodies = [np.array([60, HOLD, 64, REST, 67, 69, HOLD, HOLD])] * 2
    paid = reward_scores(melodies, "preference", ["march", None],
                         reward_kwargs={"preference": {"model":
                                                       "benchmarks.tastes:high_register"}})
    np.testing.assert_allclose(paid, high_register(melodies))


@pytest.mark.parametrize("spec, message", [
    ("nosuchmodule_xyz:score", "cannot import 'nosuchmodule_xyz'"),
    ("benchmarks.tastes:nothing", "'benchmarks.tastes' has no 'nothing'"),
    ("benchmarks.tastes:TASTES", "'TASTES' is not a function"),
])
def test_a_bad_taste_is_refused_by_name(spec, message):
    with pytest.raises(ValueError, match=message):
        TasteModel(spec)


def test_a_taste_giving_bad_scores_is_refused():
    model = TasteModel("benchmarks.tastes:high_register")
    model._with_accompaniments = False
    model.function = lambda melodies: [1.0]
    with pytest.raises(ValueError, match="gave 1 scores for 2 melodies"):
        model.score([np.array([60]), np.array([62])])
    model.function = lambda melodies: [np.nan, 1.0]
    with pytest.raises(ValueError, match="non-finite"):
        model.score([np.array([60]), np.array([62])])


def test_what_looks_like_a_spec():
    assert is_scorer_spec("benchmarks.tastes:stepwise")
    assert not is_scorer_spec("runs/x/model.pt") and not is_scorer_spec("C:/x.pt")
