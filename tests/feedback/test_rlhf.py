import dataclasses
import json
import re

import numpy as np
import pytest
import torch
import yaml

from feedback.pairs import mixed_candidates
from feedback.rlhf import (
    OldLoopError,
    RLHFSettings,
    changed_settings,
    choose_pairs,
    pair_candidates,
    run_rlhf,
)
from feedback.rlhf_round import (
    ROUND_FILE,
    choose_round,
    loop_hyperparams,
    read_samples,
    write_samples,
)
from mammad_cli import main
from rewards.preferences import PreferenceStore

SMALL = ["--env-kwargs", "steps=16", "--samples", "48", "--pairs", "24", "--steps", "1024",
         "--members", "2", "--no-progress"]


def high_register(melodies):
    """A taste none of the suite's rewards has: the mean pitch of the notes."""
    return np.array([np.mean([p for p in m if p >= 0] or [0.0]) / 12 for m in melodies])


@pytest.mark.slow
def test_a_short_loop_runs_end_to_end_and_resumes(tmp_path, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "loop"
    labeler = f"{__name__}:high_register"
    main(["rlhf", "--rounds", "2", "--labeler", labeler, "--out", str(out), *SMALL])
    text = capsys.readouterr().out
    assert "| 1 | 48 |" in text
    chosen = json.loads((out / "round_1" / "round.json").read_text())["policy_round"]
    assert "the loop's policy" in text and f"mammad evaluate {out}/round_{chosen}" in text
    with PreferenceStore(out / "prefs.sqlite") as store:
        counts = store.counts()
        assert counts["labelled"] == 48 and counts["melodies"] >= 48
        labellers = {pair.label.labeler for pair in store.comparisons()}
    assert labellers == {labeler}
    rounds = [json.loads((out / f"round_{k}" / "round.json").read_text()) for k in (0, 1)]
    assert [r["labels"] for r in rounds] == [24, 48]
    assert rounds[1]["policy_steps"] == 2048
    assert (out / "round_1" / "pref_model" / "model_card.md").is_file()
    main(["evaluate", str(out / "round_1"), "-n", "4", "--no-progress"])  # a run folder
    assert "4 compositions" in capsys.readouterr().out
    config = yaml.safe_load((out / "round_1" / "config.yml").read_text())
    assert config["agent"] == "note_rnn_ppo" and config["hyperparams"]["note_rnn"] == "default"
    assert config["env_kwargs"]["reward"] == "preference"  # the learned reward alone, scaled
    assert config["env_kwargs"]["reward_weights"]["preference"] == rounds[1]["reward_scale"] > 0
    assert config["hyperparams"]["gamma"] == 1.0 and config["hyperparams"]["kl_target"] == 6.0
    for result in rounds:  # the KL to the Note-RNN is measured before and after
        assert 0 <= result["kl_per_melody_before"] <= result["kl_per_melody_after"] < 10
    assert rounds[0]["kl_per_melody_before"] < 1e-3  # round 0 samples the Note-RNN itself
    # every round's after-melodies are kept and scored again by the newest reward model
    assert sorted(rounds[1]["round_scores"]) == ["0", "1"] and rounds[0]["policy_round"] == 0
    melodies, names = read_samples(out / "round_1")
    assert len(melodies) == len(names) == 48 and all(len(m) == 16 for m in melodies)
    assert 0 <= rounds[1]["reward_model"]["policy_pairs"]["accuracy"] <= 1
    with PreferenceStore(out / "prefs.sqlite") as store:  # round 1 paired the reference too
        sources = {melody.source for melody in store.melodies()}
    assert sources == {"policy", "model"}

    (out / "round_1" / "round.json").unlink()  # killed after labelling, before the end
    main(["rlhf", "--rounds", "3", "--labeler", labeler, "--out", str(out), *SMALL])
    capsys.readouterr()
    with PreferenceStore(out / "prefs.sqlite") as store:
        assert store.counts()["labelled"] == 72  # round 1's labels were not asked again


@pytest.mark.slow
def test_the_anchor_can_be_another_note_rnn(tmp_path, capsys, monkeypatch):
    from rewards.note_rnn import NoteRNN

    torch.manual_seed(0)
    weights = NoteRNN(embedding_dim=8, hidden_size=16).save(tmp_path / "small.pt")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "loop"
    main(["rlhf", "--rounds", "1", "--labeler", f"{__name__}:high_register", "--out", str(out),
          "--note-rnn-model", "small.pt", *SMALL])  # relative to the working folder
    assert "| 0 | 24 |" in capsys.readouterr().out
    config = yaml.safe_load((out / "round_0" / "config.yml").read_text())
    assert config["hyperparams"]["note_rnn"] == str(weights.resolve())
    assert json.loads((out / "rlhf.json").read_text())["note_rnn_model"] == str(weights.resolve())
    with pytest.raises(SystemExit):  # resumed with another anchor: refused
        main(["rlhf", "--rounds", "1", "--labeler", f"{__name__}:high_register", "--out",
              str(out), "--note-rnn-model", "rl_tuner", *SMALL])
    assert "['note_rnn_model'] differ" in capsys.readouterr().err


def test_a_folder_of_another_loop_is_refused(tmp_path, capsys):
    out = tmp_path / "loop"
    out.mkdir()
    (out / "rlhf.json").write_text(json.dumps({"env": "MammadMelody-binary-v0", "version": 2}))
    with pytest.raises(SystemExit):
        main(["rlhf", "--out", str(out), *SMALL])
    assert "holds an RLHF loop with other settings" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--rounds", "0"], "argument --rounds: 0 is too small"),
    (["--labeler", "synthetic:theroy"], "unknown reward 'theroy'"),
    (["--env", "CartPole-v1"], "is not a MammadMelody env"),
    (["--env-kwargs", "reward=theory"], "the loop sets the env's rewards itself"),
    (["--temperature", "-1"], "temperature must be a number >= 0"),
    (["--note-rnn-weight", "3"], "--note-rnn-weight is gone"),
    (["--kl-target", "lots"], "'lots' is neither a number nor 'none'"),
    (["--keep-best-kl", "far"], "'far' is neither a number nor 'none'"),
    (["--kl-margin", "0"], "kl_margin (a fraction of kl_target) must be a number > 0"),
    (["--kl-margin", "lots"], "'lots' is neither a number nor 'none'"),
    (["--note-rnn-model", "rl_tunr"], "'rl_tunr' is neither a shipped Note-RNN ('default', "
                                      "'rl_tuner') nor a weights file"),
])
def test_bad_arguments(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["rlhf", "--out", str(tmp_path / "x"), *argv])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x" / "prefs.sqlite").exists()


