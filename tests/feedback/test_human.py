"""A person drives the RLHF loop: the page serves a round's pairs with the model's certainty,
``HumanLabeler.label_pairs`` waits for the labels, and one real browser (Playwright driving
Debian's Chromium) labels two rounds of a tiny loop."""

import json
import socket
import threading
import time
import urllib.request

import numpy as np
import pytest
import torch

from feedback.labelers import make_labeler
from feedback.rlhf import RLHFSettings, describe, results_table, run_rlhf
from mammad_cli import main
from rewards.preferences import PreferenceStore, RewardEnsemble
from tests.feedback.test_labelling import CHROMIUM, browser_or_skip, melody, require, session_of

require("starlette", "the labelling page's web framework: the label extra")
require("uvicorn", "the labelling page's server: the label extra")

from starlette.testclient import TestClient  # noqa: E402

from feedback.human import (  # noqa: E402
    HumanLabeler,
    LabellingServerError,
    LabellingTimeoutError,
    human_name,
)
from feedback.labelling import default_labeler, make_app  # noqa: E402


@pytest.fixture
def store(tmp_path):
    with PreferenceStore(tmp_path / "prefs.sqlite") as opened:
        ids = opened.add_melodies([melody(60 + k) for k in range(6)], "policy",
                                  accompaniment="march")
        opened.new_pairs([(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[5])])
        yield opened


def next_of(client):
    session = session_of(client.get("/").text)
    return session, client.get("/api/next", headers={"X-Session": session}).json()


def post(client, session, token, choice="a"):
    return client.post("/api/label", json={"pair": token, "choice": choice, "session": session})


# ---------------------------------------------------------------- the page in a round


def test_without_a_round_the_page_is_as_before(store):
    client = TestClient(make_app(store, labeler="human:tester"))
    _, data = next_of(client)
    assert data["round"] is None and "round" not in data["progress"]
    assert data["pair"]["model"] is None  # no model: no certainty


def test_a_round_serves_its_pairs_only_and_then_none(store):
    app = make_app(store, labeler="human:tester")
    client = TestClient(app)
    oldest, *tokens = [pair.token for pair in store.unlabelled_pairs()]
    app.state.page.set_round(0, tokens)
    session, data = next_of(client)
    assert data["round"] == 0 and data["pair"]["token"] == tokens[0]
    assert data["pair"]["model"] is None and not data["model"]["loaded"]
    assert data["progress"]["round"] == {"index": 0, "pairs": 2, "labelled": 0, "skipped": 0,
                                         "unlabelled": 2}
    answer = post(client, session, oldest)
    assert answer.status_code == 404 and "not one of round 0's" in answer.json()["error"]
    assert store.pair(oldest).label is None
    assert post(client, session, tokens[0], "skip").json()["new"]
    assert next_of(client)[1]["pair"]["token"] == tokens[1]
    assert post(client, session, tokens[1], "b").json()["new"]
    _, data = next_of(client)
    assert data["pair"] is None and data["round"] == 0  # the page waits for the next round
    assert data["progress"]["round"] == {"index": 0, "pairs": 2, "labelled": 1, "skipped": 1,
                                         "unlabelled": 0}


def test_the_page_says_how_sure_the_rounds_model_is(store):
    torch.manual_seed(0)
    model = RewardEnsemble(members=2, card={"labels": 12})
    app = make_app(store, labeler="human:tester")
    tokens = [pair.token for pair in store.unlabelled_pairs()]
    app.state.page.set_round(3, tokens, model)
    _, data = next_of(TestClient(app))
    pair = store.pair(tokens[0])
    scores = model.score([pair.a.events, pair.b.events], ["march", "march"])
    certainty = data["pair"]["model"]
    assert data["round"] == 3 and data["model"] == {"loaded": True, "labels": 12}
    assert certainty["a"] == pytest.approx(1 / (1 + np.exp(scores[1] - scores[0])))
    assert certainty["disagreement"] == pytest.approx(model.disagreement(
        [pair.a.events], [pair.b.events], ["march"])[0])
    single = RewardEnsemble(members=1)  # one member disagrees with nobody
    app.state.page.set_round(4, tokens, single)
    assert next_of(TestClient(app))[1]["pair"]["model"]["disagreement"] is None


