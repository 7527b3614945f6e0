"""Kubernetes manifests built from what the code and the Prometheus rule file declare.

`deploy/k8s/prometheus-rule.yaml` carries the groups of `deploy/prometheus/rules/massline.rules.yml`;
`deploy/k8s/kafka-topics.yaml` carries the topic catalog (partitions) and the retention the services
create topics with. Both are written by `massline k8s-rules` / `massline kafka-topics` and checked by
tests/unit/test_k8s_manifests.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from massline.contracts.topics import TOPICS, dead_letter_topic
from massline.service import EPOCH_TOPIC
from massline.settings import ServiceSettings

RULES_FILE = Path("deploy/prometheus/rules/massline.rules.yml")
PROMETHEUS_RULE = Path("deploy/k8s/prometheus-rule.yaml")
KAFKA_TOPICS = Path("deploy/k8s/kafka-topics.yaml")
NAMESPACE = "massline"
# The Strimzi Kafka resource the topics belong to (label strimzi.io/cluster) and its namespace, which the
# Topic Operator watches: set both to your cluster's.
STRIMZI_CLUSTER = "massline"
STRIMZI_NAMESPACE = "kafka"
TOPIC_REPLICAS = 3


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL, descriptions) as literal blocks, as people write them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(header: str, docs: list[dict[str, Any]]) -> str:
    body = yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120,
                         explicit_start=True)
    return header + body


def prometheus_rule(rules_text: str) -> str:
    """A PrometheusRule whose spec.groups is exactly the rule file's `groups`."""
    groups = yaml.safe_load(rules_text)["groups"]
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "massline", "namespace": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "massline"}},
        "spec": {"groups": groups},
    }
    header = (f"# Built from {RULES_FILE} by `massline k8s-rules`: edit that file, then run it again.\n"
              "# Your Prometheus resource must select it: ruleSelector matching app.kubernetes.io/part-of=massline.\n")
    return _dump(header, [doc])


def topic_names() -> list[str]:
    """Every topic the services create: the catalog, each one's dead-letter twin, and the broker epoch."""
    names: list[str] = []
    for name in TOPICS:
        names += [name, dead_letter_topic(name)]
    return [*names, EPOCH_TOPIC]


def kafka_topics(settings: ServiceSettings | None = None) -> str:
    """A Strimzi KafkaTopic per topic, with the partitions and retention the services create it with."""
    retention_ms = (settings or ServiceSettings()).kafka_topic_retention_hours * 3_600_000
    docs = [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {
                "name": name,
                "namespace": STRIMZI_NAMESPACE,
                "labels": {"strimzi.io/cluster": STRIMZI_CLUSTER, "app.kubernetes.io/part-of": "massline"},
            },
            "spec": {
                "topicName": name,
                "partitions": TOPICS[name].partitions if name in TOPICS else 1,
                "replicas": TOPIC_REPLICAS,
                "config": {"retention.ms": retention_ms},
            },
        }
        for name in topic_names()
    ]
    header = (
        "# Strimzi KafkaTopics (kafka.strimzi.io/v1beta2) for a Kafka run by Strimzi; built from\n"
        "# shared/massline/contracts/topics.py and MASSLINE_KAFKA_TOPIC_RETENTION_HOURS by `massline kafka-topics`.\n"
        "# Not in kustomization.yaml: with managed Kafka the services create these topics themselves (same\n"
        f"# partitions and retention). Set strimzi.io/cluster ({STRIMZI_CLUSTER}) and the namespace\n"
        f"# ({STRIMZI_NAMESPACE}) to your Kafka resource's; replicas is the replication factor.\n"
    )
    return _dump(header, docs)


def write_or_check(path: Path, text: str, *, check: bool) -> bool:
    """Write `text` to `path`, or with `check` only say whether the file already holds it."""
    if check:
        return path.exists() and path.read_text(encoding="utf-8") == text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