def test_the_command_lines_defaults_are_the_loops():
    from mammad_cli import rlhf as command

    assert command.KL_MARGIN == RLHFSettings().kl_margin


def test_pairs_share_an_accompaniment():
    rng = np.random.default_rng(0)
    names = ["march", "rock", "march", None, "rock", None, "march"]
    pairs = pair_candidates(names, 50, rng)
    assert pairs and all(names[a] == names[b] and a < b for a, b in pairs)
    assert len(set(pairs)) == len(pairs)
    assert pair_candidates(["march", "rock"], 3, rng) == []


class KnownDoubt:
    """A reward model whose doubt about a pair is the first melody's first pitch."""

    def disagreement(self, melodies_a, melodies_b, accompaniments):
        return np.array([float(m[0]) for m in melodies_a])


def test_the_least_sure_pairs_are_chosen():
    melodies = [np.array([pitch]) for pitch in range(40, 80)]
    names = ["march"] * len(melodies)
    pairs = choose_pairs(melodies, names, 5, KnownDoubt(), np.random.default_rng(0))
    candidates = pair_candidates(names, 20, np.random.default_rng(0))
    top = sorted(candidates, key=lambda pair: -melodies[pair[0]][0])[:5]
    assert sorted(pairs) == sorted(top)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="samples must be at least 2"):
        RLHFSettings(samples=1)
    with pytest.raises(ValueError, match="kl_coef"):
        RLHFSettings(kl_coef=-1.0)
    with pytest.raises(ValueError, match="kl_target"):
        RLHFSettings(kl_target=0.0)
    with pytest.raises(ValueError, match="reference_share must be a fraction"):
        RLHFSettings(reference_share=1.5)
    with pytest.raises(ValueError, match="note_rnn_model must be a shipped model's name"):
        RLHFSettings(note_rnn_model="")
    with pytest.raises(ValueError, match="keep_best must be True or False, got 'yes'"):
        RLHFSettings(keep_best="yes")
    for bad in (0, -3.0, float("nan"), True):
        with pytest.raises(ValueError, match="keep_best_kl must be a number of nats"):
            RLHFSettings(keep_best_kl=bad)
    assert RLHFSettings(keep_best_kl=None).keep_best_kl is None
    with pytest.raises(ValueError, match="unknown env"):
        run_rlhf(RLHFSettings(env="Nope-v0"), None)


