"""The command-line pieces the grid benchmarks share."""

import argparse
import os
import signal
import time

import pytest

from benchmarks.grid_cli import add_run_options, command_errors, positive_int


@pytest.mark.parametrize("text, value", [("1", 1), ("100_000", 100_000), ("100,000", 100_000)])
def test_positive_int_reads_counts(text, value):
    assert positive_int(text) == value


@pytest.mark.parametrize("text, message", [("0", "0 is too small"), ("-3", "-3 is too small"),
                                           ("ten", "'ten' is not an integer")])
def test_positive_int_refuses_what_is_not_a_count(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        positive_int(text)


def parser():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.something")
    add_run_options(parser, quick="a tiny grid")
    return parser


def test_the_run_options_and_their_defaults():
    args = parser().parse_args([])
    assert (args.backend, args.address) == ("local", None)
    assert args.workers == len(os.sched_getaffinity(0)) >= 1  # every core, one run on each
    assert not (args.quick or args.dry_run or args.no_progress)
    with pytest.raises(SystemExit):
        parser().parse_args(["--workers", "0"])


def test_a_bad_setting_exits_2_naming_it(capsys):
    with pytest.raises(SystemExit) as raised, command_errors(parser()):
        raise ValueError("unknown agent 'nope'")
    assert raised.value.code == 2
    assert "python -m benchmarks.something: error: unknown agent 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_an_interruption_exits_130_saying_what_is_kept(capsys, tmp_path, stop):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as raised, command_errors(parser(), tmp_path,
                                                             kept="the evaluations are kept"):
        if stop == "ctrl-c":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert raised.value.code == 130
    err = capsys.readouterr().err
    assert "interrupted: the evaluations are kept; run the same command again" in err
    assert f"runs: {tmp_path}" in err
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


def test_other_errors_pass_through():
    with pytest.raises(RuntimeError, match="a cell failed"), command_errors(parser()):
        raise RuntimeError("a cell failed")
