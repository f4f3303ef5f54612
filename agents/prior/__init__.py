"""Agents that start from a pretrained melody model and fine-tune it under KL control.

``note_rnn_ppo`` (:class:`~agents.prior.ppo.NoteRNNPPO`): PPO whose policy starts as the
pretrained Note-RNN, with a KL penalty to it (RL Tuner's and MusicRL's recipe).
"""

from agents.prior.features import NoteRNNFeatures, NoteRNNTracker
from agents.prior.kl import KLController, KLMeter
from agents.prior.policy import NoteRNNPolicy
from agents.prior.ppo import NoteRNNPPO

__all__ = ["KLController", "KLMeter", "NoteRNNFeatures", "NoteRNNPPO", "NoteRNNPolicy",
           "NoteRNNTracker"]
