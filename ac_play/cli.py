"""The `ac-play` command line: train, watch, human, eval, bench.

Every subcommand's work lives in its own module, imported only when that subcommand runs, so
`ac-play --help` and the headless paths never load a UI library.
"""

from __future__ import annotations

import argparse
import os
import sys

from ac_play import __version__
from ac_play.errors import AcPlayError

# Nothing above imports NumPy, so this still takes effect.
# Our matrices are small (at most a few thousand rows by 128): BLAS worker threads cost more in
# wake-ups than they save, and training ran twice as fast with one thread on a 2-core machine.
# A value the user exported wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


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


def add_training_args(parser: argparse.ArgumentParser) -> None:
    """Flags shared by headless training and the TUI; None means "the preset's value"."""
    parser.add_argument("--env", dest="env_id", help="gymnasium env id (default CartPole-v1)")
    parser.add_argument("--seed", type=whole_number, help="random seed (default 0)")
    parser.add_argument("--episodes", type=whole_number, help="train this many episodes (default: until solved)")
    parser.add_argument("--envs", type=whole_number, help="episodes played at once, a vector env above 1 (default 1)")
    parser.add_argument("--lr", type=number, help="learning rate (default 0.005 x sqrt(envs), at most 0.02)")
    parser.add_argument("--gamma", type=number, help="discount factor in (0, 1] (default 0.99)")
    parser.add_argument("--hidden", type=whole_number, help="hidden units of the shared layer (default 128)")
    parser.add_argument("--entropy", type=number, help="entropy bonus coefficient (default 0)")
    parser.add_argument("--preset", default="default", choices=["default", "notebook"],
                        help="'notebook' reproduces the original notebook's settings (and its failure)")
    parser.add_argument("--out", help="run folder (default: a new folder under runs/)")
    parser.add_argument("--resume", metavar="CKPT", help="continue training from this checkpoint")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ac-play",
        description="Watch a hand-written NumPy actor-critic learn CartPole, then play against it.",
    )
    parser.add_argument("--version", action="version", version=f"ac-play {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = sub.add_parser("train", help="train an agent (a terminal UI, or --headless)",
                           description="Train the actor-critic. Opens the terminal UI unless --headless.")
    add_training_args(train)
    train.add_argument("--headless", action="store_true", help="no UI: print progress, write the run folder")
    train.add_argument("--json", action="store_true", help="with --headless: print JSON Lines, one per episode")
    train.add_argument("--window", action="store_true", help="also show the current policy in a pygame window")

    watch = sub.add_parser("watch", help="watch an agent play in a pygame window",
                           description="Watch a checkpoint (default: the bundled agent) play CartPole.")
    add_watch_args(watch)

    human = sub.add_parser("human", help="play CartPole yourself, against the agent",
                           description="Play CartPole with the keyboard, side by side with the agent.")
    add_human_args(human)

    evaluate = sub.add_parser("eval", help="score a checkpoint over many episodes",
                              description="Play episodes with a checkpoint and print mean, std, min and max return.")
    evaluate.add_argument("checkpoint", nargs="?", help="checkpoint .npz (default: the bundled agent)")
    evaluate.add_argument("--episodes", type=count, default=100, help="episodes to play (default 100)")
    mode = evaluate.add_mutually_exclusive_group()
    mode.add_argument("--greedy", dest="greedy", action="store_true", default=True,
                      help="take the most probable action (default)")
    mode.add_argument("--sample", dest="greedy", action="store_false", help="sample actions from the policy")
    evaluate.add_argument("--seed", type=seed_number, default=0, help="env seed (default 0)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    bench = sub.add_parser("bench", help="measure learning speed and throughput",
                           description="Train several seeds headless and report medians and throughput.")
    add_bench_args(bench)
    return parser


def add_watch_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?", help="checkpoint .npz (default: the bundled agent)")
    parser.add_argument("--episodes", type=count, help="stop after this many episodes (default: until quit)")
    parser.add_argument("--seed", type=seed_number, default=0, help="env seed (default 0)")
    parser.add_argument("--sample", action="store_true", help="sample actions from the policy (default: greedy)")
    parser.add_argument("--speed", type=number, default=1.0,
                        help="0.25 to 8; 1 is the env's real time of 50 steps/s (default 1)")
    parser.add_argument("--frames", type=count, help="stop after this many frames (for scripts)")
    parser.add_argument("--record", metavar="PATH.gif", help="write the frames shown to a GIF")


def add_human_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=seed_number, default=0,
                        help="start state of the first round; each further round adds 1 (default 0)")
    parser.add_argument("--speed", type=number, default=0.5,
                        help="game speed, 0.25 to 2; 1 is the env's real time of 50 steps/s (default 0.5)")
    parser.add_argument("--agent", metavar="CKPT", help="the opponent's checkpoint (default: the bundled agent)")
    parser.add_argument("--solo", action="store_true", help="play alone, without the agent beside you")
    parser.add_argument("--name", help="your name in the scores (default: your login name)")
    parser.add_argument("--scores", action="store_true", help="print the best rounds played so far and exit")


def add_bench_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=count, default=10, help="seeds to train (default 10)")
    parser.add_argument("--jobs", type=count, default=2, help="parallel processes (default 2)")
    parser.add_argument("--envs", type=whole_number, default=None, help="episodes played at once (default: 1)")
    parser.add_argument("--env", dest="env_id", default="CartPole-v1", help="gymnasium env id")
    parser.add_argument("--memory", type=count, metavar="EPISODES", default=None,
                        help="instead: train this many episodes and report resident memory growth")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--tui", action="store_true",
                        help="instead: compare training throughput under the TUI with headless")
    parser.add_argument("--render", action="store_true", help="instead: time drawing one 800x500 watch frame")


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "bench" and args.tui:
        from ac_play.tui.bench import run_tui_bench

        return run_tui_bench(args)
    if args.command == "bench" and args.render:
        from ac_play.render_bench import run_render_bench

        return run_render_bench(args)
    if args.command == "train" and args.headless:
        from ac_play.headless import run_headless

        return run_headless(args)
    if args.command == "train":
        from ac_play.tui.main import run_tui

        return run_tui(args)
    if args.command == "eval":
        from ac_play.evaluate import run_eval

        return run_eval(args)
    if args.command == "bench":
        from ac_play.bench import run_bench

        return run_bench(args)
    if args.command == "watch":
        from ac_play.viewer import run_watch

        return run_watch(args)
    from ac_play.human import run_human

    return run_human(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except AcPlayError as exc:
        print(f"ac-play: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # training saves its own checkpoint on Ctrl-C; anything else has nothing to lose
        print("ac-play: interrupted", file=sys.stderr)
        return 130
