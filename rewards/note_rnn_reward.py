"""Moved to :mod:`rewards.note_rnn.term`; this old path re-exports its public names."""

from rewards.note_rnn.term import NoteRNNReward, NoteRNNTerm

__all__ = ["NoteRNNReward", "NoteRNNTerm"]
