"""Reward terms, the registry of rewards by name, and their composition.

A reward is a :class:`RewardTerm`: it computes one value per env for a batch of envs'
step (a :class:`~mammad_envs.step_batch.StepBatch`). The same term object serves both envs:

* the scalar env is a batch of one: a :class:`RewardWrapper` around it adds the term's
  weighted value to the reward and to ``info["reward_terms"][name]``; stacking wrappers stacks
  rewards (:func:`apply_rewards`, what ``gym.make(id, reward="theory+note_rnn")`` calls);
* the vector env is a batch of N: it calls its terms in order (:func:`build_terms`, what
  ``gym.make_vec`` of an id in its vector-entry-point mode calls).

Both build from a :class:`RewardPlan`: a spec such as ``"theory+note_rnn"``, its weights and
its arguments parsed and checked once, by :func:`plan_rewards`.

So the terms of a stack add up to the reward, and a reward gives the same values on both envs.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np

from mammad_envs.registry import Registry, import_entry
from mammad_envs.step_batch import StepBatch


def is_reward_class(entry: Any) -> bool:
    """Whether an entry is a :class:`RewardTerm` subclass."""
    return isinstance(entry, type) and issubclass(entry, RewardTerm)


REWARDS = Registry("reward", {
    "theory": "rewards.theory.term:TheoryTerm",
    "note_rnn": "rewards.note_rnn.term:NoteRNNTerm",
    "preference": "rewards.preferences.term:PreferenceTerm",
    "gail": "rewards.learned.term:LearnedTerm",
}, hint=" (combine them with '+', e.g. 'theory+note_rnn')", check=is_reward_class,
    expected="a RewardTerm subclass")
"""Reward terms by name: a class or a lazy ``"module:Class"`` string."""

FIRST_ROW = np.zeros(1, dtype=np.int64)


class RewardTerm:
    """Base class of rewards: one value per env and step, for a batch of envs.

    Subclasses set :attr:`name`, implement :meth:`compute` and, if they keep state per
    melody, :meth:`reset`. Their own arguments come after ``env``, ``batch`` and ``weight``
    (passed to this ``__init__``); ``gym.make(..., reward_kwargs={name: {...}})`` fills them.

    Example:
        >>> import numpy as np
        >>> class HighNotes(RewardTerm):
        ...     name = "high_notes"
        ...     def compute(self, step):        # step.events: (N,) what each env just wrote
        ...         return np.maximum(step.events, 0) / 127

    Args:
        env: The env the term scores (a bare ``MelodyEnv``: ``steps``, ``lowest``,
            ``highest``, ``encoding``, the spaces).
        batch: How many envs it scores at once (1 for the scalar env).
        weight: Multiplies the term.

    Attributes:
        extras: Further infos of the last :meth:`compute`, per env:
            ``{info key: {column: (N,) array}}`` (the theory reward's ``theory_rules``); set it
            in :meth:`compute`.
    """

    name: ClassVar[str] = "reward"
    wrapper: ClassVar[str | None] = None
    """The ``"module:Class"`` of the term's named wrapper (default: :class:`RewardWrapper`)."""

    def __init__(self, env: gym.Env, batch: int = 1, weight: float = 1.0) -> None:
        if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        self.env = env.unwrapped
        self.batch = int(batch)
        self.weight = check_weight(self.name, weight)
        self._extras: dict[str, dict[str, np.ndarray]] = {}

    @property
    def extras(self) -> dict[str, dict[str, np.ndarray]]:
        """Further infos of the last :meth:`compute` (see the class docstring)."""
        return self._extras

    @extras.setter
    def extras(self, value: dict[str, dict[str, np.ndarray]]) -> None:
        self._extras = value

    def extras_of(self, row: int) -> dict[str, dict[str, float]]:
        """One env's :attr:`extras`, as Python numbers (what the scalar env's info holds)."""
        return {key: {column: array[row].item() for column, array in columns.items()}
                for key, columns in self.extras.items()}

    def reset(self, rows: np.ndarray) -> None:
        """Called when the given envs (row indices) start new melodies."""

    def compute(self, step: StepBatch) -> np.ndarray:
        """``(N,)`` the unweighted term of each env for the step just taken."""
        raise NotImplementedError


def term_attribute(attribute: str, doc: str) -> property:
    """A read-only property of a reward wrapper that gives its term's ``attribute``.

    Example:
        >>> class LoudReward(RewardWrapper):
        ...     volume = term_attribute("volume", "The term's volume.")
    """
    return property(lambda wrapper: getattr(wrapper.term, attribute), doc=doc)


class RewardWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds one reward term to a scalar MammadMelody env (a batch of one).

    ``RewardWrapper(env, reward="theory", key="G major")`` wraps a registered reward by name;
    the named wrappers (``TheoryReward(env, key="G major")``) fix the term. The weighted term
    is added to the reward and written to ``info["reward_terms"][name]`` (and the term's
    extras, such as ``theory_rules``, to ``info``). ``gym.make(env.spec)`` rebuilds a stack.

    Args:
        env: A MammadMelody env, possibly wrapped.
        reward: A registered reward's name (only for the generic wrapper).
        **kwargs: The term's arguments: ``weight`` and its own.

    Raises:
        ValueError: On a bad reward name or argument, or an env that is not a MammadMelody env.
    """

    term_class: ClassVar[type[RewardTerm] | None] = None

    def __init__(self, env: gym.Env, reward: str | None = None, **kwargs: Any) -> None:
        if self.term_class is None:
            if reward is None:
                raise ValueError(f"RewardWrapper needs reward=<name>: one of {sorted(REWARDS)}")
            cls, record = reward_class(reward), {"reward": reward, **kwargs}
        else:
            if reward is not None:
                raise ValueError(f"{type(self).__name__} takes no reward name (it is "
                                 f"{self.term_class.name!r})")
            cls, record = self.term_class, kwargs
        gym.utils.RecordConstructorArgs.__init__(self, **record)
        gym.Wrapper.__init__(self, env)
        if not hasattr(env.unwrapped, "last_step"):
            raise ValueError(f"a reward wrapper wraps a MammadMelody env, got {env.unwrapped!r}")
        self.term = make_term(cls, env.unwrapped, 1, kwargs)

    name = term_attribute("name", "The reward's name.")
    weight = term_attribute("weight", "The term's weight.")

    @property
    def spec(self) -> Any:
        """The env's spec with this wrapper (Gymnasium's)."""
        return gym.Wrapper.spec.fget(self)

    @spec.setter
    def spec(self, value: Any) -> None:
        # gym.make_vec's sync and async modes set the spec of what the entry point returns.
        self.unwrapped.spec = value
        env: Any = self
        while isinstance(env, gym.Wrapper):
            if hasattr(env, "_cached_spec"):
                env._cached_spec = None
            env = env.env

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        """Resets the env and the term's state."""
        observation, info = self.env.reset(seed=seed, options=options)
        self.term.reset(FIRST_ROW)
        return observation, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Steps the env and adds the weighted term to its reward."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        term = self.term
        value = (term.weight * term.compute(self.env.unwrapped.last_step))[0].item()
        info.setdefault("reward_terms", {})[term.name] = value
        info.update(term.extras_of(0))
        return observation, float(reward) + value, terminated, truncated, info


