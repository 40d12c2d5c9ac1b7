"""``python -m compatlab`` and the ``compatlab`` command: ``compatlab.cli.main`` behind a Ctrl-C guard.

The guard sits here, before the CLI and its libraries are imported (about 0.4 s), so
that a Ctrl-C at any instant ends with one line and exit 130, never a traceback.
"""

import sys


def entry() -> int:
    """Run ``compatlab.cli.main`` on ``sys.argv[1:]``; 130 and one line on Ctrl-C, whenever it comes."""
    try:
        from compatlab.cli import main

        return main()
    except KeyboardInterrupt:
        print("compatlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(entry())
