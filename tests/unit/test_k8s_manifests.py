"""Offline validation of every object in deploy/k8s, and of what the objects promise.

- Core objects (Deployment, Service, HPA, NetworkPolicy, ...): `kubernetes-validate` against the JSON
  schemas of Kubernetes K8S_VERSION, strict (an unknown field is an error, as `kubectl apply` with
  server-side field validation would refuse it).
- KEDA and Prometheus Operator resources: the model classes of the npm packages
  `@kubernetes-models/keda` and `@kubernetes-models/prometheus-operator` (tests/k8s-validate, installed
  by `make install` with `npm ci`), whose .validate() checks each object against its CRD's schema; the
  CRD schemas allow unknown fields, so tests/k8s-validate/strict.mjs also refuses any field the
  packages' type declarations do not declare.
- Strimzi KafkaTopic: no registry publishes its schema, so the fields our manifests use are checked here.

Then the meaning: autoscalers name the consumer groups and topics the services really use and stay
within the partitions, network policies let through exactly the flows of docs/architecture.md, the
PrometheusRule carries the rule file, the KafkaTopics carry the topic catalog.
"""

from __future__ import annotations

import copy
import importlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from massline.contracts.topics import TOPICS
from massline.settings import ServiceSettings
from services.operations.k8s import kafka_topics, prometheus_rule, topic_names

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
RULES = REPO / "deploy" / "prometheus" / "rules" / "massline.rules.yml"
NODE_VALIDATOR = REPO / "tests" / "k8s-validate"

# The Kubernetes version the manifests are written for (its schemas ship in kubernetes-validate).
K8S_VERSION = "1.33.0"
CUSTOM_GROUPS = {"keda.sh", "monitoring.coreos.com"}  # validated by the npm models
STRIMZI_GROUP = "kafka.strimzi.io"  # no published schema: checked field by field below
NOT_APPLIED = {"secret.template.yaml", "kafka-topics.yaml"}  # see kustomization.yaml

BACKENDS = ("submission", "voting", "antifraud", "scoring", "notification", "registry")
APP_SERVICES = (*BACKENDS, "gateway")
LAG_SCALED = ("antifraud", "scoring", "notification")  # KEDA ScaledObjects on consumer lag
CPU_SCALED = ("gateway", "voting")  # HorizontalPodAutoscalers


def _load() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


DOCS = _load()


def _group(doc: dict[str, Any]) -> str:
    api = doc["apiVersion"]
    return api.split("/")[0] if "/" in api else ""


def _id(item: tuple[str, dict[str, Any]]) -> str:
    return f"{item[0]}:{item[1]['kind']}/{item[1]['metadata']['name']}"


CORE = [d for d in DOCS if _group(d[1]) not in CUSTOM_GROUPS | {STRIMZI_GROUP}]
CUSTOM = [d for d in DOCS if _group(d[1]) in CUSTOM_GROUPS]
STRIMZI = [d for d in DOCS if _group(d[1]) == STRIMZI_GROUP]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in DOCS if doc["kind"] == kind}


# --- schema validation ----------------------------------------------------------------------


def test_every_object_is_validated_by_some_check():
    assert len(CORE) + len(CUSTOM) + len(STRIMZI) == len(DOCS)
    kinds = {d["kind"] for _, d in DOCS}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "NetworkPolicy", "ScaledObject",
            "ServiceMonitor", "PrometheusRule", "KafkaTopic"} <= kinds


@pytest.mark.parametrize("item", CORE, ids=_id)
def test_core_object_is_valid_strictly(item):
    _, doc = item
    version = kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert version == "1.33"


