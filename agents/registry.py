"""The agent registry: names to algorithm classes, imported only when used.

Built in: ``dqn``, ``qrdqn``, ``ppo``, ``a2c``, ``recurrent_ppo``, ``maskable_ppo``
(stable-baselines3 / sb3-contrib), ``note_rnn_ppo`` (PPO from the pretrained Note-RNN,
:mod:`agents.prior`) and ``gail``, ``airl``, ``bc`` (imitation, trained from the
bundled demonstrations). Add your own with :func:`register_agent`, or from an installed package
through the entry-point group ``mammad.agents``::

    [project.entry-points."mammad.agents"]
    my_agent = "my_package.agents:MyAgent"

An agent is a class that follows the :class:`Agent` protocol (stable-baselines3's API):
``cls(policy, env, seed=..., **hyperparameters)``, ``learn``, ``predict``, ``save`` and the
class method ``load``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

from mammad_envs.compat import IMITATION_INSTALL, MissingExtraError, installed
from mammad_envs.registry import EntryImportError, Registry, import_entry

ENTRY_POINT_GROUP = "mammad.agents"
PROTOCOL = ("learn", "predict", "save", "load")

logger = logging.getLogger(__name__)


@runtime_checkable
class Agent(Protocol):
    """What the command line and the benchmarks need of an agent (stable-baselines3's API)."""

    def learn(self, total_timesteps: int, callback: Any = None, **kwargs: Any) -> Any:
        """Trains for ``total_timesteps`` env steps."""

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[Any, Any]:
        """``(action, state)`` for an observation (or a batch of them)."""

    def save(self, path: Any) -> None:
        """Writes the agent to a file."""

    @classmethod
    def load(cls, path: Any, env: Any = None, **kwargs: Any) -> Agent:
        """Reads an agent written by :meth:`save`."""


@dataclass(frozen=True)
class AgentSpec:
    """A registered agent.

    Attributes:
        name: The name used on the command line.
        entry_point: ``"module:Class"`` or the class itself.
        policy: The policy name passed to the class (e.g. ``"MlpPolicy"``).
        description: One line for ``mammad agents``.
        source: Where it comes from: ``"built-in"``, ``"registered"`` or the plugin package.
        batched: Whether it trains on the batched env (any class that takes an SB3 ``VecEnv``
            does); False: on a ``DummyVecEnv`` of scalar envs made with ``gym.make``.
        extra: The optional dependency it needs (``"imitation"``: installed by
            ``pip install -e ".[imitation]"``), or None.
    """

    name: str
    entry_point: str | type
    policy: str = "MlpPolicy"
    description: str = ""
    source: str = "built-in"
    batched: bool = True
    extra: str | None = None

    @property
    def available(self) -> bool:
        """Whether its optional dependency (if any) is installed."""
        return self.extra is None or installed(self.extra)

    @property
    def install_hint(self) -> str:
        """How to install what it needs."""
        if self.extra == "imitation":
            return IMITATION_INSTALL
        return f"pip install -e \".[{self.extra}]\"" if self.extra else ""

    def load(self) -> type:
        """Imports the class and checks it follows the :class:`Agent` protocol.

        Raises:
            MissingExtraError: If the extra it needs is not installed (an ImportError).
            ImportError: If the class cannot be imported (the message says which package).
            TypeError: If it lacks part of the protocol.
        """
        target = self.entry_point
        if isinstance(target, str):
            if not self.available:
                raise MissingExtraError(f"agent {self.name!r} needs the {self.extra} extra, which "
                                        f"is not installed: {self.install_hint}")
            try:
                target = import_entry(target)
            except EntryImportError as error:
                if error.missing_attribute:
                    raise ImportError(f"agent {self.name!r}: {error}") from error
                cause = error.__cause__ or error
                raise ImportError(f"agent {self.name!r} needs {error.module!r}, which failed to "
                                  f"import: {cause}") from cause
        check_protocol(self.name, target)
        return target


def check_protocol(name: str, cls: Any) -> None:
    """Raises a clear TypeError if ``cls`` lacks part of the :class:`Agent` protocol."""
    missing = [method for method in PROTOCOL if not callable(getattr(cls, method, None))]
    if missing:
        raise TypeError(f"agent {name!r} ({cls!r}) lacks {missing}: an agent class needs "
                        f"{list(PROTOCOL)} (stable-baselines3's API; see docs/agents.md)")


BUILTIN = [
    AgentSpec("dqn", "stable_baselines3:DQN", description="Deep Q-Network (RL Tuner's Q)"),
    AgentSpec("qrdqn", "sb3_contrib:QRDQN", description="Quantile-regression DQN"),
    AgentSpec("ppo", "stable_baselines3:PPO", description="Proximal Policy Optimization"),
    AgentSpec("a2c", "stable_baselines3:A2C", description="Advantage Actor-Critic"),
    AgentSpec("recurrent_ppo", "sb3_contrib:RecurrentPPO", policy="MlpLstmPolicy",
              description="PPO with an LSTM policy"),
    AgentSpec("maskable_ppo", "sb3_contrib:MaskablePPO",
              description="PPO that plays only action_masks() actions"),
    AgentSpec("note_rnn_ppo", "agents.prior:NoteRNNPPO", policy="NoteRNNPolicy",
              description="PPO fine-tuning the pretrained Note-RNN under KL control (RL "
                          "Tuner, MusicRL)"),
    # The imitation agents rebuild their training env from the spec of the env they are given
    # (batched for an id with its rewards), so they are handed scalar envs that carry it.
    AgentSpec("gail", "agents.imitation:GAILAgent",
              description="GAIL from the bundled melodies (imitation)", batched=False,
              extra="imitation"),
    AgentSpec("airl", "agents.imitation:AIRLAgent",
              description="AIRL from the bundled melodies (imitation)", batched=False,
              extra="imitation"),
    AgentSpec("bc", "agents.imitation:BCAgent",
              description="Behavioural cloning of the bundled melodies (imitation)",
              batched=False, extra="imitation"),
]

AGENTS = Registry("agent", {spec.name: spec for spec in BUILTIN},
                  hint=" (`mammad agents` lists them)",
                  check=lambda entry: isinstance(entry, AgentSpec), expected="an AgentSpec")
"""Agents by name (entry-point plugins are added on first lookup)."""
_plugins_loaded = False


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in AGENTS:
            package = entry.dist.name if entry.dist is not None else entry.module
            spec = AgentSpec(entry.name, entry.value, source=f"plugin {package}",
                             description=f"from the package {package}")
            try:
                AGENTS.register(entry.name, spec)
            except ValueError as error:  # one bad plugin must not hide the other agents
                logger.warning("ignoring the agent plugin %r of %s: %s", entry.name, package,
                               error)


def register_agent(name: str, agent: str | type, *, policy: str = "MlpPolicy",
                   description: str = "", overwrite: bool = False,
                   batched: bool = True) -> AgentSpec:
    """Adds an agent under a name.

    Example:
        >>> from stable_baselines3 import PPO
        >>> class MyPPO(PPO):
        ...     pass
        >>> spec = register_agent("my_ppo", MyPPO, description="PPO, my way")

    Args:
        name: The name (an identifier).
        agent: The class, or ``"module:Class"`` to import it only when used.
        policy: The policy name passed to the class.
        description: One line for ``mammad agents``.
        overwrite: Replace an existing agent of that name.
        batched: Train on the batched env (False: a DummyVecEnv of scalar envs).

    Returns:
        The registered spec.

    Raises:
        ValueError: If the name is taken or malformed.
        TypeError: If a class is given that lacks part of the protocol.
    """
    _load_plugins()
    if isinstance(name, str) and name in AGENTS and not overwrite:
        raise ValueError(f"an agent named {name!r} exists already; agents: {sorted(AGENTS)}")
    if isinstance(agent, str):
        if ":" not in agent:
            raise ValueError(f"agent {name!r}: a string must be 'module:Class', got {agent!r}")
    else:
        check_protocol(name, agent)
    spec = AgentSpec(name, agent, policy, description, source="registered", batched=batched)
    return AGENTS.register(name, spec, overwrite=overwrite)


def agent_spec(name: str) -> AgentSpec:
    """The spec of a registered agent.

    Raises:
        ValueError: If no agent has that name.
    """
    _load_plugins()
    return AGENTS.load(name)


def list_agents() -> list[AgentSpec]:
    """Every registered agent, built-in ones first."""
    _load_plugins()
    return list(AGENTS.values())
