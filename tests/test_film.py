"""`ac-play watch --film`: a run's learning as a film of title cards and episodes, as GIF, MP4 or in a window."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pygame
import pytest
from PIL import Image

from ac_play import history
from ac_play.window import film

NO_DISPLAY = {name: value for name, value in os.environ.items()
              if name not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
"""A server's environment: no display, and no video driver asked for."""
SMALL = (160, 100)
"""A film size for in-process tests: every part is drawn, at a fraction of the cost."""
TAU = 0.02


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A short real run whose history holds a snapshot after each of its 30 episodes (one update each)."""
    from conftest import run_cli

    out = tmp_path_factory.mktemp("film") / "run"
    result = run_cli("train", "--headless", "--episodes", 30, "--envs", 1, "--update", "episode", "--seed", 3,
                     "--out", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def run_history(run_dir):
    return history.load(run_dir)


def test_short_episodes_play_at_real_time_and_long_ones_are_sped_up_to_fit():
    assert film.film_speed(10, TAU) == 1
    assert film.film_speed(100, TAU) == 1  # 2 s at 1x: the cap exactly
    assert film.film_speed(101, TAU) == 2
    assert film.film_speed(400, TAU) == 4
    assert film.film_speed(500, TAU) == 8  # CartPole-v1's longest: 1.25 s of film
    assert film.film_speed(5000, TAU) == 8  # no faster: the episode is cut instead


def card(episode: int, last: int = 200) -> film.Card:
    return film.Card(episode, 0, last, running_reward=episode / 2, speed=1, running=np.linspace(10, 300, last))


def bar_filled(surface: pygame.Surface) -> int:
    """Pixels of the title card's bar filled in, along its middle row."""
    bar = film.card_bar(surface)
    row = pygame.surfarray.array3d(surface)[bar.x:bar.right, bar.centery]
    return int(np.all(np.abs(row.astype(int) - film.CARD_BAR) <= 12, axis=-1).sum())


def test_a_title_card_says_its_episode_and_fills_its_bar_as_far_through_the_run(fonts):
    surface = pygame.Surface(film.FILM_SIZE)
    filled = []
    for episode in (0, 50, 200):
        film.draw_card(surface, card(episode))
        filled.append(bar_filled(surface))
    bar = film.card_bar(surface)
    assert filled[0] == 0 and abs(filled[1] - bar.width / 4) <= 1 and filled[2] == bar.width
    assert card(40).title == "episode 40: running reward 20"
    assert card(0).subtitle == "before any training · played at 1x"


def near_card_background(pixels) -> np.ndarray:
    return np.all(np.abs(np.asarray(pixels, dtype=int) - film.CARD_BACKGROUND) <= 4, axis=-1)


def is_card(frame: Image.Image) -> bool:
    """A title card: its background fills nearly all of the frame (an episode's scene holds about half)."""
    frame = frame.convert("RGB")
    if not near_card_background(frame.getpixel((0, 0))):  # the cheap test first: most frames are not cards
        return False
    return near_card_background(np.asarray(frame)).mean() > 0.85


def gif_cards(path) -> tuple[list[int], int]:
    """Each title card's filled bar length, in the order shown, and the frames in the GIF."""
    filled = []
    with Image.open(path) as gif:
        for index in range(gif.n_frames):
            gif.seek(index)
            if is_card(gif):
                surface = pygame.image.frombytes(gif.convert("RGB").tobytes(), gif.size, "RGB")
                filled.append(bar_filled(surface))
        return filled, gif.n_frames


