"""The `ac-play` command line: train, watch, human, eval, inspect, bench.

The only module that knows about flags: each subcommand's handler turns its flags into Python
values and calls the module that does the work, imported only when that subcommand runs, so
`ac-play --help` and the headless paths never load a UI library.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import NoReturn

from ac_play import __version__
from ac_play.config import TrainConfig, preset
from ac_play.errors import AcPlayError, SettingError, printable, silence_stdout

TRAINING_FLAGS = {"env_id": "--env", "seed": "--seed", "episodes": "--episodes", "envs": "--envs", "lr": "--lr",
                  "gamma": "--gamma", "hidden": "--hidden", "entropy": "--entropy", "update": "--update"}
"""TrainConfig fields the command line sets, and their flags."""
OTHER_FLAGS = {
    "speed": "--speed", "at": "--at", "record": "--record", "force": "--force", "jobs": "--jobs",
    "max_episodes": "--max-episodes",
}
"""Settings of watch, human and bench that the command line sets, and their flags."""
INSPECT_FLAGS = {"cart_x": "--cart-x", "cart_v": "--cart-v", "png": "--png"}
"""Settings of inspect that the command line sets, and their flags."""
EVAL_EPISODES_LIMIT = 100_000
"""eval keeps every episode's arrays until it reports (about 24 kB each on CartPole): 2.4 GB at most."""
SWEEP_LIMIT = 64
"""The most --envs settings one bench sweeps."""


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None


