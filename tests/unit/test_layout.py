"""Where things live: SQL only in repositories, every named query used, shared/ never reaching into the services."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from massline.queries import load_queries
from services.operations.devstack import SERVICES

ROOT = Path(__file__).resolve().parents[2]
NAMED_QUERY_CALL = re.compile(r"\bQ\.([a-z_][a-z0-9_]*)|\bQ\[\"([a-z_][a-z0-9_]*)\"\]")


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_repository_runs_named_queries(service: str) -> None:
    folder = ROOT / "services" / service
    outside = [str(p.relative_to(ROOT)) for p in _python_files(folder)
               if p.name != "repository.py" and NAMED_QUERY_CALL.search(p.read_text(encoding="utf-8"))]
    assert outside == [], f"named queries run outside {service}/repository.py"


@pytest.mark.parametrize("service", SERVICES)
def test_every_named_query_is_called(service: str) -> None:
    folder = ROOT / "services" / service
    names = set(load_queries(folder / "queries.sql"))
    source = (folder / "repository.py").read_text(encoding="utf-8")
    called = {a or b for a, b in NAMED_QUERY_CALL.findall(source)}
    assert called <= names, f"{service}/repository.py calls queries that do not exist: {sorted(called - names)}"
    assert names - called == set(), f"{service}/queries.sql holds queries nothing calls"


def test_every_nested_named_query_is_called() -> None:
    """A service's package may keep its own queries.sql beside its own repository.py (the registry's health/)."""
    for queries in (ROOT / "services").glob("*/*/queries.sql"):
        names = set(load_queries(queries))
        called = {a or b for a, b in NAMED_QUERY_CALL.findall((queries.parent / "repository.py").read_text("utf-8"))}
        assert called <= names, f"{queries.parent}/repository.py calls queries that do not exist: {called - names}"
        assert names - called == set(), f"{queries} holds queries nothing calls: {sorted(names - called)}"


def test_shared_does_not_reach_into_the_services() -> None:
    reaching = re.compile(r"^\s*(from|import)\s+services\b|[\"']services\.", re.M)
    found = [str(p.relative_to(ROOT)) for p in _python_files(ROOT / "shared" / "massline")
             if reaching.search(p.read_text(encoding="utf-8"))]
    assert found == []


def test_no_service_keeps_an_untyped_state_dict() -> None:
    found = [str(p.relative_to(ROOT)) for p in _python_files(ROOT / "services")
             if re.search(r"\brt\.state\b|runtime\.state\b", p.read_text(encoding="utf-8"))]
    assert found == []


def test_no_function_runs_past_sixty_lines() -> None:
    long = []
    for folder in (ROOT / "services", ROOT / "shared" / "massline"):
        for path in _python_files(folder):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > 60:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_each_service_numbers_its_migrations_once() -> None:
    """Migrations run in file-name order: two with one number leave their order to the rest of the name."""
    for folder in Path(__file__).resolve().parents[2].glob("services/*/migrations"):
        numbers = [p.name.split("_", 1)[0] for p in folder.glob("*.sql")]
        assert len(numbers) == len(set(numbers)), f"{folder}: {sorted(numbers)}"
