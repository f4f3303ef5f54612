"""The report: rliable's statistics on known numbers, and the Markdown and PNGs of a grid."""

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmarks import report
from benchmarks.grid import Cell
from benchmarks.report import (
    improvement_interval,
    iqm,
    iqm_interval,
    probability_of_improvement,
    write_report,
)

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
GRID_COMMAND = "python -m benchmarks.encodings --made-up"


# --- the statistics ----------------------------------------------------------------------------

def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.arange(1, 9)) == pytest.approx(4.5)  # (3 + 4 + 5 + 6) / 4
    assert iqm([[1, 100], [2, -100]]) == pytest.approx(1.5)  # flattened, the extremes cut
    assert iqm([5.0, 7.0]) == pytest.approx(6.0)  # too few to cut
    np.testing.assert_allclose(iqm(np.array([[1, 2, 3, 4], [0, 0, 0, 40]]), axis=1), [2.5, 0])


def test_iqm_matches_scipys_trimmed_mean():
    stats = pytest.importorskip("scipy.stats")
    values = np.random.default_rng(3).normal(size=(7, 5))
    assert iqm(values) == pytest.approx(stats.trim_mean(values, 0.25, axis=None))


@pytest.mark.parametrize("x, y, expected", [
    ([[3, 4, 5]], [[0, 1, 2]], 1.0),  # X always better
    ([[0, 1, 2]], [[3, 4, 5]], 0.0),
    ([[1, 2, 3]], [[1, 2, 3]], 0.5),  # the same runs
    ([[2, 1]], [[1, 0]], 0.875),  # 2>1, 2>0, 1=1 (half), 1>0: 3.5 of 4 pairs
    ([[3, 4], [0, 1]], [[0, 1], [3, 4]], 0.5),  # better on one task, worse on the other
    ([[1, 2, 3]], [[2]], 0.5),  # different numbers of runs
])
def test_probability_of_improvement_on_known_numbers(x, y, expected):
    assert probability_of_improvement([np.array(t) for t in x],
                                      [np.array(t) for t in y]) == pytest.approx(expected)


def test_intervals_of_known_answers():
    better, worse = [np.array([3.0, 4, 5]), np.array([7.0, 8])], [np.array([0.0, 1, 2]),
                                                                   np.array([1.0, 2])]
    assert improvement_interval(better, worse, reps=2000) == (1.0, 1.0, 1.0)
    assert improvement_interval(worse, better, reps=2000) == (0.0, 0.0, 0.0)
    assert iqm_interval([np.full(5, 0.25), np.full(3, 0.25)], reps=2000) == (0.25, 0.25, 0.25)
    point, low, high = iqm_interval([np.arange(10.0), np.arange(10.0, 20)], reps=5000)
    assert point == pytest.approx(9.5) and low < point < high
    rng = np.random.default_rng
    assert iqm_interval(better, 500, rng=rng(1)) == iqm_interval(better, 500, rng=rng(1))


def test_the_statistics_agree_with_rliable():
    try:  # rliable 1.2 needs arch < 8, whose 7.x fails to import with pandas 3
        from rliable import library, metrics
    except Exception as error:
        pytest.skip(f"rliable does not import here ({type(error).__name__}: {error})")
    rng = np.random.default_rng(1)
    x, y = rng.normal(0.6, 0.2, size=(5, 4)), rng.normal(0.5, 0.2, size=(5, 4))
    y[:, 0], y[2, 1] = x[:, 0], x[3, 1]  # a task of the same runs, and a tie
    columns = lambda scores: [scores[:, task] for task in range(scores.shape[1])]  # noqa: E731
    assert iqm(x) == pytest.approx(metrics.aggregate_iqm(x))
    assert probability_of_improvement(columns(x), columns(y)) == pytest.approx(
        metrics.probability_of_improvement(x, y))
    np.random.seed(0)  # rliable draws its resamples from numpy's global generator
    _, theirs = library.get_interval_estimates(
        {"x": x}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=5000)
    np.testing.assert_allclose(iqm_interval(columns(x), 5000)[1:], theirs["x"].ravel(), atol=0.03)
    _, theirs = library.get_interval_estimates(
        {"xy": (x, y)}, metrics.probability_of_improvement, reps=2000)
    np.testing.assert_allclose(improvement_interval(columns(x), columns(y), 2000)[1:],
                               theirs["xy"].ravel(), atol=0.05)


