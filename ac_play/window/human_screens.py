"""The screens of `ac-play human`: the title, and the split screen with its countdown, pause and result.

Each side of the split screen is one `draw.draw_frame`; this module adds only what belongs to
the game (rules, the countdown, the score of the round and the session) on top.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pygame

from ac_play.window import draw, keys

if TYPE_CHECKING:
    from ac_play.window.human import Game, Side
    from ac_play.window.ladder import Ladder

SIDE_SIZE = (640, 560)
STATUS_HEIGHT = 44
SHADE = (16, 18, 24, 235)
GOOD = (152, 195, 121)
BAD = (224, 108, 117)


def window_size(solo: bool) -> tuple[int, int]:
    """Two sides of SIDE_SIZE against the agent (one, wider, alone), plus the status line."""
    width, height = SIDE_SIZE
    return (int(1.5 * width) if solo else 2 * width, height + STATUS_HEIGHT)


def draw_game(surface: pygame.Surface, game: Game) -> None:
    surface.fill(draw.BACKGROUND)
    if game.state == "title" or game.player is None:
        draw_title(surface, game)
        return
    draw_sides(surface, game)
    draw_status(surface, game)
    if game.state == "countdown":
        draw_countdown(surface, game)
    elif game.state == "paused":
        draw_box(surface, [("Paused", 44, draw.TEXT)], keys=keys.hints(game.keymap, game.state))
    elif game.state == "result":
        draw_result(surface, game)


def side_rects(surface: pygame.Surface, count: int) -> list[pygame.Rect]:
    width = surface.get_width() // count
    height = surface.get_height() - STATUS_HEIGHT
    return [pygame.Rect(i * width, 0, width, height).inflate(-4, -4) for i in range(count)]


def draw_sides(surface: pygame.Surface, game: Game) -> None:
    sides = [side for side in (game.player, game.opponent) if side is not None]
    for side, rect in zip(sides, side_rects(surface, len(sides)), strict=True):
        draw.draw_frame(surface, scene_for(side, game, human=side is game.player), rect)


def scene_for(side: Side, game: Game, human: bool) -> draw.Scene:
    """A side's frame: the player's probabilities are the agent's hint, shown only when asked for."""
    return draw.Scene(
        track=side.track,
        x=float(side.obs[0]),
        theta=float(side.obs[2]),
        probs=None if human and not game.hint else [float(p) for p in side.probs],
        # the agent's highlighted bar is the action it takes in the state shown, as in watch
        action=side.action if human or side.done else side.greedy_action(),
        value=side.value,
        values=side.values,
        step=side.steps,
        episode_return=float(side.steps),
        episode=game.round_number,
        label=f"you ({side.label})" if human else side.label,
        mode="human" if human else "greedy",
        speed=game.speed,
        paused=game.state == "paused",
        value_units=game.value_scale.units,
        message=side.ending() or None,
        source=(("hint: the agent's probabilities for your state" if game.hint else "h: ask the agent for a hint")
                if human else "the agent, taking its most probable action"),
    )


def draw_status(surface: pygame.Surface, game: Game) -> None:
    """The bottom line: the keys on the left, the round, speed and session record on the right."""
    bar = pygame.Rect(0, surface.get_height() - STATUS_HEIGHT, surface.get_width(), STATUS_HEIGHT)
    surface.fill(draw.PANEL, bar)
    hints = keys.hints(game.keymap, game.state) + f"    (hint {'on' if game.hint else 'off'})"
    surface.blit(draw.text(hints, 22, draw.DIM_TEXT), (12, bar.y + 13))
    record = game.record
    right = f"round {game.round_number}  seed {game.round_seed}  {game.speed:g}x ({game.steps_per_second:g} steps/s)  "
    if not game.solo:
        right += f"session {record['wins']}W {record['ties']}T {record['losses']}L  "
    label = draw.text(right + f"best {record['best']}", 22, draw.TEXT)
    place = label.get_rect(topright=(bar.right - 12, bar.y + 13))
    surface.blit(label, place)
    if game.ladder:  # the stage, in the pole's colour, first on the right
        stage = draw.text(stage_line(game), 22, draw.POLE, True)
        surface.blit(stage, stage.get_rect(topright=(place.x - 24, bar.y + 12)))


def stage_line(game: Game) -> str:
    """The ladder's stage being played, "stage 3 of 8" ("" without a ladder); the agent's header says whose."""
    return game.ladder.position if game.ladder else ""


def draw_countdown(surface: pygame.Surface, game: Game) -> None:
    number = max(1, math.ceil(game.countdown_ms / 1000))
    ready = f"get ready: hold {game.push_keys}"
    draw_box(surface, [(str(number), 120, draw.POLE), (ready, 30, draw.TEXT)])


