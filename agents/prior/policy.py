"""A PPO policy that starts as the pretrained Note-RNN: its head is the Note-RNN's output layer.

The observation is the env's own (an encoding of the music so far) with the Note-RNN's LSTM
state appended (:mod:`agents.prior.features`). The actor's logits are

    W h + b + R(observation)

where ``h`` is the LSTM state, ``W`` and ``b`` start as the Note-RNN's output layer restricted
to the env's actions (its pitches, HOLD and REST), and ``R`` is a small MLP of the whole
observation whose last layer starts at zero: at the start the policy's distribution *is* the
Note-RNN's, renormalised to the env's actions. ``R`` lets fine-tuning use what the Note-RNN
does not see (the accompaniment, position in the bar), ``W`` and ``b`` what it does. With
``leap_head`` the logits gain ``L(observation)``, learned per interval and state of RL Tuner's
leap rule (:mod:`agents.prior.leap_head`), zero at the start as well. The value head is an MLP
of the whole observation, from random weights. A frozen copy of the initial
``W`` and ``b`` is the reference of the KL penalty (:meth:`NoteRNNPolicy.reference_log_probs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from agents.prior.leap_head import LeapHead
from agents.prior.leaps import LeapTracker
from rewards.note_rnn.batched import action_tokens, load_note_rnn

__all__ = ["NoteRNNPolicy", "PriorExtractor"]


def mlp(inputs: int, sizes: Sequence[int], activation: type[nn.Module]) -> nn.Sequential:
    """Linear layers of the given sizes, each followed by the activation."""
    layers: list[nn.Module] = []
    for size in sizes:
        layers += [nn.Linear(inputs, int(size)), activation()]
        inputs = int(size)
    return nn.Sequential(*layers)


class PriorExtractor(nn.Module):
    """SB3's ``mlp_extractor`` for :class:`NoteRNNPolicy`: the actor's and critic's latents.

    The actor's latent is ``[h, R(x)]`` (the Note-RNN state, then the residual MLP's output);
    the critic's, an MLP of the whole observation ``x``.

    Args:
        features_dim: Size of an observation (the env's, then the Note-RNN's state).
        state_size: Size of the Note-RNN's state (the last entries of an observation).
        residual_arch: Layer sizes of the residual MLP (empty: none).
        critic_arch: Layer sizes of the critic's MLP.
        activation_fn: Activation of both MLPs.
        leap_head: A :class:`~agents.prior.leap_head.LeapHead` whose logits the actor's latent
            carries after ``[h, R(x)]`` (beyond ``latent_dim_pi``), or None.
    """

    def __init__(self, features_dim: int, state_size: int, residual_arch: Sequence[int],
                 critic_arch: Sequence[int], activation_fn: type[nn.Module],
                 leap_head: LeapHead | None = None) -> None:
        super().__init__()
        self.state_start = features_dim - state_size
        self.residual = mlp(features_dim, residual_arch, activation_fn)
        self.critic = mlp(features_dim, critic_arch, activation_fn)
        self.leap_head = leap_head
        self.latent_dim_pi = state_size + (int(residual_arch[-1]) if residual_arch else 0)
        self.latent_dim_vf = int(critic_arch[-1]) if critic_arch else features_dim

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(actor latent, critic latent)``."""
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        """``[h, R(x)]``, then the leap head's logits if there is one."""
        parts = [features[:, self.state_start:]]
        if len(self.residual):
            parts.append(self.residual(features))
        if self.leap_head is not None:
            parts.append(self.leap_head(features))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        """The critic's MLP of the whole observation."""
        return self.critic(features)


