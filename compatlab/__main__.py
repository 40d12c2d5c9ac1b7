"""``python -m compatlab``: the same command as ``compatlab``."""

import sys

from compatlab.cli import main

sys.exit(main())
