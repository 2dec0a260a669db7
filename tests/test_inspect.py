"""`ac-play inspect`: the policy map in the terminal and as a PNG, its numbers, and the input it refuses."""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from ac_play import cli
from ac_play.cartpole import Track
from ac_play.config import TrainConfig
from ac_play.inspect import LEFT_BLUE, RIGHT_RED, dead_units, grid_states, inspect, map_extent, weight_norms
from ac_play.inspect_text import GUTTER, SHADES, Style, layout_for, render
from ac_play.snapshot import Snapshot
from ac_play.training import Trainer
from ac_play.window.policy_map import IMAGE_SIZE, panel_axes

NO_DISPLAY = {name: value for name, value in os.environ.items()
              if name not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "NO_COLOR", "COLORTERM")}
"""A server's environment: no display (SDL's dummy driver set again where a test wants it), no colour settings."""
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
FALLING_RIGHT = (math.radians(8), 1.5)
"""Leaning right and turning right fast: any balancing agent pushes right (the mirror state: left)."""


@pytest.fixture(scope="module")
def bundled_inspection():
    return inspect(None, seed=0)


def visible(line: str) -> str:
    return ESCAPE.sub("", line)


def assert_fits(lines: list[str], width: int, height: int) -> None:
    assert len(lines) <= height - 1, len(lines)  # the last line is the prompt's
    assert all(len(visible(line)) <= width for line in lines), max(lines, key=lambda line: len(visible(line)))


# the PNG


