"""The ``mammad`` command line: list agents, train, sample and evaluate.

::

    mammad agents
    mammad train --agent ppo --env MammadMelody-count-v0 --reward theory+note_rnn --steps 200000
    mammad train --resume runs/<run>
    mammad sample runs/<run>/model.zip -n 16 --out samples/
    mammad evaluate runs/<run>/model.zip -n 10000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_CHECKPOINT_EVERY = 10_000


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mammad``."""
    parser = argparse.ArgumentParser(prog="mammad", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("agents", help="list the registered agents")

    train = commands.add_parser("train", help="train an agent; writes a run folder")
    train.add_argument("--agent", help="a registered agent (see `mammad agents`)")
    train.add_argument("--env", default="MammadMelody-count-v0", help="a MammadMelody env id")
    train.add_argument("--reward", default="theory",
                       help="rewards joined by '+', or 'none' (default: theory)")
    train.add_argument("--reward-weight", action="append", default=[], metavar="NAME=W",
                       help="weight of one reward, e.g. theory=2.0 (repeatable)")
    train.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                       help="env arguments as YAML values, e.g. steps=32 'pitch_range=[48, 83]'")
    train.add_argument("--steps", type=int, default=100_000, help="env steps to train for")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--n-envs", type=int, help="vectorised envs (default: the YAML's)")
    train.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                       help="override YAML hyperparameters, e.g. learning_rate=1e-3")
    train.add_argument("--hyperparams-file", help="a YAML file instead of the bundled one")
    train.add_argument("--checkpoint-every", type=int, default=DEFAULT_CHECKPOINT_EVERY,
                       help="steps between checkpoints (default 10000)")
    train.add_argument("--runs-dir", type=Path, default=Path("runs"))
    train.add_argument("--eval-episodes", type=int, default=100,
                       help="episodes whose melodies give stats.json (default 100)")
    train.add_argument("--samples", type=int, default=4, help="sample melodies to write")
    train.add_argument("--threads", type=int, default=1,
                       help="torch threads (default 1: fastest for small policies here)")
    train.add_argument("--resume", type=Path, metavar="RUN",
                       help="continue a run from its last checkpoint")
    train.add_argument("--scalar-envs", action="store_true",
                       help="train on a DummyVecEnv of scalar envs instead of the batched env")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")

    sample = commands.add_parser("sample", help="write melodies of a trained model")
    sample.add_argument("model", type=Path, nargs="+",
                        help="a model.zip of a run (or the run folder)")
    sample.add_argument("-n", type=int, default=16, help="melodies (default 16)")
    sample.add_argument("--out", type=Path, default=Path("samples"))
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--deterministic", action="store_true")
    sample.add_argument("--bpm", type=float, default=120.0)
    sample.add_argument("--no-wav", action="store_true", help="skip WAV rendering")
    sample.add_argument("--audio", default="auto", choices=["auto", "fluidsynth", "numpy"])
    sample.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: the Note-RNN reward then steps on the "
                             "other core)")

    evaluate = commands.add_parser("evaluate", help="RL Tuner statistics of a trained model")
    evaluate.add_argument("model", type=Path, nargs="+",
                          help="a model.zip of a run (or the run folder)")
    evaluate.add_argument("-n", type=int, default=1000, help="compositions (default 1000)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--deterministic", action="store_true")
    evaluate.add_argument("--json", type=Path, help="also write the statistics here")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    evaluate.add_argument("--threads", type=int, default=1,
                          help="torch threads (default 1: the Note-RNN reward then steps on the "
                               "other core)")
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
        return evaluate_command(args)
    except (ValueError, FileNotFoundError, TypeError, ImportError) as error:
        parser.exit(2, f"mammad {args.command}: error: {error}\n")
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
    reward = None if args.reward.lower() == "none" else args.reward
    names = parse_rewards(reward)
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
        ValueError: If the id is not registered or an argument is bad.
    """
    import gymnasium as gym

    from agents import check_env_id

    check_env_id(env_id)
    gym.make(env_id, **env_kwargs).close()


def train_command(args: argparse.Namespace, argv: list[str],
                  parser: argparse.ArgumentParser) -> int:
    """``mammad train``: a new run, or ``--resume`` of a killed one."""
    import torch

    from agents import make_agent, make_training_env
    from agents.hyperparams import load_hyperparams, parse_overrides
    from agents.registry import agent_spec
    from agents.runs import (
        CHECKPOINTS,
        LATEST,
        MODEL,
        LatestCheckpoint,
        RewardTermLogger,
        append_command,
        git_commit,
        read_config,
        run_name,
        versions,
        write_config,
    )

    torch.set_num_threads(max(args.threads, 1))
    if args.resume is not None:
        run = args.resume
        config = read_config(run)
        checkpoint = next((path for path in (run / CHECKPOINTS / LATEST, run / MODEL)
                           if path.is_file()), None)
        if checkpoint is None:
            raise ValueError(f"run {str(run)!r} has no checkpoint to resume from (it stopped "
                             f"before its first, at {config['checkpoint_every']:,} steps): "
                             f"start a new run")
    else:
        if not args.agent:
            parser.error("train needs --agent (or --resume RUN)")
        if args.steps <= 0:
            raise ValueError(f"--steps must be positive, got {args.steps}")
        spec = agent_spec(args.agent)
        spec.load()
        env_kwargs = _env_arguments(args)
        check_env_arguments(args.env, env_kwargs)  # before any run folder is made
        hyperparams = load_hyperparams(args.agent, args.env, args.hyperparams_file)
        hyperparams.update(parse_overrides(args.hyperparams))
        if args.n_envs is not None:
            hyperparams["n_envs"] = args.n_envs
        config = {
            "agent": args.agent, "env": args.env, "env_kwargs": env_kwargs,
            "seed": args.seed, "steps": args.steps, "hyperparams": hyperparams,
            "checkpoint_every": args.checkpoint_every, "eval_episodes": args.eval_episodes,
            "samples": args.samples,
            "batched": agent_spec(args.agent).batched and not args.scalar_envs,
            "git_commit": git_commit(), "versions": versions(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        run = args.runs_dir / run_name(args.env, args.agent, args.seed)
        if run.exists():
            raise ValueError(f"run folder {str(run)!r} exists already: wait a second and retry")
        checkpoint = None
    hyperparams = dict(config["hyperparams"])
    n_envs = int(hyperparams.pop("n_envs", 1))
    env = make_training_env(config["env"], n_envs, config["seed"], config["env_kwargs"],
                            batched=config.get("batched", False))
    spec = agent_spec(config["agent"])
    if checkpoint is not None:
        model = spec.load().load(checkpoint, env=env, tensorboard_log=str(run / "tb"))
        buffer = checkpoint.parent / "latest_replay_buffer.pkl"
        if checkpoint.name == LATEST and buffer.is_file() and hasattr(model,
                                                                      "load_replay_buffer"):
            model.load_replay_buffer(buffer)
        if model.num_timesteps >= config["steps"]:
            print(f"{run} is complete: {model.num_timesteps:,} of {config['steps']:,} steps "
                  f"(raise `steps` in its config.yml to train it further)")
            return 0
        print(f"resuming {run} from step {model.num_timesteps:,}")
    else:  # the agent is built before the run folder, so a bad hyperparameter leaves none
        model = make_agent(config["agent"], env, seed=config["seed"], hyperparams=hyperparams,
                           tensorboard_log=str(run / "tb"))
        run.mkdir(parents=True, exist_ok=True)  # some agents make their log folder in it
        write_config(run, config)
    append_command(run, argv)
    remaining = config["steps"] - int(getattr(model, "num_timesteps", 0))
    callbacks = [RewardTermLogger(),
                 LatestCheckpoint(run / CHECKPOINTS, config["checkpoint_every"])]
    if remaining > 0:
        model.learn(remaining, callback=callbacks, progress_bar=not args.no_progress,
                    reset_num_timesteps=checkpoint is None, tb_log_name="tb")
    model.save(run / "model.zip")
    finish_run(run, model, config)
    print(f"run folder: {run}")
    return 0


def vector_env_maker(config: dict[str, Any]) -> Any:
    """``make(n)``: ``n`` envs of a run's id and arguments, batched (for evaluation)."""
    from mammad_envs.compat import make_vector

    def make(num_envs: int) -> Any:
        return make_vector(config["env"], num_envs, **config["env_kwargs"])

    return make