# ---------------------------------------------------------------- HumanLabeler


def test_make_labeler_makes_a_person():
    labeler = make_labeler("human:alice", temperature=3)  # a person has no noise: ignored
    assert isinstance(labeler, HumanLabeler)
    assert labeler.name == "human:alice" and not labeler.can_score
    assert make_labeler("synthetic:theory").can_score
    assert human_name("human") == default_labeler()
    with pytest.raises(NotImplementedError, match="no score"):
        labeler.scores([np.array([60])])
    for bad in ("human:", "humane", "human: "):
        with pytest.raises(ValueError, match="'human' or 'human:<name>'"):
            human_name(bad)
    with pytest.raises(ValueError, match="port must be 0..65535"):
        HumanLabeler(port=70000)
    with pytest.raises(ValueError, match="timeout"):
        HumanLabeler(timeout=0)


def label_later(db, tokens, delay=0.3):
    """Another thread labels the pairs one by one, as a person on the page would."""
    def label():
        with PreferenceStore(db) as other:
            for token, choice in zip(tokens, ["a", "skip", "b"], strict=False):
                time.sleep(delay)
                other.record(token, choice, "human:tester")

    thread = threading.Thread(target=label)
    thread.start()
    return thread


def test_label_pairs_waits_until_every_pair_has_an_answer(store, caplog):
    pairs = store.unlabelled_pairs()
    caplog.set_level("INFO", logger="feedback.human")
    with HumanLabeler("human:tester", port=0, poll_seconds=0.05) as labeler:
        thread = label_later(store.path, [pair.token for pair in pairs])
        started = time.monotonic()
        assert labeler.label_pairs(store, pairs, 0, None) == 3
        assert time.monotonic() - started >= 0.8  # it waited for the third label
        thread.join()
        assert labeler.serving and labeler.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(labeler.url + "api/next") as answer:  # the same server
            data = json.loads(answer.read())
        assert data["round"] == 0 and data["pair"] is None
        assert labeler.label_pairs(store, [], 1, None) == 0  # nothing to ask
    assert not labeler.serving
    assert [p.label.choice for p in map(store.pair, [p.token for p in pairs])] == \
        ["a", "skip", "b"]
    assert "round 0: 3 of 3 pairs labelled" in caplog.text
    assert "labelling as human:tester: open http://127.0.0.1:" in caplog.text


def test_label_pairs_times_out_naming_what_remains(store):
    pairs = store.unlabelled_pairs()
    with HumanLabeler("human:tester", port=0, timeout=0.3, poll_seconds=0.05) as labeler:
        store.record(pairs[0].token, "a", "human:tester")
        with pytest.raises(LabellingTimeoutError, match=r"round 2: 2 of 3 pairs still "
                                                        r"unlabelled after 0.3 s"):
            labeler.label_pairs(store, pairs, 2, None)


def test_a_taken_port_is_a_clear_error(store):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with HumanLabeler("human:tester", port=port) as labeler:
            with pytest.raises(LabellingServerError, match=f"cannot listen on 127.0.0.1:{port}"):
                labeler.label_pairs(store, store.unlabelled_pairs(), 0, None)


# ---------------------------------------------------------------- the loop's side


def test_a_loop_without_labeler_scores_prints_dashes():
    result = {"round": 0, "labels": 3, "new_labels": 3, "samples": 8, "seconds": 1.0,
              "reward_model": {"held_out_accuracy": None}, "labeler_score_before": None,
              "labeler_score_after": None, "distinct_melodies_after": 5}
    assert "labeler score - -> - (5 distinct" in describe(result)
    assert "| 0 | 3 | 3 | - | - | - | - | 5 of 8 | - |" in results_table([result])[-1]


