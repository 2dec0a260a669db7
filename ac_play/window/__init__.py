"""The pygame side of ac-play: drawing, `watch`, the live window during training, the human game.

Every module here that draws imports pygame; this file does not, so the TUI process can start
the live window (`live.LiveWindow`) without loading pygame itself. It sets pygame's environment
once, before any module of the package imports pygame.
"""

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
