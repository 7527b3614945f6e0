"""Operating massline: the command line, the embedded stack behind `make run`, the demo data and the docs generator.

Not a service. It sits above the services (it starts them and loads their apps by name), so nothing in `shared/`
imports it.
"""
