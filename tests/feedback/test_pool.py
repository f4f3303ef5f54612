"""The labelling pool: melodies with their context from MIDI files, a run or the Note-RNN, and
the scheduler that pairs them (preferring the pairs a reward model is least sure of)."""

import itertools
import logging

import numpy as np
import pytest

from feedback.pool import (
    PoolError,
    fill_store,
    midi_context,
    pool_kind,
    schedule_pairs,
    uncertainty,
)
from mammad_envs.data import load_accompaniments
from mammad_envs.melody import HOLD, REST
from mammad_envs.midi import write_midi
from rewards.preferences import PreferenceStore, RewardEnsemble

LOOPS = {loop.name: loop for loop in load_accompaniments()}


def melody(first, steps=16):
    events = np.full(steps, HOLD, dtype=np.int16)
    events[0] = first
    events[4] = first + 2
    events[8] = REST
    events[12] = first + 4
    return events


@pytest.fixture
def store(tmp_path):
    with PreferenceStore(tmp_path / "prefs.sqlite") as opened:
        yield opened


@pytest.fixture
def midi_folder(tmp_path):
    folder = tmp_path / "midi"
    march = LOOPS["march"]
    write_midi(folder / "over_march_1.mid", melody(69, 32), march.notes_until(32))
    write_midi(folder / "over_march_2.MID", melody(72, 32), march.notes_until(32))
    write_midi(folder / "alone_32.mid", melody(60, 32))
    write_midi(folder / "alone_16.midi", melody(62, 16))
    (folder / "broken.mid").write_bytes(b"MThd not really")
    (folder / "notes.txt").write_text("not a MIDI file, not read")
    return folder


# ---------------------------------------------------------------- what a pool is


def test_pool_kinds(midi_folder, tmp_path):
    assert pool_kind("note_rnn") == "note_rnn"
    assert pool_kind(midi_folder) == "midi"
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoolError, match="neither a run folder nor a folder of MIDI"):
        pool_kind(tmp_path / "empty")
    with pytest.raises(PoolError, match="does not exist"):
        pool_kind(tmp_path / "missing")
    with pytest.raises(PoolError, match="is a file"):
        pool_kind(midi_folder / "notes.txt")


# ---------------------------------------------------------------- MIDI folder


def test_midi_folder_melodies_keep_their_context(store, midi_folder, caplog):
    with caplog.at_level(logging.WARNING, logger="feedback.pool"):
        ids = fill_store(store, midi_folder)
    assert "skipped broken.mid" in caplog.text
    by_ref = {store.melody(i).ref: store.melody(i) for i in ids}
    assert set(by_ref) == {"over_march_1.mid", "over_march_2.MID", "alone_32.mid",
                           "alone_16.midi"}
    for name in ("over_march_1.mid", "over_march_2.MID"):  # the accompaniment track is march's
        assert by_ref[name].context == ("march", "A minor", 32)
    assert by_ref["alone_32.mid"].context == (None, None, 32)
    assert by_ref["alone_16.midi"].context == (None, None, 16)
    assert all(m.source == "midi" for m in by_ref.values())
    np.testing.assert_array_equal(by_ref["over_march_1.mid"].events, melody(69, 32))
    assert fill_store(store, midi_folder) == ids  # idempotent


def test_midi_folder_cut_to_common_steps(store, midi_folder):
    ids = fill_store(store, midi_folder, steps=16)
    contexts = {store.melody(i).ref: store.melody(i).context for i in ids}
    assert contexts["over_march_1.mid"] == ("march", "A minor", 16)  # march's first bar
    assert contexts["alone_32.mid"] == contexts["alone_16.midi"] == (None, None, 16)
    tokens = schedule_pairs(store, 10, rng=0)
    for token in tokens:
        pair = store.pair(token)
        assert pair.a.context == pair.b.context


def test_midi_context_only_for_an_exact_bundled_accompaniment(tmp_path):
    rock = LOOPS["rock"]
    write_midi(tmp_path / "rock.mid", melody(60, 32), rock.notes_until(32))
    assert midi_context(tmp_path / "rock.mid", 32) == ("rock", "C major")
    changed = list(rock.notes_until(32))[1:]
    write_midi(tmp_path / "almost.mid", melody(60, 32), changed)
    assert midi_context(tmp_path / "almost.mid", 32) == (None, None)
    assert midi_context(tmp_path / "missing.mid", 32) == (None, None)
    write_midi(tmp_path / "short.mid", melody(60, 16), rock.notes_until(16))
    assert midi_context(tmp_path / "short.mid", 16) == ("rock", "C major")
    assert midi_context(tmp_path / "short.mid", 32) == (None, None)  # padded: no rock after


