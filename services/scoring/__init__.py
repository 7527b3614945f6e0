"""Scoring service: score components per entry, rankings per category, and the explanation of every number."""
