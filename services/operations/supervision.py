"""`make run` under supervisord: a process that dies is started again, with backoff; the rest keep running.

The launcher chooses the ports, prepares PostgreSQL's cluster, writes `<home>/run/supervisord.conf` and starts
supervisord (from the `supervisor` package) as its child. supervisord starts the infrastructure at once and each
service when the launcher asks for it, once the database and the broker answer. From then on supervisord keeps
every process running:

- a process that exits is started again at once, unless it keeps dying within its first seconds: then each new
  attempt waits one second longer than the last (supervisord's backoff);
- PostgreSQL is reaped like any child, so the lock file a killed postmaster leaves names a dead process and the
  server starts again on the same port;
- the launcher echoes supervisord's account of each exit ("exited: voting (terminated by SIGKILL; not
  expected)") and the last lines of that process's log.

`massline restart <name>` and `massline status` talk to the same supervisord over its unix socket in
`<home>/run/`, which only the user who started it can open.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .devstack import SERVICES, EmbeddedKafka, EmbeddedPostgres, Progress, Stack, free_port, port_is_free, tail
from .monitoring import prometheus_binary, prometheus_command, prometheus_config

CONFIG = "supervisord.conf"
SOCKET = "supervisor.sock"


@dataclass
class Program:
    """One process supervisord keeps running."""

    name: str
    command: list[str]
    priority: int
    autostart: bool = True
    user: str | None = None
    stopsignal: str = "TERM"
    stopwaitsecs: int = 20
    # Dying within this many seconds of a start counts as a failed start, retried with a growing wait.
    startsecs: int = 3
    environment: dict[str, str] = field(default_factory=dict)


def _quote(value: str) -> str:
    """A value for supervisord's configuration, which expands %(name)s: a literal % is written %%."""
    return value.replace("%", "%%")


def _command_line(args: list[str]) -> str:
    import shlex

    return _quote(" ".join(shlex.quote(a) for a in args))


def render_config(
    programs: list[Program], run_dir: Path, log_dir: Path, *, memory_limits: dict[str, str] | None = None
) -> str:
    """supervisord's configuration for these programs: every log in `log_dir`, the control socket in `run_dir`.

    `memory_limits` (program -> size such as "2GB") adds superlance's memmon, which restarts a program whose
    resident memory passed its limit (checked every 5 seconds).
    """
    lines = [
        "[unix_http_server]",
        f"file={_quote(str(run_dir / SOCKET))}",
        "chmod=0700",
        "",
        "[supervisord]",
        "nodaemon=true",
        "silent=true",
        f"logfile={_quote(str(log_dir / 'supervisord.log'))}",
        "logfile_maxbytes=10MB",
        "logfile_backups=3",
        f"pidfile={_quote(str(run_dir / 'supervisord.pid'))}",
        f"childlogdir={_quote(str(log_dir))}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_quote(str(run_dir / SOCKET))}",
    ]
    for p in programs:
        lines += _program_section(p, log_dir)
    if memory_limits:
        lines += _memmon_section(memory_limits, log_dir)
    return "\n".join(lines) + "\n"


def _program_section(p: Program, log_dir: Path) -> list[str]:
    lines = [
        "",
        f"[program:{p.name}]",
        f"command={_command_line(p.command)}",
        f"priority={p.priority}",
        f"autostart={'true' if p.autostart else 'false'}",
        "autorestart=true",
        f"startsecs={p.startsecs}",
        # Effectively never give up: each attempt waits one second longer than the one before.
        "startretries=1000",
        f"stopsignal={p.stopsignal}",
        f"stopwaitsecs={p.stopwaitsecs}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={_quote(str(log_dir / (p.name + '.log')))}",
        "stdout_logfile_maxbytes=50MB",
        "stdout_logfile_backups=3",
    ]
    if p.user:
        lines.append(f"user={p.user}")
    if p.environment:
        pairs = ",".join(f'{k}="{_quote(v)}"' for k, v in p.environment.items())
        lines.append(f"environment={pairs}")
    return lines