@pytest.mark.parametrize("argv, message", [
    (["--labeler", "human", "--temperature", "2"], "--temperature is the Bradley-Terry noise"),
    (["--labeler", "synthetic:theory", "--port", "9000"], "--port are for --labeler human"),
    (["--labeler", "human", "--label-timeout", "0"], "--label-timeout must be"),
])
def test_the_command_refuses_options_of_the_other_labeler(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["rlhf", *argv])
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------- a person in Chromium

TINY = RLHFSettings(env_kwargs={"steps": 16, "accompaniment": "march"}, rounds=2, samples=8,
                    pairs=3, steps=256, members=2, labeler="human:browser",
                    hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64})


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout} s")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_person_drives_the_loop_from_the_browser(tmp_path):
    browser_or_skip()
    from playwright.sync_api import sync_playwright

    torch.set_num_threads(1)
    out = tmp_path / "loop"
    outcome = {}
    labeler = HumanLabeler("human:browser", port=0, timeout=300, poll_seconds=0.1)

    def loop():
        try:
            outcome["results"] = run_rlhf(TINY, out, progress=False, labeler=labeler)
        except BaseException as error:  # noqa: BLE001 (reported by the test's thread)
            outcome["error"] = error

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    problems, seen = [], []
    try:
        wait_until(lambda: labeler.serving or not thread.is_alive(), 300, "labelling page")
        assert labeler.serving, outcome
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                page = browser.new_page()
                page.on("console", lambda message: message.type == "error"
                        and problems.append(message.text))
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.goto(labeler.url)
                for round_index in (0, 1):
                    page.wait_for_selector(f'body[data-state=ready][data-round="{round_index}"]',
                                           state="attached", timeout=300_000)
                    assert f"Round {round_index} of the RLHF loop" in page.inner_text("#round")
                    certainty = page.inner_text("#certainty")
                    if round_index == 0:
                        assert "No model yet in round 0" in certainty
                    else:
                        assert certainty.startswith("The model ") and "% " in certainty
                    while page.get_attribute("body", "data-state") == "ready":
                        token = page.get_attribute("body", "data-pair")
                        seen.append((round_index, token))
                        if len(seen) % 2:
                            page.keyboard.press("a")
                        else:
                            page.click("#choose-b")
                        page.wait_for_selector(  # the next pair, or none (no eval: CSP)
                            f'body:not([data-pair="{token}"]):not([data-state=sending])'
                            f':not([data-state=loading])', state="attached", timeout=30_000)
                    page.wait_for_selector("body[data-state=waiting]", state="attached")
                    assert not page.is_hidden("#waiting")
            finally:
                browser.close()
        thread.join(timeout=300)
    finally:
        labeler.close()
    assert not thread.is_alive() and "error" not in outcome, outcome
    assert not problems, problems
    assert [result["labeler_score_before"] for result in outcome["results"]] == [None, None]
    for round_index in (0, 1):
        result = json.loads((out / f"round_{round_index}" / "round.json").read_text())
        tokens = json.loads((out / f"round_{round_index}" / "pairs.json").read_text())
        assert [t for r, t in seen if r == round_index] == tokens  # the round's pairs, no other
        assert result["new_labels"] == len(tokens) and result["labeler"] == "human:browser"
    with PreferenceStore(out / "prefs.sqlite") as store:
        labels = [pair.label for pair in store.comparisons()]
    assert len(labels) == len(seen) and {label.labeler for label in labels} == {"human:browser"}


def test_the_command_serves_the_page_and_stops_on_its_timeout(tmp_path, capsys):
    out = tmp_path / "loop"
    code = main(["rlhf", "--labeler", "human:cli", "--port", "0", "--label-timeout", "0.5",
                 "--env-kwargs", "steps=16", "accompaniment=march", "--samples", "8",
                 "--pairs", "2", "--rounds", "1", "--no-progress", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "you label as human:cli" in captured.out
    assert "labelling as human:cli: open http://127.0.0.1:" in captured.out
    assert "round 0: 0 of 2 pairs labelled" in captured.out
    assert "round 0: 2 of 2 pairs still unlabelled after 0.5 s" in captured.err
    assert (out / "round_0" / "pairs.json").is_file()  # running it again goes on
    assert not (out / "round_0" / "round.json").exists()
