import os
import signal

import pytest

from agents.interrupt import GracefulStop, StopOnSignal


def test_first_signal_asks_to_stop_the_second_interrupts(capsys):
    before = signal.getsignal(signal.SIGINT)
    with GracefulStop() as stop:
        callback = StopOnSignal(stop)
        assert callback._on_step() and not stop.requested
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested and stop.signal == signal.SIGINT and stop.exit_code == 130
        assert not callback._on_step()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGINT) is before  # restored
    assert "SIGINT received: stopping at the next step" in capsys.readouterr().err


def test_sigterm_exit_code():
    with GracefulStop() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
    assert stop.exit_code == 143
