"""The benchmark's entry point by path: `python bench/run.py ARGS` is `python -m bench ARGS`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
