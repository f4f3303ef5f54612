import numpy as np
import pytest

from feedback.labelers import SyntheticLabeler, make_labeler


def register(melodies):
    """A taste that is none of the suite's rewards: a higher register."""
    return np.array([np.mean([p for p in m if p >= 0] or [0.0]) for m in melodies])


def over_march(melodies, accompaniments=None):
    return np.array([1.0 if a == "march" else 0.0 for a in accompaniments])


def test_temperature_zero_follows_the_score_and_ties_equal_scores():
    labeler = SyntheticLabeler("register", register, temperature=0)
    low, high = np.array([48, 50, -2]), np.array([72, 74, -2])
    assert labeler.label([high, low, low], [low, high, low]) == ["a", "b", "tie"]


def test_bradley_terry_noise_matches_its_probability():
    labeler = SyntheticLabeler("register", register, temperature=2.0, seed=1)
    a, b = [np.array([62])] * 4000, [np.array([60])] * 4000
    expected = 1 / (1 + np.exp(-1.0))  # a difference of 2 at temperature 2
    assert labeler.probabilities(a[:1], b[:1])[0] == pytest.approx(expected)
    share = np.mean([c == "a" for c in labeler.label(a, b)])
    assert share == pytest.approx(expected, abs=0.03)
    again = SyntheticLabeler("register", register, temperature=2.0, seed=1)
    assert again.label(a[:50], b[:50]) == SyntheticLabeler(
        "register", register, temperature=2.0, seed=1).label(a[:50], b[:50])


def test_synthetic_reward_labeler_prefers_what_the_reward_pays():
    labeler = make_labeler("synthetic:theory", temperature=0)
    in_key = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    out_of_key = np.array([61, 63, 66, 68, 70, 61, 63, 66])
    assert labeler.label([in_key, out_of_key], [out_of_key, in_key]) == ["a", "b"]
    assert labeler.name == "synthetic:theory"


def test_module_function_labelers_and_the_accompaniment():
    labeler = make_labeler(f"{__name__}:register", temperature=0)
    assert labeler.label([np.array([70])], [np.array([50])]) == ["a"]
    context = make_labeler(f"{__name__}:over_march", temperature=0)
    scores = context.scores([np.array([60]), np.array([60])], ["march", "rock"])
    assert list(scores) == [1.0, 0.0]


def test_a_module_of_the_working_folder_is_found_as_python_m_would(tmp_path, monkeypatch):
    import sys

    (tmp_path / "taste_of_the_working_folder.py").write_text(
        "def loudness(melodies):\n    return [float(len(m)) for m in melodies]\n")
    monkeypatch.chdir(tmp_path)
    # as under the `mammad` command: neither the working folder nor '' on the path
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    labeler = make_labeler("taste_of_the_working_folder:loudness", temperature=0)
    assert labeler.label([np.array([60, 62])], [np.array([60])]) == ["a"]
    assert sys.path[-1] == str(tmp_path)  # looked in last: it shadows no installed module


def test_a_module_found_nowhere_names_the_working_folder(tmp_path, monkeypatch):
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    with pytest.raises(ValueError, match=r"cannot import 'not_here_either' \(looked in the "
                                         r"installed packages and in "):
        make_labeler("not_here_either:f")


@pytest.mark.parametrize("spec, message", [
    ("synthetic:theroy", "unknown reward 'theroy'"),
    ("nothing", "neither synthetic:<reward> nor module:function"),
    ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
    ("numpy:no_such_function", "'numpy' has no 'no_such_function'"),
    ("numpy:pi", "'pi' is not a function"),
    ("", "a labeler is"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        make_labeler(spec)


def test_bad_temperature_and_bad_scorers():
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        make_labeler("synthetic:theory", temperature=-1)
    labeler = SyntheticLabeler("bad", lambda melodies: np.zeros(len(melodies) + 1))
    with pytest.raises(ValueError, match="one finite number per melody"):
        labeler.label([np.array([60])], [np.array([62])])
