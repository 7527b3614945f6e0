"""Notification storage: campaign names, recipients and deliveries (the inbox is the inbox channel)."""

from __future__ import annotations

from pathlib import Path

from massline.queries import load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))
