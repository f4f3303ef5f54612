"""``mammad label``: fill a store from a pool and serve the labelling page until Ctrl-C.

:func:`build_app` opens the store, fills it from the pool (:mod:`feedback.pool`) and makes the
app (:func:`~feedback.labelling.app.make_app`); :func:`serve` runs it with uvicorn. What the
person at the terminal needs to know (how many melodies the pool gave, the page's address, a
warning when it is reachable from other machines) goes to an ``announce`` callback: the
command line passes ``print``; by default it is logged.
"""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from feedback.labelling.app import LOOPBACK, make_app
from feedback.pool import fill_store, schedule_pairs
from rewards.preferences.reward_model import load_reward_model
from rewards.preferences.store import PreferenceStore
from rewards.preferences.store.checks import check_labeler

if TYPE_CHECKING:
    from starlette.applications import Starlette

logger = logging.getLogger(__name__)

Announce = Callable[[str], object]
"""Receives one line for the person at the terminal (``print``, or a logger's method)."""


def default_labeler() -> str:
    """``human:<login name>`` (``human:anonymous`` if it cannot be told)."""
    try:
        name = getpass.getuser().strip()
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        name = ""
    return f"human:{name or 'anonymous'}"


def allowed_hosts(host: str) -> list[str] | None:
    """The host names a page served on ``host`` answers (None: any, for 0.0.0.0 and ::)."""
    return None if host in ("0.0.0.0", "::") else sorted({host, *LOOPBACK})


