"""The registry's use cases: each runs in one unit of work, with the events it records."""
