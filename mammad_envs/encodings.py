"""State encodings: how the music so far becomes a 128-dimensional observation.

Every encoding sees the music one 16th at a time, as a *frame*:

* ``sounding``: bool ``(..., 128)``, the pitches sounding during that 16th (melody and
  accompaniment together);
* ``onsets``: integer ``(..., 128)``, how many notes of each pitch start at that 16th (a melody
  note and an accompaniment note of the same pitch make 2).

An encoding's state is its previous observation: ``encode(previous, sounding, onsets)`` returns
the next one, and ``initial()`` is the observation before any 16th is played (all zeros). The
leading ``...`` dimensions let the same code encode a batch of melodies at once.

=========  ===============================================  ==================================
name       observation after the 16ths ``0..t-1``            high
=========  ===============================================  ==================================
binary     1 where a pitch sounds during 16th ``t-1``         1
count      onsets of each pitch in 16ths ``0..t-1``           ``steps * max_onsets``
decay      ``c <- decay * c + onsets``, 16th by 16th          ``steps * max_onsets``
=========  ===============================================  ==================================

For ``decay`` a note played ``k`` 16ths ago weighs ``decay ** k``; ``decay <= count`` always.

A fourth encoding, ``binary_stack``, is the frame-stacked ``binary`` of the memory baseline of
``benchmarks.encodings``: the snapshots of the last ``frames`` 16ths side by side (the latest
first; zeros before the first 16th), ``frames * 128`` entries. It is not one of the registered
ids; ask for it with ``gym.make("MammadMelody-binary-v0", encoding="binary_stack",
encoding_kwargs={"frames": 4})``.
Encodings take arrays, not an env, so they are tested without one.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mammad_envs.melody import NUM_PITCHES
from mammad_envs.registry import Registry

OBS_DTYPE = np.float32


class Encoding(ABC):
    """One way of turning frames into observations.

    Args:
        steps: Number of 16ths in an episode (bounds the counts).
        max_onsets: The most onsets of one pitch in one 16th (2 with an accompaniment, else 1).
    """

    name: ClassVar[str]

    def __init__(self, steps: int, max_onsets: int = 2) -> None:
        self.steps = steps
        self.max_onsets = max_onsets

    def __init_subclass__(cls, **kwargs: object) -> None:
        """A subclass that redefines ``encode`` but not ``linear`` has no linear form."""
        super().__init_subclass__(**kwargs)
        if "encode" in cls.__dict__ and "linear" not in cls.__dict__:
            cls.linear = Encoding.linear

    @property
    def high(self) -> float:
        """The largest value an observation entry can take."""
        return float(self.steps * self.max_onsets)

    def space(self) -> spaces.Box:
        """The observation space: ``Box(0, high, (128,), float32)``."""
        return spaces.Box(0.0, self.high, (NUM_PITCHES,), OBS_DTYPE)

    def initial(self, batch_shape: tuple[int, ...] = ()) -> np.ndarray:
        """The observation before any 16th is played: all zeros."""
        return np.zeros((*batch_shape, NUM_PITCHES), dtype=OBS_DTYPE)

    @property
    def linear(self) -> tuple[float, float, float] | None:
        """The encoding's linear form, or None if it has none.

        ``(keep, onset_weight, sounding_weight)`` when ``encode`` is ``keep * previous +
        onset_weight * onsets + sounding_weight * sounding`` in float32. With a linear form,
        the envs write 16ths with one compiled loop
        (:mod:`mammad_envs.frames`); without one, they call :meth:`encode` on numpy frames.
        """
        return None

    @abstractmethod
    def encode(self, previous: np.ndarray, sounding: np.ndarray, onsets: np.ndarray
               ) -> np.ndarray:
        """The observation after one more 16th.

        Args:
            previous: The observation before this 16th.
            sounding: Pitches sounding during this 16th, bool ``(..., 128)``.
            onsets: Onsets of each pitch at this 16th, integer ``(..., 128)``.

        Returns:
            A new float32 array, the next observation.
        """


class BinaryEncoding(Encoding):
    """1 for every pitch sounding during the 16th just played, else 0."""

    name = "binary"

    @property
    def high(self) -> float:
        """Always 1."""
        return 1.0

    @property
    def linear(self) -> tuple[float, float, float]:
        """The snapshot: ``(0, 0, 1)``."""
        return (0.0, 0.0, 1.0)

    def encode(self, previous: np.ndarray, sounding: np.ndarray, onsets: np.ndarray
               ) -> np.ndarray:
        """The snapshot of this 16th; the previous observation does not matter."""
        return sounding.astype(OBS_DTYPE)


class CountEncoding(Encoding):
    """How many times each pitch has started so far in the episode."""

    name = "count"

    @property
    def linear(self) -> tuple[float, float, float]:
        """The running count: ``(1, 1, 0)``."""
        return (1.0, 1.0, 0.0)

    def encode(self, previous: np.ndarray, sounding: np.ndarray, onsets: np.ndarray
               ) -> np.ndarray:
        """Adds this 16th's onsets to the counts."""
        return previous + onsets.astype(OBS_DTYPE)


