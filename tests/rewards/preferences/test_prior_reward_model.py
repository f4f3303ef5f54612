"""The reward model over the pretrained Note-RNN's hidden states."""

import numpy as np
import pytest
import torch

from mammad_envs.data import load_accompaniments
from mammad_envs.melody import sounding_pitches
from rewards.note_rnn.model import NoteRNN
from rewards.preferences.harmony_features import HARMONY_FEATURES
from rewards.preferences.prior_reward_model import (
    MELODY_FEATURES,
    STEP_FEATURES,
    PriorRewardEnsemble,
    encode_melodies,
    step_features,
)
from rewards.preferences.reward_model import RewardEnsemble, load_reward_model
from rewards.preferences.training import (
    Comparison,
    TrainingSettings,
    split_pairs,
    train_reward_model,
)


def mean_pitch(melodies):
    return np.array([np.mean([p for p in m if p >= 0] or [0.0]) for m in melodies])


@pytest.fixture(scope="module")
def melodies():
    return NoteRNN.pretrained().sample(12, 20, seed=3)


def test_step_features_of_a_small_melody():
    features = step_features(np.array([60, -2, 64, -1, 55]), "march")
    assert features.shape == (5, MELODY_FEATURES)
    assert features[:, :3].tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]]
    assert features[1, 3] == 1 and features[3, 3:15].sum() == 0  # C sounds on; a rest is silent
    assert features[2, 15] == pytest.approx(4 / 12)
    assert features[4, 16 + 4] == 1  # the fifth 16th of the bar
    assert np.nonzero(features[:, 32:48])[1].tolist() == [0, 2, 4]  # where notes start
    interval = features[:, 48 + 13 + 1:48 + 13 + 7]
    assert interval[2].tolist() == pytest.approx([4 / 12, 1, 0, 0, 1, 0])
    assert interval[4].tolist() == pytest.approx([-9 / 12, -1, 0, 0, 1, 1])
    assert step_features(np.array([60, 62]), None)[:, 48:48 + 14].sum() == 0


def test_shapes_and_cached_features_equal_uncached(melodies):
    torch.manual_seed(0)
    ensemble = PriorRewardEnsemble(members=2)
    accompaniments = ["march", None] * 6
    parts = [melodies[:6, :16], melodies[6:]]  # two lengths: padding must not change scores
    scores = ensemble.score([*parts[0], *parts[1]], accompaniments)
    assert scores.shape == (12,) and ensemble.member_scores(melodies, accompaniments).shape == (
        2, 12)
    alone = [ensemble.score([m], [a])[0] for m, a in zip([*parts[0], *parts[1]], accompaniments,
                                                          strict=True)]
    np.testing.assert_allclose(scores, alone, atol=1e-5)
    encoded = encode_melodies(NoteRNN.pretrained(), list(melodies), accompaniments)
    assert encoded.hidden.shape == (12, 20, 256)
    assert encoded.features.shape == (12, 20, STEP_FEATURES)
    with torch.no_grad():
        cached = ensemble.forward_members(*encoded.tensors()).mean(dim=0).numpy()
    np.testing.assert_allclose(cached, ensemble.score(melodies, accompaniments), atol=1e-6)
    assert ensemble.disagreement(melodies[:5], melodies[5:10], ["rock"] * 5).shape == (5,)


def test_save_load_round_trip_names_a_shipped_note_rnn(melodies, tmp_path):
    ensemble = PriorRewardEnsemble(members=2, card={"labels": 3})
    path = ensemble.save(tmp_path / "model.pt")
    assert path.stat().st_size < 200_000  # the Note-RNN (1.4 MB) is named, not copied
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["note_rnn"] == {"name": "default"}
    for loaded in (load_reward_model(path), PriorRewardEnsemble.load(path)):
        assert isinstance(loaded, PriorRewardEnsemble) and loaded.card == {"labels": 3}
        np.testing.assert_array_equal(loaded.score(melodies, ["bossa"] * 12),
                                      ensemble.score(melodies, ["bossa"] * 12))


def test_a_note_rnn_from_a_file_travels_inside(melodies, tmp_path):
    torch.manual_seed(1)
    note_rnn = NoteRNN(embedding_dim=8, hidden_size=16).eval()
    note_rnn.save(tmp_path / "rnn.pt")
    ensemble = PriorRewardEnsemble(members=1, note_rnn=tmp_path / "rnn.pt", components=4)
    path = ensemble.save(tmp_path / "model.pt")
    (tmp_path / "rnn.pt").unlink()
    loaded = load_reward_model(path)
    np.testing.assert_array_equal(loaded.score(melodies), ensemble.score(melodies))
    assert loaded.disagreement(melodies[:3], melodies[3:6]).shape == (3,)


def test_a_file_saved_before_the_harmony_features_still_loads(melodies, tmp_path):
    ensemble = PriorRewardEnsemble(members=1, harmony=False)
    path = ensemble.save(tmp_path / "model.pt")
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["hyperparameters"]["harmony"]  # as the files of that version were
    torch.save(checkpoint, path)
    loaded = load_reward_model(path)
    assert loaded.hyperparameters["harmony"] is False
    assert loaded.encode(melodies, ["march"] * 12).features.shape[-1] == (
        STEP_FEATURES - HARMONY_FEATURES)
    np.testing.assert_array_equal(loaded.score(melodies, ["march"] * 12),
                                  ensemble.score(melodies, ["march"] * 12))
    assert PriorRewardEnsemble(members=1).hyperparameters["harmony"] is True


