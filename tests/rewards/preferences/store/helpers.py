"""What the preference store's tests share: melodies, a dump of a database, a filled store."""

import sqlite3

import numpy as np

from mammad_envs.melody import HOLD, REST
from rewards.preferences import CHOICES

MELODY_1 = [60, HOLD, 62, HOLD, 64, REST, HOLD, 67]
MELODY_2 = [67, HOLD, 65, HOLD, 64, HOLD, 62, 60]
MELODY_3 = [72, 71, 69, 67, REST, HOLD, HOLD, 60]


def dump(path):
    """Everything in a database, as SQL, read through a connection of its own."""
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


def snapshot(store):
    return store.counts(), dump(store.path)


def melodies_in(store, count, *, steps=16, accompaniment="march", key="A minor", seed=0):
    rng = np.random.default_rng(seed)
    arrays = [np.where(rng.random(steps) < 0.3, HOLD, rng.integers(55, 80, steps))
              for _ in range(count)]
    return store.add_melodies(arrays, "sampler", accompaniment=accompaniment, key=key,
                              ref=f"seed {seed}")


def fill(store):
    tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed)) for seed in range(3)])
    tokens += store.new_pairs([tuple(melodies_in(store, 2, seed=7, accompaniment=None,
                                                 key=None, steps=8))])
    store.add_melody(MELODY_1, "midi", key="C major", ref="fiddle/tune.mid")
    store.record(tokens[0], "a", "human:alice")
    store.record(tokens[1], "skip", "human:bob")
    store.record(tokens[3], "tie", "synthetic:theory")
    return tokens


def content(store):
    """The store's contents, independent of its row ids."""
    melodies = sorted((m.events.tobytes(), m.accompaniment, m.key, m.source, m.ref, m.created)
                      for m in store.melodies())
    pairs = sorted((p.token, p.a.events.tobytes(), p.b.events.tobytes(), p.created,
                    p.label) for p in store.unlabelled_pairs() + store.comparisons(CHOICES))
    return melodies, pairs

