"""Prometheus beside `massline run`: the production alert rules (deploy/prometheus/rules) evaluated on the
embedded system, so the operations page shows real alert states on one machine too.

Started only when a `prometheus` binary is on the PATH (`make install` brings Debian's `prometheus` package for
promtool, which carries the server too) and MASSLINE_PROMETHEUS is not `off`. Its jobs carry the names the rules and
the dashboard expect (`submission`, …, `gateway`, `lag-exporter`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"


def prometheus_binary() -> str | None:
    """The Prometheus server to start, or None (not installed, or MASSLINE_PROMETHEUS=off)."""
    if os.environ.get("MASSLINE_PROMETHEUS", "").lower() in {"off", "0", "false", "no"}:
        return None
    return shutil.which("prometheus")


def prometheus_config(targets: dict[str, int], rules_dir: Path = RULES_DIR, interval_s: int = 15) -> str:
    """The configuration (YAML; JSON is YAML) scraping each job's one loopback target and loading the rules."""
    config: dict[str, object] = {
        "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": f"{interval_s}s"},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                           for job, port in targets.items()],
    }
    if rules_dir.is_dir():
        config["rule_files"] = [str(rules_dir / "*.rules.yml")]
    return json.dumps(config, indent=2) + "\n"


def prometheus_command(binary: str, config: Path, data: Path, port: int) -> list[str]:
    return [binary, f"--config.file={config}", f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=2d",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