def test_the_statistics_columns_are_rl_tuners_table_1():
    from rewards.metrics import TABLE_1

    assert set(report.STATISTICS) == set(TABLE_1)


# --- the report of made-up runs -----------------------------------------------------------------

RETURNS = {("ppo", "binary"): [-10.0, -12.0, -14.0], ("ppo", "count"): [-5.0, -6.0, -7.0],
           ("ppo", "decay"): [-1.0, -2.0, -3.0], ("recurrent_ppo", "binary"): [-4.0] * 3}
"""decay beats count beats binary on every seed; the LSTM on binary lies between."""
NOT_IN_KEY = [0.1, 0.2, 0.3]


def make_cell(root, agent, encoding, seed, final_return, steps=256, curve=True):
    """A finished cell as benchmarks.grid leaves it, without training anything."""
    cell = Cell(agent, f"MammadMelody-{encoding}-v0", "theory", seed=seed, steps=steps)
    run = root / cell.name / f"{cell.env}__{agent}__{seed}__1"
    run.mkdir(parents=True)
    config = {"agent": agent, "env": cell.env, "env_kwargs": {"accompaniment": None,
                                                              "reward": "theory"},
              "seed": seed, "steps": steps, "hyperparams": {}, "git_commit": "c0ffee"}
    (run / "config.yml").write_text(yaml.safe_dump(config))
    stats = {name: 0.5 for name in report.STATISTICS}
    stats.update({"notes not in key": NOT_IN_KEY[seed], "mean autocorrelation lag 3": None,
                  "mean episode return": final_return})
    (run / "stats.json").write_text(json.dumps(stats))
    if curve:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run / "tb" / "tb_1"))
        for step in (128, 256):
            writer.add_scalar("rollout/ep_rew_mean", final_return + step / 128, step)
            writer.add_scalar("reward_terms/theory", final_return / 16, step)
        writer.close()
    record = {"name": cell.name, "cell": asdict(cell), "run": run.name,
              "grid_command": GRID_COMMAND, "git_commit": "c0ffee"}
    (root / cell.name / "cell.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def made_up_grid(tmp_path_factory):
    pytest.importorskip("tensorboard")
    root = tmp_path_factory.mktemp("made_up") / "grid"
    for (agent, encoding), returns in RETURNS.items():
        for seed, value in enumerate(returns):
            make_cell(root, agent, encoding, seed, value)
    (root / "unfinished_cell").mkdir()  # no cell.json: not read
    return root


def row(text, label):
    """The cells of the first table row that starts with ``label``."""
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_report_of_made_up_runs(made_up_grid, tmp_path):
    out = write_report(made_up_grid, tmp_path / "docs" / "encodings.md", reps=2000)
    text = out.read_text()
    assert row(text, "ppo / binary")[:5] == ["ppo / binary", "3", "-12.00 ± 2.00",
                                             "-10.00 ± 2.00", "-0.750 ± 0.125"]
    statistics = row(text.split("## RL Tuner statistics")[1], "ppo / binary")
    assert statistics[2] == "20.0 ± 10.0%"  # notes not in key, over the three seeds
    assert statistics[-1] == "-"  # an autocorrelation undefined for every seed

    aggregate = text.split("### Interquartile mean")[1]
    random = report.random_return("MammadMelody-count-v0", {"accompaniment": None,
                                                            "reward": "theory"})
    assert f"theory, accompaniment off [{random:.2f}, -1.00]" in text  # random, the best run
    normalised = (np.array(RETURNS[("ppo", "binary")]) - random) / (-1 - random)
    assert row(aggregate, "ppo / binary")[1] == f"{normalised.mean():.3f}"
    assert row(aggregate, "ppo / binary | ppo / count")[2:4] == ["0.000", "[0.000, 0.000]"]
    assert row(aggregate, "ppo / count | ppo / decay")[2:4] == ["0.000", "[0.000, 0.000]"]
    assert row(aggregate, "ppo / decay | recurrent_ppo / binary")[2:4] == ["1.000",
                                                                          "[1.000, 1.000]"]

    lines = text.splitlines()
    tables = [i for i, line in enumerate(lines)
              if line.startswith("| ") and not lines[i - 1].startswith("|")]
    assert len(tables) == 5  # settings, returns, statistics, IQM, P(X > Y)
    settings = text.split("## Settings")[1].split("\n## ")[0]
    assert f"```bash\n{GRID_COMMAND}\npython -m benchmarks.report --root " in settings
    assert "At git commit `c0ffee`." in settings
    assert text.count(GRID_COMMAND) == 1 and text.count("c0ffee") == 1  # said once
    for start in tables[1:]:  # every other table names its runs and points to the settings
        assert lines[start - 2] == ("*12 runs; their commands and commits are under "
                                   "[Settings](#settings).*")
    assert "<!-- benchmarks.report: made from 12 runs -->" in text

    images = sorted((tmp_path / "docs" / "images").iterdir())
    assert [p.name for p in images] == ["encodings_ppo_theory.png",
                                        "encodings_recurrent_ppo_theory.png"]
    assert all(p.read_bytes().startswith(PNG) for p in images)
    assert "![encodings_ppo_theory](images/encodings_ppo_theory.png)" in text

    again = write_report(made_up_grid, tmp_path / "again" / "encodings.md", reps=2000)
    assert again.read_text().replace("again/", "docs/") == text  # a function of the runs
    assert [p.read_bytes() for p in sorted((tmp_path / "again" / "images").iterdir())] == [
        p.read_bytes() for p in images]


def test_the_random_reference_is_the_mean_return_of_uniform_actions():
    import gymnasium as gym

    episodes, kwargs = 300, {"accompaniment": None, "reward": "theory", "steps": 32}
    batched = report.random_return("MammadMelody-decay-v0", kwargs, episodes=episodes)
    env, rng, returns = gym.make("MammadMelody-count-v0", **kwargs), np.random.default_rng(1), []
    for episode in range(episodes):  # by hand: one scalar env, other random draws
        env.reset(seed=1000 + episode)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            total, done = total + reward, terminated or truncated
        returns.append(total)
    error = np.std(returns) * np.sqrt(2 / episodes)  # of the difference of the two means
    assert batched < 0 and abs(batched - np.mean(returns)) < 4 * error


def test_random_actions_play_once_per_setting_whatever_the_encoding(monkeypatch):
    played = []
    monkeypatch.setattr(report, "random_return",
                        lambda env, kwargs, episodes: played.append((env, kwargs))
                        or -float(kwargs.get("steps", 64)))
    runs = [report.Run("ppo", encoding, "theory", False, 0, (), 0.0, {},
                       env=f"MammadMelody-{encoding}-v0", env_kwargs=dict(kwargs))
            for encoding in ("binary", "count", "decay")
            for kwargs in ({"accompaniment": None}, {"accompaniment": None, "steps": 32})]
    runs.append(report.Run("ppo", "binary_stack", "theory", False, 0, (), 0.0, {},
                           env="MammadMelody-binary-v0",
                           env_kwargs={"accompaniment": None, "encoding": "binary_stack"}))
    assert report.random_references(runs[::2]) == {("theory", False): -64.0}
    assert len(played) == 1
    played.clear()
    with pytest.raises(ValueError, match=r"score differently \(\[-64.0, -32.0\]\)"):
        report.random_references(runs)  # two settings in one task: refused
    assert played == [("MammadMelody-binary-v0", {"accompaniment": None}),
                      ("MammadMelody-binary-v0", {"accompaniment": None, "steps": 32})]


def test_scores_are_zero_at_random_and_one_at_the_best_run():
    runs = [report.Run("ppo", encoding, "theory", False, seed, (), value, {})
            for seed, (encoding, value) in enumerate([("binary", -50.0), ("count", 10.0),
                                                      ("count", -120.0)])]
    scores = report.normalised_returns(runs, {("theory", False): -50.0})
    assert [scores[id(run)] for run in runs] == [0.0, 1.0, pytest.approx(-70 / 60)]
    assert set(report.normalised_returns(runs, {("theory", False): 10.0}).values()) == {0.0}


def test_the_report_refuses_an_empty_or_mixed_root(tmp_path):
    with pytest.raises(ValueError, match="no finished cell"):
        write_report(tmp_path, tmp_path / "out.md")
    make_cell(tmp_path, "ppo", "count", 0, -1.0, curve=False)
    make_cell(tmp_path, "ppo", "count", 1, -1.0, steps=512, curve=False)
    with pytest.raises(ValueError, match="different settings"):
        write_report(tmp_path, tmp_path / "out.md")
    result = subprocess.run([sys.executable, "-m", "benchmarks.report", "--root", str(tmp_path),
                             "--out", str(tmp_path / "out.md")], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 2 and "different settings" in result.stderr


def test_the_report_refuses_to_replace_a_page_of_more_runs(made_up_grid, tmp_path):
    page = tmp_path / "docs" / "encodings.md"
    write_report(made_up_grid, page, reps=200)
    before = {p: p.read_bytes() for p in [page, *(tmp_path / "docs" / "images").iterdir()]}
    small = tmp_path / "small"
    make_cell(small, "ppo", "count", 0, -1.0, curve=False)
    with pytest.raises(ValueError, match=r"encodings.md was made from 12 runs and this report "
                                         r"has only 1: refusing to overwrite it .*--force"):
        write_report(small, page, reps=200)
    assert {p: p.read_bytes() for p in before} == before  # the page and its PNGs untouched
    result = subprocess.run([sys.executable, "-m", "benchmarks.report", "--root", str(small),
                             "--out", str(page), "--reps", "200"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "made from 12 runs" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and page.read_bytes() == before[page]
    write_report(made_up_grid, page, reps=200)  # as many runs: replaced
    assert "<!-- benchmarks.report: made from 1 runs -->" in write_report(
        small, page, reps=200, force=True).read_text()


def test_curves_on_the_same_points_stay_visible():
    from matplotlib.figure import Figure

    curve = (np.array([128, 256]), np.array([1.0, 2.0]))
    runs = [report.Run("ppo", encoding, "theory", False, seed, (), 0.0, {},
                       scalars={report.RETURN_TAG: curve})
            for encoding in ("binary", "count", "decay") for seed in (0, 1)]
    axes = Figure().subplots()
    report._panel(axes, report._cells(runs), "ppo")
    widths = [line.get_linewidth() for line in axes.lines]
    markers = [line.get_marker() for line in axes.lines]
    assert widths[0] > widths[1] > widths[2]  # each wider than the ones drawn over it
    assert len(set(markers)) == 3 and {line.get_fillstyle() for line in axes.lines} == {"none"}


# --- the report of the quick grid ---------------------------------------------------------------

@pytest.mark.slow
def test_the_report_of_the_quick_grid_matches_its_stats_files(quick_grid, tmp_path):
    out = tmp_path / "encodings.md"
    result = subprocess.run([sys.executable, "-m", "benchmarks.report", "--root",
                             str(quick_grid.root), "--out", str(out), "--reps", "2000"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    by_encoding = {}
    for cell_file in quick_grid.root.glob("*/cell.json"):
        record = json.loads(cell_file.read_text())
        stats = json.loads((cell_file.parent / record["run"] / "stats.json").read_text())
        encoding = record["cell"]["env"].split("-")[1]
        if "encoding=binary_stack" in record["cell"]["env_kwargs"]:
            encoding = "binary_stack"
        by_encoding.setdefault(encoding, []).append(stats)
    assert sorted(by_encoding) == ["binary", "binary_stack", "count", "decay"]
    statistics = text.split("## RL Tuner statistics")[1]
    for encoding, seeds in by_encoding.items():  # by hand: the mean and spread over two seeds
        returns = np.array([s["mean episode return"] for s in seeds])
        assert row(text, f"ppo / {encoding}")[1:3] == [
            "2", f"{returns.mean():.2f} ± {returns.std(ddof=1):.2f}"]
        not_in_key = 100 * np.array([s["notes not in key"] for s in seeds])
        assert row(statistics, f"ppo / {encoding}")[2] == \
            f"{not_in_key.mean():.1f} ± {not_in_key.std(ddof=1):.1f}%"
    config = yaml.safe_load(next(quick_grid.root.glob("*/*/config.yml")).read_text())
    assert f"At git commit `{config['git_commit']}`." in text
    assert "\npython -m benchmarks.encodings --quick --root" in text
    assert "| theory per step |" in text  # the reward term, from the TensorBoard logs
    assert (tmp_path / "images" / "encodings_ppo_theory.png").read_bytes().startswith(PNG)
