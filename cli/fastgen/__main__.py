"""`python -m fastgen`."""

from fastgen.entry import main

main()
