"""`mammad label`: its help, the arguments checked before a store is made, --name."""

import numpy as np
import pytest

from mammad_cli import main
from mammad_envs.midi import write_midi


def test_help_documents_the_port_and_its_default(capsys):
    with pytest.raises(SystemExit):
        main(["label", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--port PORT port to listen on" in text and "(default: 8765)" in text
    assert "--name NAME your name in the store" in text
    assert "--labeler" not in text  # the old flag works, but is no longer offered


def refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["label", *argv])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_a_bad_pool_is_refused_before_the_store_is_made(tmp_path, capsys):
    pytest.importorskip("starlette", reason="mammad label needs the label extra")
    pytest.importorskip("uvicorn", reason="mammad label needs the label extra")
    db = tmp_path / "prefs.sqlite"
    midi = tmp_path / "midi"
    midi.mkdir()
    write_midi(midi / "a.mid", np.full(16, 60), [])
    for argv, message in [
        (["--pool", str(tmp_path / "nosuchdir")], "nosuchdir' does not exist: give a folder"),
        (["--pool", str(tmp_path)], "is neither a run folder nor a folder of MIDI files"),
        (["--pool", "note_rnn", "--accompaniment", "polka"], "unknown accompaniment 'polka': "
                                                             "the bundled ones are"),
        (["--pool", str(midi), "--accompaniment", "march"], "--accompaniment is for the "
                                                            "'note_rnn' pool only"),
        (["--port", "70000"], "port must be 0..65535, got 70000"),
        (["--model", str(tmp_path / "none.pt")], "none.pt"),
    ]:
        err = refused(["--db", str(db), *argv], capsys)
        assert message in err and err.startswith("mammad label: error: "), (argv, err)
        assert "Traceback" not in err
        assert not db.exists(), f"{argv} left an empty store behind"


@pytest.fixture
def served(monkeypatch):
    pytest.importorskip("starlette", reason="mammad label needs the label extra")
    pytest.importorskip("uvicorn", reason="mammad label needs the label extra")
    import feedback.labelling as labelling

    calls = []
    monkeypatch.setattr(labelling, "serve", lambda *args, **kwargs: calls.append(kwargs) or 0)
    return calls


def test_name_is_the_labellers_name_and_labeler_is_its_old_spelling(tmp_path, capsys, served):
    db = ["--db", str(tmp_path / "prefs.sqlite")]
    assert main(["label", *db, "--name", "alice"]) == 0
    assert served[-1]["labeler"] == "alice" and capsys.readouterr().err == ""
    assert main(["label", *db, "--labeler", "bob"]) == 0
    assert served[-1]["labeler"] == "bob"
    assert "--labeler is deprecated, use --name" in capsys.readouterr().err
    assert main(["label", *db]) == 0
    assert served[-1]["labeler"] is None and served[-1]["port"] == 8765  # the defaults
    err = refused([*db, "--name", "alice", "--labeler", "bob"], capsys)
    assert "--name 'alice' and --labeler 'bob' differ: give --name only" in err
    assert len(served) == 3
