"""``python -m analyzer``: the ``listing-lens`` command, for a checkout used without installing
it (a new user's first try; ``python -m analyzer.cli`` works too)."""

import sys

from analyzer.cli import main

sys.exit(main())
