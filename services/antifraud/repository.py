"""Anti-fraud storage: velocity windows and review cases."""

from __future__ import annotations

from pathlib import Path

from massline.queries import load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))
