"""``python -m sss``: the same command line as the ``sss`` console script."""

import sys

from .cli import main

sys.exit(main())
