"""Preference-model files: read within a size limit."""

import pytest


def test_a_model_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import torch

    from rewards.preferences import reward_model

    path = tmp_path / "model.pt"
    with open(path, "wb") as file:  # sparse: nothing written, no torch.load reached
        file.truncate(reward_model.MAX_MODEL_BYTES + 1)
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("parsed"))
    with pytest.raises(ValueError, match=r"preference model file '.*model.pt' is "
                                         r"268,435,457 bytes, over the limit of 268,435,456 "
                                         r"\(rewards.preferences.reward_model.MAX_MODEL_BYTES\)"):
        reward_model.load_reward_model(path)
