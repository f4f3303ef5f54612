"""Runs the commands of the docs that are marked ``<!-- check -->``, at a smaller scale.

Step counts shrink (``--steps N`` to 64, ``-n N`` to 2, ``.learn(N)`` to 64) so the whole check
takes seconds; everything else runs as written, in a fresh folder per page.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
MARK = "<!-- check -->"
BLOCK = re.compile(re.escape(MARK) + r"\s*```(\w+)\n(.*?)```", re.S)
SHRINK = [
    (re.compile(r"--steps \d+"), "--steps 64 --no-progress --eval-episodes 2 --samples 1"),
    (re.compile(r"(?<= )-n \d+"), "-n 2"),
    (re.compile(r"\.learn\([\d_]+\)"), ".learn(64)"),
]


def checked_blocks():
    for page in sorted(DOCS.rglob("*.md")):
        blocks = BLOCK.findall(page.read_text())
        if blocks:
            yield pytest.param(blocks, id=str(page.relative_to(DOCS)))


def shrink(text):
    for pattern, replacement in SHRINK:
        text = pattern.sub(replacement, text)
    return text


NEEDS_IMITATION = {"imitation.md"}
"""Pages whose commands need the imitation extra."""


@pytest.mark.slow
@pytest.mark.parametrize("blocks", list(checked_blocks()))
def test_documented_commands_run(blocks, tmp_path, request):
    page = request.node.callspec.id
    if page in NEEDS_IMITATION:
        pytest.importorskip("imitation", reason=f"{page} needs the imitation extra")
    environment = {**os.environ,
                   "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                            os.environ["PATH"]])}
    for language, code in blocks:
        code = shrink(code)
        if language == "bash":
            for line in code.strip().splitlines():
                result = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=environment,
                                        capture_output=True, text=True)
                assert result.returncode == 0, f"{line}\n{result.stderr[-2000:]}"
        elif language == "python":
            result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                                     env=environment, capture_output=True, text=True)
            assert result.returncode == 0, f"{code}\n{result.stderr[-2000:]}"
        else:
            raise AssertionError(f"cannot check a {language} block")


def test_every_workflow_page_has_checked_commands():
    pages = {block.id for block in checked_blocks()}
    assert {"workflows/train.md", "workflows/swap.md", "workflows/own_agent.md"} <= pages