def count(text: str) -> int:
    """A whole number of 1 or more (episodes, frames, seeds, processes)."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, not {value}")
    return value


def count_at_most(limit: int):
    """An argparse type: a whole number from 1 to `limit`."""

    def checked(text: str) -> int:
        value = count(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"expected at most {limit}, not {value}")
        return value

    return checked


def counts(text: str) -> list[int]:
    """Distinct whole numbers of 1 or more, separated by commas ("1,8,16"), at most SWEEP_LIMIT of them."""
    items = text.split(",")
    if any(not item.strip() for item in items):
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, not {text!r}")
    if len(items) > SWEEP_LIMIT:
        raise argparse.ArgumentTypeError(f"expected at most {SWEEP_LIMIT} values, not {len(items)}")
    values = [count(item) for item in items]
    repeated = [value for value in values if values.count(value) > 1]
    if repeated:
        raise argparse.ArgumentTypeError(f"{repeated[0]} is listed twice in {text!r}")
    return values


def seed_number(text: str) -> int:
    """A whole number of 0 or more, as NumPy's and gymnasium's seeding takes."""
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, not {value}")
    return value


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None


# -- the handlers: flags in, Python calls out ----------------------------------------------


def train(args: argparse.Namespace) -> int:
    from ac_play.runs import run_config

    if args.json and not args.headless:
        raise AcPlayError("--json prints JSON Lines and needs --headless")
    overrides = {field: getattr(args, field) for field in TRAINING_FLAGS}
    config, resumed = run_config(args.preset, overrides, args.resume)
    if args.headless:
        from ac_play.headless import run_headless

        return run_headless(config, resumed, out=args.out, json_lines=args.json, window=args.window)
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        # Textual reads keys from stdin and draws on stderr (stdout may go to a file: it gets the
        # closing lines); with stdin at its end, Textual's key reader spins a core forever
        raise AcPlayError("the training UI needs a terminal; use --headless")
    from ac_play.tui.main import run_tui

    return run_tui(config, resumed, out=args.out, window=args.window)


def watch(args: argparse.Namespace) -> int:
    if args.force and args.record is None:
        raise AcPlayError("--force replaces the file of --record, and needs --record")
    if args.film:  # each scene's length and speed are the film's own: the flags that set them are refused
        for flag in ("episodes", "frames", "speed", "explain"):
            if getattr(args, flag) not in (None, False):
                raise AcPlayError(f"--film plays one episode per scene at a speed fitted to it, and takes no --{flag}")
        from ac_play.window.film import run_film
        return run_film(args.checkpoint, seed=args.seed, greedy=not args.sample, record=args.record, force=args.force)
    from ac_play.window.viewer import run_watch

    return run_watch(args.checkpoint, seed=args.seed, greedy=not args.sample, episodes=args.episodes,
                     speed=1.0 if args.speed is None else args.speed, frames=args.frames, record=args.record,
                     force=args.force, explain=args.explain)


def human(args: argparse.Namespace) -> int:
    if args.scores:  # no pygame, no gymnasium: the table only
        from ac_play.window.scores import print_best

        return print_best()
    agent = args.agent
    if args.ladder is not None:
        if args.agent or args.at is not None or args.solo:
            raise AcPlayError("--ladder plays the stages of one run (--ladder RUN_DIR), against you: "
                              "it takes no --agent, --at or --solo")
        agent = None if args.ladder is True else args.ladder  # bare --ladder: the bundled agent's run
    elif args.at is not None and args.agent is None:
        raise AcPlayError("--at picks a snapshot of a run: give the run with --agent RUN_DIR")
    from ac_play.window.human import run_human

    return run_human(agent, seed=args.seed, speed=args.speed, solo=args.solo, name=args.name,
                     ladder=args.ladder is not None, at=args.at)


def evaluate(args: argparse.Namespace) -> int:
    from ac_play.evaluate import run_eval

    return run_eval(args.checkpoint, episodes=args.episodes, greedy=args.greedy, seed=args.seed, json_out=args.json)


def inspect(args: argparse.Namespace) -> int:
    if args.force and args.png is None:
        raise AcPlayError("--force replaces the file of --png, and needs --png")
    if args.png is not None:
        from ac_play.window.policy_map import run_png

        return run_png(args.checkpoint, args.png, force=args.force, seed=args.seed, cart_x=args.cart_x,
                       cart_v=args.cart_v)
    from ac_play.inspect_text import run_inspect

    return run_inspect(args.checkpoint, seed=args.seed, cart_x=args.cart_x, cart_v=args.cart_v,
                       no_color=args.no_color)


def bench(args: argparse.Namespace) -> int:
    if args.envs is None:  # what train does with the same preset
        args.envs = [preset(args.preset).envs]
    if args.tui or args.memory:
        envs = one_envs(args)  # checked before Textual loads
    if args.tui:
        from ac_play.tui.bench import run_tui_bench

        return run_tui_bench(args.env_id, seeds=args.seeds, envs=envs, json_out=args.json)
    if args.render:
        from ac_play.window.bench import run_render_bench

        return run_render_bench(json_out=args.json)
    from ac_play.bench import run_bench, run_memory_bench

    if args.memory:
        return run_memory_bench(args.env_id, episodes=args.memory, envs=envs, json_out=args.json)
    return run_bench(args.env_id, seeds=args.seeds, jobs=args.jobs, envs=args.envs, json_out=args.json,
                     seed_start=args.seed_start, preset_name=args.preset, max_episodes=args.max_episodes,
                     update=args.update)


def one_envs(args: argparse.Namespace) -> int:
    """bench --tui and --memory measure one setting: its --envs."""
    if len(args.envs) > 1:
        raise AcPlayError(f"--envs takes one value with --{'tui' if args.tui else 'memory'}, not {len(args.envs)}")
    return args.envs[0]


# -- the parser ----------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, like every other error (`--help` shows the rest)."""

    def error(self, message: str) -> NoReturn:
        # argparse echoes what was typed: escape it, as any text that came from outside
        print(f"ac-play: error: {printable(message)} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ac-play",
        description="Watch a hand-written NumPy actor-critic learn CartPole, then play against it.",
    )
    parser.add_argument("--version", action="version", version=f"ac-play {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands = [
        ("train", train, add_train_args, "train an agent (a terminal UI, or --headless)",
         "Train the actor-critic. Opens the terminal UI unless --headless."),
        ("watch", watch, add_watch_args, "watch an agent play in a pygame window",
         "Watch a checkpoint (default: the bundled agent) play CartPole, or scrub through a run folder's "
         "snapshots on its learning curve."),
        ("human", human, add_human_args, "play CartPole yourself, against the agent",
         "Play CartPole with the keyboard, side by side with the agent."),
        ("eval", evaluate, add_eval_args, "score a checkpoint over many episodes",
         "Play episodes with a checkpoint and print mean, std, min and max return."),
        ("inspect", inspect, add_inspect_args, "map where an agent pushes and what it expects",
         "Map a checkpoint's P(push right) and critic V over pole angle and angular velocity, with a "
         "greedy episode's path, its weight norms and dead units: in the terminal, or --png."),
        ("bench", bench, add_bench_args, "measure learning speed and throughput",
         "Train several seeds headless and report medians and throughput."),
    ]
    for name, handler, add_args, summary, description in commands:
        command = sub.add_parser(name, help=summary, description=description)
        add_args(command)
        command.set_defaults(run=handler)
    return parser


