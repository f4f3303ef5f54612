"""Steppers: the Note-RNN's LSTM step run beside the caller, in a forked process or a thread."""

import functools
import gc
import multiprocessing
import os
import signal
import time

import numpy as np
import pytest
import torch

from rewards.note_rnn.background import FORKS, ProcessStepper, ThreadStepper, make_stepper
from rewards.note_rnn.batched import BatchedNoteRNN

STEPPERS = [ThreadStepper, *([ProcessStepper] if FORKS else [])]


class Doubler:
    """A step on shared tensors: ``out = 2 * x``; raises when ``x[0]`` is negative."""

    def __init__(self) -> None:
        self.x = torch.zeros(4).share_memory_()
        self.out = torch.zeros(4).share_memory_()

    def __call__(self) -> None:
        if self.x[0] < 0:
            raise ValueError(f"negative input {self.x[0].item()}")
        self.out.copy_(2 * self.x)


@pytest.mark.parametrize("kind", STEPPERS)
def test_a_stepper_runs_its_function_on_the_shared_tensors(kind):
    step = Doubler()
    stepper = kind(step)
    for value in (1.0, 2.5, -0.5 + 4):
        step.x.fill_(value)
        stepper.start()
        stepper.wait()
        assert step.out.tolist() == [2 * value] * 4
    stepper.close()


@pytest.mark.parametrize("kind", STEPPERS)
def test_an_error_in_the_step_reaches_the_caller_and_the_stepper_goes_on(kind):
    step = Doubler()
    stepper = kind(step)
    step.x.fill_(-1.0)
    stepper.start()
    with pytest.raises((RuntimeError, ValueError), match="negative input -1.0"):
        stepper.wait()
    step.x.fill_(3.0)
    stepper.start()
    stepper.wait()
    assert step.out.tolist() == [6.0] * 4
    stepper.close()


@pytest.mark.skipif(not FORKS, reason="worker processes are forked on Linux only")
def test_a_worker_process_ends_when_closed_or_collected():
    stepper = ProcessStepper(Doubler())
    process = stepper._process
    assert process.is_alive()
    stepper.close()
    assert not process.is_alive() and process.exitcode == 0

    stepper = ProcessStepper(Doubler())
    process = stepper._process
    del stepper
    gc.collect()
    assert not process.is_alive() and process.exitcode == 0

    lstm = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=True)  # refers to its stepper
    lstm.score(np.full(16, 60))  # and its stepper to it, through the step function
    process = lstm._stepper._process
    del lstm
    gc.collect()
    process.join(timeout=5)
    assert not process.is_alive() and process.exitcode == 0


@pytest.mark.skipif(not FORKS, reason="worker processes are forked on Linux only")
def test_a_dead_worker_is_reported_with_its_pid():
    stepper = ProcessStepper(functools.partial(time.sleep, 30))
    pid = stepper._process.pid
    stepper.start()  # a step under way when the worker dies
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=f"worker process {pid} died .exit code -9"):
        stepper.wait()
    with pytest.raises(RuntimeError, match=f"worker process {pid} died"):
        stepper.start()


def test_make_stepper_forks_on_linux_only():
    stepper = make_stepper(Doubler())
    assert isinstance(stepper, ProcessStepper if FORKS else ThreadStepper)
    stepper.close()


def _stepper_kind_in_a_pool_worker(_: int) -> tuple[str, np.ndarray]:
    torch.set_num_threads(1)  # a forked child on more threads can hang in OpenMP (torch's issue)
    lstm = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=True)
    scores = lstm.score(np.full(16, 60))
    lstm.score(np.full(16, 62))
    return type(lstm._stepper).__name__, scores


@pytest.mark.skipif(not FORKS, reason="worker processes are forked on Linux only")
def test_a_daemonic_process_steps_in_a_thread():
    with multiprocessing.get_context("fork").Pool(1) as pool:  # its workers are daemonic
        kind, scores = pool.map(_stepper_kind_in_a_pool_worker, [0])[0]
    assert kind == "ThreadStepper"
    inline = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=False)
    np.testing.assert_array_equal(scores, inline.score(np.full(16, 60)))


