"""``python -m bench.metrics``: the benchmark, or one of its phases (``--phase NAME``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