def test_png_without_a_display_pushes_right_where_the_pole_falls_right(tmp_path):
    out = tmp_path / "map.png"
    result = run_cli("inspect", "--png", out, env={**NO_DISPLAY, "SDL_VIDEODRIVER": "dummy"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1] == f"wrote the policy map of cartpole-v1.npz (bundled) to {out}"
    assert result.stdout.startswith("weight norms (L2): W1 ")
    with Image.open(out) as image:
        assert image.size == IMAGE_SIZE
        pixels = np.asarray(image.convert("RGB")).astype(int)
    prob_axes = panel_axes(map_extent(Track.from_env_id("CartPole-v1")))[0]
    angle, velocity = FALLING_RIGHT
    for state, colour in (((angle, velocity), RIGHT_RED), ((-angle, -velocity), LEFT_BLUE)):
        x, y = prob_axes.to_pixel(*state)
        pixel = pixels[round(y), round(x)]
        assert np.abs(pixel - colour).max() <= 12, (state, pixel)
    assert not list(tmp_path.glob(".*.tmp"))


def test_png_refuses_to_replace_a_file_without_force(tmp_path):
    out = tmp_path / "map.png"
    out.write_bytes(b"mine")
    result = run_cli("inspect", "--png", out, env={**NO_DISPLAY, "SDL_VIDEODRIVER": "dummy"})
    assert result.returncode == 2
    assert result.stderr == f"ac-play: error: --force is needed to replace {out}, which exists already\n"
    assert out.read_bytes() == b"mine"


# the numbers


def test_the_maps_are_the_agents_forward_pass_at_each_grid_point():
    inspection = inspect(None, cart_x=0.5, cart_v=-0.3)
    policy = inspection.grid(7, 5)
    assert policy.probs_right.shape == policy.values.shape == (5, 7)
    assert policy.velocities[0] > 0 > policy.velocities[-1] and policy.angles[0] < 0 < policy.angles[-1]
    for row, column in ((0, 0), (2, 3), (4, 6), (1, 5)):
        obs = np.array([[0.5, -0.3, policy.angles[column], policy.velocities[row]]])
        probs, critic = inspection.agent.forward(obs)
        assert policy.probs_right[row, column] == pytest.approx(probs[0, 1], abs=1e-12)
        assert policy.values[row, column] == pytest.approx(inspection.scale.values(critic)[0], abs=1e-9)
    assert policy.value_units == "return"


def test_grid_states_are_cell_centres_across_the_failure_limits_with_the_cart_fixed():
    extent = map_extent(Track.from_env_id("CartPole-v1"))
    obs = grid_states(extent, 4, 2, 1.0, 2.0).reshape(2, 4, 4)
    assert np.all(obs[..., 0] == 1.0) and np.all(obs[..., 1] == 2.0)
    assert obs[0, :, 2] == pytest.approx(np.array([-0.75, -0.25, 0.25, 0.75]) * extent.angle)
    assert obs[:, 0, 3] == pytest.approx([extent.velocity / 2, -extent.velocity / 2])
    assert extent.angle > math.radians(12)


def test_weight_norms_and_dead_units_on_a_hand_checked_agent():
    from ac_play.agent import ActorCritic

    agent = ActorCritic.create(obs_dim=2, n_actions=2, hidden=3)
    agent.params["W1"][:] = [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]
    agent.params["b1"][:] = [0.0, 0.0, -1.0]  # unit 3 never fires; unit 2 fires only for negative inputs
    assert dead_units(agent, np.array([[1.0, 5.0], [2.0, -3.0]])) == 2
    assert dead_units(agent, np.array([[1.0, 5.0], [-2.0, -3.0]])) == 1
    assert weight_norms(agent.params)["W1"] == pytest.approx(math.sqrt(2))
    assert list(weight_norms(agent.params)) == ["W1", "b1", "Wa", "ba", "Wc", "bc"]


def test_the_statistics_name_their_sample(bundled_inspection):
    norms, dead = bundled_inspection.stats_lines()
    assert re.fullmatch(r"weight norms \(L2\): W1 [\d.]+  b1 [\d.]+  Wa [\d.]+  ba [\d.]+  Wc [\d.]+  bc [\d.]+", norms)
    assert re.fullmatch(r"dead ReLUs: \d+ of 128 \(\d+%\), zero on [\d,]+ states \(3 greedy, 3 random episodes\)", dead)
    assert bundled_inspection.episode_length == 500  # the bundled agent balances its greedy episode to the end


# the terminal


@pytest.mark.parametrize("colour", [{"COLORTERM": "truecolor"}, {"NO_COLOR": "1"}], ids=["truecolor", "NO_COLOR"])
def test_the_terminal_map_fits_80x24_without_wrapping(colour):
    result = run_cli("inspect", env={**NO_DISPLAY, "COLUMNS": "80", "LINES": "24", **colour})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert_fits(lines, 80, 24)
    assert "P(push right)" in lines[1] and "critic V (return)" in lines[1]
    assert lines[-1].startswith("dead ReLUs: ")
    assert ("\x1b[38;2;" in result.stdout) == ("COLORTERM" in colour)


@pytest.mark.parametrize("colour", ["truecolor", "256", "none"])
def test_the_terminal_map_grows_with_the_terminal(bundled_inspection, colour):
    small, big = (render(bundled_inspection, *size, Style(colour)) for size in ((80, 24), (150, 50)))
    assert_fits(big, 150, 50)
    assert len(big) > len(small)
    assert max(len(visible(line)) for line in big) > 120
    assert all(("\x1b[" in line) == (colour != "none") for line in big[2:4])
    if colour == "256":
        assert "\x1b[38;5;" in big[3] and "\x1b[38;2;" not in big[3]


def test_a_narrow_terminal_stacks_the_maps(bundled_inspection):
    lines = render(bundled_inspection, 50, 40, Style("none"))
    assert_fits(lines, 50, 40)
    assert not layout_for(50, 40).side_by_side
    assert [i for i, line in enumerate(lines) if "P(push right)" in line] < [
        i for i, line in enumerate(lines) if "critic V" in line]


def test_the_shade_map_pushes_right_where_the_pole_falls_right(bundled_inspection):
    lines = render(bundled_inspection, 80, 24, Style("none"))
    shape = layout_for(80, 24)
    axes = bundled_inspection.grid(shape.columns, shape.rows).axes()
    angle, velocity = FALLING_RIGHT
    for state, shade in (((angle, velocity), SHADES[-1]), ((-angle, -velocity), SHADES[0])):
        row, column = axes.cell(*state)
        assert lines[2 + row][GUTTER + column] == shade, state  # below the title and the headings


def test_no_color_flag_prints_no_escape_codes(bundled_inspection, monkeypatch, capsys):
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "24")
    assert cli.main(["inspect", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "@" in out
    assert_fits(out.splitlines(), 80, 24)


def test_a_critic_without_return_statistics_is_mapped_in_normalised_units(tmp_path):
    fresh = Snapshot.of(Trainer(TrainConfig(hidden=8, envs=1))).save(tmp_path / "fresh.npz")
    inspection = inspect(str(fresh))
    assert inspection.grid(3, 2).value_units == "normalised"
    assert "critic V (normalised)" in render(inspection, 80, 24, Style("none"))[1]


def test_a_long_checkpoint_path_is_cut_to_the_terminal(bundled, tmp_path):
    folder = tmp_path / ("d" * 150)
    folder.mkdir()
    (folder / "agent.npz").write_bytes(bundled.path.read_bytes())
    lines = render(inspect(str(folder / "agent.npz")), 80, 24, Style("truecolor"))
    assert_fits(lines, 80, 24)
    assert re.fullmatch(r"…d+/agent.npz, cart x 0 m, v 0 m/s; greedy seed 0: 500 steps", lines[0])


# what it refuses


def test_help_shows_every_flag(capsys):
    assert exit_code(["inspect", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ac-play inspect")
    for flag in ("checkpoint", "--seed", "--cart-x", "--cart-v", "--png", "--force", "--no-color"):
        assert flag in out


@pytest.fixture(scope="module")
def acrobot(tmp_path_factory):
    path = tmp_path_factory.mktemp("acrobot") / "acrobot.npz"
    return Snapshot.of(Trainer(TrainConfig(env_id="Acrobot-v1", hidden=8, envs=1))).save(path)


def exit_code(argv: list[str]) -> int:
    """The CLI in this process; argparse's own refusals exit through SystemExit."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


def a_folder(tmp_path):
    (tmp_path / "folder.png").mkdir()
    return tmp_path / "folder.png"


def a_text_file(tmp_path):
    (tmp_path / "notes.npz").write_text("not a checkpoint")
    return tmp_path / "notes.npz"


BAD = {
    "cart off the track": (lambda tmp, acrobot: ["--cart-x", "3"], "--cart-x must be between -2.4 and 2.4, not 3"),
    "cart x nan": (lambda tmp, acrobot: ["--cart-x", "nan"], "--cart-x must be a finite number, not nan"),
    "cart v infinite": (lambda tmp, acrobot: ["--cart-v=-inf"], "--cart-v must be a finite number, not -inf"),
    "cart v a word": (lambda tmp, acrobot: ["--cart-v", "fast"], "expected a number, not 'fast'"),
    "negative seed": (lambda tmp, acrobot: ["--seed", "-1"], "expected 0 or more, not -1"),
    "force alone": (lambda tmp, acrobot: ["--force"], "--force replaces the file of --png, and needs --png"),
    "empty png": (lambda tmp, acrobot: ["--png", ""], "--png needs a file name, such as policy-map.png"),
    "png a folder": (lambda tmp, acrobot: ["--png", str(a_folder(tmp))],
                     "--png needs a file, and {tmp}/folder.png is a folder"),
    "png a gif": (lambda tmp, acrobot: ["--png", str(tmp / "map.gif")], "--png needs a .png path, not map.gif"),
    "png in no folder": (lambda tmp, acrobot: ["--png", str(tmp / "missing" / "m.png")],
                         "cannot write {tmp}/missing/m.png: folder {tmp}/missing does not exist"),
    "png in a folder that takes no file": (lambda tmp, acrobot: ["--png", "/sys/map.png"],
                                           "cannot write in folder /sys: "),
    "no such checkpoint": (lambda tmp, acrobot: [str(tmp / "none.npz")], "checkpoint not found: {tmp}/none.npz"),
    "checkpoint a folder": (lambda tmp, acrobot: [str(tmp)], "{tmp} is a folder, not a checkpoint"),
    "checkpoint text": (lambda tmp, acrobot: [str(a_text_file(tmp))],
                        "{tmp}/notes.npz is not a readable .npz checkpoint"),
    "not cartpole": (lambda tmp, acrobot: [str(acrobot)],
                     "{acrobot} plays Acrobot-v1; the policy map is drawn for CartPole only"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_arguments_and_checkpoints_are_one_line_and_exit_2(case, tmp_path, acrobot, capsys):
    args, words = BAD[case]
    code = exit_code(["inspect", *args(tmp_path, acrobot)])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ac-play: error: "), captured.err
    assert words.format(tmp=tmp_path, acrobot=acrobot) in lines[0]
    assert captured.out == ""
    assert not [path for path in tmp_path.glob("*.png") if path.is_file()] and not list(tmp_path.glob(".*"))