def finish_run(run: Path, model: Any, config: dict[str, Any]) -> None:
    """Writes stats.json and sample melodies for a trained model."""
    from agents.rollouts import play_episodes
    from rewards import metrics

    episodes = max(int(config.get("eval_episodes", 100)), int(config.get("samples", 4)), 1)
    melodies, accompaniments, returns = play_episodes(model, vector_env_maker(config), episodes)
    table = metrics.evaluate(melodies)
    table["mean episode return"] = float(sum(returns) / len(returns))
    metrics.save_json(table, run / "stats.json")
    write_samples(run / "samples", melodies[: config.get("samples", 4)],
                  accompaniments[: config.get("samples", 4)], wav=False)


def write_samples(folder: Path, melodies: list, accompaniments: list, wav: bool = True,
                  bpm: float = 120.0, audio: str = "auto") -> list[Path]:
    """Writes each melody as MIDI, a piano-roll PNG and (optionally) WAV."""
    from mammad_envs.audio import render_wav
    from mammad_envs.midi import write_midi
    from mammad_envs.piano_roll import save_piano_roll

    written = []
    for index, (melody, accompaniment) in enumerate(zip(melodies, accompaniments, strict=True)):
        notes = accompaniment.notes_until(len(melody)) if accompaniment is not None else []
        stem = folder / f"sample_{index:03d}"
        written.append(write_midi(stem.with_suffix(".mid"), melody, notes, bpm=bpm))
        written.append(save_piano_roll(stem.with_suffix(".png"), melody, notes,
                                       title=f"sample {index}"))
        if wav:
            written.append(render_wav(stem.with_suffix(".wav"), melody, notes, bpm, audio)[0])
    return written