class NoteRNNPolicy(ActorCriticPolicy):
    """An actor-critic policy whose actor starts as the Note-RNN (see the module docstring).

    Args:
        observation_space: The env's observation space with the Note-RNN state appended.
        action_space: The env's ``Discrete`` actions: its pitches, then HOLD and REST.
        lr_schedule: The learning rate schedule (SB3's).
        note_rnn: The Note-RNN: a shipped name (``"default"``, ``"rl_tuner"``) or a weights
            file; the same one whose state the observations carry.
        lowest: The env's lowest pitch.
        highest: The env's highest pitch.
        residual_arch: Layer sizes of the residual MLP ``R``.
        critic_arch: Layer sizes of the value MLP.
        leap_features: Whether the observations carry the leap rule's features
            (:mod:`agents.prior.leaps`) just before the Note-RNN state.
        leap_head: Add a :class:`~agents.prior.leap_head.LeapHead` term to the logits (needs
            ``leap_features``).
        **kwargs: For SB3's ``ActorCriticPolicy`` (``activation_fn``, ``ortho_init``,
            ``optimizer_kwargs``...); ``net_arch`` is refused (the two MLPs above replace it).

    Raises:
        ValueError: If the spaces do not fit the Note-RNN and the pitch range.
    """

    def __init__(self, observation_space: spaces.Box, action_space: spaces.Discrete,
                 lr_schedule: Any, note_rnn: str = "default", lowest: int = 21,
                 highest: int = 108, residual_arch: Sequence[int] = (64,),
                 critic_arch: Sequence[int] = (128, 128), leap_features: bool = False,
                 leap_head: bool = False, **kwargs: Any) -> None:
        if kwargs.pop("net_arch", None) is not None:
            raise ValueError("NoteRNNPolicy takes residual_arch and critic_arch, not net_arch")
        if leap_head and not leap_features:
            raise ValueError("leap_head needs leap_features: true (the head reads them)")
        model = load_note_rnn(note_rnn)
        tokens = torch.as_tensor(action_tokens(int(lowest), int(highest)), dtype=torch.long)
        if not isinstance(action_space, spaces.Discrete) or action_space.n != len(tokens):
            raise ValueError(f"pitches {lowest}..{highest} give {len(tokens)} actions, but the "
                             f"action space is {action_space}")
        self.note_rnn, self.lowest, self.highest = note_rnn, int(lowest), int(highest)
        self.state_size = model.hidden_size
        self.residual_arch = [int(size) for size in residual_arch]
        self.critic_arch = [int(size) for size in critic_arch]
        self.leap_features, self.leap_head = bool(leap_features), bool(leap_head)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)
        if self.features_dim <= self.state_size:
            raise ValueError(f"observations of {self.features_dim} entries cannot hold the "
                             f"env's and a Note-RNN state of {self.state_size}")
        with torch.no_grad():
            weight = model.output.weight[tokens].to(self.device)
            bias = model.output.bias[tokens].to(self.device)
            self.action_net.weight.zero_()
            self.action_net.weight[:, :self.state_size] = weight
            self.action_net.bias.copy_(bias)
        self.register_buffer("reference_weight", weight.clone())
        self.register_buffer("reference_bias", bias.clone())

    def _build_mlp_extractor(self) -> None:
        head = None
        if self.leap_head:
            pitches = self.highest - self.lowest + 1
            start = self.features_dim - self.state_size - LeapTracker(pitches).size
            head = LeapHead(pitches, start)
        self.mlp_extractor = PriorExtractor(self.features_dim, self.state_size,
                                            self.residual_arch, self.critic_arch,
                                            self.activation_fn, head)

    def _get_action_dist_from_latent(self, latent_pi: torch.Tensor) -> Any:
        """The action distribution; a leap head's logits (after the linear latent) are added."""
        if not self.leap_head:
            return super()._get_action_dist_from_latent(latent_pi)
        linear = self.mlp_extractor.latent_dim_pi
        logits = self.action_net(latent_pi[:, :linear]) + latent_pi[:, linear:]
        return self.action_dist.proba_distribution(action_logits=logits)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.pop("net_arch", None)
        data.update(note_rnn=self.note_rnn, lowest=self.lowest, highest=self.highest,
                    residual_arch=self.residual_arch, critic_arch=self.critic_arch,
                    leap_features=self.leap_features, leap_head=self.leap_head)
        return data

    def action_log_probs(self, observations: torch.Tensor) -> torch.Tensor:
        """``(batch, actions)`` the policy's log-probabilities."""
        distribution = self.get_distribution(observations).distribution
        return torch.log_softmax(distribution.logits, dim=-1)

    def reference_log_probs(self, observations: torch.Tensor) -> torch.Tensor:
        """``(batch, actions)`` the reference's: the Note-RNN's, renormalised to the actions."""
        state = self.extract_features(observations, self.pi_features_extractor)
        state = state[:, -self.state_size:]
        return torch.log_softmax(state @ self.reference_weight.T + self.reference_bias, dim=-1)
