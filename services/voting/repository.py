"""Voting storage: campaigns and entries learned from events, voters, quotas, the vote log, standings."""

from __future__ import annotations

from pathlib import Path

from massline.queries import load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))