def page_address(host: str) -> str:
    """The host as it goes in the page's URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def build_app(db: str | os.PathLike[str], pool: str | os.PathLike[str] | None = None, *,
              host: str = "127.0.0.1", model: str | os.PathLike[str] | None = None,
              labeler: str | None = None, pairs: int = 20, count: int | None = None,
              steps: int | None = None, seed: int = 0, temperature: float = 1.0,
              accompaniment: str | None = None, trust_pickle: bool = False,
              shuffle: bool = False,
              announce: Announce | None = None) -> tuple[Starlette, PreferenceStore]:
    """Opens the store, fills it from the pool and makes the app: :func:`serve` but the server.

    Args:
        db: See :func:`serve` for these.
        pool: The pool.
        host: The address the app will be served on (sets the host names it answers).
        model: A reward model file.
        labeler: Who labels.
        pairs: Pairs to make at a time.
        count: Melodies to draw from the pool.
        steps: Melody length for a MIDI folder or the Note-RNN.
        seed: Seed of the pool and of the scheduler.
        temperature: Note-RNN sampling temperature.
        accompaniment: Note-RNN pool: a bundled accompaniment.
        trust_pickle: Run pool: load a model file that holds pickles.
        shuffle: Show a random unlabelled pair instead of the oldest.
        announce: Receives the line saying how many melodies the pool gave (default: logged).

    Returns:
        ``(app, store)``: close the store when done.
    """
    announce = announce or logger.info
    if isinstance(pairs, bool) or int(pairs) < 1:
        raise ValueError(f"pairs must be a positive number, got {pairs!r}")
    labeler = default_labeler() if labeler is None else labeler.strip()
    if labeler and ":" not in labeler:
        labeler = f"human:{labeler}"
    labeler = check_labeler(labeler)  # the store's rule, before anything is opened
    reward_model = None if model is None else load_reward_model(model)
    store = PreferenceStore(db)
    try:
        if pool is not None:
            ids = fill_store(store, pool, count=count, steps=steps, seed=seed,
                             temperature=temperature, accompaniment=accompaniment,
                             trust_pickle=trust_pickle)
            announce(f"pool {pool}: {len(set(ids))} melodies in {db}")
        rng = np.random.default_rng(seed)

        def more_pairs() -> list[str]:
            return schedule_pairs(store, int(pairs), reward_model, rng)

        app = make_app(store, reward_model, labeler, pair_source=more_pairs,
                       allowed_hosts=allowed_hosts(host), shuffle=shuffle)
    except BaseException:
        store.close()
        raise
    return app, store


def serve(db: str | os.PathLike[str], pool: str | os.PathLike[str] | None = None, *,
          host: str = "127.0.0.1", port: int = 8765, model: str | os.PathLike[str] | None = None,
          labeler: str | None = None, pairs: int = 20, count: int | None = None,
          steps: int | None = None, seed: int = 0, temperature: float = 1.0,
          accompaniment: str | None = None, trust_pickle: bool = False,
          shuffle: bool = False, announce: Announce | None = None) -> int:
    """``mammad label``: fills a store from a pool and serves the labelling page until Ctrl-C.

    Announces the page's address first. Bound to 127.0.0.1 by default; another host makes the
    page reachable by anyone who can reach the machine (a warning says so). Connections are
    bounded (:mod:`feedback.labelling.timeouts`): idle for 5 s after an answer, or 10 s
    without a whole request, they are closed; a request head over 16 KiB is refused (400),
    and beyond 64 connections at once the server answers 503. Pairs are made
    when none is left unlabelled, ``pairs`` at a time, among the store's melodies of one
    context (:func:`~feedback.pool.schedule_pairs`).

    Args:
        db: The preference store (a SQLite file, created if missing), e.g. ``prefs.sqlite``
            (``--db``).
        pool: Where candidate melodies come from (``--pool``): a folder of MIDI files, a run
            folder or its ``model.zip``, or ``note_rnn`` (see :mod:`feedback.pool`); None to
            label the store's own pairs and pair its own melodies.
        host: Address to listen on (``--host``).
        port: Port (``--port``).
        model: A reward model file (``--model``, e.g. ``pref_model/model.pt``): the pairs it is
            least sure of are shown first, and the page shows how many labels it learnt from.
        labeler: The name labels are recorded under (``--labeler``; default
            ``human:<login name>``). A name without a ``kind:`` prefix gets ``human:``.
        pairs: Pairs to make each time none is left unlabelled (``--pairs``).
        count: Melodies to draw from the pool (``--count``): episodes of a run or Note-RNN
            samples (default 32), or at most this many MIDI files (default all).
        steps: Melody length in 16ths for a MIDI folder (cut or padded; default each file's
            own) or the Note-RNN (default 32) (``--steps``).
        seed: Seed of the pool's episodes or samples and of the pair scheduler (``--seed``).
        temperature: Note-RNN sampling temperature (``--temperature``).
        accompaniment: Note-RNN pool: a bundled accompaniment to put the melodies over
            (``--accompaniment``).
        trust_pickle: Run pool: load a model file that holds pickles (``--trust-pickle``).
        shuffle: Show a random unlabelled pair instead of the oldest (``--shuffle``; for
            several labellers at once).
        announce: Receives the lines for the person at the terminal: the pool's size, the
            warning of a non-loopback host, and the page's address (``mammad label`` passes
            ``print``; default: logged, the warning as a warning).

    Returns:
        0 once the server has stopped.

    Raises:
        ValueError: On an invalid argument, pool or model file (before anything is served).
        FileNotFoundError: If the model file is missing.
    """
    import uvicorn  # the label extra, needed only once a page is served

    from feedback.labelling.timeouts import server_config  # imports uvicorn

    if isinstance(port, bool) or not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be 0..65535, got {port!r}")
    app, store = build_app(db, pool, host=host, model=model, labeler=labeler, pairs=pairs,
                           count=count, steps=steps, seed=seed, temperature=temperature,
                           accompaniment=accompaniment, trust_pickle=trust_pickle,
                           shuffle=shuffle, announce=announce)
    try:
        if host not in LOOPBACK:
            (announce or logger.warning)(f"warning: listening on {host}: anyone who can reach "
                                         f"this machine can label")
        (announce or logger.info)(f"labelling as {app.state.labeler}: open "
                                  f"http://{page_address(host)}:{port}/ (Ctrl-C to stop)")
        uvicorn.Server(server_config(app, host, int(port))).run()
    finally:
        store.close()
    return 0