class DecayEncoding(Encoding):
    """Onset counts where older onsets weigh less: ``c <- decay * c + onsets``.

    Args:
        steps: Number of 16ths in an episode.
        max_onsets: The most onsets of one pitch in one 16th.
        decay: Weight kept per 16th, in ``[0, 1]``; 1 is ``count``, 0 is the last 16th's onsets.
    """

    name = "decay"

    def __init__(self, steps: int, max_onsets: int = 2, decay: float = 0.9) -> None:
        super().__init__(steps, max_onsets)
        if isinstance(decay, bool) or not isinstance(decay, int | float) or not 0 <= decay <= 1:
            raise ValueError(f"decay must be a number in [0, 1], got {decay!r}")
        self.decay = OBS_DTYPE(decay)

    @property
    def linear(self) -> tuple[float, float, float]:
        """The decayed count: ``(decay, 1, 0)``."""
        return (float(self.decay), 1.0, 0.0)

    def encode(self, previous: np.ndarray, sounding: np.ndarray, onsets: np.ndarray
               ) -> np.ndarray:
        """Decays the previous counts and adds this 16th's onsets."""
        return self.decay * previous + onsets.astype(OBS_DTYPE)


class StackedBinaryEncoding(Encoding):
    """The ``binary`` snapshots of the last ``frames`` 16ths, the latest first.

    A memory of the last few 16ths for agents without one (frame stacking, as Atari agents
    stack screens): entries ``[k * 128, (k + 1) * 128)`` are the pitches sounding ``k + 1``
    16ths ago, 0 before the first 16th.

    Args:
        steps: Number of 16ths in an episode.
        max_onsets: The most onsets of one pitch in one 16th.
        frames: How many 16ths the observation shows, at least 1 (1 is ``binary``).
    """

    name = "binary_stack"

    def __init__(self, steps: int, max_onsets: int = 2, frames: int = 4) -> None:
        super().__init__(steps, max_onsets)
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise ValueError(f"frames must be an integer >= 1, got {frames!r}")
        self.frames = frames

    @property
    def high(self) -> float:
        """Always 1."""
        return 1.0

    def space(self) -> spaces.Box:
        """``Box(0, 1, (frames * 128,), float32)``."""
        return spaces.Box(0.0, 1.0, (self.frames * NUM_PITCHES,), OBS_DTYPE)

    def initial(self, batch_shape: tuple[int, ...] = ()) -> np.ndarray:
        """All zeros: no 16th played yet."""
        return np.zeros((*batch_shape, self.frames * NUM_PITCHES), dtype=OBS_DTYPE)

    def encode(self, previous: np.ndarray, sounding: np.ndarray, onsets: np.ndarray
               ) -> np.ndarray:
        """This 16th's snapshot first, then the previous ones, the oldest dropped."""
        return np.concatenate([sounding.astype(OBS_DTYPE), previous[..., :-NUM_PITCHES]],
                              axis=-1)


def is_encoding_class(entry: Any) -> bool:
    """Whether an entry is an :class:`Encoding` subclass."""
    return isinstance(entry, type) and issubclass(entry, Encoding)


ENCODINGS = Registry("encoding", {
    encoding.name: encoding for encoding in (BinaryEncoding, CountEncoding, DecayEncoding,
                                             StackedBinaryEncoding)},
    check=is_encoding_class, expected="an Encoding subclass")
"""Encodings by name (classes or ``"module:Class"`` strings); add yours with
:func:`register_encoding`."""


def register_encoding(name: str, encoding: type[Encoding] | str, *,
                      overwrite: bool = False) -> None:
    """Makes an encoding available to ``MelodyEnv(encoding=name)``.

    The class is built as ``cls(steps, max_onsets, **encoding_kwargs)``.

    Raises:
        ValueError: If the name is taken or malformed, or the class is not an Encoding.
    """
    ENCODINGS.register(name, encoding, overwrite=overwrite)


def make_encoding(name: str, steps: int, max_onsets: int = 2, **kwargs: Any) -> Encoding:
    """Builds an encoding by name.

    Args:
        name: A key of :data:`ENCODINGS`.
        steps: Number of 16ths in an episode.
        max_onsets: The most onsets of one pitch in one 16th.
        **kwargs: The encoding's own arguments (``decay`` for ``"decay"``).

    Returns:
        The encoding.

    Raises:
        ValueError: If the name is unknown, or an argument is bad or not the encoding's
            (naming the encoding's arguments, and the encodings that take it).
    """
    cls = ENCODINGS.load(name)
    stray = sorted(set(kwargs) - set(_own_arguments(cls)))
    if stray and not _takes_any(cls):
        valid = _own_arguments(cls)
        takers = sorted(other for other, entry in ENCODINGS.items()
                        if isinstance(entry, type) and issubclass(entry, Encoding)
                        and (_takes_any(entry) or set(stray) <= set(_own_arguments(entry))))
        raise ValueError(f"encoding {name!r} takes no argument(s) {stray}; its arguments: "
                         f"{valid or 'none'}"
                         + (f"; encodings that take them: {takers}" if takers else ""))
    return cls(steps, max_onsets, **kwargs)


def _own_arguments(cls: type[Encoding]) -> list[str]:
    """The named arguments of an encoding class beyond ``steps`` and ``max_onsets``."""
    return [name for name, parameter in inspect.signature(cls.__init__).parameters.items()
            if name not in ("self", "steps", "max_onsets")
            and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)]


def _takes_any(cls: type[Encoding]) -> bool:
    """Whether an encoding class takes any keyword (``**kwargs``)."""
    return any(parameter.kind is parameter.VAR_KEYWORD
               for parameter in inspect.signature(cls.__init__).parameters.values())
