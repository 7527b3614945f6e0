"""Run the massline command line: python -m services.operations (installed as `massline`)."""

from .cli import main

main()
