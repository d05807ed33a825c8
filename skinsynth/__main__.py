"""``python -m skinsynth …``: the ``skinsynth`` command without the console script on PATH."""

import sys

from skinsynth.cli import main

sys.exit(main())