def _load_model(paths: list[Path], threads: int = 1) -> tuple[Any, dict[str, Any]]:
    """(model, run config) for a model file of a run; torch set to ``threads`` threads."""
    import gymnasium as gym
    import torch

    torch.set_num_threads(max(threads, 1))

    if len(paths) != 1:
        raise ValueError(f"give one model, got {len(paths)}: {[str(p) for p in paths]} (did a "
                         f"wildcard match several runs? name one run folder)")
    path = paths[0]

    from agents.registry import agent_spec
    from agents.runs import read_config, run_of_model

    run, model_file = run_of_model(path)
    config = read_config(run)
    def make_env() -> gym.Env:
        return gym.make(config["env"], **config["env_kwargs"])

    try:
        model = agent_spec(config["agent"]).load().load(model_file, env=make_env())
    except (ValueError, KeyError, OSError, EOFError, RuntimeError) as error:
        raise ValueError(f"{str(model_file)!r} is not a readable {config['agent']} model: "
                         f"{error}") from error
    return model, config


def sample_command(args: argparse.Namespace) -> int:
    """``mammad sample``: MIDI, piano-roll PNG and WAV per melody."""
    from agents.rollouts import play_episodes

    if args.n <= 0:
        raise ValueError(f"-n must be positive, got {args.n}")
    model, config = _load_model(args.model, args.threads)
    melodies, accompaniments, _ = play_episodes(model, vector_env_maker(config), args.n,
                                                args.deterministic, seed=args.seed)
    written = write_samples(args.out, melodies, accompaniments, wav=not args.no_wav,
                            bpm=args.bpm, audio=args.audio)
    print(f"wrote {len(written)} files for {args.n} melodies to {args.out}")
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    """``mammad evaluate``: the RL Tuner statistics of ``-n`` compositions."""
    from agents.rollouts import play_episodes
    from rewards import metrics

    if args.n <= 0:
        raise ValueError(f"-n must be positive, got {args.n}")
    model, config = _load_model(args.model, args.threads)
    started = time.perf_counter()
    melodies, _, returns = play_episodes(model, vector_env_maker(config), args.n,
                                         args.deterministic, progress=not args.no_progress,
                                         seed=args.seed)
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
