"""The account registry: government new-media accounts filed with their owner units, reviewed at each level."""
