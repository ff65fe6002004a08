"""``python -m lipbench.report``: the same as ``lipbench report``."""

from .cli import main

raise SystemExit(main())