def chord_tones(melodies, accompaniments):
    """The fraction of 16ths whose sounding pitch class the accompaniment's half bar sounds."""
    loops = {loop.name: loop.sounding for loop in load_accompaniments()}
    scores = []
    for melody, name in zip(melodies, accompaniments, strict=True):
        sounding, hits = sounding_pitches(melody), []
        for t, pitch in enumerate(sounding):
            start = t - t % 8
            chord = np.flatnonzero(loops[name][start:start + 8].any(axis=0)) % 12
            hits.append(pitch >= 0 and pitch % 12 in chord)
        scores.append(np.mean(hits))
    return np.array(scores)


def test_learns_chord_tones_from_200_pairs():
    torch.set_num_threads(1)
    note_rnn = NoteRNN.pretrained()
    a, b = note_rnn.sample(200, 16, seed=0), note_rnn.sample(200, 16, seed=1)
    names = [("march", "alberti", "rock", "habanera", "bossa")[i % 5] for i in range(200)]
    truth = chord_tones(a, names) - chord_tones(b, names)
    choices = np.where(np.random.default_rng(0).random(200) < 1 / (1 + np.exp(-truth / 0.05)),
                       "a", "b")
    comparisons = [Comparison(x, y, c, n) for x, y, c, n in
                   zip(a, b, choices, names, strict=True)]
    ensemble = train_reward_model(comparisons, TrainingSettings(members=1, epochs=10))
    _, held = split_pairs(200, 0.2, 0)
    held = held[truth[held] != 0]
    predicted = (ensemble.score(a[held], [names[i] for i in held])
                 > ensemble.score(b[held], [names[i] for i in held]))
    assert np.mean(predicted == (truth[held] > 0)) >= 0.7  # 0.76 here (0.73 without harmony)


def test_learns_mean_pitch_from_200_pairs():
    torch.set_num_threads(1)
    note_rnn = NoteRNN.pretrained()
    a, b = note_rnn.sample(200, 16, seed=0), note_rnn.sample(200, 16, seed=1)
    rng = np.random.default_rng(0)
    p = 1 / (1 + np.exp(-(mean_pitch(a) - mean_pitch(b)) / 1.5))
    choices = np.where(rng.random(200) < p, "a", "b")
    accompaniments = [None if i % 3 == 0 else "march" for i in range(200)]
    comparisons = [Comparison(x, y, c, acc) for x, y, c, acc in
                   zip(a, b, choices, accompaniments, strict=True)]
    ensemble = train_reward_model(comparisons, TrainingSettings(net="note_rnn", members=1,
                                                                epochs=10))
    assert isinstance(ensemble, PriorRewardEnsemble)
    assert ensemble.card["held_out"]["accuracy"] >= 0.7, ensemble.card["held_out"]
    _, held = split_pairs(200, 0.2, 0)
    truth = mean_pitch(a[held]) > mean_pitch(b[held])
    predicted = (ensemble.score(a[held], [accompaniments[i] for i in held])
                 > ensemble.score(b[held], [accompaniments[i] for i in held]))
    assert np.mean(truth == predicted) >= 0.75


def test_the_lstm_net_still_trains(melodies):
    comparisons = [Comparison(x, y, "a") for x, y in zip(melodies[:6], melodies[6:], strict=True)]
    ensemble = train_reward_model(comparisons, TrainingSettings(net="lstm", members=1, epochs=1))
    assert isinstance(ensemble, RewardEnsemble)


def test_finetuning_trains_each_members_own_note_rnn(melodies, tmp_path):
    comparisons = [Comparison(x, y, "a") for x, y in zip(melodies[:6], melodies[6:], strict=True)]
    ensemble = train_reward_model(comparisons, TrainingSettings(
        net="note_rnn", members=1, epochs=2, finetune_learning_rate=1e-3, held_out=0.0))
    encoder = ensemble.members[0].encoder
    assert encoder is not None
    assert not torch.equal(encoder.lstm.weight_hh_l0, NoteRNN.pretrained().lstm.weight_hh_l0)
    loaded = load_reward_model(ensemble.save(tmp_path / "model.pt"))
    np.testing.assert_allclose(loaded.score(melodies), ensemble.score(melodies), atol=1e-6)


@pytest.mark.parametrize(("settings", "message"), [
    ({"net": "transformer"}, r"unknown reward net 'transformer': choose one of \('note_rnn', "
                             r"'lstm'\)"),
    ({"head_size": 0}, "head_size must be a positive integer"),
    ({"components": 300}, "components must be an integer in 0..256"),
    ({"finetune_learning_rate": -1.0}, "finetune_learning_rate must be >= 0"),
])
def test_bad_settings_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainingSettings(**settings)


def test_an_unknown_note_rnn_is_refused():
    with pytest.raises(ValueError, match=r"note_rnn 'nope' is neither a shipped Note-RNN"):
        PriorRewardEnsemble(note_rnn="nope")
