"""`mammad evaluate`: the statistics table, the JSON line, --json."""

import json

from mammad_cli import main


def test_evaluate_prints_and_writes_statistics(ppo_run, tmp_path, capsys):
    main(["evaluate", str(ppo_run / "model.zip"), "-n", "70", "--json",
          str(tmp_path / "stats.json")])
    captured = capsys.readouterr()
    assert "| notes not in key |" in captured.out and "70 compositions" in captured.out
    assert "melody" in captured.err  # the progress bar
    assert json.loads((tmp_path / "stats.json").read_text())["compositions"] == 70
    main(["evaluate", str(ppo_run / "model.zip"), "-n", "5", "--no-progress"])
    assert "melody" not in capsys.readouterr().err
