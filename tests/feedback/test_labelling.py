"""The labelling page: its API with Starlette's TestClient (every refused request leaves the
database as it was), and one real browser (Playwright driving Debian's Chromium) that plays a
melody, presses keys and finds the labels in SQLite."""

import importlib
import importlib.util
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mammad_envs.data import load_accompaniments
from mammad_envs.melody import HOLD, REST
from mammad_envs.midi import write_midi
from rewards.preferences import PreferenceStore, RewardEnsemble

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = bool(os.environ.get("CI"))


def require(module, why):
    """Imports a module; a missing one skips the test, except in CI, where it fails."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if IN_CI:
            raise
        pytest.skip(f"{module} is not installed ({why}); in CI (CI set) this fails instead")


require("starlette", "the labelling page's web framework: the label extra")
if importlib.util.find_spec("httpx2") is None:  # Starlette's TestClient: httpx2, or httpx
    require("httpx", "Starlette's TestClient needs httpx2 (or httpx)")

from starlette.testclient import TestClient  # noqa: E402

from feedback.labelling import build_app, make_app  # noqa: E402

MARCH = next(loop for loop in load_accompaniments() if loop.name == "march")


def melody(first, steps=8):
    events = np.full(steps, HOLD, dtype=np.int16)
    events[0], events[2], events[4], events[6] = first, first + 2, REST, first + 4
    return events


@pytest.fixture
def db(tmp_path):
    return tmp_path / "prefs.sqlite"


@pytest.fixture
def store(db):
    with PreferenceStore(db) as opened:
        ids = opened.add_melodies([melody(60 + k) for k in range(4)], "seed",
                                  accompaniment="march", key="A minor")
        opened.new_pairs([(ids[0], ids[1]), (ids[2], ids[3])])
        yield opened


def dump(db):
    connection = sqlite3.connect(db)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def session_of(html):
    (token,) = re.findall(r'<meta name="session" content="([^"]+)">', html)
    return token


@pytest.fixture
def client(store):
    with TestClient(make_app(store, labeler="human:tester")) as opened:
        yield opened


@pytest.fixture
def session(client):
    return session_of(client.get("/").text)


# ---------------------------------------------------------------- the page and its files


def test_the_page_is_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert len(session_of(html)) >= 32
    assert session_of(client.get("/").text) != session_of(html)  # one per page load
    assert not re.search(r"\b(src|href)=\"(?!/static/)", html)  # no CDN, nothing remote
    assert "//" not in "".join(re.findall(r"\b(?:src|href)=\"([^\"]*)\"", html))
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    for name, kind in (("label.js", "javascript"), ("label.css", "css")):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and kind in asset.headers["content-type"]
        assert "http://" not in asset.text and "https://" not in asset.text
    assert client.get("/favicon.ico").status_code == 204


@pytest.mark.parametrize("path", ["/static/label.html.bak", "/static/..%2flabelling.py",
                                  "/static/%2e%2e%2fstore.py", "/static/../store.py",
                                  "/api/../../etc/passwd", "/prefs.sqlite"])
def test_no_request_reads_a_file_it_names(client, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert "PreferenceStore" not in answer.text and "import" not in answer.text


def test_host_names_are_checked_against_dns_rebinding(store):
    app = make_app(store, labeler="human:tester", allowed_hosts=["127.0.0.1", "localhost"])
    assert TestClient(app, base_url="http://127.0.0.1:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://attacker.example").get("/").status_code == 400


# ---------------------------------------------------------------- GET /api/next


def test_next_pair_has_everything_the_page_draws_and_plays(client, store, session):
    data = client.get("/api/next", headers={"X-Session": session}).json()
    pair = store.next_pair()
    assert data["pair"]["token"] == pair.token
    assert data["pair"]["a"]["events"] == pair.a.events.tolist()
    assert data["pair"]["b"]["events"] == pair.b.events.tolist()
    assert data["pair"]["context"] == {"accompaniment": "march", "key": "A minor", "steps": 8}
    assert data["pair"]["accompaniment"] == [[n.pitch, n.start, n.end]
                                             for n in MARCH.notes_until(8)]
    assert "source" not in str(data["pair"]) and "ref" not in data["pair"]["a"]  # no hints
    assert data["progress"] == {"session": {"labelled": 0, "skipped": 0},
                                "store": {"pairs": 2, "labelled": 0, "skipped": 0,
                                          "unlabelled": 2}}
    assert data["model"] == {"loaded": False, "labels": None}
    assert data["labeler"] == "human:tester" and data["bpm"] == 120
    assert client.get("/api/next").json()["progress"]["session"] is None  # no token: no counts


def test_more_pairs_come_from_the_pair_source_then_the_pool_is_empty(store, session):
    calls = []

    def source():
        calls.append(1)
        if len(calls) == 1:
            a, b = store.add_melodies([melody(70), melody(72)], "seed")
            store.new_pair(a, b)

    client = TestClient(make_app(store, labeler="human:tester", pair_source=source))
    session = session_of(client.get("/").text)
    for pair in store.unlabelled_pairs():
        store.record(pair.token, "a", "human:earlier")
    first = client.get("/api/next").json()["pair"]
    assert first["context"] == {"accompaniment": None, "key": None, "steps": 8}
    assert first["accompaniment"] == []
    assert client.post("/api/label", json={"pair": first["token"], "choice": "tie",
                                           "session": session}).json()["new"]
    assert client.get("/api/next").json()["pair"] is None
    assert len(calls) == 2


def test_the_model_card_shows_how_many_labels(store):
    model = RewardEnsemble(members=2, card={"labels": 42}, embedding_dim=4, hidden_size=8)
    data = TestClient(make_app(store, model, "human:tester")).get("/api/next").json()
    assert data["model"] == {"loaded": True, "labels": 42}


# ---------------------------------------------------------------- POST /api/label


def test_a_label_is_recorded_once(client, store, db, session):
    token = store.next_pair().token
    answer = client.post("/api/label", json={"pair": token, "choice": "a", "session": session})
    assert answer.status_code == 200
    body = answer.json()
    assert body["new"] is True and body["choice"] == "a"
    assert body["progress"]["session"] == {"labelled": 1, "skipped": 0}
    label = store.pair(token).label
    assert (label.choice, label.labeler) == ("a", "human:tester")
    before = dump(db)
    again = client.post("/api/label", json={"pair": token, "choice": "a", "session": session})
    assert again.status_code == 200 and again.json()["new"] is False  # a double click
    assert again.json()["progress"]["session"] == {"labelled": 1, "skipped": 0}
    assert dump(db) == before
    skip = store.next_pair().token
    answer = client.post("/api/label", json={"pair": skip, "choice": "skip", "session": session})
    assert answer.json()["progress"]["session"] == {"labelled": 1, "skipped": 1}
    assert store.pair(skip).label.choice == "skip"
    assert store.counts()["labelers"] == {"human:tester": 2}


def refused(client, store, db, status, *, match=None, **request):
    counts, before = store.counts(), dump(db)
    answer = client.post("/api/label", **request)
    assert answer.status_code == status, answer.text
    assert store.counts() == counts and dump(db) == before  # the database is unchanged
    message = answer.json()["error"]
    if match:
        assert re.search(match, message), message
    return answer


def test_every_refused_label_leaves_the_database_unchanged(client, store, db, session):
    token = store.next_pair().token
    good = {"pair": token, "choice": "b", "session": session}
    refused(client, store, db, 404, match="unknown pair",
            json={**good, "pair": "no-such-pair"})
    answer = refused(client, store, db, 422, match="'a', 'b', 'tie', 'skip'",
                     json={**good, "choice": "c"})
    assert answer.json()["choices"] == ["a", "b", "tie", "skip"]
    refused(client, store, db, 422, json={**good, "choice": None})
    refused(client, store, db, 422, json={**good, "choice": ["a"]})
    refused(client, store, db, 422, json={**good, "pair": 12})
    refused(client, store, db, 422, match="unknown fields",
            json={**good, "labeler": "human:mallory"})  # nobody picks the labeler
    refused(client, store, db, 403, match="session", json={"pair": token, "choice": "b"})
    refused(client, store, db, 403, match="session", json={**good, "session": "forged"})
    refused(client, store, db, 403, json={**good, "session": ["list"]})
    refused(client, store, db, 413, content=b'{"pair": "' + b"x" * 5000 + b'"}',
            headers={"content-type": "application/json"})
    refused(client, store, db, 413, json={**good, "padding": "x" * 5000})
    refused(client, store, db, 413, content=iter([b"{" + b" " * 3000, b" " * 3000 + b"}"]),
            headers={"content-type": "application/json"})  # chunked, no length given
    refused(client, store, db, 400, match="not JSON", content=b"{nope",
            headers={"content-type": "application/json"})
    refused(client, store, db, 400, json=["a", "b"])
    refused(client, store, db, 415, content=b'{"pair": "x"}',
            headers={"content-type": "text/plain"})  # what a cross-site form can send
    refused(client, store, db, 415, data={"pair": token, "choice": "b", "session": session})
    assert client.get("/api/label").status_code == 405
    assert store.counts()["labelled"] == 0
    assert client.post("/api/label", json=good).status_code == 200


def test_a_different_label_for_a_labelled_pair_is_a_conflict(client, store, db, session):
    token = store.next_pair().token
    store.record(token, "a", "human:someone-else")
    answer = refused(client, store, db, 409, match="already labelled 'a'",
                     json={"pair": token, "choice": "b", "session": session})
    assert answer.json()["label"] == "a"
    refused(client, store, db, 409, json={"pair": token, "choice": "a", "session": session})


def test_a_forgotten_session_is_refused(store, db, monkeypatch):
    from feedback.labelling import app as labelling

    monkeypatch.setattr(labelling, "MAX_SESSIONS", 2)
    client = TestClient(make_app(store, labeler="human:tester"))
    oldest = session_of(client.get("/").text)
    client.get("/"), client.get("/")
    token = store.next_pair().token
    refused(client, store, db, 403, json={"pair": token, "choice": "a", "session": oldest})


def test_a_skip_is_no_label_in_the_stores_progress(client, store, session):
    first, second = (pair.token for pair in store.unlabelled_pairs())
    skipped = client.post("/api/label", json={"pair": first, "choice": "skip",
                                              "session": session}).json()["progress"]
    assert skipped["store"] == {"pairs": 2, "labelled": 0, "skipped": 1, "unlabelled": 1}
    assert skipped["session"] == {"labelled": 0, "skipped": 1}
    labelled = client.post("/api/label", json={"pair": second, "choice": "tie",
                                               "session": session}).json()["progress"]
    assert labelled["store"] == {"pairs": 2, "labelled": 1, "skipped": 1, "unlabelled": 0}


def test_an_open_page_keeps_its_session_however_many_pages_are_loaded(store, db, monkeypatch):
    from feedback.labelling import app as labelling

    monkeypatch.setattr(labelling, "MAX_SESSIONS", 3)
    client = TestClient(make_app(store, labeler="human:tester"))
    open_page = session_of(client.get("/").text)
    assert client.get("/api/next", headers={"X-Session": open_page}).status_code == 200
    for _ in range(10):  # page loads that never use their token (e.g. from another site)
        client.get("/")
    assert client.post("/api/alive", headers={"X-Session": open_page}).json() == {"alive": True}
    used = []
    for _ in range(3):  # pages that are used: now the least recently used is forgotten
        used.append(session_of(client.get("/").text))
        client.post("/api/alive", headers={"X-Session": used[-1]})
    assert client.post("/api/alive", headers={"X-Session": open_page}).status_code == 403
    assert client.post("/api/alive", headers={"X-Session": used[-1]}).status_code == 200
    assert client.post("/api/alive").status_code == 403
    token = store.next_pair().token
    refused(client, store, db, 403, json={"pair": token, "choice": "a", "session": open_page})
    assert '<meta name="heartbeat" content="60">' in client.get("/").text


def security_headers_of(answer):
    from feedback.labelling import SECURITY_HEADERS

    return {name: answer.headers.get(name) for name in SECURITY_HEADERS}


def test_every_answer_carries_the_security_headers(store, session):
    from feedback.labelling import SECURITY_HEADERS

    app = make_app(store, labeler="human:tester", allowed_hosts=["127.0.0.1"])
    client = TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False)
    answers = {
        "page": client.get("/"), "next": client.get("/api/next"),
        "404": client.get("/nowhere"), "405": client.get("/api/label"),
        "405 put": client.put("/"), "favicon": client.get("/favicon.ico"),
        "bad host": TestClient(app, base_url="http://attacker.example").get("/"),
    }
    store.close()  # the next label fails unexpectedly: a 500
    answers["500"] = client.post("/api/label", json={"pair": "x", "choice": "a",
                                                     "session": session_of(answers["page"].text)})
    assert [answers[name].status_code for name in ("404", "405", "bad host", "500")] == [
        404, 405, 400, 500]
    for name, answer in answers.items():
        assert security_headers_of(answer) == SECURITY_HEADERS, name
    assert "PreferenceStore" not in answers["500"].text and "Traceback" not in answers["500"].text


@pytest.mark.parametrize("body", [b"[" * 2000 + b"]" * 2000, b'{"":' * 400 + b"[" * 2000])
def test_deeply_nested_json_is_a_bad_request(client, store, db, body):
    answer = refused(client, store, db, 400, match="nested", content=body,
                     headers={"content-type": "application/json"})
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.fixture
def served(store):
    """The app served by uvicorn as ``serve`` configures it, with a 0.5 s request deadline."""
    import threading

    import uvicorn

    from feedback.labelling.timeouts import server_config

    port = free_port()
    server = uvicorn.Server(server_config(make_app(store, labeler="human:tester"), "127.0.0.1",
                                          port, request_timeout=0.5))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield server, port
    server.should_exit = True
    thread.join(timeout=30)


def closed_within(connection, seconds):
    """Whether the server closes a connection within a time (reading what it sends)."""
    connection.settimeout(seconds)
    received = b""
    try:
        while chunk := connection.recv(4096):
            received += chunk
    except TimeoutError:
        return False, received
    return True, received


def test_the_server_closes_idle_and_half_sent_connections(served):
    server, port = served
    config = server.config
    assert (config.timeout_keep_alive, config.h11_max_incomplete_event_size,
            config.limit_concurrency) == (5, 16 * 1024, 64)
    with socket.create_connection(("127.0.0.1", port)) as silent:  # sends nothing
        assert closed_within(silent, 5)[0]
    with socket.create_connection(("127.0.0.1", port)) as half:  # headers never end
        half.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert closed_within(half, 5) == (True, b"")
    with socket.create_connection(("127.0.0.1", port)) as slow_body:  # the body never ends
        slow_body.sendall(b"POST /api/label HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                          b"application/json\r\nContent-Length: 100\r\n\r\n{\"pair\"")
        assert closed_within(slow_body, 5)[0]
    with socket.create_connection(("127.0.0.1", port)) as huge:  # a head over 16 KiB
        huge.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"x" * 20000)
        closed, answer = closed_within(huge, 5)
        assert closed and answer.startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", port)) as good:  # a whole request in time
        good.sendall(b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.3)
        good.sendall(b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Connection: close\r\n\r\n")
        closed, answer = closed_within(good, 5)
        assert closed and answer.count(b"HTTP/1.1 204") == 2


def test_app_arguments_are_checked(store):
    with pytest.raises(ValueError, match="labeler"):
        make_app(store, labeler=" ")
    with pytest.raises(ValueError, match="max_body"):
        make_app(store, max_body=0)


# ---------------------------------------------------------------- build_app (what serve runs)


def march_folder(folder, count=4, steps=16):
    for k in range(count):
        write_midi(folder / f"m{k}.mid", melody(64 + k, steps), MARCH.notes_until(steps))
    return folder


def test_build_app_fills_the_store_and_pairs_by_the_model(tmp_path, capsys):
    pool = march_folder(tmp_path / "pool")
    model = RewardEnsemble(members=2, card={"labels": 7}, embedding_dim=4, hidden_size=8)
    model.save(tmp_path / "model.pt")
    app, store = build_app(tmp_path / "prefs.sqlite", pool, model=tmp_path / "model.pt",
                           labeler="alice", pairs=2, announce=print)
    try:
        assert "4 melodies" in capsys.readouterr().out
        assert app.state.labeler == "human:alice"
        client = TestClient(app, base_url="http://127.0.0.1:8765")
        data = client.get("/api/next").json()
        assert data["model"] == {"loaded": True, "labels": 7}
        assert data["pair"]["context"] == {"accompaniment": "march", "key": "A minor",
                                           "steps": 16}
        assert store.counts()["pairs"] == 2
    finally:
        store.close()
    with pytest.raises(ValueError, match="pairs"):
        build_app(tmp_path / "other.sqlite", pool, pairs=0)


def test_build_app_logs_the_pool_without_an_announce_callback(tmp_path, capsys, caplog):
    pool = march_folder(tmp_path / "pool")
    with caplog.at_level(logging.INFO, logger="feedback.labelling.server"):
        app, store = build_app(tmp_path / "prefs.sqlite", pool, labeler="alice")
    store.close()
    assert "4 melodies" in caplog.text and "4 melodies" not in capsys.readouterr().out


# ---------------------------------------------------------------- a real browser


def browser_or_skip():
    missing = [f"{CHROMIUM} (apt-get install chromium)"] if not CHROMIUM.exists() else []
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        missing.append("playwright (pip install playwright)")
    if missing:
        if IN_CI:
            pytest.fail(f"the browser test must run in CI, but it lacks {', '.join(missing)}")
        pytest.skip(f"no real browser here: missing {', '.join(missing)}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(process, port, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{process.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"no server on port {port} after {timeout} s")


def start_server(tmp_path):
    """``serve`` in a process of its own over a pool of four march melodies: (process, port)."""
    pool = march_folder(tmp_path / "pool")
    port = free_port()
    code = ("import sys; from feedback.labelling import serve; "
            "sys.exit(serve(sys.argv[1], sys.argv[2], port=int(sys.argv[3]), "
            "labeler='human:browser', pairs=3, seed=0, "
            "announce=lambda line: print(line, flush=True)))")
    server = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "prefs.sqlite"),
                               str(pool), str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return server, port


@pytest.mark.slow
def test_a_person_labels_in_a_real_browser(tmp_path):
    browser_or_skip()
    from playwright.sync_api import sync_playwright

    db = tmp_path / "prefs.sqlite"
    server, port = start_server(tmp_path)
    try:
        wait_for_server(server, port)
        problems = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                page = browser.new_page()
                page.on("console", lambda message: message.type == "error"
                        and problems.append(message.text))
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("body[data-state=ready]", state="attached")
                first = page.get_attribute("body", "data-pair")
                assert "Model" not in page.inner_text("#model")
                assert "No model yet" in page.inner_text("#model")
                assert "0 of 3 pairs labelled" in page.inner_text("#progress")
                # the two sections come from one template: each side's ids, text and labels
                for side in "ab":
                    assert page.inner_text(f"#title-{side}") == side.upper()
                    assert f"Play {side.upper()}" in page.inner_text(f"#play-{side}")
                    assert page.get_attribute(f"#play-{side}", "data-side") == side
                    assert f"melody {side.upper()} " in page.get_attribute(f"#roll-{side}",
                                                                           "aria-label")
                assert "SIDE" not in page.inner_text("#pair")

                page.click("#play-a")  # a user gesture starts the AudioContext
                page.wait_for_selector("body[data-audio]", state="attached")
                assert page.get_attribute("body", "data-audio") in ("started", "running")
                assert page.get_attribute("body", "data-played") == "a"
                assert int(page.get_attribute("body", "data-voices")) > 4  # melody + march

                page.keyboard.press("a")
                page.wait_for_selector('body[data-state=ready][data-labelled="1"]',
                                       state="attached")
                second = page.get_attribute("body", "data-pair")
                assert second and second != first
                with PreferenceStore(db) as store:
                    label = store.pair(first).label
                    assert (label.choice, label.labeler) == ("a", "human:browser")

                page.keyboard.press(" ")  # space plays A of the new pair, then B
                page.wait_for_selector("body[data-played=a][data-playing]", state="attached")
                page.keyboard.press(" ")
                page.wait_for_selector("body[data-played=b]", state="attached")
                page.keyboard.press("s")
                page.wait_for_selector('body[data-skipped="1"][data-state]:not([data-state='
                                       'sending])', state="attached")
                assert "1 labelled, 1 skipped" in page.inner_text("#progress")
                assert page.get_attribute("body", "data-labelled") == "1"  # a skip is no label
                assert page.get_attribute("body", "data-store-labelled") == "1"
                assert page.get_attribute("body", "data-store-skipped") == "1"
                assert "1 of 3 pairs labelled, 1 skipped" in page.inner_text("#progress")
                with PreferenceStore(db) as store:
                    label = store.pair(second).label
                    assert (label.choice, label.labeler) == ("skip", "human:browser")
                    assert store.counts()["labelled"] == 2

                page.wait_for_selector("body[data-state=ready]", state="attached")
                page.click("#play-b")  # focus on Play B: space must not press it again
                page.keyboard.press(" ")
                page.wait_for_timeout(300)
                assert page.get_attribute("body", "data-played") == "a"
            finally:
                browser.close()
        assert not problems, problems  # no script error, no refused resource (CSP)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"open http://127.0.0.1:{port}/" in output


OCTAVES = """() => {
    const box = (element) => element.getBoundingClientRect().toJSON();
    return ["a", "b"].map((side) => ({
        canvas: box(document.getElementById(`roll-${side}`)),
        roll: box(document.getElementById(`roll-${side}`).parentElement),
        labels: [...document.querySelectorAll(`#octaves-${side} li`)].map((label) => ({
            text: label.textContent, box: box(label),
            size: parseFloat(getComputedStyle(label).fontSize)})),
    }));
}"""


def overlap(one, other):
    return (one["left"] < other["right"] and other["left"] < one["right"]
            and one["top"] < other["bottom"] and other["top"] < one["bottom"])


@pytest.mark.slow
def test_the_page_reads_at_800_pixels_and_play_toggles_stop(tmp_path):
    browser_or_skip()
    from playwright.sync_api import sync_playwright

    server, port = start_server(tmp_path)
    try:
        wait_for_server(server, port)
        problems = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                page = browser.new_page(viewport={"width": 800, "height": 800})
                page.on("console", lambda message: message.type == "error"
                        and problems.append(message.text))
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("body[data-state=ready]", state="attached")
                page.screenshot(path=str(tmp_path / "label-800.png"), full_page=True)
                for roll in page.evaluate(OCTAVES):
                    texts = [label["text"] for label in roll["labels"]]
                    assert texts and all(re.fullmatch(r"C-?\d", text) for text in texts), texts
                    for label in roll["labels"]:
                        assert label["size"] >= 12, label  # readable, not scaled with the roll
                        assert not overlap(label["box"], roll["canvas"]), label  # nor covered
                        inside = roll["roll"]
                        assert inside["top"] <= label["box"]["top"] <= label["box"]["bottom"] \
                            <= inside["bottom"], (label, inside)  # the top one is not cut
                    for upper, lower in zip(roll["labels"], roll["labels"][1:], strict=False):
                        assert upper["box"]["bottom"] <= lower["box"]["top"]

                play_a, play_b = page.locator("#play-a"), page.locator("#play-b")
                assert "Play A" in play_a.inner_text()
                play_a.click()
                page.wait_for_selector("body[data-playing=a]", state="attached")
                assert "Stop A" in play_a.inner_text() and "Play B" in play_b.inner_text()
                assert play_a.get_attribute("aria-pressed") == "true"
                assert int(page.get_attribute("body", "data-sounding")) > 4
                play_b.click()  # the other melody: A stops, B plays
                page.wait_for_selector("body[data-playing=b]", state="attached")
                assert "Play A" in play_a.inner_text() and "Stop B" in play_b.inner_text()
                play_b.click()  # Stop: silence, and the button says Play again
                page.wait_for_selector("body:not([data-playing])", state="attached")
                assert "Play B" in play_b.inner_text()
                assert play_b.get_attribute("aria-pressed") == "false"
                page.wait_for_selector('body[data-sounding="0"]', state="attached",
                                       timeout=1500)  # every oscillator has ended at once
                page.keyboard.press(" ")
                page.wait_for_selector("body[data-playing=a]", state="attached")
                page.keyboard.press("Escape")
                page.wait_for_selector("body:not([data-playing])", state="attached")
                assert "Play A" in play_a.inner_text()
            finally:
                browser.close()
        assert not problems, problems
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_a_labeler_name_over_the_stores_limit_is_refused_before_the_store_is_made(tmp_path):
    from rewards.preferences.store import MAX_LABELER_LENGTH

    db = tmp_path / "prefs.sqlite"
    with pytest.raises(ValueError, match=f"labeler.*{MAX_LABELER_LENGTH}"):
        build_app(db, labeler="x" * MAX_LABELER_LENGTH)
    assert not db.exists()


def test_a_pair_token_over_the_stores_limit_is_refused_with_the_limit(client, session):
    from rewards.preferences.store import MAX_TOKEN_LENGTH

    answer = client.post("/api/label", json={"pair": "t" * (MAX_TOKEN_LENGTH + 1),
                                             "choice": "a", "session": session})
    assert answer.status_code == 422
    assert str(MAX_TOKEN_LENGTH) in answer.json()["error"]