def _memmon_section(memory_limits: dict[str, str], log_dir: Path) -> list[str]:
    limits = [f"-p {name}={size}" for name, size in memory_limits.items()]
    return [
        "",
        "[eventlistener:memmon]",
        f"command={_command_line([sys.executable, '-m', 'superlance.memmon'])} {' '.join(limits)}",
        "events=TICK_5",
        # stdout carries the event protocol; memmon reports what it did on stderr.
        f"stderr_logfile={_quote(str(log_dir / 'memmon.log'))}",
        "stderr_logfile_maxbytes=5MB",
        "stderr_logfile_backups=1",
    ]


def control(run_dir: Path) -> Any:
    """An XML-RPC proxy to the supervisord listening on `run_dir`'s socket (supervisor's documented interface)."""
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{run_dir / SOCKET}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


# The process that serves every consumer group's lag as the broker sees it (services/operations/lag_exporter.py).
LAG_EXPORTER = "lag-exporter"
# The alert rules evaluated on this machine (services/operations/monitoring.py), when Prometheus is installed.
PROMETHEUS = "prometheus"


@dataclass
class SupervisedStack:
    """The whole system on one machine, kept running by supervisord."""

    stack: Stack
    progress: Progress
    supervisord: subprocess.Popen[bytes] | None = None
    broker_memory_limit: str = field(default_factory=lambda: os.environ.get("MASSLINE_BROKER_MEMORY_LIMIT", "2GB"))
    _log_offset: int = 0

    @property
    def run_dir(self) -> Path:
        return self.stack.run_dir

    @property
    def log_dir(self) -> Path:
        return self.stack.log_dir

    def programs(self) -> list[Program]:
        s = self.stack
        programs: list[Program] = []
        if s.postgres is not None:
            programs.append(Program("postgres", s.postgres.command(), priority=10, user=s.postgres.user,
                                    stopsignal="INT", stopwaitsecs=30, startsecs=2))
        if s.kafka is not None:
            programs.append(Program("tansu", s.kafka.command(), priority=20, startsecs=1))
        for name in SERVICES:
            programs.append(Program(name, s.service_command(name, s.service_ports[name]), priority=30,
                                    autostart=False, startsecs=5, environment=s.service_env.get(name, {})))
        if s.gateway_port:
            alerts = {"MASSLINE_PROMETHEUS_URL": self.prometheus_url} if s.prometheus_port else {}
            programs.append(Program("gateway", s.service_command("gateway", s.gateway_port), priority=40,
                                    autostart=False, startsecs=3,
                                    environment={**s.service_env.get("gateway", {}), **alerts}))
        if s.lag_exporter_port:
            programs.append(Program(LAG_EXPORTER, s.lag_exporter_command(s.lag_exporter_port), priority=50,
                                    autostart=False, startsecs=2))
        binary = prometheus_binary()
        if s.prometheus_port and binary:
            programs.append(Program(PROMETHEUS, prometheus_command(binary, self.run_dir / "prometheus.yml",
                                                                   s.home / "prometheus", s.prometheus_port),
                                    priority=60, autostart=False, startsecs=2))
        return programs

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.prometheus_port}"

    def _write_prometheus_config(self) -> None:
        s = self.stack
        targets = {name: s.service_ports[name] for name in SERVICES}
        if s.gateway_port:
            targets["gateway"] = s.gateway_port
        targets[LAG_EXPORTER] = s.lag_exporter_port
        (self.run_dir / "prometheus.yml").write_text(prometheus_config(targets), encoding="utf-8")

    def _start_prometheus(self, timeout: float) -> None:
        s = self.stack
        if not s.prometheus_port:
            return
        self.progress(f"starting Prometheus with the alert rules on {self.prometheus_url}")
        control(self.run_dir).supervisor.startProcess(PROMETHEUS, False)
        self._wait("Prometheus", lambda: self._owns(PROMETHEUS, s.prometheus_port), timeout)
        self._wait("Prometheus readiness",
                   lambda: httpx.get(f"{self.prometheus_url}/-/ready", timeout=2).status_code == 200, timeout)
        self.progress("Prometheus ready")

    def start(self, timeout: float = 90) -> None:
        s = self.stack
        s.home.mkdir(parents=True, exist_ok=True)
        from .devstack import stop_stale

        stop_stale(self.run_dir, str(s.home), self.progress)
        if s.gateway_port and not port_is_free(s.gateway_port):
            raise RuntimeError(f"port {s.gateway_port} is already in use by another program; set PORT to a free port")
        if s.database_url is None:
            s.postgres = EmbeddedPostgres(s.home / "pgdata", self.log_dir, self.run_dir, durable=s.durable)
            s.postgres.prepare(self.progress)
            s.database_url = s.postgres.dsn("massline")
        if s.kafka_bootstrap is None:
            s.kafka = EmbeddedKafka(self.log_dir, self.run_dir)
            s.kafka.port = free_port()
            s.kafka_bootstrap = s.kafka.bootstrap
        for name in SERVICES:
            s.service_ports.setdefault(name, free_port())
        s.lag_exporter_port = s.lag_exporter_port or free_port()
        if prometheus_binary():
            s.prometheus_port = s.prometheus_port or free_port()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if s.prometheus_port:
            self._write_prometheus_config()
        config = self.run_dir / CONFIG
        # The embedded broker keeps every message in memory and has no retention: restarted at this size, it comes
        # back empty and the services heal it (topics created again, recent outbox events sent again).
        limits = {"tansu": self.broker_memory_limit} if s.kafka is not None and self.broker_memory_limit else None
        config.write_text(render_config(self.programs(), self.run_dir, self.log_dir, memory_limits=limits),
                          encoding="utf-8")
        (self.run_dir / SOCKET).unlink(missing_ok=True)
        log = self.log_dir / "supervisord.log"
        self._log_offset = log.stat().st_size if log.exists() else 0
        self.progress("starting supervisord, which keeps every process running")
        # What supervisord says before its own log is open (a configuration it refuses) goes here.
        with (self.log_dir / "supervisord.out").open("ab") as out:
            self.supervisord = subprocess.Popen(
                [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
                env=s.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self._wait("supervisord", self._answers, 20)
        self._start_infrastructure(timeout)
        s.write_stack_env()
        for name in SERVICES:
            self.progress(f"starting {name} on 127.0.0.1:{s.service_ports[name]}")
            control(self.run_dir).supervisor.startProcess(name, False)
        for name in SERVICES:
            self._wait_ready(name, f"http://127.0.0.1:{s.service_ports[name]}", timeout)
        if s.gateway_port:
            self.progress(f"starting gateway on 127.0.0.1:{s.gateway_port}")
            control(self.run_dir).supervisor.startProcess("gateway", False)
            self._wait_ready("gateway", s.gateway_url, timeout)
        self.progress(f"starting the broker lag exporter on 127.0.0.1:{s.lag_exporter_port}")
        control(self.run_dir).supervisor.startProcess(LAG_EXPORTER, False)
        self._wait_ready(LAG_EXPORTER, f"http://127.0.0.1:{s.lag_exporter_port}", timeout)
        self._start_prometheus(timeout)

    def _start_infrastructure(self, timeout: float) -> None:
        s = self.stack
        if s.postgres is not None:
            self.progress(f"PostgreSQL on 127.0.0.1:{s.postgres.port}")
            self._wait("PostgreSQL", s.postgres.accepts, timeout)
            self._check_owner("postgres", s.postgres.port)
            s.postgres.ensure_database("massline")
        else:
            self.progress("using the external PostgreSQL from MASSLINE_DATABASE_URL")
        if s.kafka is not None:
            self.progress(f"the Tansu broker on 127.0.0.1:{s.kafka.port}")
            self._wait("Tansu", lambda: self._owns("tansu", s.kafka.port if s.kafka else 0), timeout)
        else:
            self.progress("using the external Kafka from MASSLINE_KAFKA_BOOTSTRAP_SERVERS")

    def _answers(self) -> bool:
        control(self.run_dir).supervisor.getState()
        return True

    def pid_of(self, name: str) -> int:
        return int(control(self.run_dir).supervisor.getProcessInfo(name)["pid"])

    def _owns(self, name: str, port: int) -> bool:
        from .devstack import _family, listening_pids

        pid = self.pid_of(name)
        return bool(pid and listening_pids(port) & _family(pid))

    def _check_owner(self, name: str, port: int) -> None:
        if not self._owns(name, port):
            raise RuntimeError(f"port {port} is not served by the {name} we started")

    def _wait_ready(self, name: str, base: str, timeout: float) -> None:
        from .devstack import _family

        def ours() -> bool:
            # The process answering must be the one supervisord started for us (or one of its workers).
            return httpx.get(f"{base}/health/live", timeout=1).json().get("pid") in _family(self.pid_of(name))

        self._wait(f"{name}", ours, timeout)
        self._wait(f"{name} readiness", lambda: httpx.get(f"{base}/health/ready", timeout=2).status_code == 200,
                   timeout)
        self.progress(f"{name} ready")

    def _wait(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.supervisord is not None and self.supervisord.poll() is not None:
                said = tail(self.log_dir / "supervisord.out", 5)
                raise RuntimeError(f"supervisord exited with code {self.supervisord.returncode}: {said}")
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            self.report_exits()
            time.sleep(0.2)
        raise RuntimeError(f"{what} did not come up within {timeout:.0f}s; see {self.log_dir}")

    def report_exits(self) -> None:
        """Echo what supervisord says about processes that exited, gave up or were started again."""
        for line in self._new_log_lines():
            if any(word in line for word in (" exited: ", " gave up: ", " spawned: ", " stopped: ", "backoff")):
                event = line.split(" ", 3)[-1] if line.count(" ") >= 3 else line
                self.progress(event)
                if " exited: " in line and "expected" in line and "not expected" in line:
                    name = line.split(" exited: ", 1)[1].split(" ", 1)[0]
                    last = tail(self.log_dir / f"{name}.log", 8)
                    if last:
                        self.progress(f"last lines of {name}.log:\n{last}")

    def _new_log_lines(self) -> Iterator[str]:
        log = self.log_dir / "supervisord.log"
        try:
            with log.open("rb") as f:
                size = log.stat().st_size
                if size < self._log_offset:  # rotated
                    self._log_offset = 0
                f.seek(self._log_offset)
                data = f.read()
                self._log_offset += len(data)
        except FileNotFoundError:
            return
        yield from data.decode("utf-8", "replace").splitlines()

    def watch(self) -> int:
        """Until supervisord ends (Ctrl-C stops it): echo exits and restarts. Returns supervisord's exit code."""
        assert self.supervisord is not None
        while self.supervisord.poll() is None:
            self.report_exits()
            time.sleep(1)
        self.report_exits()
        return self.supervisord.returncode

    def stop(self) -> None:
        """Stop every process in reverse order of start (supervisord does it on SIGTERM), then supervisord."""
        (self.run_dir / "stack.env").unlink(missing_ok=True)
        proc = self.supervisord
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        self.report_exits()


def restart(home: Path, name: str) -> str:
    """Stop and start one process of the stack `massline run` started from `home`."""
    proxy = _running(home)
    info = proxy.supervisor.getProcessInfo(name)
    if info["statename"] in ("RUNNING", "STARTING", "BACKOFF"):
        proxy.supervisor.stopProcess(name, True)
    proxy.supervisor.startProcess(name, True)
    return f"{name} restarted (pid {proxy.supervisor.getProcessInfo(name)['pid']})"


def status(home: Path) -> list[dict[str, Any]]:
    """The state of every process of the stack started from `home`."""
    return list(_running(home).supervisor.getAllProcessInfo())


def _running(home: Path) -> Any:
    run_dir = home / "run"
    if not (run_dir / SOCKET).exists():
        raise RuntimeError(f"no system started by `massline run` from {home} is running")
    proxy = control(run_dir)
    try:
        proxy.supervisor.getState()
    except (OSError, xmlrpc.client.Fault) as exc:
        raise RuntimeError(f"the system started from {home} does not answer: {exc}") from None
    return proxy