def add_train_args(parser: argparse.ArgumentParser) -> None:
    """Flags of training, headless or in the TUI; None means "the preset's value"."""
    parser.add_argument("--env", dest="env_id", help="gymnasium env id (default CartPole-v1)")
    parser.add_argument("--seed", type=whole_number, help="random seed (default 0)")
    parser.add_argument("--episodes", type=whole_number, help="train this many episodes (default: until solved)")
    parser.add_argument("--envs", type=whole_number, help="episodes played at once, a vector env above 1 (default 16)")
    parser.add_argument("--lr", type=number,
                        help="learning rate (default 0.01; the notebook preset's 0.005)")
    parser.add_argument("--update", choices=["rollout", "episode"],
                        help="learn every few steps from GAE advantages (rollout, the default), or once per "
                             "batch of whole episodes from Monte-Carlo returns (episode, the notebook's)")
    parser.add_argument("--gamma", type=number, help="discount factor in (0, 1] (default 0.99)")
    parser.add_argument("--hidden", type=whole_number, help="hidden units of the shared layer (default 128)")
    parser.add_argument("--entropy", type=number, help="entropy bonus coefficient (default 0; 0.03 for Acrobot-v1)")
    parser.add_argument("--preset", default="default", choices=["default", "notebook"],
                        help="'notebook' reproduces the original notebook's settings (and its failure)")
    parser.add_argument("--out", help="run folder (default: a new folder under runs/)")
    parser.add_argument("--resume", metavar="CKPT", help="continue training from this checkpoint")
    parser.add_argument("--headless", action="store_true", help="no UI: print progress, write the run folder")
    parser.add_argument("--json", action="store_true", help="with --headless: print JSON Lines, one per episode")
    parser.add_argument("--window", action="store_true", help="also show the current policy in a pygame window")


def add_watch_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?", metavar="CKPT_OR_RUN_DIR",
                        help="checkpoint .npz (default: the bundled agent), or a run folder: its history, "
                             "a snapshot at a time ([ ] Home End, or a click on the curve)")
    parser.add_argument("--episodes", type=count, help="stop after this many episodes (default: until quit)")
    parser.add_argument("--seed", type=seed_number, default=0, help="env seed (default 0)")
    parser.add_argument("--sample", action="store_true", help="sample actions from the policy (default: greedy)")
    parser.add_argument("--speed", type=number,
                        help="0.25 to 8; 1 is the env's real time of 50 steps/s (default 1)")
    parser.add_argument("--frames", type=count, help="stop after this many frames (for scripts)")
    parser.add_argument("--record", metavar="PATH.gif|PATH.mp4", help="write the frames shown to a GIF or an MP4 "
                        "(video extra); without a display, off-screen (1 episode unless --episodes or --frames says)")
    parser.add_argument("--force", action="store_true", help="with --record: replace an existing file")
    parser.add_argument("--explain", action="store_true",
                        help="start in explain mode (x toggles it): input saliency, hidden units, advantages")
    parser.add_argument("--film", action="store_true", help="a run's learning (default: the bundled agent's): an "
                        "episode at each of about 12 snapshots, after a title card; in a window, or to --record")


def add_human_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=seed_number, default=0,
                        help="start state of the first round; each further round adds 1 (default 0)")
    parser.add_argument("--speed", type=number, default=0.5,
                        help="game speed, 0.25 to 2; 1 is the env's real time of 50 steps/s (default 0.5)")
    parser.add_argument("--agent", metavar="CKPT|RUN_DIR",
                        help="the opponent: a checkpoint (default: the bundled agent), or a run folder's last "
                             "snapshot, or its snapshot at --at")
    parser.add_argument("--at", type=seed_number, metavar="EPISODE",
                        help="with --agent RUN_DIR: the snapshot at or before this episode of the run")
    parser.add_argument("--ladder", nargs="?", const=True, metavar="RUN_DIR",
                        help="climb the stages of a run's training (default: the bundled agent's run), "
                             "from the untrained agent to its best; beat a stage to move up")
    parser.add_argument("--solo", action="store_true", help="play alone, without the agent beside you")
    parser.add_argument("--name", help="your name in the scores (default: your login name)")
    parser.add_argument("--scores", action="store_true", help="print the best rounds played so far and exit")


