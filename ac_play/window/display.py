"""Opening a window: one display check and one error for `watch`, the live window and `human`."""

from __future__ import annotations

import os
import sys

import pygame

from ac_play.errors import AcPlayError

HEADLESS_DRIVERS = ("offscreen", "dummy")
NO_DISPLAY = "no display to open a window on ({reason}); {advice}"


class NoDisplayError(AcPlayError):
    """pygame cannot open a window here; `reason` says why, in a few words."""

    def __init__(self, reason: str, advice: str):
        super().__init__(NO_DISPLAY.format(reason=reason, advice=advice))
        self.reason = reason


def open_window(title: str, size: tuple[int, int], advice: str, resizable: bool = True) -> pygame.Surface:
    """A window, or NoDisplayError with a sentence the CLI prints (`advice` says what to do instead).

    SDL quietly falls back to its invisible "offscreen" driver when there is no display, so a
    window nobody can see counts as no display, unless SDL_VIDEODRIVER asked for it (tests).
    """
    requested = os.environ.get("SDL_VIDEODRIVER")
    displays = requested or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not displays:
        # refuse before SDL tries, which would print complaints of its own
        reason = "neither DISPLAY nor WAYLAND_DISPLAY is set"
        raise NoDisplayError(reason, advice)
    try:
        pygame.display.init()
        driver = pygame.display.get_driver()
        if driver in HEADLESS_DRIVERS and requested != driver:
            raise pygame.error(f"only SDL's invisible {driver!r} video driver is available")
        pygame.font.init()
        screen = pygame.display.set_mode(size, pygame.RESIZABLE if resizable else 0)
    except pygame.error as exc:
        pygame.display.quit()
        raise NoDisplayError(str(exc) or "pygame error", advice) from None
    pygame.display.set_caption(title)
    return screen


def open_offscreen(size: tuple[int, int]) -> pygame.Surface:
    """A screen nobody sees, on SDL's "dummy" driver: `watch --record` on a server without a display.

    The dummy driver needs no display server and, unlike "offscreen", prints no complaints.
    """
    pygame.display.quit()
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    pygame.display.init()
    pygame.font.init()
    return pygame.display.set_mode(size)
