"""Campaign definitions and the nomination rules they impose, free of storage and transport."""