def add_eval_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?", help="checkpoint .npz (default: the bundled agent)")
    parser.add_argument("--episodes", type=count_at_most(EVAL_EPISODES_LIMIT), default=100,
                        help=f"episodes to play, at most {EVAL_EPISODES_LIMIT} (default 100)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--greedy", dest="greedy", action="store_true", default=True,
                      help="take the most probable action (default)")
    mode.add_argument("--sample", dest="greedy", action="store_false", help="sample actions from the policy")
    parser.add_argument("--seed", type=seed_number, default=0, help="env seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def add_inspect_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?", help="checkpoint .npz (default: the bundled agent)")
    parser.add_argument("--seed", type=seed_number, default=0, help="env seed of the greedy episode drawn (default 0)")
    parser.add_argument("--cart-x", type=number, default=0.0, metavar="M",
                        help="the cart's position in every state mapped, on the track (default 0)")
    parser.add_argument("--cart-v", type=number, default=0.0, metavar="M/S",
                        help="the cart's velocity in every state mapped (default 0)")
    parser.add_argument("--png", metavar="PATH.png", help="write the maps to a PNG image instead (no display needed)")
    parser.add_argument("--force", action="store_true", help="with --png: replace an existing file")
    parser.add_argument("--no-color", action="store_true",
                        help="shade characters instead of colours (so does the NO_COLOR variable)")


def add_bench_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=count, default=10, help="seeds to train (default 10)")
    parser.add_argument("--seed-start", type=seed_number, default=0, metavar="N",
                        help="the first seed; the others follow it (default 0)")
    parser.add_argument("--jobs", type=count, default=2, help="parallel processes (default 2)")
    parser.add_argument("--envs", type=counts, metavar="N[,N...]",
                        help="envs played side by side; a list such as 1,8,16,32 benches each setting in turn "
                             f"(at most {SWEEP_LIMIT}; one value with --memory and --tui) (default: as train, "
                             f"{TrainConfig.envs}, or 1 with the notebook preset)")
    parser.add_argument("--env", dest="env_id", default="CartPole-v1", help="gymnasium env id (default CartPole-v1)")
    parser.add_argument("--preset", default="default", choices=["default", "notebook"],
                        help="the settings to train with: 'notebook' benches the notebook's update (default 'default')")
    parser.add_argument("--update", choices=["rollout", "episode"],
                        help="the update to bench (default: the preset's, rollout for 'default')")
    parser.add_argument("--max-episodes", type=count, metavar="N",
                        help=f"give a seed up as unsolved after N episodes, rounded up to whole batches of --envs "
                             f"(default {TrainConfig.max_episodes})")
    parser.add_argument("--json", action="store_true",
                        help="print JSON instead of a table: one object for one --envs setting; for several, "
                             "one object whose \"settings\" holds a list of them, one per setting")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--memory", type=count, metavar="EPISODES", default=None,
                      help="instead: train this many episodes and report resident memory growth")
    mode.add_argument("--tui", action="store_true",
                      help="instead: compare training throughput under the TUI with headless")
    mode.add_argument("--render", action="store_true", help="instead: time drawing one 800x500 watch frame")


def error_line(exc: AcPlayError) -> str:
    """The sentence the user sees; a setting is named by its flag when it has one."""
    flags = {**TRAINING_FLAGS, **OTHER_FLAGS, **INSPECT_FLAGS}
    if isinstance(exc, SettingError) and exc.field in flags:
        return f"{flags[exc.field]} {exc.reason}"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    usable_streams()
    args = build_parser().parse_args(argv)
    # one line per problem: libraries' warnings (gymnasium's deprecations) are not the user's to act on.
    # Not a filter: gymnasium adds filters of its own when it is imported, in front of ours
    warnings.showwarning = ignore_warning
    try:
        code = args.run(args)
        sys.stdout.flush()
        return code
    except AcPlayError as exc:
        print(f"ac-play: error: {printable(error_line(exc))}", file=sys.stderr)  # messages quote paths and metadata
        return 2
    except KeyboardInterrupt:
        # training saves its own checkpoint on Ctrl-C; anything else has nothing to lose
        print("ac-play: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # whoever read our output stopped (`| head`): nothing to say, and nothing more to write
        silence_stdout()
        return 141
    except OSError as exc:  # what no module turned into a sentence: most often the output (`> /dev/full`)
        where = f" ({exc.filename})" if exc.filename else " (writing the output)"
        print(f"ac-play: error: {printable((exc.strerror or str(exc)) + where)}", file=sys.stderr)
        return 2


def ignore_warning(*args, **kwargs) -> None:
    """Where warnings go on the command line: nowhere."""


def usable_streams() -> None:
    """Standard streams that can take any text: closed ones (`>&-`) go nowhere, unencodable text is escaped."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))
        stream = getattr(sys, name)
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