@pytest.mark.parametrize("margin", [0.0, -0.5, float("inf"), "0.25", True])
def test_a_bad_kl_margin_is_named(margin):
    with pytest.raises(ValueError, match=f"kl_margin .* must be a number > 0 or None .*"
                                         f"got {re.escape(repr(margin))}"):
        RLHFSettings(kl_margin=margin)


def test_the_kl_ceiling_is_the_target_and_a_margin():
    assert RLHFSettings().kl_limit == 7.5  # 6 nats and a quarter
    assert RLHFSettings(kl_target=8.0, kl_margin=0.5).kl_limit == 12.0
    assert RLHFSettings(kl_margin=None).kl_limit is None
    assert RLHFSettings(kl_target=None).kl_limit is None  # a fixed beta: no ceiling
    assert loop_hyperparams(RLHFSettings())["kl_limit"] == 7.5
    assert "kl_limit" not in loop_hyperparams(RLHFSettings(kl_margin=None))


def test_a_loop_begun_before_the_kl_margin_resumes_with_what_it_ran():
    described = json.loads(json.dumps(dataclasses.asdict(RLHFSettings(kl_margin=None,
                                                                      rounds=6))))
    saved = {k: v for k, v in described.items() if k != "kl_margin"} | {"rounds": 5}
    assert changed_settings(saved, described) == []
    now = json.loads(json.dumps(dataclasses.asdict(RLHFSettings())))
    assert changed_settings(saved, now) == ["kl_margin"]


def test_a_loop_of_the_earlier_version_is_refused_with_what_to_do(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / "rlhf.json").write_text(json.dumps({"env": "MammadMelody-count-v0",
                                               "note_rnn_weight": 1.0}))
    before = (out / "rlhf.json").read_text()
    with pytest.raises(OldLoopError, match="earlier version .* --db .*prefs.sqlite"):
        run_rlhf(RLHFSettings(), out)
    assert (out / "rlhf.json").read_text() == before  # left as it was
    (out / "rlhf.json").write_text(json.dumps({"version": 99}))
    with pytest.raises(OldLoopError, match="version 99"):
        run_rlhf(RLHFSettings(), out)


def test_mixed_pairs_set_policy_melodies_against_the_reference():
    names = ["march", "rock"] * 20  # 20 policy melodies, then 20 of the reference
    pairs = mixed_candidates(names, 20, 30, 0.5, np.random.default_rng(0))
    assert len(pairs) == 30 and all(names[a] == names[b] and a < b for a, b in pairs)
    against = [pair for pair in pairs if pair[1] >= 20]
    assert len(against) == 15 and all(a < 20 for a, _ in against)  # never two references
    only_policy = mixed_candidates(names, 40, 10, 0.5, np.random.default_rng(0))
    assert len(only_policy) == 10  # no reference melody: every pair is the policy's