def _melody_scores(lstm: BatchedNoteRNN, events: np.ndarray) -> np.ndarray:
    return np.stack([lstm.score(row) for row in events])


def test_an_overlapping_note_rnn_scores_as_the_inline_one_and_closes():
    events = np.random.default_rng(0).choice([-2, -1, 48, 55, 60, 67, 83], size=(12, 20))
    inline = BatchedNoteRNN(48, 83, 20, "rl_tuner", overlap=False)
    overlapping = BatchedNoteRNN(48, 83, 20, "rl_tuner")
    assert overlapping.overlap
    np.testing.assert_array_equal(_melody_scores(overlapping, events),
                                  _melody_scores(inline, events))
    worker = overlapping._stepper
    assert isinstance(worker, ProcessStepper if FORKS else ThreadStepper)
    overlapping.restart(np.array([2, 5]))
    inline.restart(np.array([2, 5]))
    np.testing.assert_array_equal(_melody_scores(overlapping, events[:3]),
                                  _melody_scores(inline, events[:3]))
    overlapping.close()
    if FORKS:
        assert not worker._process.is_alive()
    # a step after close starts a new worker and goes on from the same state
    np.testing.assert_array_equal(overlapping.score(events[3]), inline.score(events[3]))
    np.testing.assert_array_equal(overlapping.hidden.numpy(), inline.hidden.numpy())
    overlapping.close()


def _score_in_child(lstm: BatchedNoteRNN, events: np.ndarray, connection) -> None:
    connection.send(_melody_scores(lstm, events))


@pytest.mark.skipif(not FORKS, reason="worker processes are forked on Linux only")
def test_a_forked_copy_steps_its_own_state_without_touching_the_parents():
    events = np.random.default_rng(1).choice([-2, 48, 60, 72], size=(10, 16))
    parent = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=True)
    reference = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=False)
    _melody_scores(parent, events[:4])  # the worker runs, the state is in shared memory
    _melody_scores(reference, events[:4])
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_score_in_child, args=(parent, events[4:][::-1], theirs))
    child.start()
    child_scores = ours.recv()
    child.join()
    assert child.exitcode == 0
    # the parent's state is its own: it goes on as the reference does
    np.testing.assert_array_equal(_melody_scores(parent, events[4:]),
                                  _melody_scores(reference, events[4:]))
    # and the child went on from the parent's state at the fork, with its own events
    forked = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=False)
    _melody_scores(forked, events[:4])
    np.testing.assert_array_equal(child_scores, _melody_scores(forked, events[4:][::-1]))
    parent.close()


def _slowed(lstm: BatchedNoteRNN, seconds: float) -> None:
    """Makes each LSTM step of ``lstm`` take ``seconds`` longer (before its worker starts)."""
    step = lstm._advance

    def slow() -> None:
        time.sleep(seconds)
        step()

    lstm._advance = slow


@pytest.mark.skipif(not FORKS, reason="fork hooks matter where processes fork")
@pytest.mark.parametrize("worker", ["process", "thread"])
def test_a_fork_during_a_step_copies_the_settled_state(worker, monkeypatch):
    import rewards.note_rnn.background as background

    monkeypatch.setattr(background, "FORKS", worker == "process")
    events = np.random.default_rng(2).choice([-2, 48, 60, 72], size=(8, 16))
    parent = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=True, threads=None)
    _slowed(parent, 0.3)
    _melody_scores(parent, events[:2])  # the second step is still running
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_score_in_child, args=(parent, events[2:][::-1], theirs))
    child.start()  # forks: the step finishes first, and the child copies the state at once
    parent_scores = _melody_scores(parent, events[2:])  # the parent goes on meanwhile
    child_scores = ours.recv()
    child.join()
    reference = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=False)
    _melody_scores(reference, events[:2])
    forked = BatchedNoteRNN(48, 83, 16, "rl_tuner", overlap=False)
    _melody_scores(forked, events[:2])
    np.testing.assert_array_equal(parent_scores, _melody_scores(reference, events[2:]))
    np.testing.assert_array_equal(child_scores, _melody_scores(forked, events[2:][::-1]))
    parent.close()
