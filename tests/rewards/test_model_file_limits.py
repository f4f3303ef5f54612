"""Reward-model and Note-RNN weights files: bounded in size and named when they are no file."""

import os

import pytest
import torch

from rewards import reward_nets
from rewards.note_rnn import model as note_rnn_model
from rewards.note_rnn.model import NoteRNN
from rewards.reward_nets import load_reward_net

LOADERS = [
    pytest.param(load_reward_net, "reward network", "rewards.reward_nets.MAX_REWARD_NET_BYTES",
                 reward_nets.MAX_REWARD_NET_BYTES, id="reward-net"),
    pytest.param(NoteRNN.load, "Note-RNN weights file",
                 "rewards.note_rnn.model.MAX_WEIGHTS_BYTES", note_rnn_model.MAX_WEIGHTS_BYTES,
                 id="note-rnn"),
]


@pytest.fixture
def never_unpickled(monkeypatch):
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("torch.load ran"))


@pytest.mark.parametrize("load, what, constant, default", LOADERS)
def test_a_file_over_the_limit_is_refused_before_it_is_opened(tmp_path, never_unpickled, load,
                                                              what, constant, default):
    path = tmp_path / "big_reward.pt"
    with open(path, "wb") as file:  # sparse: over the default limit, nothing written
        file.truncate(default + 1)
    with pytest.raises(ValueError, match=rf"{what} '.*big_reward.pt' is {default + 1:,} bytes, "
                                         rf"over the limit of {default:,} \(max_bytes, default "
                                         rf"{constant}\): pass a larger max_bytes= to load it"):
        load(path)
    small = tmp_path / "small_reward.pt"
    small.write_bytes(b"x" * 100)
    with pytest.raises(ValueError, match="is 100 bytes, over the limit of 99"):
        load(small, max_bytes=99)
    assert default == 128 * 2**20


@pytest.mark.parametrize("load, what, constant, default", LOADERS)
def test_paths_that_are_not_files_are_named(tmp_path, never_unpickled, load, what, constant,
                                            default):
    fifo = tmp_path / "pipe_reward.pt"
    os.mkfifo(fifo)  # opening it would wait for a writer
    with pytest.raises(ValueError, match=rf"pipe_reward.pt' is a FIFO \(named pipe\), not a "
                                         rf"{what}: only regular files are read"):
        load(fifo)
    loop = tmp_path / "loop_reward.pt"
    loop.symlink_to(loop)
    with pytest.raises(ValueError, match="loop_reward.pt' cannot be read: Too many levels"):
        load(loop)
    (tmp_path / "folder_reward.pt").mkdir()
    with pytest.raises(ValueError, match=f"folder_reward.pt' is a directory, not a {what}"):
        load(tmp_path / "folder_reward.pt")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing_reward.pt")


def test_the_shipped_weights_load_within_the_limit():
    model = NoteRNN.pretrained()
    assert model.training is False
