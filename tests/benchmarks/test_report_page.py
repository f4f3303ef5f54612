"""What a report page records about itself, and commands shown without this machine's paths."""

from pathlib import Path

import pytest

from benchmarks import encodings
from benchmarks.report_page import (
    check_overwrite,
    display_path,
    portable_command,
    recorded_runs,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_run_count_is_read_back_from_the_comment_or_an_older_page(tmp_path):
    page = tmp_path / "page.md"
    assert recorded_runs(page) is None and recorded_runs(tmp_path) is None
    page.write_text("# Title\n\n<!-- benchmarks.report: made from 180 runs -->\n")
    assert recorded_runs(page) == 180
    page.write_text("# Title\n\nMade by:\n\n180 finished runs under `runs`, of 36 cells.\n")
    assert recorded_runs(page) == 180  # a page written before the comment
    page.write_text("# Notes\n\nNo report here.\n")
    assert recorded_runs(page) is None


def test_a_page_of_more_runs_is_kept_unless_forced(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- benchmarks.report: made from 180 runs -->\n")
    with pytest.raises(ValueError, match=r"page.md was made from 180 runs and this report has "
                                         r"only 8: refusing to overwrite it \(give another "
                                         r"--out, or --force to replace it\)"):
        check_overwrite(page, 8)
    check_overwrite(page, 8, force=True)
    check_overwrite(page, 180)
    check_overwrite(tmp_path / "new.md", 1)


def test_commands_lose_this_machines_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benchmarks" / "runs" / "grid").mkdir(parents=True)
    root = Path("benchmarks/runs/grid")
    absolute = tmp_path / root
    command = f"python -m benchmarks.encodings --seeds 5 --root {absolute} --no-progress"
    assert portable_command(command, root) == ("python -m benchmarks.encodings --seeds 5 --root "
                                               "benchmarks/runs/grid --no-progress")
    assert portable_command(f"x --root={absolute}/../grid --out /elsewhere/p.md", root) == \
        "x --root=benchmarks/runs/grid --out /elsewhere/p.md"
    assert display_path(absolute) == "benchmarks/runs/grid"
    assert display_path("/elsewhere/runs") == "/elsewhere/runs"
    assert portable_command("unbalanced 'quote", root) == "unbalanced 'quote"


def test_a_quick_grid_suggests_a_report_under_its_own_root():
    root = Path("benchmarks/runs/encodings-quick")
    assert encodings.report_page(root, quick=True) == root / "report.md"
    assert encodings.report_page(Path("benchmarks/runs/encodings"), quick=False) == \
        Path("docs/benchmarks/encodings.md")
