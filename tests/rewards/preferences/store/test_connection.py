"""Tests of a preference store shared by threads and processes: concurrent and killed
writers, forks."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from rewards.preferences import CHOICES, PreferenceStore, PreferenceStoreError
from tests.rewards.preferences.store.helpers import melodies_in


def test_threads_can_share_one_store(store):
    tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed)) for seed in range(40)])
    results = []

    def label(offset):
        results.extend(store.record(token, "a", "human:alice") for token in tokens[offset::2])
        results.extend(store.record(token, "a", "human:alice") for token in tokens)

    threads = [threading.Thread(target=label, args=(offset,)) for offset in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 40 and len(results) == 120
    assert store.counts()["labelled"] == 40


def test_a_store_opened_in_another_process_is_not_used_after_fork(store):
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            store.counts()
            message = b"used"
        except PreferenceStoreError as error:
            message = str(error).encode()
        os.write(write, message)
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert b"open a new one in each process" in os.read(read, 1000)
    os.close(read)
    assert store.counts()["melodies"] == 0


# ------------------------------------------------------------------------ several processes

WORKER = """
import json, sys, time
from pathlib import Path
from rewards.preferences import AlreadyLabelledError, PreferenceStore

database, tasks, go = sys.argv[1:]
with PreferenceStore(database) as store:
    print("ready", flush=True)
    while not Path(go).exists():
        time.sleep(0.005)
    for token, choice, labeler in json.loads(Path(tasks).read_text()):
        try:
            result = "new" if store.record(token, choice, labeler) else "again"
        except AlreadyLabelledError:
            result = "refused"
        print(json.dumps([token, result]), flush=True)
"""

KILLED_WORKER = """
import json, sys
from pathlib import Path
from rewards.preferences import PreferenceStore

database, tasks, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
labels = json.loads(Path(tasks).read_text())
with PreferenceStore(database) as store:
    for start in range(0, len(labels), batch):
        store.record_many(labels[start:start + batch])
        print(start + batch, flush=True)
"""

OPENER = """
import sys, time
from pathlib import Path
from rewards.preferences import PreferenceStore

database, go, pitch = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.002)
with PreferenceStore(database) as store:
    print(store.add_melody([pitch, -2, -1, pitch], "sampler", key="C major"), flush=True)
"""


def start(script, *arguments):
    return subprocess.Popen([sys.executable, "-c", script, *map(str, arguments)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(processes):
    for process in processes:
        line = process.stdout.readline()
        assert line.strip() == "ready", process.stderr.read()


@pytest.mark.slow
def test_concurrent_writers_count_every_label_once(tmp_path):
    workers, own, shared, contested = 4, 20, 15, 5
    database = tmp_path / "prefs.db"
    with PreferenceStore(database) as store:
        tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed))
                                  for seed in range(workers * own + shared + contested)])
    own_tokens = [tokens[w * own:(w + 1) * own] for w in range(workers)]
    shared_tokens = tokens[workers * own:workers * own + shared]
    contested_tokens = tokens[workers * own + shared:]
    go = tmp_path / "go"
    processes = []
    for w in range(workers):
        # The same label for a shared token from every worker (one click, counted once); a
        # contested token gets each worker's own label (the first wins, the rest are refused).
        tasks = [(token, "a", f"synthetic:w{w}") for token in own_tokens[w]]
        tasks += [(token, CHOICES[i % 3], "synthetic:shared")
                  for i, token in enumerate(shared_tokens)]
        tasks += [(token, "b", f"synthetic:w{w}") for token in contested_tokens]
        order = np.random.default_rng(w).permutation(len(tasks))
        path = tmp_path / f"tasks{w}.json"
        path.write_text(json.dumps([tasks[i] for i in order]))
        processes.append(start(WORKER, database, path, go))
    wait_ready(processes)
    go.touch()
    results = {}
    for w, process in enumerate(processes):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        for line in out.splitlines():
            token, result = json.loads(line)
            results.setdefault(token, []).append((w, result))

    for w in range(workers):
        assert all(results[token] == [(w, "new")] for token in own_tokens[w])
    for token in shared_tokens:
        assert sorted(result for _, result in results[token]) == ["again"] * 3 + ["new"]
    with PreferenceStore(database) as store:
        for token in contested_tokens:
            assert sorted(result for _, result in results[token]) == ["new"] + ["refused"] * 3
            (winner,) = [w for w, result in results[token] if result == "new"]
            assert store.pair(token).label.labeler == f"synthetic:w{winner}"
        counts = store.counts()
        assert counts["labelled"] == counts["pairs"] == len(tokens)
        assert counts["labelers"]["synthetic:shared"] == shared
        assert sum(counts["labelers"].get(f"synthetic:w{w}", 0)
                   for w in range(workers)) == workers * own + contested
        for w in range(workers):
            assert all(store.pair(token).label.labeler == f"synthetic:w{w}"
                       for token in own_tokens[w])
        conn = store._connection()
        assert conn.execute("SELECT count(DISTINCT token) FROM comparisons").fetchone()[0] == \
            len(tokens)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
def test_a_killed_writer_leaves_only_whole_labels(tmp_path):
    database, batch = tmp_path / "prefs.db", 7
    with PreferenceStore(database) as store:
        ids = melodies_in(store, 100)
        tokens = store.new_pairs([(ids[i % 100], ids[(i + 1 + i // 100) % 100])
                                  for i in range(3000)])
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([(token, "tie", "synthetic:killed") for token in tokens]))
    process = start(KILLED_WORKER, database, tasks, batch)
    committed = 0
    while committed < 10 * batch:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        committed = int(line)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    with PreferenceStore(database, timeout=5) as store:
        conn = store._connection()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        labelled = store.counts()["labelled"]
        assert labelled % batch == 0, "a batch was cut in half"
        assert committed <= labelled < len(tokens)
        assert {pair.token for pair in store.comparisons()} == set(tokens[:labelled])
        # Nothing is left locked: the next writer goes straight on.
        began = time.monotonic()
        assert store.record(tokens[-1], "a", "human:alice") is True
        assert time.monotonic() - began < 4


@pytest.mark.slow
def test_processes_may_create_the_store_at_once(tmp_path):
    database, go = tmp_path / "new" / "prefs.db", tmp_path / "go"
    processes = [start(OPENER, database, go, 60 + i) for i in range(4)]
    wait_ready(processes)
    go.touch()
    ids = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        ids.append(int(out))
    assert sorted(ids) == [1, 2, 3, 4]
    with PreferenceStore(database) as store:
        assert store.counts()["sources"] == {"sampler": 4}
        assert sorted(int(m.events[0]) for m in store.melodies()) == [60, 61, 62, 63]


