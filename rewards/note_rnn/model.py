"""The Note RNN: an LSTM next-event model over melody tokens, trained on real folk tunes.

Tokens (:mod:`rewards.note_rnn.tokens`): ``0..87`` strike pitches 21..108, ``88`` HOLD, ``89``
REST, ``90`` START (input only). The model predicts 90 classes (``0..89``). A melody of ``n``
events is scored as ``n`` steps: step ``t`` reads ``[START, e_0, ..., e_{t-1}]`` and gives
``log p(e_t | e_0..e_{t-1})``.

High-level methods take and return numpy (:meth:`NoteRNN.log_prob`, :meth:`NoteRNN.nll`,
:meth:`NoteRNN.sample`); the low-level ones take and return torch tensors
(:meth:`NoteRNN.forward`, :meth:`NoteRNN.initial_state`, :meth:`NoteRNN.step`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rewards.note_rnn.threads import torch_threads
from rewards.note_rnn.tokens import (
    INPUT_VOCABULARY,
    NUM_CLASSES,
    START_TOKEN,
    melody_to_tokens,
    tokens_to_melody,
)
from rewards.weights import load_weights

__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_WEIGHTS_BYTES", "PRETRAINED", "NoteRNN",
           "WEIGHTS_FILE"]

FORMAT: str = "mammad-envs/note-rnn"
"""The ``format`` entry of a weights file."""
FORMAT_VERSION: int = 1
"""The ``format_version`` entry of a weights file."""
MAX_WEIGHTS_BYTES: int = 128 * 2**20
"""Default limit on a weights file (:meth:`NoteRNN.load`): 128 MiB; the shipped ones are 1.4 MB.
A larger file is refused from its size, before it is opened."""
WEIGHTS_FILE: str = "note_rnn.pt"
"""Name of the shipped default weights file in ``rewards/note_rnn/weights/``."""
PRETRAINED: dict[str, str] = {"default": WEIGHTS_FILE, "rl_tuner": "note_rnn_rl_tuner.pt"}
"""The shipped models by name, each a weights file in ``rewards/note_rnn/weights/`` with its
card beside it: ``default`` is trained with octave shifts across the piano (card
``model_card.md``); ``rl_tuner`` only in RL Tuner's range, MIDI 48..83 (card
``model_card_rl_tuner.md``), the better fit for RL Tuner's setting and no good outside it."""

State = tuple[torch.Tensor, torch.Tensor]
"""An LSTM state ``(h, c)``, each ``(1, batch, hidden_size)``."""

SAMPLE_THREADS: int = 1
"""Threads used by :meth:`NoteRNN.sample`: one step at a time of a small LSTM is faster on one
thread than on two on the project's 2-core machines (measured: see docs/note_rnn.md)."""


