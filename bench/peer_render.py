"""The most popular peer's render, timed against `fastgen new` (run.py, generator timings).

s3rius `fastapi-template` (PyPI) renders with cookiecutter. This runs its own command line in
OUTPUT_DIR with fastgen's defaults as its flags (REST, PostgreSQL through SQLAlchemy, Redis,
migrations, GitHub CI, an example model and routers; no prompt), with cookiecutter's hooks
disabled: they run `uv sync`, git and pre-commit, which are not rendering. Run with the
interpreter of a venv that has `fastapi_template` installed:

    python peer_render.py OUTPUT_DIR
"""

import os
import sys

import cookiecutter.generate
from fastapi_template.__main__ import main

FLAGS = [
    "--quiet",
    "--api-type=rest",
    "--db=postgresql",
    "--orm=sqlalchemy",
    "--ci=github",
    "--redis",
    "--migrations",
    "--dummy",
    "--routers",
]


def render(output_dir: str) -> None:
    cookiecutter.generate.run_hook = lambda *args, **kwargs: None  # render only
    os.chdir(output_dir)
    sys.argv = ["fastapi_template", "--name", "gen_bench", *FLAGS]
    main()


if __name__ == "__main__":
    render(sys.argv[1])