def test_strict_schemas_refuse_an_unknown_field():
    # The check above means something: a misspelt field is refused.
    deployment = copy.deepcopy(_of_kind("Deployment")["gateway"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSecond"] = 10
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def _node_validate(docs: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    node = shutil.which("node")
    installed = (NODE_VALIDATOR / "node_modules" / "@kubernetes-models").is_dir()
    if not node or not installed:
        why = "node is not installed" if not node else f"npm ci has not run in {NODE_VALIDATOR}"
        message = f"custom resources cannot be validated: {why} (`make install` does both)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run([node, "validate.mjs"], cwd=NODE_VALIDATOR, input=json.dumps(docs),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), f"the validator failed: {result.stderr}"
    return result.returncode, json.loads(result.stdout)


def test_custom_resources_are_valid_for_their_operators():
    code, results = _node_validate([doc for _, doc in CUSTOM])
    invalid = {f"{r['kind']} {r['name']}": r["errors"] for r in results if not r["ok"]}
    assert not invalid, f"invalid custom resources: {invalid}"
    assert code == 0 and len(results) == len(CUSTOM)


def test_custom_resource_models_refuse_a_wrong_field():
    scaled = copy.deepcopy(_of_kind("ScaledObject")["antifraud"])
    scaled["spec"]["maxReplicaCount"] = "12"
    monitor = copy.deepcopy(_of_kind("ServiceMonitor")["voting"])
    del monitor["spec"]["selector"]
    # The CRD schemas allow unknown fields; the validator refuses them all the same (strict).
    misspelt = copy.deepcopy(_of_kind("ScaledObject")["scoring"])
    misspelt["spec"]["maxReplicasCount"] = 3
    rule = copy.deepcopy(_of_kind("PrometheusRule")["massline"])
    rule["spec"]["groups"][0]["rules"][0]["annotation"] = {"summary": "x"}
    code, results = _node_validate([scaled, monitor, misspelt, rule])
    assert code == 1
    assert [r["ok"] for r in results] == [False, False, False, False]
    assert "maxReplicaCount" in " ".join(results[0]["errors"])
    assert results[2]["errors"] == [".spec.maxReplicasCount is not a field of ScaledObjectSpec"]
    assert results[3]["errors"] == [".spec.groups[0].rules[0].annotation is not a field of Rule"]


# --- autoscaling ----------------------------------------------------------------------------


def _subscriptions(service: str) -> set[tuple[str, str]]:
    """(consumer group, topic) of every subscriber the service registers, read from its broker."""
    runtime = importlib.import_module(f"services.{service}.app").build_runtime()
    return {(sub.group_id, topic) for sub in runtime.broker.subscribers for topic in sub.topic_names}


@pytest.mark.parametrize("service", LAG_SCALED)
def test_consumers_scale_on_the_lag_of_their_real_groups(service):
    scaled = _of_kind("ScaledObject")[service]
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == service and service in _of_kind("Deployment")
    triggers = spec["triggers"]
    assert {t["type"] for t in triggers} == {"kafka"}
    used = {(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in triggers}
    assert used == _subscriptions(service), "triggers must name exactly the groups and topics the service consumes"
    bootstrap = _of_kind("ConfigMap")["massline-config"]["data"]["MASSLINE_KAFKA_BOOTSTRAP_SERVERS"]
    for t in triggers:
        assert t["metadata"]["bootstrapServers"] == bootstrap
        assert int(t["metadata"]["lagThreshold"]) > 0
    # More consumers than the largest topic has partitions would sit idle in every group.
    assert spec["maxReplicaCount"] == max(TOPICS[topic].partitions for _, topic in used)
    assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]


def test_http_services_scale_on_cpu_within_their_partitions():
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in _of_kind("HorizontalPodAutoscaler").values()}
    assert set(hpas) == set(CPU_SCALED)
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment" and name in _of_kind("Deployment")
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    partitions = max(TOPICS[topic].partitions for _, topic in _subscriptions("voting"))
    assert hpas["voting"]["spec"]["maxReplicas"] == partitions


def test_autoscaled_deployments_fix_no_replica_count():
    deployments = _of_kind("Deployment")
    scaled = [s["spec"]["scaleTargetRef"]["name"] for s in _of_kind("ScaledObject").values()]
    scaled += [h["spec"]["scaleTargetRef"]["name"] for h in _of_kind("HorizontalPodAutoscaler").values()]
    assert len(scaled) == len(set(scaled)), "two autoscalers on one Deployment fight over it"
    for name in scaled:
        assert "replicas" not in deployments[name]["spec"], f"{name}: replicas: would reset its autoscaler"


# --- network policies -----------------------------------------------------------------------


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        present = e["key"] in labels
        ok = {"In": present and labels[e["key"]] in e.get("values", []),
              "NotIn": not present or labels[e["key"]] not in e.get("values", []),
              "Exists": present, "DoesNotExist": not present}[e["operator"]]
        if not ok:
            return False
    return True


def _peer_matches(peer: dict[str, Any], other: dict[str, Any], own_ns: str) -> bool:
    if "ipBlock" in peer:
        if other.get("ip") is None:
            return False
        ip = ipaddress.ip_address(other["ip"])
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(c) for c in block.get("except", []))
    if other.get("ns") is None:
        return False  # outside the cluster: only an ipBlock matches
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": other["ns"]}):
            return False
    elif other["ns"] != own_ns:
        return False
    return _selects(peer.get("podSelector"), other.get("labels", {}))


def _port_matches(rule_ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p["port"] <= port <= p.get("endPort", p["port"])
               for p in rule_ports)


def _allowed(direction: str, pod: dict[str, Any], other: dict[str, Any], port: int, protocol: str = "TCP") -> bool:
    """Whether the namespace's policies let `pod` receive from (Ingress) or send to (Egress) `other`."""
    kind, key = ("Ingress", "from") if direction == "Ingress" else ("Egress", "to")
    policies = [p for p in _of_kind("NetworkPolicy").values()
                if kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], pod["labels"])]
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get(kind.lower(), []):
            peers = rule.get(key)
            if (not peers or any(_peer_matches(p, other, pod["ns"]) for p in peers)) and _port_matches(
                    rule.get("ports"), port, protocol):
                return True
    return False