def test_midi_folder_without_readable_files(store, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.mid").write_bytes(b"\x00" * 20)
    with pytest.raises(PoolError, match="no melody could be read"):
        fill_store(store, folder)
    assert store.counts()["melodies"] == 0


def test_midi_folder_count_limits_files(store, midi_folder):
    assert len(fill_store(store, midi_folder, count=2)) == 2


def test_bad_arguments(store, midi_folder):
    with pytest.raises(ValueError, match="count"):
        fill_store(store, midi_folder, count=0)
    with pytest.raises(ValueError, match="steps"):
        fill_store(store, midi_folder, steps=-1)
    with pytest.raises(ValueError, match="note_rnn"):
        fill_store(store, midi_folder, accompaniment="march")
    with pytest.raises(ValueError, match="unknown accompaniment"):
        fill_store(store, "note_rnn", count=2, steps=4, accompaniment="polka")
    assert store.counts()["melodies"] == 0


# ---------------------------------------------------------------- a run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from mammad_cli import main

    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--agent", "ppo", "--steps", "64", "--runs-dir", str(runs),
                 "--env-kwargs", "steps=16", "--n-envs", "2", "--hyperparams", "n_steps=16",
                 "batch_size=32", "--eval-episodes", "2", "--samples", "1",
                 "--no-progress"]) == 0
    (run,) = [path for path in runs.iterdir() if (path / "config.yml").is_file()]
    return run


@pytest.mark.slow  # trains a tiny agent
def test_run_melodies_come_with_the_accompaniment_their_episode_drew(store, tiny_run):
    from agents.rollouts import play_episodes
    from agents.runs import read_config
    from agents.training import load_run_model, vector_env_maker

    assert pool_kind(tiny_run) == "run"
    ids = fill_store(store, tiny_run, count=8, seed=3)
    assert len(ids) == 8
    config = read_config(tiny_run)
    model = load_run_model(tiny_run, tiny_run / "model.zip", config)
    melodies, loops, _ = play_episodes(model, vector_env_maker(config), 8, seed=3)
    for melody_id, events, loop in zip(ids, melodies, loops, strict=True):
        stored = store.melody(melody_id)
        assert stored.source == "run"
        assert stored.ref == str(tiny_run)
        assert stored.context == (loop.name, loop.key, 16)
        np.testing.assert_array_equal(stored.events, events)
    assert len({store.melody(i).accompaniment for i in ids}) > 1  # random accompaniments


@pytest.mark.slow  # trains a tiny agent
def test_run_pool_from_its_model_file(store, tiny_run):
    ids = fill_store(store, tiny_run / "model.zip", count=2)
    assert {store.melody(i).ref for i in ids} == {str(tiny_run)}
    with pytest.raises(ValueError, match="16 steps, not 32"):
        fill_store(store, tiny_run, count=2, steps=32)


@pytest.mark.slow  # trains a tiny agent
def test_a_folder_of_runs_is_not_a_pool(tiny_run):
    with pytest.raises(PoolError, match="holds runs"):
        pool_kind(tiny_run.parent)


# ---------------------------------------------------------------- the Note-RNN


def test_note_rnn_samples(store):
    ids = fill_store(store, "note_rnn", count=4, steps=16, seed=1)
    stored = [store.melody(i) for i in ids]
    assert all(m.context == (None, None, 16) and m.source == "model" for m in stored)
    assert "note_rnn" in stored[0].ref and "seed 1" in stored[0].ref
    assert fill_store(store, "note_rnn", count=4, steps=16, seed=1) == ids  # same seed
    over = fill_store(store, "note_rnn", count=3, steps=8, seed=2, accompaniment="rock")
    assert {store.melody(i).context for i in over} == {("rock", "C major", 8)}


# ---------------------------------------------------------------- scheduling


class FakeEnsemble:
    """Disagrees on a pair by how far apart the first pitches are."""

    def __init__(self):
        self.calls = []

    def disagreement(self, melodies_a, melodies_b, accompaniments):
        for events in [*melodies_a, *melodies_b]:
            pitches = events[events >= 0]
            assert pitches.min() >= 21 and pitches.max() <= 108, "unscorable melody scored"
        self.calls.append(list(accompaniments))
        return np.array([abs(int(a[0]) - int(b[0])) for a, b in
                         zip(melodies_a, melodies_b, strict=True)], dtype=float)


