"""`mammad preference train`: a reward model and its card from a store's labels."""


import pytest

from mammad_cli import main


def test_preference_train_from_a_store(tmp_path, capsys):
    import gymnasium as gym
    import numpy as np

    from feedback.labelers import make_labeler
    from rewards.preferences import PreferenceStore, load_reward_model

    rng = np.random.default_rng(0)
    db = tmp_path / "prefs.sqlite"
    with PreferenceStore(db) as store:
        tokens = []
        for accompaniment in ("march", None):
            melodies = [rng.choice(np.r_[55:80, -2], 16) for _ in range(60)]
            ids = store.add_melodies(melodies, "seed", accompaniment=accompaniment)
            tokens += store.new_pairs(list(zip(ids[::2], ids[1::2], strict=True)))
        labeler = make_labeler("synthetic:theory", temperature=0.5)
        pairs = [store.pair(token) for token in tokens]
        choices = labeler.label([p.a.events for p in pairs], [p.b.events for p in pairs],
                                [p.context.accompaniment for p in pairs])
        store.record_many([(p.token, c, labeler.name) for p, c in zip(pairs, choices,
                                                                     strict=True)])
        store.record(store.new_pair(*store.add_melodies(
            [np.full(16, 60), np.full(16, 62)], "seed")), "skip", "human:x")
    out = tmp_path / "pref_model"
    main(["preference", "train", "--db", str(db), "--out", str(out), "--members", "2",
          "--epochs", "3", "--no-progress"])
    assert "trained on 60 labels (held-out accuracy" in capsys.readouterr().out
    card = (out / "model_card.md").read_text()
    assert "| synthetic:theory | 60 |" in card and "mammad preference train --db" in card
    model = load_reward_model(out / "model.pt")
    assert model.card["labels"] == 60 and model.card["held_out"]["pairs"] == 12
    env = gym.make("MelodyEnv-v0", steps=4, accompaniment="march", reward="preference",
                   reward_kwargs={"preference": {"model": str(out / "model.pt")}})
    env.reset(seed=0)
    for _ in range(4):
        _, reward, terminated, _, _ = env.step(env.action_space.sample())
    assert terminated and np.isfinite(reward) and reward != 0
    for argv, message in [
        (["--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "x")],
         "none.sqlite' does not exist"),
        (["--db", str(db), "--out", str(out)], "exists already: choose a new --out"),
        (["--db", str(db), "--out", str(tmp_path / "y"), "--held-out", "1.5"],
         "held_out must be a fraction"),
    ]:
        with pytest.raises(SystemExit):
            main(["preference", "train", *argv])
        assert message in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists() and not (tmp_path / "y").exists()


def test_preference_train_chooses_the_net(tmp_path, capsys):
    import numpy as np

    from rewards.preferences import PreferenceStore, PriorRewardEnsemble, load_reward_model

    rng = np.random.default_rng(1)
    db = tmp_path / "prefs.sqlite"
    with PreferenceStore(db) as store:
        ids = store.add_melodies([rng.choice(np.r_[55:80, -2], 16) for _ in range(20)], "seed")
        tokens = store.new_pairs(list(zip(ids[::2], ids[1::2], strict=True)))
        store.record_many([(token, "a", "synthetic:x") for token in tokens])
    out = tmp_path / "model"
    main(["preference", "train", "--db", str(db), "--out", str(out), "--net", "note_rnn",
          "--members", "1", "--epochs", "2", "--no-progress"])
    assert isinstance(load_reward_model(out / "model.pt"), PriorRewardEnsemble)
    assert "heads over the frozen Note-RNN 'default'" in (out / "model_card.md").read_text()
    with pytest.raises(SystemExit):
        main(["preference", "train", "--db", str(db), "--out", str(tmp_path / "x"),
              "--net", "transformer"])
    assert "invalid choice: 'transformer'" in capsys.readouterr().err
