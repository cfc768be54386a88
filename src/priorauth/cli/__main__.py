"""``python -m priorauth.cli``."""

from priorauth.cli.main import run

run()
