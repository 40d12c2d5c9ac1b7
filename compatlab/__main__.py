"""``python -m compatlab`` and the ``compatlab`` command: ``compatlab.cli.main`` behind a Ctrl-C guard.

The guard is set before the CLI and its libraries are imported (about 0.4 s): a Ctrl-C
while they load is held until they have loaded (an interrupt inside an import can be
swallowed by a library or surface as another error), then ends the command with one
line and exit 130. Only a Ctrl-C in Python's own start, before this module runs, is
Python's to report.
"""

import os
import signal
import sys


def _interrupted() -> int:
    print("compatlab: interrupted", file=sys.stderr)
    return 130


def entry() -> int:
    """Run ``compatlab.cli.main`` on ``sys.argv[1:]``; 130 and one line on Ctrl-C, whenever it comes."""
    # Our matrix products are small (a thousand slots by a hundred clusters): OpenBLAS's threads, which wait by
    # spinning, took a core from a replay's second process (0.7 CPU s of 8 on the bench corpus). Set before numpy
    # loads; an explicit setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    held: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    except ValueError:  # not the main thread (an embedding program): nothing to hold
        previous = None
    try:
        from compatlab.cli import main
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if held:
        return _interrupted()
    try:
        return main()
    except KeyboardInterrupt:
        return _interrupted()


if __name__ == "__main__":
    sys.exit(entry())
