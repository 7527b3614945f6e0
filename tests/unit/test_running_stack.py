"""The command line finds the system `massline run` started, and only while its launcher lives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services.operations.devstack import STACK_ENV, running_stack_env


def _write(home: Path, pid: int) -> None:
    (home / "run").mkdir(parents=True)
    (home / "run" / STACK_ENV).write_text(
        "MASSLINE_DATABASE_URL=postgresql://postgres@127.0.0.1:5999/massline\n"
        f"MASSLINE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092\nMASSLINE_STACK_PID={pid}\n", encoding="utf-8")


def test_a_live_launcher_gives_its_addresses(tmp_path: Path) -> None:
    _write(tmp_path, os.getpid())
    assert running_stack_env(tmp_path) == {
        "MASSLINE_DATABASE_URL": "postgresql://postgres@127.0.0.1:5999/massline",
        "MASSLINE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092"}


def test_a_gone_launcher_or_no_file_gives_nothing(tmp_path: Path) -> None:
    assert running_stack_env(tmp_path) == {}
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _write(tmp_path, int(done.stdout))  # that process has exited
    assert running_stack_env(tmp_path) == {}