def test_film_without_a_display_writes_a_gif_of_title_cards_in_episode_order(cli, run_dir, run_history, tmp_path):
    out = tmp_path / "learning.gif"
    result = cli("watch", run_dir, "--film", "--record", out, env=NO_DISPLAY, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    episodes = [run_history.snapshots[index].progress.episode for index in run_history.spread(film.FILM_SNAPSHOTS)]
    assert len(episodes) >= 10 and episodes == sorted(set(episodes))
    assert f"{len(episodes)} scenes (episodes {', '.join(map(str, episodes))})" in result.stdout
    filled, frames = gif_cards(out)
    assert len(filled) == len(episodes)  # one card per scene, nothing else drawn like a card
    assert filled == sorted(set(filled)) and filled[0] == 0  # each card further through the run
    assert frames > 3 * len(filled)
    assert [path.name for path in tmp_path.iterdir()] == ["learning.gif"]


def frame_digests(run_history, seed: int) -> list[tuple[str, int]]:
    """Each frame of a four-scene film, as a digest, with its repeat count."""
    return [(hashlib.sha256(pygame.image.tobytes(frame, "RGB")).hexdigest(), repeats)
            for frame, repeats in film.film_frames(run_history, seed, size=SMALL, count=4)]


def test_the_same_run_and_seed_give_the_same_film(run_history, fonts):
    first = frame_digests(run_history, seed=5)
    assert first == frame_digests(run_history, seed=5)
    assert first != frame_digests(run_history, seed=6)  # another start state: other episodes


def test_film_to_mp4_holds_every_frame(run_dir, tmp_path, monkeypatch, capsys, fonts):
    pytest.importorskip("imageio_ffmpeg")
    import imageio.v2 as imageio

    monkeypatch.setattr(film, "FILM_SIZE", SMALL)
    out = tmp_path / "learning.mp4"
    assert film.run_film(str(run_dir), seed=0, record=str(out)) == 0
    printed = capsys.readouterr().out
    frames = int(printed.split(" frames (")[0].rsplit(" ", 1)[1])
    with imageio.get_reader(out, format="FFMPEG") as video:
        assert video.count_frames() == frames
        assert video.get_meta_data()["fps"] == film.FILM_FPS
    assert [path.name for path in tmp_path.iterdir()] == ["learning.mp4"]


def refused(cli, *args) -> str:
    result = cli("watch", *args, env=NO_DISPLAY)
    assert result.returncode == 2, result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("ac-play: error: ")
    return line


def test_film_of_a_checkpoint_is_refused_in_one_line(cli, run_dir, tmp_path):
    line = refused(cli, run_dir / "final.npz", "--film", "--record", tmp_path / "x.gif")
    assert line == (f"ac-play: error: --film plays a run folder's history, and {run_dir / 'final.npz'} is not a "
                    "folder (for a checkpoint, give the run folder it is in)")
    assert list(tmp_path.iterdir()) == []


def test_film_of_a_truncated_history_is_one_line_naming_it(cli, run_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    whole = (run_dir / history.HISTORY_NAME).read_bytes()
    (broken / history.HISTORY_NAME).write_bytes(whole[: len(whole) // 2])
    line = refused(cli, broken, "--film", "--record", tmp_path / "x.gif")
    assert str(broken / history.HISTORY_NAME) in line
    assert not (tmp_path / "x.gif").exists()


@pytest.mark.parametrize("flag", [["--episodes", "2"], ["--frames", "2"], ["--speed", "2"], ["--explain"]],
                         ids=lambda flag: flag[0])
def test_film_refuses_the_flags_that_set_length_speed_or_view(cli, flag):
    line = refused(cli, "--film", *flag)
    assert line == f"ac-play: error: --film plays one episode per scene at a speed fitted to it, and takes no {flag[0]}"


def test_film_without_record_or_display_says_how_to_record_it(cli, run_dir):
    line = refused(cli, run_dir, "--film")
    assert line.startswith("ac-play: error: no display") and "--film --record learning.gif" in line


def test_film_in_a_window_starts_with_the_first_title_card_and_q_ends_it(display, run_history):
    pygame.event.clear()
    assert film.show_film(display, film.film_frames(run_history, size=film.FILM_SIZE), limit=3) == 3
    shown = display.subsurface(pygame.Rect((0, 0), film.FILM_SIZE))
    assert is_card(Image.frombytes("RGB", film.FILM_SIZE, pygame.image.tobytes(shown, "RGB")))
    assert bar_filled(shown) == 0  # the first snapshot's card
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, unicode="q", mod=0))
    assert film.show_film(display, film.film_frames(run_history, size=SMALL)) == 0
