"""The ``mammad`` command line: list agents, train, sample and evaluate.

::

    mammad agents
    mammad train --agent ppo --env MammadMelody-count-v0 --reward theory+note_rnn --steps 200000
    mammad train --resume runs/<run>                 # after Ctrl-C or a crash; --steps N: on to N
    mammad sample runs/<run>/model.zip -n 16 --out samples/
    mammad evaluate runs/<run>/model.zip -n 10000    # the table, then one JSON line
    mammad label --pool runs/<run> --db prefs.sqlite   # serves http://127.0.0.1:8765
    mammad preference train --db prefs.sqlite --out pref_model/
    mammad rlhf --env MammadMelody-count-v0 --rounds 5 --labeler synthetic:theory

Every argument is checked before any work starts. Model files load without unpickling
anything (:mod:`agents.model_files`; ``--trust-pickle`` to override), run folders are made
atomically and locked while in use, and Ctrl-C saves a checkpoint (:mod:`agents.runs`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from agents.training import (
    finish_run,
    load_run_model,
    train_and_finish,
    vector_env_maker,
    write_samples,
)

DEFAULT_CHECKPOINT_EVERY = 10_000
DEFAULT_EVAL_EPISODES = 100
DEFAULT_SAMPLES = 4
DEFAULT_STEPS = 100_000
DEFAULT_ENV = "MammadMelody-count-v0"
DEFAULT_REWARD = "theory"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every default that is a value (not None or an unset flag) after its help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or "(default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


DESCRIPTION = ("mammad-envs: list agents, train them on the MammadMelody environments, "
               "sample and evaluate trained models, and train the preference reward.")


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _bounded_int(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return _bounded_int(text, 0)


def _bounded_int(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is too small: it must be at least {low}")
    return value


def add_model_arguments(parser: argparse.ArgumentParser, what: str, count: int) -> None:
    """The arguments ``sample`` and ``evaluate`` share: the model, how many, how to play it."""
    parser.add_argument("model", type=Path, nargs="+",
                        help="a model.zip of a run (or the run folder)")
    parser.add_argument("-n", type=positive_int, default=count, help=what)
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="episode k is played with seed + k")
    parser.add_argument("--deterministic", action="store_true",
                        help="the policy's most likely action at each step (default: sampled; "
                             "DQN and QR-DQN sample the softmax of their Q-values)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="torch threads (1: the Note-RNN reward then steps on the other "
                             "core)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="load a model file even if it holds pickled objects (which run "
                             "code when loaded)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mammad``."""
    parser = argparse.ArgumentParser(prog="mammad", description=DESCRIPTION,
                                     formatter_class=HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("agents", help="list the registered agents", formatter_class=HelpFormatter,
                        description="List the registered agents (built-in, registered, plugins).")

    train = commands.add_parser("train", help="train an agent; writes a run folder",
                                formatter_class=HelpFormatter,
                                description="Train an agent into a new run folder, or go on "
                                            "with a run (--resume).")
    train.add_argument("--agent", help="a registered agent (see `mammad agents`); required for "
                                       "a new run")
    train.add_argument("--env", help=f"a MammadMelody env id (default: {DEFAULT_ENV})")
    train.add_argument("--reward", help="rewards joined by '+', or 'none' (default: "
                                        f"{DEFAULT_REWARD})")
    train.add_argument("--reward-weight", action="append", default=[], metavar="NAME=W",
                       help="weight of one reward, e.g. theory=2.0 (repeatable; default 1 each)")
    train.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                       help="env arguments as YAML values, e.g. steps=32 'pitch_range=[48, 83]' "
                            "(default: the id's own)")
    train.add_argument("--steps", type=positive_int,
                       help=f"env steps to train for in all (default: {DEFAULT_STEPS:,}; with "
                            f"--resume: train on to this total)")
    train.add_argument("--seed", type=non_negative_int, help="seed (default: 0)")
    train.add_argument("--n-envs", type=positive_int,
                       help="vectorised envs (default: the YAML's n_envs)")
    train.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                       help="override YAML hyperparameters, e.g. learning_rate=1e-3 (default: "
                            "the bundled YAML's)")
    train.add_argument("--hyperparams-file", help="a YAML file instead of the bundled one "
                                                  "(default: agents/hyperparams/<agent>.yml)")
    train.add_argument("--checkpoint-every", type=positive_int,
                       help=f"steps between checkpoints (default: {DEFAULT_CHECKPOINT_EVERY:,}; "
                            f"with --resume: the run's)")
    train.add_argument("--runs-dir", type=Path, default=Path("runs"),
                       help="where new run folders go")
    train.add_argument("--eval-episodes", type=positive_int,
                       help=f"episodes whose melodies give stats.json (default: "
                            f"{DEFAULT_EVAL_EPISODES}; with --resume: the run's, and a new "
                            f"value rewrites a finished run's statistics)")
    train.add_argument("--samples", type=non_negative_int,
                       help=f"sample melodies to write into samples/ (default: {DEFAULT_SAMPLES}; "
                            f"with --resume: the run's, and a new value rewrites a finished "
                            f"run's samples)")
    train.add_argument("--threads", type=positive_int, default=1,
                       help="torch threads (1 is fastest for small policies on 2 cores)")
    train.add_argument("--resume", type=Path, metavar="RUN",
                       help="go on with a run: from its last checkpoint to its steps (or "
                            "--steps), or finish its statistics and samples")
    train.add_argument("--scalar-envs", action="store_true",
                       help="train on a DummyVecEnv of scalar envs instead of the batched env")
    train.add_argument("--trust-pickle", action="store_true",
                       help="with --resume: load a checkpoint or replay buffer even if it holds "
                            "pickled objects (which run code when loaded)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")

    sample = commands.add_parser("sample", help="write melodies of a trained model",
                                 formatter_class=HelpFormatter,
                                 description="Write melodies of a trained model as MIDI, "
                                             "piano-roll PNG and WAV.")
    add_model_arguments(sample, "melodies", 16)
    sample.add_argument("--out", type=Path, default=Path("samples"),
                        help="output folder (made if missing)")
    sample.add_argument("--bpm", type=float, default=120.0, help="tempo of MIDI and WAV")
    sample.add_argument("--no-wav", action="store_true", help="skip WAV rendering")
    sample.add_argument("--audio", default="auto", choices=["auto", "fluidsynth", "numpy"],
                        help="WAV renderer: fluidsynth with a SoundFont, or the numpy "
                             "synthesiser; auto takes fluidsynth when installed")

    evaluate = commands.add_parser("evaluate", help="RL Tuner statistics of a trained model",
                                   formatter_class=HelpFormatter,
                                   description="Print the RL Tuner statistics of a trained "
                                               "model's compositions; the last line is JSON.")
    add_model_arguments(evaluate, "compositions", 1000)
    evaluate.add_argument("--json", type=Path, help="also write the statistics to this file")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    preference = commands.add_parser("preference", help="the learned preference reward",
                                     formatter_class=HelpFormatter,
                                     description="Train the preference reward model from the "
                                                 "labels in a preference store.")
    preference_commands = preference.add_subparsers(dest="preference_command", required=True)
    train_preference = preference_commands.add_parser(
        "train", help="train a Bradley-Terry reward model on a store's labels",
        formatter_class=HelpFormatter,
        description="Train an ensemble of reward nets on the labelled pairs of a preference "
                    "store; writes OUT/model.pt (weights only) and OUT/model_card.md.")
    train_preference.add_argument("--db", type=Path, required=True,
                                  help="the preference store (SQLite), e.g. prefs.sqlite")
    train_preference.add_argument("--out", type=Path, required=True,
                                  help="a new folder for model.pt and model_card.md")
    train_preference.add_argument("--members", type=positive_int, default=3,
                                  help="nets in the ensemble")
    train_preference.add_argument("--epochs", type=positive_int, default=30,
                                  help="most epochs per net (each stops early on its "
                                       "out-of-bag pairs)")
    train_preference.add_argument("--held-out", type=float, default=0.2,
                                  help="fraction of the pairs kept out for the accuracy figure")
    train_preference.add_argument("--seed", type=non_negative_int, default=0)
    train_preference.add_argument("--threads", type=positive_int, default=1,
                                  help="torch threads")
    train_preference.add_argument("--no-progress", action="store_true", help="no progress bar")

    label = commands.add_parser("label", help="serve the labelling page (pairs of melodies)",
                                formatter_class=HelpFormatter,
                                description="Serve a local page that shows pairs of melodies "
                                            "over the same accompaniment and records which one "
                                            "you prefer (keys A, B, T for tie, S to skip, space "
                                            "to play) in a preference store. Needs the label "
                                            "extra: pip install -e \".[label]\".")
    label.add_argument("--db", type=Path, required=True,
                       help="the preference store (SQLite; made if missing)")
    label.add_argument("--pool", help="where melodies come from: a folder of MIDI files, a run "
                                      "folder or its model.zip, or note_rnn (default: the "
                                      "store's own melodies)")
    label.add_argument("--model", type=Path,
                       help="a reward model (pref_model/model.pt): its least sure pairs first")
    label.add_argument("--labeler", help="your name in the store (default: human:<login>)")
    label.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (another host lets others reach the page)")
    label.add_argument("--port", type=non_negative_int, default=8765)
    label.add_argument("--pairs", type=positive_int, default=20,
                       help="pairs made each time none is left to label")
    label.add_argument("--count", type=positive_int,
                       help="melodies drawn from the pool (default: 32 episodes or samples, "
                            "every MIDI file)")
    label.add_argument("--steps", type=positive_int,
                       help="melody length in 16ths for MIDI files or the Note-RNN (default: "
                            "each file's own; 32 for the Note-RNN)")
    label.add_argument("--accompaniment",
                       help="note_rnn pool: a bundled accompaniment to put the melodies over")
    label.add_argument("--temperature", type=float, default=1.0,
                       help="note_rnn pool: sampling temperature")
    label.add_argument("--seed", type=non_negative_int, default=0)
    label.add_argument("--shuffle", action="store_true",
                       help="show a random unlabelled pair (several people labelling at once)")
    label.add_argument("--trust-pickle", action="store_true",
                       help="run pool: load a model file even if it holds pickled objects")

    rlhf = commands.add_parser("rlhf", help="the RLHF loop: sample, label, learn the reward, "
                                            "fine-tune", formatter_class=HelpFormatter,
                               description="Rounds of: sample melodies from the policy, label "
                                           "pairs, train the preference reward model, fine-tune "
                                           "the policy with PPO on preference + note_rnn. "
                                           "Resumes a killed loop in the same --out.")
    rlhf.add_argument("--env", default=DEFAULT_ENV, help="a MammadMelody env id")
    rlhf.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                      help="env arguments as YAML values, e.g. steps=32 (default: the id's own)")
    rlhf.add_argument("--labeler", default="synthetic:theory",
                      help="synthetic:<reward> or module:function (a function from a list of "
                           "melody arrays to scores)")
    rlhf.add_argument("--temperature", type=float, default=1.0,
                      help="the labeler's Bradley-Terry noise (0: none)")
    rlhf.add_argument("--rounds", type=positive_int, default=5, help="rounds in all")
    rlhf.add_argument("--samples", type=positive_int, default=256,
                      help="melodies sampled from the policy per round")
    rlhf.add_argument("--pairs", type=positive_int, default=100, help="pairs labelled per round")
    rlhf.add_argument("--steps", type=positive_int, default=20_000,
                      help="PPO fine-tuning steps per round")
    rlhf.add_argument("--note-rnn-weight", type=float, default=1.0,
                      help="weight of the Note-RNN term, the KL anchor")
    rlhf.add_argument("--note-rnn-model", metavar="PATH_OR_NAME",
                      help="the anchor's Note-RNN: a shipped model's name, 'default' or "
                           "'rl_tuner' (trained in MIDI 48..83 only), or a weights file "
                           "(default: the shipped default)")
    rlhf.add_argument("--members", type=positive_int, default=3,
                      help="reward nets in the ensemble")
    rlhf.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                      help="override PPO's YAML hyperparameters (default: the bundled YAML's)")
    rlhf.add_argument("--seed", type=non_negative_int, default=0)
    rlhf.add_argument("--out", type=Path, help="the loop's folder (default: "
                                               "rlhf/<env>__<labeler>__<seed>)")
    rlhf.add_argument("--db", type=Path, help="the preference store (default: <out>/prefs.sqlite)")
    rlhf.add_argument("--threads", type=positive_int, default=1, help="torch threads")
    rlhf.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mammad`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "agents":
            return list_command()
        if args.command == "train":
            return train_command(args, argv, parser)
        if args.command == "sample":
            return sample_command(args)
        if args.command == "preference":
            return preference_train_command(args, argv)
        if args.command == "rlhf":
            return rlhf_command(args)
        if args.command == "label":
            return label_command(args)
        return evaluate_command(args)
    except (ValueError, FileNotFoundError, TypeError, ImportError, RuntimeError) as error:
        parser.exit(2, f"mammad {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"\nmammad {args.command}: interrupted\n")
    return 0


def list_command() -> int:
    """Prints the registered agents."""
    from agents.registry import list_agents

    specs = list_agents()
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        target = spec.entry_point if isinstance(spec.entry_point, str) else \
            f"{spec.entry_point.__module__}:{spec.entry_point.__name__}"
        needs = "" if spec.available else f"  (needs the {spec.extra} extra: {spec.install_hint})"
        print(f"{spec.name:<{width}}  {spec.description or '-'}  [{target}, {spec.source}]"
              f"{needs}")
    return 0


def _env_arguments(args: argparse.Namespace) -> dict[str, Any]:
    from agents.hyperparams import parse_overrides
    from rewards.base import parse_rewards

    env_kwargs = parse_overrides(args.env_kwargs, what="--env-kwargs entry")
    reward = args.reward or DEFAULT_REWARD
    names = parse_rewards(None if reward.lower() == "none" else reward)
    weights = {}
    for pair in args.reward_weight:
        name, _, value = pair.partition("=")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ValueError(f"--reward-weight {pair!r} is not NAME=NUMBER") from None
    env_kwargs.update({"reward": "+".join(names) if names else None})
    if weights:
        env_kwargs["reward_weights"] = weights
    return env_kwargs


def check_env_arguments(env_id: str, env_kwargs: dict[str, Any]) -> None:
    """Builds the env once, so a bad id or argument fails before a run folder is made.

    Raises:
        ValueError: If the id is not a registered MammadMelody id or an argument is bad.
    """
    import gymnasium as gym

    from agents import check_env_id

    check_env_id(env_id)
    gym.make(env_id, **env_kwargs).close()


RUN_OPTIONS = {"agent": "--agent", "env": "--env", "reward": "--reward",
               "reward_weight": "--reward-weight", "env_kwargs": "--env-kwargs",
               "seed": "--seed", "n_envs": "--n-envs", "hyperparams": "--hyperparams",
               "hyperparams_file": "--hyperparams-file", "scalar_envs": "--scalar-envs"}
"""Options that define a run: ``--resume`` takes them from the run's ``config.yml``."""
FINISH_OPTIONS = ("checkpoint_every", "eval_episodes", "samples")
"""Options that ``--resume`` may change: they define how a run is saved and finished."""


def _or(value: Any, default: Any) -> Any:
    """``value``, or ``default`` where the option was not given."""
    return default if value is None else value


def train_command(args: argparse.Namespace, argv: list[str],
                  parser: argparse.ArgumentParser) -> int:
    """``mammad train``: a new run, or ``--resume`` of a stopped or killed one."""
    import torch

    torch.set_num_threads(args.threads)
    if args.resume is not None:
        return resume_run(args, argv)
    if args.trust_pickle:
        parser.error("--trust-pickle applies to --resume (a new run loads no file)")
    if not args.agent:
        parser.error("train needs --agent (or --resume RUN)")
    return start_run(args, argv)


def start_run(args: argparse.Namespace, argv: list[str]) -> int:
    """A new run: checks every argument, makes the run folder, trains and finishes it."""
    import shutil

    from agents import make_agent, make_training_env
    from agents.hyperparams import load_hyperparams, parse_overrides
    from agents.registry import agent_spec
    from agents.runs import RunLock, append_command, create_run_folder, git_commit, versions

    spec = agent_spec(args.agent)
    spec.load()
    env_id = args.env or DEFAULT_ENV
    env_kwargs = _env_arguments(args)
    check_env_arguments(env_id, env_kwargs)  # before any run folder is made
    hyperparams = load_hyperparams(args.agent, env_id, args.hyperparams_file)
    hyperparams.update(parse_overrides(args.hyperparams))
    if args.n_envs is not None:
        hyperparams["n_envs"] = args.n_envs
    seed = 0 if args.seed is None else args.seed
    config = {
        "agent": args.agent, "env": env_id, "env_kwargs": env_kwargs,
        "seed": seed, "steps": args.steps or DEFAULT_STEPS, "hyperparams": hyperparams,
        "checkpoint_every": _or(args.checkpoint_every, DEFAULT_CHECKPOINT_EVERY),
        "eval_episodes": _or(args.eval_episodes, DEFAULT_EVAL_EPISODES),
        "samples": _or(args.samples, DEFAULT_SAMPLES),
        "batched": spec.batched and not args.scalar_envs,
        "git_commit": git_commit(), "versions": versions(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    check_n_envs(hyperparams)
    run = create_run_folder(args.runs_dir, env_id, args.agent, seed)
    with RunLock(run):
        try:  # a bad hyperparameter leaves no half-made run folder
            values = dict(hyperparams)
            n_envs = int(values.pop("n_envs", 1))
            env = make_training_env(env_id, n_envs, seed, env_kwargs, batched=config["batched"])
            model = make_agent(args.agent, env, seed=seed, hyperparams=values,
                               tensorboard_log=tensorboard_folder(run))
        except BaseException:
            shutil.rmtree(run, ignore_errors=True)
            raise
        from agents.runs import write_config

        write_config(run, config)
        append_command(run, argv)
        return train_and_finish(run, model, config, fresh=True, progress=not args.no_progress)


def check_n_envs(hyperparams: dict[str, Any]) -> None:
    """Raises a clear ValueError if the hyperparameters' ``n_envs`` is not a positive integer."""
    n_envs = hyperparams.get("n_envs", 1)
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")


def tensorboard_folder(run: Any) -> str | None:
    """``<run>/tb`` for the TensorBoard logs, or None (no logs) without TensorBoard installed."""
    from importlib.util import find_spec

    if find_spec("tensorboard") is None:
        print("TensorBoard is not installed: no training curves are logged (pip install "
              "tensorboard)", file=sys.stderr)
        return None
    return str(run / "tb")


def resume_run(args: argparse.Namespace, argv: list[str]) -> int:
    """``--resume``: train on from the last checkpoint, or finish what a killed run left out.

    The run's completeness is read from its files (JSON inside the model file, nothing
    unpickled) before any model is loaded.
    """
    from agents.model_files import (
        BUFFER_SUFFIX,
        PICKLED_BUFFER_SUFFIX,
        TRUST_HINT,
        ModelFileError,
        saved_timesteps,
    )
    from agents.runs import (
        CHECKPOINTS,
        LATEST,
        MODEL,
        SAMPLES,
        STATS,
        RunLock,
        append_command,
        read_config,
        remove_scratch,
        write_config,
    )
    from agents.tensorboard_logs import drop_events_after

    run = args.resume
    config = read_config(run)
    if args.agent is not None and args.agent != config["agent"]:
        raise ValueError(f"run {str(run)!r} trains the agent {config['agent']!r}, not "
                         f"{args.agent!r}: --resume goes on with the run's own agent (drop "
                         f"--agent, or start a new run)")
    changed = [flag for name, flag in RUN_OPTIONS.items()
               if name != "agent" and getattr(args, name) not in (None, [], False)]
    if changed:
        raise ValueError(f"--resume goes on with the run's own configuration ({run / 'config.yml'}"
                         f"); {', '.join(changed)} would change it: start a new run instead")
    with RunLock(run):
        remove_scratch(run)
        final, latest = run / MODEL, run / CHECKPOINTS / LATEST
        candidates = [(saved_timesteps(path), path == latest, path) for path in (final, latest)
                      if path.is_file()]
        trained = max((steps for steps, _, _ in candidates), default=0)
        if args.steps is not None and args.steps < trained:
            raise ValueError(f"--steps {args.steps:,} is below the {trained:,} steps that "
                             f"run {str(run)!r} has trained: give a larger total")
        first_checkpoint = int(config.get("checkpoint_every", 0))
        updates = {name: getattr(args, name) for name in ("steps", *FINISH_OPTIONS)
                   if getattr(args, name) is not None and getattr(args, name) != config.get(name)}
        if updates:
            config.update(updates)
            write_config(run, config)
        refinish = any(name in updates for name in ("eval_episodes", "samples"))
        done = next((steps for steps, is_latest, _ in candidates if not is_latest), None)
        if done is not None and done >= config["steps"]:
            if (run / STATS).is_file() and (run / SAMPLES).is_dir() and not refinish:
                print(f"{run} is complete: {done:,} of {config['steps']:,} steps (pass --steps "
                      f"to train it further)")
                return 0
            append_command(run, argv)
            model = load_run_model(run, final, config, args.trust_pickle)
            finish_run(run, model, config)
            print(f"finished {run}: its statistics and samples")
            return 0
        if not candidates:
            raise ValueError(f"run {str(run)!r} has no checkpoint to resume from (it stopped "
                             f"before its first, at {first_checkpoint:,} "
                             f"steps): start a new run")
        # The most steps; on a tie the checkpoint, which has the replay buffer beside it.
        checkpoint = max(candidates)[2]
        buffer = checkpoint.with_name(f"{checkpoint.stem}{BUFFER_SUFFIX}")
        pickled_buffer = checkpoint.with_name(f"{checkpoint.stem}{PICKLED_BUFFER_SUFFIX}")
        if not buffer.is_file() and pickled_buffer.is_file() and not args.trust_pickle:
            raise ModelFileError(f"{pickled_buffer} is a pickled replay buffer (the format of "
                                 f"older runs); loading it would run code from the file: "
                                 f"{TRUST_HINT}, or delete it to go on with an empty buffer")
        hyperparams = dict(config["hyperparams"])
        n_envs = int(hyperparams.pop("n_envs", 1))
        from agents import make_training_env

        env = make_training_env(config["env"], n_envs, config["seed"], config["env_kwargs"],
                                batched=config.get("batched", False))
        model = load_run_model(run, checkpoint, config, args.trust_pickle, env=env,
                               tensorboard_log=tensorboard_folder(run))
        if hasattr(model, "replay_buffer") and getattr(model, "replay_buffer", None) is not None:
            if buffer.is_file():
                from agents.model_files import load_replay_buffer

                load_replay_buffer(model, buffer)
            elif pickled_buffer.is_file():
                model.load_replay_buffer(pickled_buffer)
        drop_events_after(run / "tb", model.num_timesteps)
        append_command(run, argv)
        print(f"resuming {run} from step {model.num_timesteps:,} to {config['steps']:,}")
        return train_and_finish(run, model, config, fresh=False, progress=not args.no_progress)


def _load_model(paths: list[Path], threads: int = 1,
                trust_pickle: bool = False) -> tuple[Any, dict[str, Any]]:
    """(model, run config) for a model file of a run; torch set to ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    if len(paths) != 1:
        raise ValueError(f"give one model, got {len(paths)}: {[str(p) for p in paths]} (did a "
                         f"wildcard match several runs? name one run folder)")

    from agents.runs import read_config, run_of_model

    run, model_file = run_of_model(paths[0])
    config = read_config(run)
    return load_run_model(run, model_file, config, trust_pickle), config


def sample_command(args: argparse.Namespace) -> int:
    """``mammad sample``: MIDI, piano-roll PNG and WAV per melody."""
    from agents.rollouts import play_episodes, sampling_player

    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {str(args.out)!r} is a file: give a folder (it is made if "
                         f"missing)")
    if not args.no_wav:
        from mammad_envs.audio import check_engine

        check_engine(args.audio)
    model, config = _load_model(args.model, args.threads, args.trust_pickle)
    melodies, accompaniments, _ = play_episodes(sampling_player(model, args.seed),
                                                vector_env_maker(config), args.n,
                                                args.deterministic, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    written = write_samples(args.out, melodies, accompaniments, wav=not args.no_wav,
                            bpm=args.bpm, audio=args.audio)
    print(f"wrote {len(written)} files for {args.n} melodies to {args.out}")
    return 0


def preference_train_command(args: argparse.Namespace, argv: list[str]) -> int:
    """``mammad preference train``: a reward model and its card from a store's labels."""
    import torch

    from agents.runs import scratch_folder
    from rewards.preferences import (
        PreferenceStore,
        TrainingSettings,
        comparisons_from_store,
        model_card,
        train_reward_model,
    )

    if not args.db.is_file():
        raise FileNotFoundError(f"preference store {str(args.db)!r} does not exist (label "
                                f"some pairs first: `mammad label`, or `mammad rlhf`)")
    if (args.out / "model.pt").exists():
        raise ValueError(f"{str(args.out / 'model.pt')!r} exists already: choose a new --out "
                         f"folder")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {str(args.out)!r} is a file: give a folder")
    settings = TrainingSettings(members=args.members, epochs=args.epochs,
                                held_out=args.held_out, seed=args.seed)
    torch.set_num_threads(args.threads)
    with PreferenceStore(args.db) as store:
        comparisons = comparisons_from_store(store)
    ensemble = train_reward_model(comparisons, settings, progress=not args.no_progress)
    ensemble.card["store"] = str(args.db)
    command = " ".join(["mammad", *argv])
    args.out.mkdir(parents=True, exist_ok=True)
    with scratch_folder(args.out) as scratch:  # the card first, the model last
        (scratch / "model_card.md").write_text(model_card(ensemble.card, command))
        (scratch / "model_card.md").replace(args.out / "model_card.md")
        ensemble.save(scratch / "model.pt").replace(args.out / "model.pt")
    held = ensemble.card["held_out"]
    figure = ("no pairs held out" if not held["pairs"] else
              f"held-out accuracy {100 * held['accuracy']:.1f}% on {held['pairs']:,} pairs")
    print(f"trained on {ensemble.card['labels']:,} labels ({figure}); wrote "
          f"{args.out / 'model.pt'} and {args.out / 'model_card.md'}")
    return 0


def label_command(args: argparse.Namespace) -> int:
    """``mammad label``: the labelling page, until Ctrl-C."""
    from importlib.util import find_spec

    missing = [name for name in ("starlette", "uvicorn") if find_spec(name) is None]
    if missing:
        raise ImportError(f"mammad label needs {' and '.join(missing)} (the label extra): "
                          f"pip install -e \".[label]\"")
    from feedback.labelling import serve

    return serve(args.db, args.pool, host=args.host, port=args.port, model=args.model,
                 labeler=args.labeler, pairs=args.pairs, count=args.count, steps=args.steps,
                 seed=args.seed, temperature=args.temperature,
                 accompaniment=args.accompaniment, trust_pickle=args.trust_pickle,
                 shuffle=args.shuffle, announce=lambda line: print(line, flush=True))


def rlhf_command(args: argparse.Namespace) -> int:
    """``mammad rlhf``: run or resume the loop, one line per round, then a table."""
    import re

    import torch

    from agents.hyperparams import parse_overrides
    from feedback.rlhf import RLHFSettings, results_table, run_rlhf
    from rewards.note_rnn.model import PRETRAINED

    anchor = args.note_rnn_model  # a file by its absolute path: rounds resume from anywhere
    if anchor is not None and anchor not in PRETRAINED and Path(anchor).is_file():
        anchor = str(Path(anchor).resolve())
    settings = RLHFSettings(
        env=args.env, env_kwargs=parse_overrides(args.env_kwargs, what="--env-kwargs entry"),
        rounds=args.rounds, samples=args.samples, pairs=args.pairs, steps=args.steps,
        note_rnn_weight=args.note_rnn_weight, labeler=args.labeler,
        note_rnn_model=anchor,
        temperature=args.temperature, members=args.members,
        hyperparams=parse_overrides(args.hyperparams), seed=args.seed)
    label = re.sub(r"[^A-Za-z0-9_.+-]+", "-", args.labeler)
    out = args.out or Path("rlhf") / f"{args.env}__{label}__{args.seed}"
    torch.set_num_threads(args.threads)
    print(f"RLHF loop in {out} ({settings.rounds} rounds, labeler {settings.labeler})")
    results = run_rlhf(settings, out, args.db, progress=not args.no_progress, log=print)
    print("\n" + "\n".join(results_table(results)))
    print(f"\nfolder: {out}; the last policy: mammad evaluate {out}/round_{len(results) - 1}")
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    """``mammad evaluate``: the RL Tuner statistics of ``-n`` compositions.

    Prints the table, the time taken, and as its last line a JSON object (the mean episode
    return), for scripts.
    """
    from agents.rollouts import play_episodes, sampling_player
    from rewards import metrics

    if args.json is not None and args.json.is_dir():
        raise ValueError(f"--json {str(args.json)!r} is a folder: give a file name, e.g. "
                         f"{args.json / 'stats.json'}")
    model, config = _load_model(args.model, args.threads, args.trust_pickle)
    started = time.perf_counter()
    melodies, _, returns = play_episodes(sampling_player(model, args.seed),
                                         vector_env_maker(config), args.n, args.deterministic,
                                         progress=not args.no_progress, seed=args.seed)
    table = metrics.evaluate(melodies)
    table["mean episode return"] = float(sum(returns) / len(returns))
    print(metrics.format_table(table, title=f"statistic ({config['agent']} on {config['env']})"))
    print(f"\n{args.n:,} compositions in {time.perf_counter() - started:.1f} s")
    if args.json:
        print(f"wrote {metrics.save_json(table, args.json)}")
    else:
        print(json.dumps({"mean episode return": table["mean episode return"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
