"""Every service's SQL files are well formed: named queries load, migrations are numbered and forward-only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from massline.queries import load_queries
from services.operations.devstack import SERVICES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", SERVICES)
def test_named_queries_load_and_use_parameters(service: str) -> None:
    queries = load_queries(ROOT / "services" / service / "queries.sql")
    assert queries, f"{service} has no queries"
    for name, sql in queries.items():
        assert "%s" not in sql and "{" not in sql.replace("{}", ""), f"{service}.{name} is not parameterised with $n"


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_are_numbered_in_order(service: str) -> None:
    files = sorted(p.name for p in (ROOT / "services" / service / "migrations").glob("*.sql"))
    assert files and files[0].startswith("0001_")
    numbers = [int(re.match(r"(\d{4})_", f).group(1)) for f in files]  # type: ignore[union-attr]
    assert numbers == list(range(1, len(files) + 1)), f"{service}: gaps or duplicates in {files}"


def test_duplicate_query_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "queries.sql"
    path.write_text("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")
    with pytest.raises(ValueError, match="defined twice"):
        load_queries(path)
