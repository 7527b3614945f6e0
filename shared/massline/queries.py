"""Named SQL: a service keeps its statements in queries.sql, each under a `-- name: <name>` line."""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class Queries(dict[str, str]):
    def __getattr__(self, name: str) -> str:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no query named {name!r}") from None


def load_queries(path: Path) -> Queries:
    text = path.read_text(encoding="utf-8")
    parts = _NAME.split(text)
    queries = Queries()
    for name, body in zip(parts[1::2], parts[2::2], strict=False):
        sql = body.strip().rstrip(";").strip()
        if name in queries:
            raise ValueError(f"{path}: query {name!r} defined twice")
        queries[name] = sql
    return queries