@pytest.mark.slow
def test_a_loop_learns_a_taste_it_is_only_shown_through_labels(tmp_path):
    torch.set_num_threads(1)
    settings = RLHFSettings(env_kwargs={"steps": 16}, rounds=3, samples=64, pairs=40,
                            steps=8192, labeler="benchmarks.tastes:high_register",
                            temperature=2.0, members=2, seed=3)
    results = run_rlhf(settings, tmp_path / "loop", progress=False)
    start, end = results[0]["labeler_score_before"], results[-1]["labeler_score_after"]
    assert end > start + 3  # semitones higher, from labels alone
    assert results[-1]["distinct_melodies_after"] >= 60
    assert results[-1]["kl_per_melody_after"] < 10


class MeanPitch:
    """A reward model that scores a melody by its mean event (pitches here)."""

    def score(self, melodies, accompaniments=None):
        return np.array([float(np.mean(m)) for m in melodies])


def fake_round(out, index, pitch, kl, samples=True):
    folder = out / f"round_{index}"
    folder.mkdir(parents=True)
    if samples:
        write_samples(folder, [np.full(8, pitch), np.full(8, pitch + 2)], ["march", None])
    record = {"round": index, "kl_per_melody_after": kl}
    (folder / ROUND_FILE).write_text(json.dumps(record))
    return record


def test_the_loop_keeps_the_round_the_newest_model_scores_highest(tmp_path):
    fake_round(tmp_path, 0, 60, 3.0)
    fake_round(tmp_path, 1, 72, 12.0)  # the best melodies, but too far from the Note-RNN
    fake_round(tmp_path, 2, 66, 8.0)
    fake_round(tmp_path, 3, 80, 5.0, samples=False)  # a round of an earlier loop: passed over
    last = {"round": 4, "kl_per_melody_after": 9.0}  # the round just finished: not written yet
    (tmp_path / "round_4").mkdir()
    write_samples(tmp_path / "round_4", [np.full(8, 50)], [None])
    choice = choose_round(tmp_path, last, MeanPitch(), keep_best_kl=10.0)
    assert choice["policy_round"] == 2
    assert choice["round_scores"] == {"0": 61.0, "2": 67.0, "4": 50.0}
    assert choose_round(tmp_path, last, MeanPitch(), keep_best_kl=None)["policy_round"] == 1
    # no round within the limit: the one nearest the Note-RNN
    assert choose_round(tmp_path, last, MeanPitch(), keep_best_kl=1.0)["policy_round"] == 0
    melodies, names = read_samples(tmp_path / "round_0")
    assert [m.tolist() for m in melodies] == [[60] * 8, [62] * 8] and names == ["march", None]
    assert read_samples(tmp_path / "round_3") is None


def test_a_loop_begun_before_the_choice_of_rounds_resumes(tmp_path):
    """rlhf.json of a loop begun before keep_best/keep_best_kl existed: the same loop."""
    from dataclasses import asdict

    out = tmp_path / "loop"
    (out / "round_0").mkdir(parents=True)
    saved = json.loads(json.dumps(asdict(RLHFSettings(rounds=1))))
    del saved["keep_best"], saved["keep_best_kl"]
    (out / "rlhf.json").write_text(json.dumps(saved))
    (out / "round_0" / ROUND_FILE).write_text(json.dumps({"round": 0}))
    assert run_rlhf(RLHFSettings(rounds=1), out) == [{"round": 0}]
    assert json.loads((out / "rlhf.json").read_text())["keep_best_kl"] == 10.0
    with pytest.raises(ValueError, match=r"\['keep_best_kl'\] differ"):
        run_rlhf(RLHFSettings(rounds=1, keep_best_kl=5.0), out)
