"""Reading ABC text and parsing tunes with music21.

music21 is imported inside the functions that parse scores only: this module imports without it.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

__all__ = [
    "ABC_PREAMBLE",
    "parse_abc",
    "parse_tune",
    "split_tunes",
]

ABC_PREAMBLE = "%abc-2.1\n%%propagate-accidentals octave\n"
"""Prepended to each tune so music21 parses it as ABC 2.1 (see :func:`parse_tune`)."""


def split_tunes(text: str) -> list[tuple[int, str]]:
    """Splits the text of an ABC file into tunes at its ``X:`` lines.

    Like music21's ``ABCFile.extractReferenceNumber``, the file header (before the first
    ``X:``) is not included.

    Args:
        text: The whole file.

    Returns:
        ``(reference number, tune text)`` pairs in file order; a non-numeric ``X:`` field
        gives -1.
    """
    tunes: list[tuple[int, str]] = []
    current: list[str] | None = None
    number = -1
    for line in text.split("\n"):
        if line.strip().startswith("X:"):
            if current is not None:
                tunes.append((number, "\n".join(current)))
            digits = re.match(r"\s*X:\s*(\d+)", line)
            number = int(digits.group(1)) if digits else -1
            current = [line]
        elif current is not None:
            current.append(line)
    if current is not None:
        tunes.append((number, "\n".join(current)))
    return tunes


def require_music21() -> str:
    """The installed music21 version, or a clear ImportError."""
    try:
        return metadata.version("music21")
    except metadata.PackageNotFoundError:
        raise ImportError("the folk corpus needs music21: pip install -e '.[dataset]'") from None


def parse_tune(corpus_path: str, number: int):  # noqa: ANN201 (music21 is imported lazily)
    """Parses one tune from music21's corpus, with ABC 2.1 accidental rules.

    music21 reads ABC files without a ``%abc-2.x`` line (all of these) as ABC 1.x and then does
    not carry an accidental through the rest of its bar, which puts wrong notes into tunes such
    as ``^f2 fg``. So the tune's text is taken from the corpus file and parsed as ABC 2.1 with
    ``%%propagate-accidentals octave``: an accidental holds for the same note (same octave) until
    the bar line, as in the printed sources.

    Args:
        corpus_path: Path of the ABC file in music21's corpus (``"oneills1850/0001-0050.abc"``).
        number: The tune's ``X:`` reference number.

    Returns:
        The music21 score.
    """
    require_music21()
    # optional: the dataset extra (music21)
    from music21 import abcFormat, corpus

    path = Path(corpus.getWork(corpus_path))
    text = path.read_text(encoding="utf-8", errors="replace")
    return parse_abc(abcFormat.ABCFile().extractReferenceNumber(text, number))


def parse_abc(tune_text: str):  # noqa: ANN201
    """Parses the ABC text of one tune as ABC 2.1 (see :func:`parse_tune`).

    Args:
        tune_text: One tune, from its ``X:`` line.

    Returns:
        The music21 score.
    """
    # optional: the dataset extra (music21)
    from music21 import converter

    return converter.parse(ABC_PREAMBLE + tune_text, format="abc")
