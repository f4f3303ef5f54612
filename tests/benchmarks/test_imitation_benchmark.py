"""The imitation benchmark: ``--quick`` end to end, its cache, and the page it writes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `benchmarks` is a folder of the checkout, not a package
    sys.path.insert(0, str(REPO))


@pytest.mark.slow
def test_quick_grid_trains_evaluates_caches_and_writes_the_page(tmp_path, monkeypatch):
    pytest.importorskip("imitation", reason="needs the imitation extra (docs/install.md)")
    root, page = tmp_path / "grid", tmp_path / "imitation.md"
    arguments = ["--quick", "--root", str(root), "--out", str(page), "--no-progress"]
    first = subprocess.run([sys.executable, "-m", "benchmarks.imitation", *arguments], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    cells = sorted(p for p in root.iterdir() if (p / "cell.json").is_file())
    assert [c.name.split("__")[1] for c in cells] == ["airl", "bc", "gail"]
    for cell in cells:
        values = json.loads((cell / "imitation.json").read_text())
        assert values["episodes"] == 32
        assert set(values["distances"]) == {"pitch_class", "interval", "rhythm"}
        assert all(0 <= d <= 1 for d in values["distances"].values())
        assert sum(values["counts"]["rhythm"]) == 32 * 16  # 32 melodies of 16 steps
    assert len(list((root / "baselines").glob("*.json"))) == 2
    text = page.read_text()
    for expected in ("demo vs demo", "| count | gail | 1 |", "| - | random |",
                     "| - | note_rnn |", "--quick", "## Notes"):
        assert expected in text
    # Notes written by hand survive; a rerun trains and evaluates nothing.
    page.write_text(text.replace("(none yet)", "Kept by hand."))
    stamps = {c.name: (c / "imitation.json").stat().st_mtime_ns for c in cells}
    from benchmarks.imitation import main

    monkeypatch.chdir(REPO)
    assert main(arguments) == 0  # in this process: nothing to train, nothing to evaluate
    assert stamps == {c.name: (c / "imitation.json").stat().st_mtime_ns for c in cells}
    assert "Kept by hand." in page.read_text()


def test_report_rows_and_verdict():
    from benchmarks.imitation_report import markdown_table, rows, verdict
    from rewards.similarity import demo_baseline

    baseline = demo_baseline()

    def result(agent, factor, seed=0, encoding="count"):
        return {"agent": agent, "encoding": encoding, "seed": seed,
                "distances": {name: factor * value for name, value in baseline.items()},
                "counts": {"rhythm": [1, 1, 0]}}

    results = [result("gail", 3.0), result("gail", 5.0, seed=1), result("bc", 1.5)]
    table = rows(results, [result("random", 10.0, encoding=None)])
    by_label = {row["label"]: row for row in table}
    assert by_label["gail"]["worst"] == pytest.approx(4.0) and not by_label["gail"]["met"]
    assert by_label["bc"]["met"] and by_label["random"]["baseline"]
    assert by_label["gail"]["rhythm"] == [0.5, 0.5, 0.0]
    assert "bc on count" in verdict(table) and "meets" in verdict(table)
    assert markdown_table(table)[2].startswith("| - | demo vs demo")


def test_bad_arguments_are_refused():
    result = subprocess.run([sys.executable, "-m", "benchmarks.imitation", "--agents", "ppo"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice: 'ppo'" in result.stderr
    result = subprocess.run([sys.executable, "-m", "benchmarks.imitation", "--quick",
                             "--address", "auto", "--dry-run"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--address is for --backend ray" in result.stderr
