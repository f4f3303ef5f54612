"""``python -m benchmarks.rl_tuner_table --quick``: the page, the caches, the arguments."""

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from benchmarks import rl_tuner_report as report
from benchmarks import rl_tuner_table as table
from benchmarks.grid import CELL_FILE
from rewards.metrics import TABLE_1

REPO = Path(__file__).resolve().parents[2]

COLUMNS = ("Note-RNN", "DQN", "PPO", "KL-PPO", "Note-RNN PPO", "paper Note RNN", "paper Q",
           "paper Psi", "paper G")


def run_quick(root, out):
    """The quick benchmark in a subprocess, into ``root`` and ``out``."""
    result = subprocess.run([sys.executable, "-m", "benchmarks.rl_tuner_table", "--quick",
                             "--root", str(root), "--out", str(out), "--no-progress"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick run (three cells of 512 steps, 200 compositions per model)."""
    folder = tmp_path_factory.mktemp("rl_tuner_table")
    root, out = folder / "grid", folder / "page.md"
    return SimpleNamespace(root=root, out=out, result=run_quick(root, out))


@pytest.mark.slow
def test_the_page_has_every_row_of_table_1_and_every_column(quick):
    text = quick.out.read_text()
    header = next(line for line in text.splitlines() if line.startswith("| statistic |"))
    assert [cell.strip() for cell in header.strip("|").split("|")] == ["statistic", *COLUMNS]
    for row in (*TABLE_1, report.LIKELIHOOD):
        line = next((line for line in text.splitlines() if line.startswith(f"| {row} |")), None)
        assert line is not None, f"no row {row!r}"
        values = [cell.strip() for cell in line.strip("|").split("|")][1:]
        assert len(values) == len(COLUMNS)
        assert all(re.fullmatch(r"-?[0-9.]+%?", value) for value in values[:5]), line
    assert "python -m benchmarks.rl_tuner_table --quick" in text
    assert re.search(r"git commit `[0-9a-f]{40}`", text)
    assert report.FINDINGS_MARKER in text
    # The KL-control cell trains with the recipe of docs/rewards.md, in the paper's setting.
    kl_cell = table.build_cells(table.settings(table.build_parser().parse_args(
        ["--quick"])))["kl_ppo"][0]
    record = (quick.root / kl_cell.name / CELL_FILE)
    config = yaml.safe_load(next((quick.root / kl_cell.name).glob("*/config.yml")).read_text())
    assert record.is_file()
    assert {key: config["hyperparams"][key] for key in ("ent_coef", "normalize_advantage",
                                                        "gamma")} == \
        {"ent_coef": 1.0, "normalize_advantage": False, "gamma": 0.5}
    assert config["env_kwargs"]["pitch_range"] == [48, 83]
    assert config["env_kwargs"]["reward_weights"]["theory"] == 2.0
    assert config["env_kwargs"]["accompaniment"] is None
    # The Note-RNN policy: the reward without note_rnn (its KL penalty holds log p), the
    # table's Note-RNN, the table's KL coefficient.
    prior_cell = table.build_cells(table.settings(table.build_parser().parse_args(
        ["--quick"])))["note_rnn_ppo"][0]
    config = yaml.safe_load(next((quick.root / prior_cell.name).glob("*/config.yml"))
                            .read_text())
    assert config["agent"] == "note_rnn_ppo"
    assert config["env_kwargs"]["reward"] == "theory"
    assert config["hyperparams"]["note_rnn"] == report.NOTE_RNN
    assert config["hyperparams"]["kl_coef"] == table.PRIOR_KL_COEF
    assert config["hyperparams"]["leap_features"] is config["hyperparams"]["leap_head"] is True
    stats = yaml.safe_load(next((quick.root / prior_cell.name).glob("*/stats.json"))
                           .read_text())
    assert stats["KL to the reference per melody (nats)"] >= 0


@pytest.mark.slow
def test_a_rerun_trains_and_evaluates_nothing_and_keeps_the_findings(quick):
    cached = sorted([*quick.root.glob(f"*/{CELL_FILE}"),
                     *quick.root.glob(f"*/{report.EVALUATION_FILE}")])
    assert len(cached) == 4 + 5  # four trained cells; five evaluations with the Note-RNN's
    cached.append(quick.root / report.LAST_RUN_FILE)  # the wall time of the run that did work
    before = {path: path.stat().st_mtime_ns for path in cached}
    text = quick.out.read_text()
    marker = text.index(report.FINDINGS_MARKER)
    quick.out.write_text(text[:marker] + report.FINDINGS_MARKER + " -->\nMY FINDINGS\n")
    result = run_quick(quick.root, quick.out)
    assert "4 training cells (4 done)" in result.stdout
    assert "the last command that trained or evaluated anything" in quick.out.read_text()
    assert {path: path.stat().st_mtime_ns for path in cached} == before
    assert quick.out.read_text().endswith(report.FINDINGS_MARKER + " -->\nMY FINDINGS\n")


@pytest.mark.parametrize("argv, message", [
    (["--models", "dqn", "sac"], "invalid choice: 'sac'"),
    (["--seeds", "0"], "0 is too small: it must be at least 1"),
    (["--compositions", "many"], "'many' is not an integer"),
    (["--theory-weight", "-2"], "-2.0 must be a finite number > 0"),
    (["--dqn-policy", "boltzmann"], "invalid choice: 'boltzmann'"),
    (["--address", "auto"], "--address 'auto' is for --backend ray"),
])
def test_bad_arguments_are_refused_naming_the_value(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        table.main([*argv, "--root", str(tmp_path / "grid"), "--dry-run"])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "grid").exists()