def test_scheduler_prefers_the_pairs_the_model_is_least_sure_of(store):
    ids = store.add_melodies([melody(60 + k) for k in range(6)], "seed",
                             accompaniment="march", key="A minor")
    outside = store.add_melody(melody(10), "seed", accompaniment="march", key="A minor")
    fake = FakeEnsemble()
    tokens = schedule_pairs(store, 3, fake, rng=0)
    pairs = [store.pair(token) for token in tokens]
    gaps = [abs(int(p.a.events[0]) - int(p.b.events[0])) for p in pairs]
    assert gaps == [5, 4, 4]  # the largest of all 15 pairs, most uncertain first
    assert {p.a.id for p in pairs} | {p.b.id for p in pairs} <= set(ids)
    assert all(outside not in (p.a.id, p.b.id) for p in pairs)
    assert fake.calls and all(set(call) == {"march"} for call in fake.calls)
    assert [p.token for p in store.unlabelled_pairs()] == tokens  # shown in this order
    again = [store.pair(t) for t in schedule_pairs(store, 3, fake, rng=0)]
    assert [abs(int(p.a.events[0]) - int(p.b.events[0])) for p in again] == [3, 3, 3]


def test_scheduler_scores_a_sample_of_candidates(store):
    store.add_melodies([melody(40 + k) for k in range(40)], "seed")  # 780 possible pairs
    fake = FakeEnsemble()
    tokens = schedule_pairs(store, 5, fake, rng=1, candidates=100)
    assert len(tokens) == 5
    assert sum(len(call) for call in fake.calls) == 100
    gaps = [abs(int(store.pair(t).a.events[0]) - int(store.pair(t).b.events[0]))
            for t in tokens]
    assert gaps == sorted(gaps, reverse=True) and gaps[0] >= 30


def test_random_schedule_pairs_only_one_context_and_never_twice(store):
    march = store.add_melodies([melody(60 + k) for k in range(4)], "seed",
                               accompaniment="march", key="A minor")
    alone = store.add_melodies([melody(60 + k) for k in range(3)], "seed")
    store.add_melody(melody(60, 20), "seed")  # alone in its context: never paired
    made = []
    while tokens := schedule_pairs(store, 4, rng=len(made)):
        made.extend(tokens)
    assert len(made) == 6 + 3  # every possible pair once
    seen = set()
    for token in made:
        pair = store.pair(token)
        assert pair.a.context == pair.b.context
        both = frozenset((pair.a.id, pair.b.id))
        assert both <= set(march) or both <= set(alone)
        assert both not in seen
        seen.add(both)
    assert schedule_pairs(store, 0) == []


def test_random_order_of_a_and_b(store):
    store.add_melodies([melody(50 + k) for k in range(12)], "seed")
    tokens = schedule_pairs(store, 40, rng=0)
    firsts = [store.pair(t).a.id < store.pair(t).b.id for t in tokens]
    assert 0 < sum(firsts) < len(firsts)


def test_a_real_ensemble_and_a_single_net_schedule(store):
    from rewards.preferences import MelodyRewardNet

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    store.add_melodies([melody(60 + k) for k in range(5)], "seed", accompaniment="rock",
                       key="C major")
    ensemble = RewardEnsemble(members=2, embedding_dim=4, hidden_size=8)
    assert len(schedule_pairs(store, 2, ensemble, rng=0)) == 2
    net = MelodyRewardNet(embedding_dim=4, hidden_size=8)
    assert len(schedule_pairs(store, 2, net, rng=0)) == 2
    a = [melody(60), melody(61)]
    b = [melody(70), melody(61)]
    sure = uncertainty(net, a, b, ["rock", "rock"])
    assert sure.shape == (2,) and sure[1] == pytest.approx(0.5)  # the same melody: a coin flip
    assert np.all((sure >= 0) & (sure <= 0.5))


def test_candidate_pairs_sampling_is_bounded(store):
    from feedback.pool import candidate_pairs

    rng = np.random.default_rng(0)
    groups = [list(range(10)), list(range(10, 13))]
    every = {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}
    assert {frozenset(p) for p in candidate_pairs(groups, 100, rng)} == every
    found = candidate_pairs(groups, 20, rng, exclude=set(list(every)[:40]))
    assert len(found) <= 20 and not {frozenset(p) for p in found} & set(list(every)[:40])
