"""Submission storage: campaigns and their versions, organisations, users, nominations and their history."""

from __future__ import annotations

from pathlib import Path

from massline.queries import load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))
