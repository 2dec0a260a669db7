"""The one exception type the CLI turns into `ac-play: error: <sentence>` and exit code 2."""


class AcPlayError(Exception):
    """A problem the user can act on: bad input, a bad file, a missing display."""