def _pod(name: str) -> dict[str, Any]:
    return {"ns": "massline", "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "massline"}}


def _flows(src: dict[str, Any], dst: dict[str, Any], port: int, protocol: str = "TCP") -> bool:
    """A connection is made when the source may send it and the destination may receive it."""
    out = _allowed("Egress", src, dst, port, protocol) if src.get("ns") == "massline" else True
    inn = _allowed("Ingress", dst, src, port, protocol) if dst.get("ns") == "massline" else True
    return out and inn


OUTSIDE = {"ns": None, "ip": "203.0.113.7"}
INGRESS_CONTROLLER = {"ns": "ingress-nginx", "labels": {"app.kubernetes.io/name": "ingress-nginx"}}
PROMETHEUS = {"ns": "monitoring", "labels": {"app.kubernetes.io/name": "prometheus"}}
OTHER_IN_MONITORING = {"ns": "monitoring", "labels": {"app.kubernetes.io/name": "grafana"}}
KAFKA = {"ns": "kafka", "labels": {"app.kubernetes.io/name": "kafka"}}
POSTGRES = {"ns": None, "ip": "10.20.0.5"}
DNS = {"ns": "kube-system", "labels": {"k8s-app": "kube-dns"}}
WEBHOOK = {"ns": None, "ip": "198.51.100.20"}
METADATA_ENDPOINT = {"ns": None, "ip": "169.254.169.254"}


def test_only_the_gateway_is_reachable_from_outside():
    assert _flows(OUTSIDE, _pod("gateway"), 8080)
    assert _flows(INGRESS_CONTROLLER, _pod("gateway"), 8080)
    for name in BACKENDS:
        assert not _flows(OUTSIDE, _pod(name), 8080), f"{name} is reachable from outside"
        assert not _flows(INGRESS_CONTROLLER, _pod(name), 8080), f"{name} is reachable from the ingress"


def test_backends_take_http_from_the_gateway_and_scrapes_from_prometheus_only():
    for name in BACKENDS:
        assert _flows(_pod("gateway"), _pod(name), 8080), f"the gateway cannot reach {name}"
        assert _flows(PROMETHEUS, _pod(name), 8080), f"Prometheus cannot scrape {name}"
        assert not _flows(OTHER_IN_MONITORING, _pod(name), 8080), f"any pod in monitoring reaches {name}"
        assert not _flows(_pod("gateway"), _pod(name), 5432)
        for other in BACKENDS:
            if other != name and (other, name) not in ANCHOR_READS:
                assert not _flows(_pod(other), _pod(name), 8080), f"{other} reaches {name}: no such flow"
    assert _flows(PROMETHEUS, _pod("gateway"), 8080)


# At publication scoring reads the audit chain heads and the vote-log seals (docs/audit.md); the only flow between
# two services, one way.
ANCHOR_READS = {("scoring", "submission"), ("scoring", "antifraud"), ("scoring", "voting")}


def test_scoring_reaches_the_services_it_anchors_publications_to_and_nothing_reaches_back():
    for source, target in ANCHOR_READS:
        assert _flows(_pod(source), _pod(target), 8080), f"{source} cannot read {target}'s audit head"
        assert not _flows(_pod(target), _pod(source), 8080), f"{target} reaches {source}: no such flow"
    assert not _flows(_pod("scoring"), _pod("notification"), 8080)


def test_egress_is_kafka_postgresql_and_dns_only():
    for name in (*BACKENDS, "migrate"):
        assert _flows(_pod(name), KAFKA, 9092), f"{name} cannot reach Kafka"
        assert _flows(_pod(name), POSTGRES, 5432), f"{name} cannot reach PostgreSQL"
    for name in APP_SERVICES:
        assert _flows(_pod(name), DNS, 53, "UDP") and _flows(_pod(name), DNS, 53, "TCP")
        assert not _flows(_pod(name), METADATA_ENDPOINT, 80), f"{name} reaches the cloud metadata endpoint"
    assert not _flows(_pod("gateway"), KAFKA, 9092) and not _flows(_pod("gateway"), POSTGRES, 5432)
    for name in ("submission", "voting", "antifraud", "scoring", "gateway"):
        assert not _flows(_pod(name), WEBHOOK, 443), f"{name} reaches the internet"


def test_the_first_administrator_job_reaches_postgresql_and_the_lag_exporter_kafka_only():
    assert _flows(_pod("create-admin"), POSTGRES, 5432)
    lag = _pod("lag-exporter")
    assert _flows(lag, KAFKA, 9092) and _flows(PROMETHEUS, lag, 8080)
    assert not _flows(lag, POSTGRES, 5432) and not _flows(lag, WEBHOOK, 443)
    assert not _flows(_pod("gateway"), lag, 8080) and not _flows(OUTSIDE, lag, 8080)
    assert not _flows(OTHER_IN_MONITORING, lag, 8080)


def test_notification_reaches_public_webhooks_and_providers_only():
    notification = _pod("notification")
    for port in (443, 80, 587):
        assert _flows(notification, WEBHOOK, port)
    assert not _flows(notification, WEBHOOK, 22)
    assert not _flows(notification, {"ns": None, "ip": "192.168.1.10"}, 443), "webhooks into private networks"
    assert not _flows(notification, METADATA_ENDPOINT, 80)


# --- Prometheus Operator resources ----------------------------------------------------------


def test_every_service_is_scraped_by_a_service_monitor():
    monitors = _of_kind("ServiceMonitor")
    services = _of_kind("Service")
    for name in APP_SERVICES:
        spec = monitors[name]["spec"]
        service = services[name]
        assert _selects(spec["selector"], service["metadata"]["labels"]), f"{name}'s ServiceMonitor misses it"
        assert sum(_selects(spec["selector"], s["metadata"]["labels"]) for s in services.values()) == 1
        ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
        (endpoint,) = spec["endpoints"]
        assert ports.get(endpoint["port"]) == 8080 and endpoint["path"] == "/metrics"


def test_prometheus_rule_carries_the_rule_file():
    rules = yaml.safe_load(RULES.read_text())
    (rule,) = _of_kind("PrometheusRule").values()
    assert rule["spec"]["groups"] == rules["groups"], "PrometheusRule differs from the rule file: `make k8s`"
    assert any("alert" in r for g in rules["groups"] for r in g["rules"])
    assert (K8S / "prometheus-rule.yaml").read_text() == prometheus_rule(RULES.read_text()), (
        "deploy/k8s/prometheus-rule.yaml is stale: run `make k8s` and commit it"
    )


# --- Strimzi KafkaTopics (no published schema) ----------------------------------------------

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def test_kafka_topics_follow_the_topic_catalog():
    topics = {doc["spec"]["topicName"]: doc for _, doc in STRIMZI}
    assert set(topics) == set(topic_names())
    assert "massline.vote.v1.dlq" in topics and "massline.broker-epoch" in topics
    retention_ms = ServiceSettings().kafka_topic_retention_hours * 3_600_000
    for name, doc in topics.items():
        assert (doc["apiVersion"], doc["kind"]) == ("kafka.strimzi.io/v1beta2", "KafkaTopic")
        meta = doc["metadata"]
        assert len(meta["name"]) <= 253 and DNS_SUBDOMAIN.match(meta["name"]), f"{meta['name']} is no valid name"
        assert meta["labels"]["strimzi.io/cluster"], "the Topic Operator picks topics by strimzi.io/cluster"
        assert set(doc["spec"]) == {"topicName", "partitions", "replicas", "config"}
        partitions = doc["spec"]["partitions"]
        assert type(partitions) is int and partitions > 0
        assert partitions == (TOPICS[name].partitions if name in TOPICS else 1), f"{name}: partitions"
        assert type(doc["spec"]["replicas"]) is int and doc["spec"]["replicas"] >= 1
        assert doc["spec"]["config"] == {"retention.ms": retention_ms}
    assert topics["massline.vote.v1"]["spec"]["partitions"] == 12
    assert (K8S / "kafka-topics.yaml").read_text() == kafka_topics(), (
        "deploy/k8s/kafka-topics.yaml is stale: run `make k8s` and commit it"
    )


# --- kustomization --------------------------------------------------------------------------


def test_kustomization_applies_every_manifest():
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(resources) == files - NOT_APPLIED
    assert len(resources) == len(set(resources))
