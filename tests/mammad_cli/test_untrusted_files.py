"""Damaged and pickled model files, refused by every command that loads one."""


import pytest
import yaml

from mammad_cli import main
from tests.mammad_cli.helpers import copy_run


def test_corrupt_model_file(ppo_run, tmp_path, capsys):
    run = tmp_path / "copy"
    run.mkdir()
    (run / "config.yml").write_text((ppo_run / "config.yml").read_text())
    (run / "model.zip").write_bytes(b"PK\x03\x04 this is not a model")
    with pytest.raises(SystemExit):
        main(["evaluate", str(run / "model.zip")])
    assert "copy/model.zip is not a readable model file" in capsys.readouterr().err
    content = (ppo_run / "model.zip").read_bytes()
    (run / "model.zip").write_bytes(content[: len(content) - 300])  # truncated
    with pytest.raises(SystemExit):
        main(["sample", str(run)])
    assert "model.zip is not a readable model file (truncated" in capsys.readouterr().err
    (run / "config.yml").write_text("agent: ppo\nenv: [\n")
    with pytest.raises(SystemExit):
        main(["evaluate", str(run)])
    assert "config.yml is not valid YAML" in capsys.readouterr().err
    config = yaml.safe_load((ppo_run / "config.yml").read_text())
    (run / "config.yml").write_text(yaml.safe_dump({**config, "agent": "ppo2"}))
    with pytest.raises(SystemExit):
        main(["train", "--resume", str(run)])
    assert "names the agent 'ppo2', which is not registered" in capsys.readouterr().err


def test_poisoned_files_are_refused_by_every_command(ppo_run, tmp_path, capsys):
    from tests.agents.test_model_files import poison

    run = copy_run(ppo_run, tmp_path)
    marker = tmp_path / "ran"
    poisoned = poison(run / "model.zip", "evil", marker)
    poisoned.replace(run / "model.zip")
    (run / "checkpoints" / "latest.zip").unlink()
    for argv in (["evaluate", str(run), "-n", "2"], ["sample", str(run), "-n", "1", "--out",
                                                   str(tmp_path / "s")]):
        with pytest.raises(SystemExit):
            main(argv)
        err = capsys.readouterr().err
        assert "model.zip holds pickled entries ['evil']" in err and "--trust-pickle" in err
    config = yaml.safe_load((run / "config.yml").read_text())
    (run / "config.yml").write_text(yaml.safe_dump({**config, "steps": 512}))
    with pytest.raises(SystemExit):
        main(["train", "--resume", str(run), "--no-progress"])
    assert "holds pickled entries ['evil']" in capsys.readouterr().err
    assert not marker.exists()
    main(["evaluate", str(run), "-n", "2", "--no-progress", "--trust-pickle"])
    assert marker.exists()  # the user said they trust it