def outcome(game: Game) -> tuple[str, tuple[int, int, int]]:
    player, opponent = game.player, game.opponent
    if opponent is None:
        return f"You kept the pole up for {player.steps} steps", draw.TEXT
    if player.steps > opponent.steps:
        return "You beat the agent!", GOOD
    if player.steps == opponent.steps:
        return "A tie with the agent", draw.POLE
    return "The agent wins this round", BAD


def draw_result(surface: pygame.Surface, game: Game) -> None:
    """The score of the round, low on the screen so both carts stay in view as they ended."""
    headline, colour = outcome(game)
    steps = f"you: {game.player.steps} steps ({game.player.ending()})"
    if game.opponent is not None:
        steps += f"    agent: {game.opponent.steps} steps ({game.opponent.ending()})"
    record = game.record
    session = f"this session: {plural(record['rounds'], 'round')}, your best {record['best']} steps"
    if not game.solo:
        session += f", {record['wins']} won, {record['ties']} tied, {record['losses']} lost"
    lines = [(headline, 44, colour), (steps, 28, draw.TEXT), (session, 24, draw.DIM_TEXT)]
    if game.ladder:
        lines.insert(1, (game.ladder.news, 30, GOOD if game.ladder.beaten else draw.POLE))
    if game.notice:
        lines.append((game.notice, 20, BAD))
    draw_box(surface, lines, keys=keys.hints(game.keymap, game.state), low=True)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def draw_box(surface: pygame.Surface, lines: list[tuple[str, int, tuple]], keys: str = "", low: bool = False) -> None:
    """Centred lines of text on a dark translucent panel over the split screen (or its lower part)."""
    rendered = [draw.text(words, size, colour, size >= 40) for words, size, colour in lines]
    if keys:
        rendered.append(draw.text(keys, 22, draw.DIM_TEXT))
    width = min(surface.get_width() - 40, max(image.get_width() for image in rendered) + 80)
    height = sum(image.get_height() + 10 for image in rendered) + 36
    box = pygame.Rect(0, 0, width, height)
    area_bottom = surface.get_height() - STATUS_HEIGHT
    box.center = (surface.get_width() // 2, area_bottom // 2)
    if low:
        box.bottom = area_bottom - 8
    shade = pygame.Surface(box.size, pygame.SRCALPHA)
    shade.fill(SHADE)
    surface.blit(shade, box)
    pygame.draw.rect(surface, draw.GRID, box, 2, border_radius=8)
    y = box.y + 18
    for image in rendered:
        surface.blit(image, image.get_rect(midtop=(box.centerx, y)))
        y += image.get_height() + 10


def title_lines(game: Game) -> list[tuple[str, int, tuple]]:
    """The rules, with every number taken from the env and the game's settings."""
    track = game.track
    limit = f"{track.max_episode_steps} steps" if track.max_episode_steps else "the env's step limit"
    opponent = f"The agent ({game.agent_name}) plays the very same start beside you."
    if game.solo:
        opponent = "You play alone (--solo)."
    if game.ladder:
        opponent = ladder_intro(game.ladder)
    return [
        ("CartPole: keep it up" if game.solo else "CartPole: you against the agent", 52, draw.TEXT),
        ("Keep the pole up for as long as you can.", 30, draw.TEXT),
        (opponent, 26, draw.DIM_TEXT),
        *([(f"Now {game.ladder.position}: {game.ladder.opponent}.", 26, draw.POLE)] if game.ladder else []),
        (f"Hold {game.push_keys} to push the cart.", 28, draw.CART),
        (game.no_key_rule, 26, draw.POLE),
        (
            f"A round ends when the pole leans past {math.degrees(track.theta_threshold_radians):.0f}\u00b0, "
            f"the cart goes {track.x_threshold:g} m from the centre, or after {limit}.",
            24,
            draw.DIM_TEXT,
        ),
        (
            f"speed {game.speed:g}x ({game.steps_per_second:g} steps a second)    "
            f"first seed {game.seed}    scores are saved as {game.name!r}",
            24,
            draw.DIM_TEXT,
        ),
        ("h shows the agent's advice (its probabilities for your state)", 24, draw.DIM_TEXT),
    ]


def ladder_intro(ladder: Ladder) -> str:
    first, last = ladder.stages[0].episode, ladder.stages[-1].episode
    return (f"A ladder of {len(ladder.stages)} stages of the agent's training, from episode {first} to {last}: "
            "outlast a stage to move up.")


def draw_title(surface: pygame.Surface, game: Game) -> None:
    lines = title_lines(game)
    if game.record["rounds"]:
        record = game.record
        lines.append((f"this session: {plural(record['rounds'], 'round')}, your best {record['best']} steps", 24, GOOD))
    if game.notice:
        lines.append((game.notice, 20, BAD))
    draw_box(surface, lines, keys=keys.hints(game.keymap, game.state))
