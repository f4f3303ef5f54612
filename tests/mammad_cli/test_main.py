"""`mammad`: the parser, help texts, errors mapped to exit codes, and what it imports."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mammad_cli.agents_list
from mammad_cli import main
from mammad_envs.compat import MissingExtraError

ROOT = Path(__file__).resolve().parents[2]


def test_clear_errors(ppo_run, tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    runs = ["--runs-dir", str(tmp_path)]
    cases = [
        (["train", "--agent", "pop"], "unknown agent 'pop'"),
        (["train", "--agent", "ppo", "--env", "Nope-v0", *runs], "unknown env 'Nope-v0'"),
        (["train", "--agent", "ppo", "--env", "CartPole-v1", *runs],
         "'CartPole-v1' is not a MammadMelody env: only the MammadMelody ids are supported"),
        (["train", "--agent", "ppo", "--reward", "theroy", *runs], "unknown reward 'theroy'"),
        (["train", "--agent", "ppo", "--n-envs", "0", *runs],
         "argument --n-envs: 0 is too small: it must be at least 1"),
        (["train", "--agent", "ppo", "--checkpoint-every", "0", *runs],
         "argument --checkpoint-every: 0 is too small"),
        (["train", "--agent", "ppo", "--samples", "-1", *runs],
         "argument --samples: -1 is too small: it must be at least 0"),
        (["train", "--agent", "ppo", "--steps", "ten", *runs], "'ten' is not an integer"),
        (["train", "--agent", "ppo", "--hyperparams", "n_envs=0", *runs],
         "n_envs must be a positive integer, got 0"),
        (["train", "--agent", "ppo", "--trust-pickle", *runs], "--trust-pickle applies to"),
        (["train", "--resume", str(tmp_path)], "is not a run folder"),
        (["sample", str(tmp_path / "missing.zip")], "does not exist"),
        (["sample", str(ppo_run), "--out", str(a_file)], "is a file: give a folder"),
        (["evaluate", str(ppo_run / "model.zip"), "-n", "0"], "argument -n: 0 is too small"),
        (["evaluate", str(ppo_run), "--json", str(tmp_path)], "is a folder: give a file name"),
        (["train"], "train needs --agent"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        assert "Traceback" not in err
    assert not list(tmp_path.glob("*__*"))  # no run folder left behind by a failed start

    import mammad_envs.audio as audio

    monkeypatch.setattr(audio.shutil, "which", lambda name: None)  # no fluidsynth here
    with pytest.raises(SystemExit):
        main(["sample", str(ppo_run), "--audio", "fluidsynth", "--out", str(tmp_path / "s")])
    assert "apt-get install fluidsynth timgm6mb-soundfont" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # checked before anything was written


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and "mammad-envs: list agents" in top
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for default in ("(default: 10,000;", "(default: runs)", "(default: 100;", "(default: 4;",
                    "(default: 1)", "(default: MammadMelody-count-v0)", "(default: theory)",
                    "(default: 100,000;", "(default: 0)"):
        assert default in text, default
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 1000)" in text and "the last line is JSON" in text


def test_agents_cli_names_its_new_place():
    with pytest.raises(ImportError, match=r"agents.cli moved to mammad_cli: use `from "
                                          r"mammad_cli import main`"):
        import agents.cli  # noqa: F401
    result = subprocess.run([sys.executable, "-m", "mammad_cli", "agents"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0 and "\nppo " in "\n" + result.stdout


NO_TORCH = """
import json, sys
from mammad_cli import main
codes = []
for argv in json.loads(sys.argv[1]):
    try:
        codes.append(main(argv))
    except SystemExit as stop:
        codes.append(stop.code)
