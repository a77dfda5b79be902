"""`python -m fastgen`."""

from fastgen.main import app

app(prog_name="fastgen")