def check_weight(name: str, weight: Any) -> float:
    """A weight as a float, or a clear error."""
    if isinstance(weight, bool) or not isinstance(weight, int | float | np.number) \
            or not math.isfinite(weight):
        raise ValueError(f"the weight of reward {name!r} must be a finite number, got {weight!r}")
    return float(weight)


def register_reward(name: str, reward: str | type[RewardTerm], *, overwrite: bool = False
                    ) -> None:
    """Adds a reward so ``gym.make(..., reward="name")`` and ``gym.make_vec`` find it.

    Args:
        name: The reward's name (an identifier not starting with ``_``).
        reward: A :class:`RewardTerm` subclass or a ``"module:Class"`` string (imported on use).
        overwrite: Replace an existing reward of that name.

    Raises:
        ValueError: If the name is taken or malformed, or ``reward`` is neither.
    """
    REWARDS.register(name, reward, overwrite=overwrite)


def reward_class(name: str) -> type[RewardTerm]:
    """The term class of a registered reward.

    Raises:
        ValueError: If no reward has that name, or its entry is not a RewardTerm.
    """
    entry = REWARDS.load(name)
    if not is_reward_class(entry):
        raise ValueError(f"reward {name!r} is registered as {entry!r}, not a RewardTerm")
    return entry


def wrapper_class(cls: type[RewardTerm]) -> type[RewardWrapper] | None:
    """The named wrapper of a term class (None: use :class:`RewardWrapper` by name)."""
    return None if cls.wrapper is None else import_entry(cls.wrapper)


