"""Run the massline command line: python -m massline."""

from .cli import main

main()
