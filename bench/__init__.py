"""fastgen's benchmark: the generated app, side by side with its baselines, in one run.

    .venv/bin/python -m bench [--database postgresql|mysql|sqlite] [--quick]

(`bench/run.py` is the same entry point.) The parts, in the order a run uses them:

- `scenarios`: what is measured, declared as data: the servers (baselines, generated apps,
  settings variants), the endpoints with their baselines and targets, the comparisons;
- `projects`: a clean clone at `--ref`, the generated projects, the database behind them;
- `servers`: start a server pinned to a core, wait until it is ready, stop it;
- `load`: wrk against every endpoint, in interleaved rounds;
- `cpu`: in-process CPU per request (asgi_cost.py, run by each project's interpreter);
- `generator`: `fastgen new`, `fastgen update`, the peer's render, generate -> green;
- `report`: ratios, the Markdown table, the README block, bench/results/;
- `cli`: the command line.

Scripts beside the package run with a generated project's interpreter, not this one:
asgi_cost.py, dbtool.py, driver_cost.py, peer_render.py, scale_out_jobs.py and baselines/.
The test suite's helpers (tests/projects.py, tests/conftest.py) are the benchmark's too.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
