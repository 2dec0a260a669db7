"""The `ac-play` program's entry point: as little as possible runs before Ctrl-C is handled.

A Ctrl-C while Python is still importing the command line (NumPy, gymnasium) would print a
traceback; here it is the same quiet exit 130 as anywhere else.
"""

import sys


def run() -> None:
    try:
        from ac_play.cli import main

        code = main()
    except KeyboardInterrupt:
        print("ac-play: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