@dataclass(frozen=True)
class RewardPlan:
    """A parsed reward spec: the rewards to build, in order, each with its arguments.

    Built by :func:`plan_rewards` (the one place a spec such as ``"theory+note_rnn"`` is
    parsed and checked); :func:`apply_rewards` and :func:`build_terms` build from it.

    Example:
        >>> plan = plan_rewards("theory + note_rnn", {"theory": 2.0})
        >>> plan.spec, plan.names
        ('theory+note_rnn', ('theory', 'note_rnn'))
        >>> plan.env_kwargs()
        {'reward': 'theory+note_rnn', 'reward_weights': {'theory': 2.0}}

    Attributes:
        entries: ``(name, ((argument, value), ...))`` per reward, in order; the arguments hold
            ``weight`` when one was given. Iterating gives ``(name, dict of arguments)``, fresh
            dicts. (Tuples, so that the plan stays as it was built and pickles.)
    """

    entries: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return ((name, dict(items)) for name, items in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def names(self) -> tuple[str, ...]:
        """The rewards' names, in order."""
        return tuple(name for name, _ in self.entries)

    @property
    def spec(self) -> str | None:
        """The canonical spec: the names joined by ``+`` (None for no reward)."""
        return "+".join(self.names) or None

    @property
    def weights(self) -> dict[str, float]:
        """The weights given, by reward name (a reward without one weighs 1.0)."""
        return {name: kwargs["weight"] for name, kwargs in self if "weight" in kwargs}

    @property
    def kwargs(self) -> dict[str, dict[str, Any]]:
        """The arguments given other than the weight, by reward name (those with any)."""
        result = {name: {key: value for key, value in kwargs.items() if key != "weight"}
                  for name, kwargs in self}
        return {name: kwargs for name, kwargs in result.items() if kwargs}

    def env_kwargs(self) -> dict[str, Any]:
        """The plan as an env's arguments (what ``gym.make`` and a run's ``config.yml`` take).

        ``reward`` (the spec), and ``reward_weights`` and ``reward_kwargs`` where given.
        """
        values: dict[str, Any] = {"reward": self.spec}
        if self.weights:
            values["reward_weights"] = self.weights
        if self.kwargs:
            values["reward_kwargs"] = self.kwargs
        return values


def plan_rewards(reward: str | Sequence[str] | RewardPlan | None,
                 reward_weights: Mapping[str, float] | None = None,
                 reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None) -> RewardPlan:
    """Parses and checks a reward spec, its weights and its arguments, into a :class:`RewardPlan`.

    Args:
        reward: ``"theory"``, ``"theory+note_rnn"``, a list of names, None (no reward), or a
            plan (returned as it is; then no weights or arguments may be given).
        reward_weights: Weight per reward name (default 1.0 each).
        reward_kwargs: Arguments per reward name, e.g. ``{"theory": {"key": "G major"}}``.

    Raises:
        ValueError: On an unknown or repeated name, a malformed value, bad weights,
            ``reward_weights`` that is not a mapping from reward name to number,
            ``reward_kwargs`` that is not a mapping from reward name to a mapping of arguments,
            or weights / kwargs for rewards not in ``reward``.
    """
    if isinstance(reward, Mapping) and set(reward) == {"entries"}:
        # a plan as dataclasses.asdict and JSON write it: a saved env spec's kwargs
        reward = _plan_from_entries(reward["entries"])
    if isinstance(reward, RewardPlan):
        if reward_weights or reward_kwargs:
            raise ValueError("a RewardPlan holds its weights and arguments: pass "
                             "reward_weights / reward_kwargs to plan_rewards instead")
        return reward
    names = _reward_names(reward)
    reward_weights = _check_mapping("reward_weights", reward_weights, names,
                                    "a mapping from reward name to number, e.g. "
                                    "{'theory': 2.0}")
    reward_kwargs = _check_mapping("reward_kwargs", reward_kwargs, names,
                                   "a mapping from reward name to a mapping of its arguments, "
                                   "e.g. {'theory': {'key': 'G major'}}")
    for name, kwargs in reward_kwargs.items():
        if kwargs is not None and not isinstance(kwargs, Mapping):
            raise ValueError(f"reward_kwargs[{name!r}] must be a mapping of the reward's "
                             f"arguments, e.g. {{'theory': {{'key': 'G major'}}}}, got "
                             f"{kwargs!r}")
    for what, given in (("reward_weights", reward_weights), ("reward_kwargs", reward_kwargs)):
        stray = sorted(set(given) - set(names))
        if stray:
            raise ValueError(f"{what} names {stray}, which are not among the rewards {names}")
    entries = []
    for name in names:
        kwargs = dict(reward_kwargs.get(name) or {})
        if name in reward_weights:
            kwargs["weight"] = check_weight(name, reward_weights[name])
        entries.append((name, tuple(kwargs.items())))
    return RewardPlan(tuple(entries))


def _plan_from_entries(entries: Any) -> RewardPlan:
    """A plan from its ``entries`` as JSON gives them back (lists), checked as a new one.

    Raises:
        ValueError: If they are not ``[name, [[argument, value], ...]]`` pairs, or as
            :func:`plan_rewards`.
    """
    try:
        plain = [(str(name), dict(arguments)) for name, arguments in entries]
    except (TypeError, ValueError):
        raise ValueError(f"a saved reward plan must hold [name, [[argument, value], ...]] "
                         f"entries, got {entries!r}") from None
    weights = {name: args.pop("weight") for name, args in plain if "weight" in args}
    kwargs = {name: args for name, args in plain if args}
    return plan_rewards([name for name, _ in plain], weights, kwargs)


def plan_env_kwargs(env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Env arguments whose reward spec, weights and arguments are parsed into one plan.

    The inverse of :meth:`RewardPlan.env_kwargs`: ``reward`` becomes a :class:`RewardPlan`
    that holds ``reward_weights`` and ``reward_kwargs``, so that every env built from the
    result (a check build, ``n`` scalar envs, a vector env) takes the plan as it is instead of
    parsing the spec again. Arguments without ``reward`` (the id's default reward) or with a
    plan already are returned as a copy.

    Example:
        >>> kwargs = plan_env_kwargs({"steps": 32, "reward": "theory+note_rnn",
        ...                           "reward_weights": {"theory": 2.0}})
        >>> sorted(kwargs), kwargs["reward"].weights
        (['reward', 'steps'], {'theory': 2.0})

    Raises:
        ValueError: As :func:`plan_rewards`.
    """
    values = dict(env_kwargs or {})
    if "reward" in values and not isinstance(values["reward"], RewardPlan):
        values["reward"] = plan_rewards(values["reward"], values.pop("reward_weights", None),
                                        values.pop("reward_kwargs", None))
    return values


def _reward_names(reward: str | Sequence[str] | None) -> list[str]:
    """The names of a spec, checked (registered, none repeated)."""
    if reward is None:
        return []
    if isinstance(reward, str):
        names = [part.strip() for part in re.split(r"\+", reward)]
    elif isinstance(reward, Sequence) and all(isinstance(part, str) for part in reward):
        names = list(reward)
    else:
        raise ValueError(f"reward must be a name such as 'theory', names joined by '+', a list "
                         f"of names or None, got {reward!r}")
    for name in names:
        reward_class(name)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"reward(s) {repeated} named more than once in {reward!r}")
    return names


def parse_rewards(reward: str | Sequence[str] | RewardPlan | None) -> list[str]:
    """Reward names from ``"theory+note_rnn"``, a list of names, a plan, or None (no reward).

    Raises:
        ValueError: On an unknown or repeated name, or a malformed value.
    """
    return list(plan_rewards(reward).names)


def reward_plan(reward: str | Sequence[str] | RewardPlan | None,
                reward_weights: Mapping[str, float] | None = None,
                reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None
                ) -> list[tuple[str, dict[str, Any]]]:
    """The entries of :func:`plan_rewards` as a list of ``(name, arguments)`` (fresh dicts).

    Raises:
        ValueError: As :func:`plan_rewards`.
    """
    return list(plan_rewards(reward, reward_weights, reward_kwargs))


def _check_mapping(what: str, given: Any, names: list[str], form: str) -> dict[str, Any]:
    """``reward_weights`` or ``reward_kwargs`` as a dict keyed by reward names (None: empty)."""
    if given is None:
        return {}
    if not isinstance(given, Mapping) or not all(isinstance(key, str) for key in given):
        raise ValueError(f"{what} must be {form}, with names among the rewards {names}; "
                         f"got {given!r}")
    return dict(given)


def make_term(cls: type[RewardTerm], env: gym.Env, batch: int,
              kwargs: Mapping[str, Any]) -> RewardTerm:
    """``cls(env, batch, **kwargs)``, with a clear error for arguments it does not take.

    Raises:
        ValueError: On an argument the term does not take (naming the ones it does).
    """
    valid = [p for p in inspect.signature(cls.__init__).parameters
             if p not in ("self", "env", "batch")]
    stray = sorted(set(kwargs) - set(valid)) if not any(
        p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values()) \
        else []
    if stray:
        raise ValueError(f"reward_kwargs for {cls.name!r}: unknown argument(s) {stray}; its "
                         f"arguments are {valid}")
    return cls(env, batch, **kwargs)


def apply_rewards(env: gym.Env, reward: str | Sequence[str] | RewardPlan | None,
                  reward_weights: Mapping[str, float] | None = None,
                  reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None) -> gym.Env:
    """Wraps a scalar env in the planned rewards, innermost first.

    Args:
        env: The env.
        reward: A :class:`RewardPlan`, or what :func:`plan_rewards` takes: ``"theory"``,
            ``"theory+note_rnn"``, a list of names, or None.
        reward_weights: Weight per reward name (default 1.0 each; not with a plan).
        reward_kwargs: Extra keyword arguments per reward name, e.g.
            ``{"theory": {"key": "G major"}}`` (not with a plan).

    Returns:
        The wrapped env (``env`` itself for no reward).

    Raises:
        ValueError: On unknown names, bad arguments, or weights / kwargs for rewards not in
            ``reward``.
    """
    for name, kwargs in plan_rewards(reward, reward_weights, reward_kwargs):
        wrapper = wrapper_class(reward_class(name))
        env = RewardWrapper(env, reward=name, **kwargs) if wrapper is None else \
            wrapper(env, **kwargs)
    return env


def build_terms(env: gym.Env, batch: int, reward: str | Sequence[str] | RewardPlan | None,
                reward_weights: Mapping[str, float] | None = None,
                reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None
                ) -> list[RewardTerm]:
    """The planned reward terms for a batch of envs like ``env`` (what the vector env runs).

    Raises:
        ValueError: As :func:`apply_rewards`.
    """
    return [make_term(reward_class(name), env, batch, kwargs)
            for name, kwargs in plan_rewards(reward, reward_weights, reward_kwargs)]
