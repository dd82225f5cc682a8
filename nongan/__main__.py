"""``python -m nongan`` is the same as the ``nongan`` console script."""

import sys

from nongan.cli import main

sys.exit(main())
