"""ac-play: watch a hand-written NumPy actor-critic learn CartPole, then play against it."""

__version__ = "0.1.0"