class NoteRNN(nn.Module):
    """Embedding -> one LSTM layer -> linear to 90 classes.

    Args:
        embedding_dim: Size of the token embedding.
        hidden_size: LSTM cells.
        dropout: Dropout on the embedding and on the LSTM output (training only).
    """

    def __init__(self, embedding_dim: int = 64, hidden_size: int = 256,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.embedding_dim = int(embedding_dim)
        self.hidden_size = int(hidden_size)
        self.dropout_rate = float(dropout)
        self.embedding = nn.Embedding(INPUT_VOCABULARY, self.embedding_dim)
        self.lstm = nn.LSTM(self.embedding_dim, self.hidden_size, batch_first=True)
        self.dropout = nn.Dropout(self.dropout_rate)
        self.output = nn.Linear(self.hidden_size, NUM_CLASSES)
        self.metadata: dict[str, Any] = {}

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The constructor arguments, as stored in a weights file."""
        return {"embedding_dim": self.embedding_dim, "hidden_size": self.hidden_size,
                "dropout": self.dropout_rate}

    def forward(self, tokens_in: torch.Tensor, state: State | None = None
                ) -> tuple[torch.Tensor, State]:
        """Runs the model over input tokens.

        Args:
            tokens_in: Long tensor ``(batch, steps)`` of input tokens 0..90.
            state: LSTM state to start from (default: zeros, before START).

        Returns:
            ``(logits (batch, steps, 90), state after the last step)``.
        """
        embedded = self.dropout(self.embedding(tokens_in))
        outputs, state = self.lstm(embedded, state)
        return self.output(self.dropout(outputs)), state

    def _forward_eval(self, tokens_in: torch.Tensor, state: State | None = None
                      ) -> tuple[torch.Tensor, State]:
        """:meth:`forward` without dropout, whatever the mode."""
        outputs, state = self.lstm(self.embedding(tokens_in), state)
        return self.output(outputs), state

    # -- incremental use ------------------------------------------------------------------

    def initial_state(self, batch_size: int = 1) -> State:
        """The zero LSTM state, before START.

        Feed :data:`START_TOKEN` to :meth:`step` first (or call :meth:`start`) to get the
        distribution of the first event.

        Args:
            batch_size: Number of sequences.

        Returns:
            ``(h, c)``, each zeros ``(1, batch_size, hidden_size)``.
        """
        weight = self.output.weight
        zeros = torch.zeros(1, batch_size, self.hidden_size, dtype=weight.dtype,
                            device=weight.device)
        return zeros, zeros.clone()

    @torch.no_grad()
    def step(self, tokens: Sequence[int] | np.ndarray | torch.Tensor, state: State
             ) -> tuple[torch.Tensor, State]:
        """One LSTM step: reads one token per sequence, predicts the next event.

        Typical use, one call per env step::

            log_probs, state = model.start(batch_size)     # distribution of event 0
            reward = log_probs[0, action]
            log_probs, state = model.step([action], state)  # distribution of event 1

        Args:
            tokens: ``(batch,)`` input tokens 0..90 (the event just played, or START).
            state: State from :meth:`initial_state` or a previous :meth:`step`.

        Returns:
            ``(log_probs (batch, 90), new_state)``: log-softmax over the next event.

        Raises:
            ValueError: If a token is not in 0..90 or the batch sizes differ.
        """
        tokens = self._input_tokens(tokens)
        if tokens.shape[0] != state[0].shape[1]:
            raise ValueError(f"{tokens.shape[0]} tokens for a state of batch size "
                             f"{state[0].shape[1]}")
        logits, state = self._forward_eval(tokens[:, None], state)
        return torch.log_softmax(logits[:, 0], dim=-1), state

    def start(self, batch_size: int = 1) -> tuple[torch.Tensor, State]:
        """The distribution of the first event: :meth:`step` of START from the zero state.

        Args:
            batch_size: Number of sequences.

        Returns:
            ``(log_probs (batch_size, 90), state after START)``.
        """
        return self.step(torch.full((batch_size,), START_TOKEN, dtype=torch.long),
                         self.initial_state(batch_size))

    def _input_tokens(self, tokens: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
        tensor = torch.as_tensor(tokens)
        if tensor.dim() != 1:
            raise ValueError(f"tokens must have shape (batch,), got {tuple(tensor.shape)}")
        if tensor.is_floating_point() or tensor.dtype == torch.bool or tensor.is_complex():
            raise ValueError(f"tokens must be integers 0..{START_TOKEN}, got {tensor.dtype}")
        if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) > START_TOKEN):
            raise ValueError(f"tokens must be in 0..{START_TOKEN}, got {tensor.tolist()}")
        return tensor.to(device=self.output.weight.device, dtype=torch.long)

    # -- scoring melodies -----------------------------------------------------------------

    def scored_batches(self, melodies: Sequence[Sequence[int] | np.ndarray], batch_size: int
                 ) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Scores melodies in padded batches (eval mode, no grad).

        Yields:
            ``(indices, log_probs (b, T, 90), targets (b, T), mask (b, T))`` for batches of
            melodies sorted by length (``indices`` into ``melodies``).
        """
        if isinstance(melodies, np.ndarray) and melodies.ndim == 1:
            raise ValueError("pass a list of melodies (or a 2-D array), not a single melody")
        tokens = [melody_to_tokens(melody) for melody in melodies]
        order = sorted(range(len(tokens)), key=lambda i: len(tokens[i]))
        order = [i for i in order if len(tokens[i])]
        device = self.output.weight.device
        for begin in range(0, len(order), batch_size):
            indices = order[begin:begin + batch_size]
            longest = len(tokens[indices[-1]])
            targets = torch.zeros(len(indices), longest, dtype=torch.long)
            mask = torch.zeros(len(indices), longest, dtype=torch.bool)
            for row, index in enumerate(indices):
                targets[row, :len(tokens[index])] = torch.from_numpy(tokens[index])
                mask[row, :len(tokens[index])] = True
            inputs = torch.cat([torch.full((len(indices), 1), START_TOKEN),
                                targets[:, :-1]], dim=1)
            with torch.no_grad():
                logits, _ = self._forward_eval(inputs.to(device))
                log_probs = torch.log_softmax(logits, dim=-1).cpu()
            yield indices, log_probs, targets, mask

    def log_prob(self, melodies: Sequence[Sequence[int] | np.ndarray], batch_size: int = 256
                 ) -> list[np.ndarray]:
        """Per-step log-probabilities of melodies, each event given the events before it.

        Args:
            melodies: Melody arrays of any lengths (pitches 21..108, HOLD, REST).
            batch_size: Melodies per padded forward pass.

        Returns:
            One float64 array per melody, of its length: ``log p(e_t | START, e_0..e_{t-1})``.

        Raises:
            ValueError: If a melody is invalid (see :func:`melody_to_tokens`).
        """
        result = [np.zeros(0, dtype=np.float64) for _ in melodies]
        for indices, log_probs, targets, mask in self.scored_batches(melodies, batch_size):
            chosen = log_probs.gather(-1, targets[..., None])[..., 0].double()
            for row, index in enumerate(indices):
                result[index] = chosen[row, mask[row]].numpy()
        return result

    def nll(self, melodies: Sequence[Sequence[int] | np.ndarray], batch_size: int = 256
            ) -> float:
        """Mean negative log-likelihood per step, in nats, over all steps of all melodies.

        Args:
            melodies: Melody arrays of any lengths.
            batch_size: Melodies per padded forward pass.

        Returns:
            ``-sum(log p) / number of steps`` (uniform guessing gives ``log(90)`` = 4.50).

        Raises:
            ValueError: If a melody is invalid or there are no steps at all.
        """
        per_melody = self.log_prob(melodies, batch_size)
        steps = sum(len(log_probs) for log_probs in per_melody)
        if not steps:
            raise ValueError("no steps to score (all melodies are empty)")
        return -sum(float(log_probs.sum()) for log_probs in per_melody) / steps

    def accuracy(self, melodies: Sequence[Sequence[int] | np.ndarray], batch_size: int = 256
                 ) -> float:
        """Fraction of steps, over all steps of all melodies, where the likeliest event came.

        It takes the arguments of :meth:`nll` and raises its ValueError.
        """
        correct, steps = 0, 0
        for _, log_probs, targets, mask in self.scored_batches(melodies, batch_size):
            correct += int((log_probs.argmax(-1) == targets)[mask].sum())
            steps += int(mask.sum())
        if not steps:
            raise ValueError("no steps to score (all melodies are empty)")
        return correct / steps

    # -- sampling -------------------------------------------------------------------------

    def sample(self, n: int, steps: int, temperature: float = 1.0, seed: int | None = None
               ) -> np.ndarray:
        """Samples melodies event by event from START.

        Args:
            n: Number of melodies (sampled as one batch).
            steps: Events per melody.
            temperature: Divides the logits: below 1 sharper, above 1 flatter.
            seed: Seed of the torch Generator (the same seed gives the same melodies).

        Returns:
            Melody arrays, shape ``(n, steps)``, dtype
            :data:`~mammad_envs.melody.MELODY_DTYPE`.

        Raises:
            ValueError: If ``n`` or ``steps`` is negative or the temperature is not positive.
        """
        return self.sample_scored(n, steps, temperature, seed)[0]

    @torch.no_grad()
    def sample_scored(self, n: int, steps: int, temperature: float = 1.0,
                      seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`sample`'s melodies and each event's log-probability under the model.

        The same melodies as :meth:`sample` with the same arguments; the log-probabilities
        (at temperature 1, whatever ``temperature`` the events were drawn at) are the ones
        :meth:`log_prob` gives them, up to float rounding, read off the sampling steps
        instead of a second pass over the melodies.

        Returns:
            ``(melodies (n, steps), log_probs (n, steps) float64)``.

        Raises:
            ValueError: If ``n`` or ``steps`` is negative or the temperature is not positive.
        """
        if n < 0 or steps < 0:
            raise ValueError(f"n and steps must be >= 0, got {n} and {steps}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(seed))
        tokens = torch.empty(n, steps, dtype=torch.long)
        scores = torch.zeros(n, steps, dtype=torch.float64)
        if n == 0 or steps == 0:
            return tokens_to_melody(tokens.numpy()), scores.numpy()
        with torch_threads(SAMPLE_THREADS):
            state = self.initial_state(n)
            current = torch.full((n,), START_TOKEN, dtype=torch.long)
            for t in range(steps):
                logits, state = self._forward_eval(
                    current[:, None].to(self.output.weight.device), state)
                logits = logits[:, 0].float().cpu()
                probs = torch.softmax(logits / temperature, dim=-1)
                current = torch.multinomial(probs, 1, generator=generator)[:, 0]
                tokens[:, t] = current
                scores[:, t] = torch.log_softmax(logits, dim=-1).gather(1, current[:, None])[:, 0]
        return tokens_to_melody(tokens.numpy()), scores.numpy()

    # -- files ----------------------------------------------------------------------------

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        """Writes the hyperparameters and weights (loadable with ``weights_only=True``).

        Args:
            path: File to write.
            metadata: Plain values (str, int, float, lists, dicts) stored beside the weights.

        Returns:
            The path.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state_dict = {name: tensor.detach().cpu().clone()
                      for name, tensor in self.state_dict().items()}
        # Written beside and renamed over, so an interrupted save never leaves half a file.
        partial = path.with_name(path.name + ".partial")
        torch.save({"format": FORMAT, "format_version": FORMAT_VERSION,
                    "hyperparameters": self.hyperparameters, "state_dict": state_dict,
                    "metadata": _plain(metadata if metadata is not None else self.metadata)},
                   partial)
        partial.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path, *, max_bytes: int = MAX_WEIGHTS_BYTES) -> NoteRNN:
        """Loads a weights file written by :meth:`save`, with ``torch.load(weights_only=True)``.

        Args:
            path: The file.
            max_bytes: The largest file read (default :data:`MAX_WEIGHTS_BYTES`), checked from
                its size before it is opened.

        Returns:
            The model, in eval mode.

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: If the file is over ``max_bytes``, not a regular file (a folder, a
                FIFO...) or not a valid Note-RNN weights file (corrupt, a plain pickle, or
                another format); the message names the file.
        """
        path = Path(path)
        checkpoint = load_weights(path, max_bytes, "Note-RNN weights file",
                                  "max_bytes, default rewards.note_rnn.model.MAX_WEIGHTS_BYTES",
                                  "pass a larger max_bytes= to load it",
                                  "is not a valid Note-RNN weights file")
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
            raise ValueError(f"{path} is not a Note-RNN weights file (no format {FORMAT!r})")
        if checkpoint.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version "
                             f"{checkpoint.get('format_version')!r}")
        try:
            model = cls(**checkpoint["hyperparameters"])
            model.load_state_dict(checkpoint["state_dict"])
        except (KeyError, TypeError, RuntimeError) as error:
            raise ValueError(f"{path}: weights do not match the Note RNN: {error}") from error
        model.metadata = dict(checkpoint.get("metadata") or {})
        return model.eval()

    @classmethod
    def pretrained(cls, name: str = "default") -> NoteRNN:
        """A shipped model, trained on O'Neill's, Ryan's and miscFolk (see its model card).

        Each model is loaded once and cached: every call returns the same frozen instance (eval
        mode, ``requires_grad=False``). Copy it (``copy.deepcopy``) to fine-tune.

        Args:
            name: A key of :data:`PRETRAINED`: ``"default"`` (trained with octave shifts, for
                any pitch range) or ``"rl_tuner"`` (trained in MIDI 48..83 only).

        Returns:
            The shared pretrained model.

        Raises:
            ValueError: If ``name`` is not a shipped model, or its file is corrupt.
            FileNotFoundError: If its weights file is missing.
        """
        if name not in PRETRAINED:
            raise ValueError(f"unknown shipped Note-RNN {name!r}: choose one of "
                             f"{', '.join(map(repr, PRETRAINED))}, or load a file with "
                             f"NoteRNN.load(path)")
        return _pretrained(name)

    def num_parameters(self) -> int:
        """Number of parameters."""
        return sum(parameter.numel() for parameter in self.parameters())


def _plain(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata as plain JSON values, so that it loads with ``weights_only=True``.

    Numpy scalars are unwrapped; other objects (such as ``torch.__version__``) become strings.
    """

    def default(value: Any) -> Any:
        return value.item() if isinstance(value, np.generic) else str(value)

    return json.loads(json.dumps(dict(metadata), default=default))


@cache
def _pretrained(name: str) -> NoteRNN:
    weights = resources.files("rewards.note_rnn") / "weights" / PRETRAINED[name]
    with resources.as_file(weights) as path:
        model = NoteRNN.load(path)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model