heavy = sorted(m for m in ("torch", "stable_baselines3") if m in sys.modules)
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def test_bad_arguments_are_refused_before_torch_is_imported(tmp_path):
    (tmp_path / "not_a_run").mkdir()
    runs = ["--runs-dir", str(tmp_path / "runs")]
    cases = [["--help"], ["train", "--help"], ["train", "--agent", "nosuch", *runs],
             ["train", "--agent", "ppo", "--steps", "ten"],
             ["train", "--agent", "ppo", "--env", "Nope-v0", *runs],
             ["train", "--agent", "ppo", "--reward", "theroy", *runs],
             ["train", "--agent", "ppo", "--hyperparams", "n_envs=0", *runs],
             ["train", "--agent", "ppo", "--trust-pickle", *runs], ["train"],
             ["train", "--resume", str(tmp_path / "not_a_run")],
             ["sample", str(tmp_path / "missing.zip")], ["evaluate", str(tmp_path), "-n", "0"],
             ["evaluate", str(tmp_path / "not_a_run")],
             ["preference", "train", "--db", str(tmp_path / "none.sqlite"), "--out",
              str(tmp_path / "out")], ["label", "--db", str(tmp_path / "x.sqlite"), "--port",
                                       "-1"], ["rlhf", "--rounds", "0"]]
    result = subprocess.run([sys.executable, "-c", NO_TORCH, json.dumps(cases)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["codes"] == [0, 0] + [2] * (len(cases) - 2), result.stderr
    assert report["heavy"] == [], "a bad argument was refused only after torch was imported"
    assert not (tmp_path / "runs").exists() and not (tmp_path / "x.sqlite").exists()


def test_expected_errors_exit_2_and_bugs_keep_their_traceback(monkeypatch, capsys):
    def fails(error):
        def list_agents():
            raise error
        return list_agents

    for error in (ValueError("a bad value"), FileNotFoundError("no such file"),
                  MissingExtraError("needs the x extra: pip install -e .[x]")):
        monkeypatch.setattr(mammad_cli.agents_list, "list_agents", fails(error))
        with pytest.raises(SystemExit) as exit_info:
            main(["agents"])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err == f"mammad agents: error: {error}\n"
    for bug in (TypeError("a bug"), RuntimeError("a bug"), ImportError("a broken import"),
                KeyError("a bug")):
        monkeypatch.setattr(mammad_cli.agents_list, "list_agents", fails(bug))
        with pytest.raises(type(bug)):  # not turned into one line: the traceback shows
            main(["agents"])
    monkeypatch.setattr(mammad_cli.agents_list, "list_agents", fails(KeyboardInterrupt()))
    with pytest.raises(SystemExit) as exit_info:
        main(["agents"])
    assert exit_info.value.code == 130 and "mammad agents: interrupted" in capsys.readouterr().err


def test_a_bug_in_a_subprocess_prints_its_traceback(tmp_path):
    script = ("import sys, mammad_cli.agents_list as command\n"
              "def broken():\n    raise TypeError('a real bug')\n"
              "command.list_agents = broken\n"
              "from mammad_cli import main\nsys.exit(main(['agents']))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "TypeError: a real bug" in result.stderr


def test_the_library_does_not_import_the_command_line():
    importers = []
    for package in ("mammad_envs", "rewards", "agents", "feedback"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(name.split(".")[0] == "mammad_cli" for name in names):
                    importers.append(str(path.relative_to(ROOT)))
    assert importers == []


def test_library_messages_are_shown_while_a_command_runs_only(monkeypatch, capsys):
    import logging

    from agents.registry import list_agents

    def logging_list_agents():
        logging.getLogger("agents.registry").info("an info line")
        logging.getLogger("rewards.base").warning("a warning line")
        return list_agents()

    monkeypatch.setattr(mammad_cli.agents_list, "list_agents", logging_list_agents)
    main(["agents"])
    captured = capsys.readouterr()
    assert captured.out.startswith("an info line\n") and captured.err == "a warning line\n"
    assert all(not logging.getLogger(name).handlers for name in ("agents", "rewards"))
    logging.getLogger("agents.registry").info("after the command")
    assert "after the command" not in capsys.readouterr().out
