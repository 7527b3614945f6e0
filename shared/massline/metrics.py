"""Metrics every massline process serves beside its own: the process and the interpreter."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector


def process_registry() -> CollectorRegistry:
    """A registry with the process's own series: `process_*` (CPU seconds, resident memory, open files, start time)
    and `python_*` (interpreter version, garbage collections), as prometheus_client's default registry has them.
    Each process keeps its own registry instead of the default one, so tests can build several in one process."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
